import XCTest

@testable import Dialogues

/// A room-scoped dialogue: one shared session, answered by several people, steered by a facilitator.
final class RoomDialogueTests: XCTestCase {
    static let yaml = """
        id: workshop
        title: {en: "Workshop", fr: "Atelier"}
        scope: room
        start: facilitators
        steer: facilitators
        steps:
          - id: intro
            say: {en: "Welcome to {territory}.", fr: "Bienvenue à {territory}."}
          - id: priorities
            ask: multi
            question: {en: "Which fields matter most?", fr: "Quels domaines comptent le plus ?"}
            options:
              - {value: mobility, label: {en: Mobility, fr: Mobilité}}
              - {value: food, label: {en: Food, fr: Alimentation}}
              - {value: energy, label: {en: Energy, fr: Énergie}}
          - id: rating
            ask: scale
            scale: maturity
            collect: many
            question: {en: "How do we cooperate today?", fr: "Comment coopérons-nous aujourd'hui ?"}
            comment: {en: "Why?", fr: "Pourquoi ?"}
          - id: lead
            ask: text
            question: {en: "Who could lead?", fr: "Qui pourrait piloter ?"}
            comment: {en: "Any remark?", fr: "Une remarque ?"}
          - id: people
            ask: number
            min: 1
            question: {en: "How many people could join?", fr: "Combien de personnes pourraient venir ?"}
            skippable: true
          - id: ideas
            ask: list
            max: 2
            question: {en: "Name two first steps.", fr: "Citez deux premiers pas."}
        end:
          text: {en: "Thanks, everyone.", fr: "Merci à toutes et tous."}
        """

    func bench() throws -> Bench {
        Bench(try loadClean(Self.yaml), speaker: People.alice, variables: ["territory": "Drôme"])
    }

    /// The author and `replacing` flag of each answer saved by `turn`.
    func saves(_ turn: DialogueTurn) -> [(String, AnswerValue, Bool)] {
        turn.effects.compactMap {
            if case .saveAnswer(_, _, let value, _, let speaker, let replacing) = $0 { (speaker.name, value, replacing) } else { nil }
        }
    }

    func testThreePeopleAnswerWithPerPersonAttribution() throws {
        var bench = try bench()
        XCTAssertTrue(bench.start().text.contains("Welcome to Drôme."))
        XCTAssertEqual(bench.stepID, "priorities")

        let first = bench.say("1, 2", as: People.bob)
        XCTAssertEqual(saves(first).map(\.0), ["bob"])
        XCTAssertEqual(saves(first).map(\.2), [true], "a one-answer step replaces earlier answers")
        XCTAssertEqual(bench.state.authors["priorities"], "bob")
        XCTAssertEqual(bench.stepID, "rating", "a one-answer step moves on at the first answer")

        // `collect: many`: everyone answers, each answer kept and attributed, until a facilitator says next.
        let bob = bench.say("3", as: People.bob)
        XCTAssertEqual(saves(bob).map(\.0), ["bob"])
        XCTAssertEqual(saves(bob).map(\.2), [false], "collected answers add up")
        XCTAssertEqual(bench.stepID, "rating")
        XCTAssertTrue(bob.text.contains("Why?"), "bob is asked for his comment")
        let carol = bench.say("Beginnings", as: People.carol)
        XCTAssertEqual(carol.saved, [.scale(2)])
        XCTAssertEqual(saves(carol).map(\.0), ["carol"])
        XCTAssertEqual(bench.state.pendingComments, [People.bob.id: "rating", People.carol.id: "rating"])

        let comment = bench.say("we already share a car pool", as: People.bob)
        XCTAssertEqual(comment.effects, [.comment(step: "rating", text: "we already share a car pool", speaker: People.bob)])
        XCTAssertEqual(bench.say("no", as: People.carol).effects, [])
        XCTAssertEqual(bench.state.pendingComments, [:])

        let dave = Speaker(id: "@dave:test", name: "dave", isFacilitator: false)
        XCTAssertEqual(saves(bench.say("4", as: dave)).map(\.0), ["dave"])
        XCTAssertEqual(bench.state.answerCounts["rating"], 3)
        XCTAssertEqual(bench.state.answers["rating"], .scale(4), "conditions read the latest answer")
        XCTAssertEqual(bench.state.authors["rating"], "dave")
        XCTAssertEqual(bench.say("no", as: dave).effects, [])

        bench.say("next", as: People.alice)
        XCTAssertEqual(bench.stepID, "lead")
    }

    func testOnlyTheAuthorOfAnAnswerGivesItsComment() throws {
        var bench = try bench()
        bench.start()
        bench.say("1", as: People.bob)
        XCTAssertEqual(bench.stepID, "rating")
        XCTAssertEqual(bench.say("next", as: People.alice).saved, [], "a facilitator may move on without answers")
        XCTAssertEqual(bench.stepID, "lead")

        bench.say("Carol", as: People.bob)
        XCTAssertEqual(bench.state.phase, .comment)
        let interruption = bench.say("I disagree", as: People.carol)
        XCTAssertEqual(interruption.effects, [])
        XCTAssertTrue(interruption.text.contains("bob"), "says whose comment it waits for")
        XCTAssertEqual(bench.state.phase, .comment)
        let comment = bench.say("She knows everyone", as: People.bob)
        XCTAssertEqual(comment.effects, [.comment(step: "lead", text: "She knows everyone", speaker: People.bob)])
        XCTAssertEqual(bench.stepID, "people")
    }

    func testFacilitatorMovesOnWithoutWaitingForAComment() throws {
        var bench = try bench()
        bench.start()
        bench.say("1", as: People.bob)
        bench.say("next")
        bench.say("Carol", as: People.bob)
        XCTAssertEqual(bench.state.phase, .comment)
        let turn = bench.say("next")
        XCTAssertEqual(turn.effects, [], "the answer stays; only its comment is given up")
        XCTAssertEqual(bench.stepID, "people")
        XCTAssertEqual(bench.state.phase, .answer)
        XCTAssertEqual(bench.state.answers["lead"], .text("Carol"))
        XCTAssertEqual(bench.say("12", as: People.bob).saved, [.number(12)], "bob's next message answers the next question")
    }

    func testOnlyFacilitatorsSteer() throws {
        var bench = try bench()
        bench.start()
        bench.say("1", as: People.bob)
        XCTAssertEqual(bench.stepID, "rating")
        for word in ["next", "skip", "back", "restart", "stop", "question 4", "discussed", "suivant", "retour", "change 1"] {
            let before = bench.state
            let turn = bench.say(word, as: People.bob)
            XCTAssertEqual(turn.effects, [], word)
            XCTAssertFalse(turn.replies.isEmpty, "\(word): bob is told why")
            var after = bench.state
            after.updatedAt = before.updatedAt
            XCTAssertEqual(after, before, "\(word) changes nothing when bob says it")
        }
        // Words that only look do not steer: anyone may use them.
        XCTAssertTrue(bench.say("help", as: People.bob).text.contains("summary"))
        XCTAssertTrue(bench.say("repeat", as: People.bob).text.contains("How do we cooperate today?"))
        XCTAssertTrue(bench.say("summary", as: People.bob).text.contains("Mobility"))
        // Changing an answer moves the whole room back: bob's summary does not wait for a number,
        // so the next number anyone says is an answer to the current question.
        XCTAssertEqual(bench.state.phase, .answer)
        XCTAssertEqual(bench.say("1", as: People.carol).saved, [.scale(1)])
        XCTAssertEqual(bench.stepID, "rating")
    }

    func testFacilitatorSummaryThenChange() throws {
        var bench = try bench()
        bench.start()
        bench.say("1", as: People.bob)
        bench.say("summary")
        XCTAssertEqual(bench.state.phase, .choosingChange)
        bench.say("1")
        XCTAssertEqual(bench.stepID, "priorities")
        bench.say("3", as: People.bob)
        XCTAssertEqual(bench.state.answers["priorities"], .multi(["energy"]))
        XCTAssertEqual(bench.stepID, "rating", "back where the room was")
    }

    func testFacilitatorMovesMarksAndJumps() throws {
        var bench = try bench()
        bench.start()
        bench.say("question 4")
        XCTAssertEqual(bench.stepID, "people")
        bench.say("skip")
        XCTAssertEqual(bench.stepID, "ideas")
        bench.say("back")
        XCTAssertEqual(bench.stepID, "people")
        bench.say("discussed")
        XCTAssertEqual(bench.state.discussed, ["people"])
        XCTAssertEqual(bench.stepID, "ideas")
        bench.say("a market", as: People.bob)
        let end = bench.say("a repair café", as: People.carol)
        XCTAssertEqual(saves(end).map(\.0), ["carol"], "a list is saved when its last item comes in")
        XCTAssertEqual(end.saved, [.list(["a market", "a repair café"])])
        XCTAssertTrue(end.text.contains("Thanks, everyone."))
        XCTAssertEqual(bench.state.status, .ended)
    }

    func testAnyoneAnswersButDoneIsNotSteering() throws {
        var bench = try bench()
        bench.start()
        bench.say("question 5")
        bench.say("first", as: People.bob)
        XCTAssertEqual(bench.say("done", as: People.carol).saved, [.list(["first"])])
    }

    func testPersonDialoguesLetEveryoneSteerTheirOwnSession() throws {
        // `steer: facilitators` only matters in rooms: a person's own session is theirs to steer.
        let script = try loadClean(dialogue(steer: "facilitators", steps: """
              - id: a
                ask: text
                question: {en: "A?", fr: "A ?"}
                skippable: true
            """))
        var bench = Bench(script, speaker: People.bob)
        bench.start()
        bench.say("skip")
        XCTAssertEqual(bench.state.status, .ended)
    }

    func testProgressLineInRoomsWithMoreThanThreeQuestions() throws {
        var bench = try bench()
        let turn = bench.start()
        XCTAssertTrue(turn.text.contains("Question 1 of 5 · 0 answered"), turn.text)
        XCTAssertTrue(bench.say("1", as: People.bob).text.contains("Question 2 of 5 · 1 answered"), bench.lastText)
    }
}
