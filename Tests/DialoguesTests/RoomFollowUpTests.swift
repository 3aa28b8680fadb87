import XCTest

@testable import Dialogues
import FabriqueJSON

/// Inside a room run, each person follows their own branch: a follow-up question of their own, named for
/// them, while the room keeps to its main line.
final class RoomFollowUpTests: XCTestCase {
    static let yaml = """
        id: survey
        title: {en: "Survey", fr: "Enquête"}
        scope: room
        steps:
          - id: signed
            ask: yesno
            mode: personal
            question: {en: "Has your organisation signed the Charter?", fr: "Votre organisation a-t-elle signé la Charte ?"}
            next:
              - if: signed == true
                goto: thanks
              - goto: rating
          - id: thanks
            say: {en: "Thank you for signing.", fr: "Merci d'avoir signé."}
          - id: year
            ask: number
            mode: personal
            integer: true
            min: 2000
            max: 2030
            question: {en: "In which year?", fr: "En quelle année ?"}
          - id: rating
            ask: scale
            scale: maturity
            collect: many
            question: {en: "How do we cooperate today?", fr: "Comment coopérons-nous aujourd'hui ?"}
        """

    func bench() throws -> Bench { Bench(try loadClean(Self.yaml), speaker: People.alice) }

    func saved(_ turn: DialogueTurn) -> [(String, String, AnswerValue)] {
        turn.effects.compactMap {
            if case .saveAnswer(let step, _, let value, _, let speaker, _) = $0 { (step, speaker.name, value) } else { nil }
        }
    }

    /// A "yes" opens bob's own follow-up (its `say` step and its question, named for him); carol's "no" opens
    /// nothing; the room stays on its question; bob's next message answers his follow-up, not the room's.
    func testEachPersonFollowsTheirOwnBranch() throws {
        var bench = try bench()
        bench.start()
        let bob = bench.say("yes", as: People.bob)
        XCTAssertEqual(bench.stepID, "signed", "the room stays where the facilitator keeps it")
        XCTAssertTrue(bob.text.contains("Thank you for signing."), bob.text)
        XCTAssertTrue(bob.text.contains("bob, a question for you:\nIn which year?"), bob.text)
        XCTAssertEqual(bob.replies.last?.asks, "year", "the follow-up is an anchor: a reply to it answers it")
        XCTAssertEqual(bench.state.followUps["@bob:test"]?.step, "year")

        let carol = bench.say("no", as: People.carol)
        XCTAssertNil(bench.state.followUps["@carol:test"], "carol's answer takes the room's own line")
        XCTAssertFalse(carol.text.contains("In which year?"))

        // carol's number is not an answer to bob's follow-up, nor to the room's yes/no question.
        let side = bench.say("2019", as: People.carol)
        XCTAssertTrue(saved(side).isEmpty)

        let year = bench.say("2019", as: People.bob)
        XCTAssertEqual(saved(year).map(\.0), ["year"])
        XCTAssertEqual(saved(year).map(\.1), ["bob"])
        XCTAssertEqual(saved(year).map(\.2), [.number(2019)])
        XCTAssertEqual(year.text, "Noted, bob.", "the branch rejoins the room's line: the follow-up closes")
        XCTAssertTrue(bench.state.followUps.isEmpty)
        XCTAssertEqual(bench.stepID, "signed")
    }

    /// The facilitator's *next* follows the room's main line, whatever the last person answered.
    func testTheRoomKeepsToItsMainLine() throws {
        var bench = try bench()
        bench.start()
        bench.say("no", as: People.carol)
        bench.say("yes", as: People.bob)
        bench.say("next", as: People.alice)
        XCTAssertEqual(bench.stepID, "rating", "a room is never sent down one person's branch")
    }

    /// Once the room moved on, the follow-up is answered by a reply to its message; someone else's reply to
    /// it is refused; the summary says whom the room still waits for.
    func testLateFollowUpsAndWhoseTurn() throws {
        var bench = try bench()
        bench.start()
        bench.say("yes", as: People.bob)
        bench.say("next", as: People.alice)
        XCTAssertEqual(bench.stepID, "rating")
        let summary = bench.say("summary", as: People.carol)
        XCTAssertTrue(summary.text.contains("Waiting for a follow-up answer from: bob."), summary.text)

        // bob's "3" now answers the room's question, not his follow-up.
        let rating = bench.say("3", as: People.bob)
        XCTAssertEqual(saved(rating).map(\.0), ["rating"])

        let intruder = bench.send(.anchored(stepID: "year", run: 1, text: "2020"), as: People.carol)
        XCTAssertTrue(saved(intruder).isEmpty)
        XCTAssertTrue(intruder.text.contains("that follow-up question was for someone else"), intruder.text)

        let late = bench.send(.anchored(stepID: "year", run: 1, text: "2021"), as: People.bob)
        XCTAssertEqual(saved(late).map(\.0), ["year"])
        XCTAssertEqual(saved(late).map(\.2), [.number(2021)])
        XCTAssertTrue(bench.state.followUps.isEmpty)
    }

    /// A wrong answer re-prompts only its author, by name, with their own attempts; `skip` leaves the follow-up.
    func testAttemptsAndSkipArePerPerson() throws {
        var bench = try bench()
        bench.start()
        bench.say("yes", as: People.bob)
        bench.say("yes", as: People.carol)
        let wrong = bench.say("1850", as: People.bob)
        XCTAssertTrue(wrong.text.hasPrefix("bob: "), wrong.text)
        XCTAssertEqual(bench.state.attemptsBy["@bob:test"], 1)
        XCTAssertNil(bench.state.attemptsBy["@carol:test"])
        let skip = bench.say("skip", as: People.carol)
        XCTAssertTrue(skip.text.contains("Follow-up skipped, carol."), skip.text)
        XCTAssertNil(bench.state.followUps["@carol:test"])
        XCTAssertEqual(bench.state.followUps["@bob:test"]?.step, "year", "bob's follow-up is still his")
    }

    /// Changing one's answer so that it no longer takes the branch closes the follow-up it opened.
    func testAChangedAnswerRetakesTheBranch() throws {
        var bench = try bench()
        bench.start()
        bench.say("yes", as: People.bob)
        XCTAssertNotNil(bench.state.followUps["@bob:test"])
        bench.send(.anchored(stepID: "signed", run: 1, text: "no"), as: People.bob)
        XCTAssertNil(bench.state.followUps["@bob:test"])
        XCTAssertEqual(bench.state.byPerson["signed"]?["@bob:test"], .yesno(false))
    }

    /// Follow-ups survive a restart: they are part of the stored session.
    func testFollowUpsAreStored() throws {
        var bench = try bench()
        bench.start()
        bench.say("yes", as: People.bob)
        let stored = bench.state.storedText
        let read = try DialogueSession(stored: XCTUnwrap(JSON.parse(stored)))
        XCTAssertEqual(read.followUps, bench.state.followUps)
        XCTAssertEqual(read.followUps["@bob:test"], FollowUp(step: "year", from: "signed", name: "bob"))
    }
}
