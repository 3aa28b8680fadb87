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

    static let dave = Speaker(id: "@dave:test", name: "dave", isFacilitator: false)

    /// A `decision` step (the default for a room step that does not collect many) takes the facilitator's
    /// answer; the others' messages there are their conversation.
    func testDecisionStepsTakeTheFacilitatorsAnswer() throws {
        var bench = try bench()
        XCTAssertTrue(bench.start().text.contains("Welcome to Drôme."))
        XCTAssertEqual(bench.stepID, "priorities")
        let before = bench.state
        let bob = bench.say("1, 2", as: People.bob)
        XCTAssertTrue(bob.ignored)
        XCTAssertEqual(bench.state, before, "a member's message changes nothing on a decision")
        let alice = bench.say("1, 2", as: People.alice)
        XCTAssertEqual(saves(alice).map(\.0), ["alice"])
        XCTAssertEqual(saves(alice).map(\.2), [true], "the room's one answer replaces any earlier one")
        XCTAssertEqual(bench.stepID, "rating")
    }

    /// Everyone answers a collective question once: a new answer replaces that person's own, side chat
    /// is left alone, a number with words after it is an answer with its comment.
    func testEveryoneAnswersOnceAndSideChatIsNoAnswer() throws {
        var bench = try bench()
        bench.start()
        bench.say("1", as: People.alice)
        let bob = bench.say("3", as: People.bob)
        XCTAssertEqual(saves(bob).map(\.0), ["bob"])
        XCTAssertEqual(saves(bob).map(\.2), [false], "kept beside the others' answers")
        XCTAssertEqual(bob.text, "Noted, bob (1 answer so far). Others can answer too; a facilitator says *next* to move on.")
        XCTAssertFalse(bob.text.contains("Why?"), "no comment prompt in a room: it would take the next chat as a comment")
        XCTAssertEqual(bench.say("Beginnings", as: People.carol).saved, [.scale(2)])
        let again = bench.say("4", as: People.bob)
        XCTAssertEqual(again.text, "Updated, bob (2 answers so far).")
        XCTAssertEqual(bench.state.byPerson["rating"], [People.bob.id: .scale(4), People.carol.id: .scale(2)])
        XCTAssertEqual(bench.state.answerCounts["rating"], 2, "people, not messages")

        let chat = bench.say("I'll send the figures tonight", as: Self.dave)
        XCTAssertTrue(chat.ignored)
        XCTAssertEqual(chat.replies, [])
        let withComment = bench.say("2 I think, it's patchy", as: Self.dave)
        XCTAssertEqual(withComment.saved, [.scale(2)])
        XCTAssertEqual(withComment.effects.last, .comment(step: "rating", text: "I think, it's patchy", speaker: Self.dave))
        XCTAssertEqual(bench.state.answerCounts["rating"], 3)
        XCTAssertTrue(bench.say("we never meet, honestly", as: People.carol).ignored, "carol answered already: she is chatting")

        bench.say("next", as: People.alice)
        XCTAssertEqual(bench.stepID, "lead")
    }

    /// An answer that does not read counts against its author only, and the prompt names them.
    func testAttemptsArePerPersonAndNamed() throws {
        var bench = try bench()
        bench.start()
        bench.say("1", as: People.alice)
        XCTAssertEqual(
            bench.send(.anchored(stepID: "rating", run: 1, text: "lots"), as: People.bob).replies.map(\.markdown),
            ["bob: Please answer with one of 1, 2, 3, 4."])
        XCTAssertTrue(bench.send(.anchored(stepID: "rating", run: 1, text: "loads"), as: People.bob).text.hasSuffix("(last try)"))
        let carol = bench.send(.anchored(stepID: "rating", run: 1, text: "hmm"), as: People.carol).text
        XCTAssertTrue(carol.hasPrefix("carol: ") && !carol.contains("last try"), carol)
        let giveUp = bench.send(.anchored(stepID: "rating", run: 1, text: "many"), as: People.bob)
        XCTAssertTrue(giveUp.text.hasPrefix("bob, I still cannot read that"), giveUp.text)
        XCTAssertEqual(bench.stepID, "rating", "one person's trouble does not move the room")
        XCTAssertEqual(bench.state.attemptsBy, [People.carol.id: 1])
    }

    /// A reply to a question's message answers that question of that run, wherever the room now is.
    func testAnchoredAnswersLandOnTheirQuestion() throws {
        var bench = try bench()
        bench.start()
        bench.say("1", as: People.alice)
        bench.say("2", as: People.carol)
        bench.say("next", as: People.alice)
        XCTAssertEqual(bench.stepID, "lead")
        let late = bench.send(.anchored(stepID: "rating", run: 1, text: "3"), as: People.bob)
        XCTAssertEqual(saves(late).map(\.0), ["bob"])
        XCTAssertEqual(late.text, "Noted for question 2, bob (2 answers so far).")
        XCTAssertEqual(bench.stepID, "lead", "a late answer does not move the room")
        let comment = bench.send(.anchored(stepID: "rating", run: 1, text: "because we never meet"), as: People.bob)
        XCTAssertEqual(comment.effects, [.comment(step: "rating", text: "because we never meet", speaker: People.bob)])
        let old = bench.send(.anchored(stepID: "rating", run: 2, text: "3"), as: People.carol)
        XCTAssertEqual(old.effects, [])
        XCTAssertTrue(old.text.contains("earlier run"), old.text)
        XCTAssertTrue(
            bench.send(.anchored(stepID: "priorities", run: 1, text: "2"), as: People.bob).text.contains("facilitator gives"),
            "a decision stays the facilitator's")
    }

    /// Text addressed to the bot that is no answer is left to the caller (a question for the knowledge base).
    func testAddressedTextThatIsNoAnswerIsLeftToTheCaller() throws {
        var bench = try bench()
        bench.start()
        bench.say("1", as: People.alice)
        bench.addressed = true
        XCTAssertTrue(bench.say("what does Under way mean?", as: People.bob).ignored)
        XCTAssertEqual(bench.say("3", as: People.bob).saved, [.scale(3)], "an addressed answer is still an answer")
    }

    func testOnlyFacilitatorsSteer() throws {
        var bench = try bench()
        bench.start()
        bench.say("1", as: People.alice)
        XCTAssertEqual(bench.stepID, "rating")
        for word in ["next", "skip", "back", "restart", "stop", "question 4", "discussed", "suivant", "retour", "change 1"] {
            let before = bench.state
            bench.addressed = false
            XCTAssertTrue(bench.say(word, as: People.bob).ignored, "\(word): not addressed, taken as chat")
            bench.addressed = true
            let turn = bench.say(word, as: People.bob)
            XCTAssertEqual(turn.effects, [], word)
            XCTAssertTrue(turn.text.hasPrefix("bob: only a facilitator"), "\(word): bob is told why")
            var after = bench.state
            after.updatedAt = before.updatedAt
            XCTAssertEqual(after, before, "\(word) changes nothing when bob says it")
        }
        bench.addressed = false
        // Words that only look do not steer: anyone may use them.
        XCTAssertTrue(bench.say("help", as: People.bob).text.contains("summary"))
        XCTAssertTrue(bench.say("repeat", as: People.bob).text.contains("How do we cooperate today?"))
        XCTAssertTrue(bench.say("summary", as: People.bob).text.contains("Mobility"))
        XCTAssertEqual(bench.state.phase, .answer)
        XCTAssertEqual(bench.say("1", as: People.carol).saved, [.scale(1)])
        XCTAssertEqual(bench.stepID, "rating")
    }

    /// In a room, the summary shows how answers spread, never one person's value as the room's.
    func testTheSummaryShowsTheSpread() throws {
        var bench = try bench()
        bench.start()
        bench.say("1", as: People.alice)
        bench.say("3", as: People.bob)
        bench.say("2", as: People.carol)
        bench.say("3", as: Self.dave)
        let summary = bench.say("summary", as: People.bob).text
        XCTAssertTrue(
            summary.contains("How do we cooperate today? — 3 answers: **2 — Beginnings** ×1, **3 — Under way** ×2 (mean 2.7)"), summary)
    }

    func testFacilitatorSummaryThenChange() throws {
        var bench = try bench()
        bench.start()
        bench.say("1")
        bench.say("summary")
        XCTAssertEqual(bench.state.phase, .choosingChange)
        bench.say("1")
        XCTAssertEqual(bench.stepID, "priorities")
        bench.say("3")
        XCTAssertEqual(bench.state.answers["priorities"], .multi(["energy"]))
        XCTAssertEqual(bench.stepID, "rating", "back where the room was")
    }

    func testFacilitatorMovesMarksAndJumps() throws {
        var bench = try bench()
        bench.start()
        XCTAssertTrue(bench.say("next").text.contains("needs the room's answer"), "a decision is not skipped by accident")
        XCTAssertEqual(bench.stepID, "priorities")
        bench.say("question 4")
        XCTAssertEqual(bench.stepID, "people")
        bench.say("skip")
        XCTAssertEqual(bench.stepID, "ideas")
        bench.say("back")
        XCTAssertEqual(bench.stepID, "people")
        bench.say("discussed")
        XCTAssertEqual(bench.state.discussed, ["people"])
        XCTAssertEqual(bench.stepID, "ideas")
        XCTAssertTrue(bench.say("a market", as: People.bob).ignored, "the pebble list is the facilitator's")
        bench.say("a market")
        let end = bench.say("a repair café")
        XCTAssertEqual(saves(end).map(\.0), ["alice"], "a list is saved when its last item comes in")
        XCTAssertEqual(end.saved, [.list(["a market", "a repair café"])])
        XCTAssertTrue(end.text.contains("Thanks, everyone."))
        XCTAssertEqual(bench.state.status, .ended)
    }

    func testDoneClosesAListOnlyForAFacilitator() throws {
        var bench = try bench()
        bench.start()
        bench.say("question 5")
        bench.say("first")
        XCTAssertTrue(bench.say("done", as: People.carol).ignored)
        XCTAssertEqual(bench.say("done").saved, [.list(["first"])])
    }

    /// `mode:` says how a room answers a step; a decision cannot collect many answers.
    func testModesFromTheFile() throws {
        let personal = try loadClean(Self.yaml.replacingOccurrences(of: "    collect: many\n", with: "    mode: personal\n"))
        var bench = Bench(personal, speaker: People.alice, variables: ["territory": "Drôme"])
        bench.start()
        bench.say("1")
        bench.say("3", as: People.bob)
        bench.say("2", as: People.carol)
        XCTAssertTrue(bench.say("summary", as: People.bob).text.contains("2 answers: 3 — Under way; 2 — Beginnings"), bench.lastText)
        let wrong = load(Self.yaml.replacingOccurrences(of: "    collect: many\n", with: "    collect: many\n    mode: decision\n"))
        XCTAssertEqual(wrong.diagnostics.map(\.code), [.invalidValue])
    }

    func testPersonDialoguesLetEveryoneSteerTheirOwnSession() throws {
        // `steer: facilitators` only matters in rooms: a person's own session is theirs to steer.
        let script = try loadClean(
            dialogue(
                steer: "facilitators",
                steps: """
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
        XCTAssertTrue(bench.say("1", as: People.alice).text.contains("Question 2 of 5 · 1 answered"), bench.lastText)
    }
}
