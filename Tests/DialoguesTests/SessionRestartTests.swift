import XCTest

@testable import Dialogues
import FabriqueJSON

/// A restart in the middle of each kind of step: the session is stored as JSON, the process "restarts"
/// (the script is loaded again from its text), and the run goes on exactly as if nothing had happened.
final class SessionRestartTests: XCTestCase {
    /// One line of a scripted run: `text`, `bob> text`, or `!start`, `!resume`, `!expire`.
    func input(_ line: String) -> (DialogueInput, Speaker?) {
        var speaker: Speaker?
        var text = line
        if let marker = line.range(of: "> ") {
            let name = String(line[..<marker.lowerBound])
            speaker = [People.ann, People.alice, People.bob, People.carol].first { $0.name == name }
            XCTAssertNotNil(speaker, "unknown speaker \(name)")
            text = String(line[marker.upperBound...])
        }
        switch text {
        case "!start": return (.start, speaker)
        case "!resume": return (.resume, speaker)
        case "!expire": return (.expire, speaker)
        default: return (.text(text), speaker)
        }
    }

    /// Plays `before` then `after` twice: straight through, and with a restart in between. Asserts that the
    /// restarted session is where the first one was (same step, phase and attempt count) and that every
    /// later turn gives the same replies and effects.
    /// - Returns: the session at the moment of the restart, for further checks.
    @discardableResult
    func assertSurvivesRestart(
        _ yaml: String, language: Language = .en, speaker: Speaker = People.ann,
        before: [String], after: [String], file: StaticString = #filePath, line: UInt = #line
    ) throws -> DialogueSession {
        let script = try XCTUnwrap(load(yaml).script, file: file, line: line)
        var straight = Bench(script, language: language, speaker: speaker, variables: ["territory": "Drôme"])
        var restarted = straight
        for text in before {
            let (input, who) = self.input(text)
            straight.send(input, as: who)
            restarted.send(input, as: who)
        }
        let atRestart = straight.state
        try restarted.restart(reloading: yaml)
        XCTAssertEqual(restarted.state, atRestart, "the stored session reads back identical", file: file, line: line)
        XCTAssertEqual(restarted.stepID, atRestart.stepID, file: file, line: line)
        XCTAssertEqual(restarted.state.attempts, atRestart.attempts, file: file, line: line)
        XCTAssertEqual(restarted.state.phase, atRestart.phase, file: file, line: line)
        XCTAssertEqual(restarted.script.revision, script.revision, "the same file gives the same revision", file: file, line: line)
        for text in after {
            let (input, who) = self.input(text)
            let expected = straight.send(input, as: who)
            let actual = restarted.send(input, as: who)
            XCTAssertEqual(actual.replies, expected.replies, "replies to '\(text)'", file: file, line: line)
            XCTAssertEqual(actual.effects, expected.effects, "effects of '\(text)'", file: file, line: line)
        }
        XCTAssertEqual(restarted.state, straight.state, "both runs end in the same state", file: file, line: line)
        XCTAssertFalse(straight.turns.suffix(after.count).allSatisfy { $0.replies.isEmpty }, "the run goes on", file: file, line: line)
        return atRestart
    }

    func single(_ step: String) -> String { dialogue(steps: step) }

    func testTextAfterAFailedAttempt() throws {
        let session = try assertSurvivesRestart(
            single(
                """
                  - id: name
                    ask: text
                    question: {en: "Name?", fr: "Nom ?"}
                    rules:
                      - min_length: 3
                    attempts: 2
                """), before: ["!start", "Al"], after: ["Bo", "Ann"])
        XCTAssertEqual(session.stepID, "name")
        XCTAssertEqual(session.attempts, 1)
    }

    func testChoiceAfterAFailedAttempt() throws {
        let session = try assertSurvivesRestart(
            single(
                """
                  - id: colour
                    ask: choice
                    question: {en: "Colour?", fr: "Couleur ?"}
                    options:
                      - {value: red, label: {en: "Red", fr: "Rouge"}}
                      - {value: green, label: {en: "Green", fr: "Vert"}}
                """), before: ["!start", "purple"], after: ["2"])
        XCTAssertEqual(session.attempts, 1)
    }

    func testMultiAfterAFailedAttempt() throws {
        let session = try assertSurvivesRestart(
            single(
                """
                  - id: fields
                    ask: multi
                    question: {en: "Fields?", fr: "Domaines ?"}
                    options:
                      - {value: a, label: {en: "A", fr: "A"}}
                      - {value: b, label: {en: "B", fr: "B"}}
                """), before: ["!start", "1, 9"], after: ["1, 2"])
        XCTAssertEqual(session.attempts, 1)
    }

    func testYesNoInFrenchAfterTwoFailedAttempts() throws {
        // The next failure is the last allowed one: the restarted run must know it.
        let session = try assertSurvivesRestart(
            single(
                """
                  - id: agree
                    ask: yesno
                    question: {en: "Agree?", fr: "D'accord ?"}
                    on_fail: stop
                """), language: .fr, before: ["!start", "bof", "mouais"], after: ["peut-être"])
        XCTAssertEqual(session.attempts, 2)
    }

    func testScaleAnswerAndComment() throws {
        let yaml = single(
            """
              - id: level
                ask: scale
                scale: maturity
                question: {en: "Level?", fr: "Niveau ?"}
                comment: {en: "Why?", fr: "Pourquoi ?"}
            """)
        try assertSurvivesRestart(yaml, before: ["!start", "9"], after: ["3", "Because."])
        let session = try assertSurvivesRestart(yaml, before: ["!start", "3"], after: ["Because."])
        XCTAssertEqual(session.phase, .comment)
        XCTAssertEqual(session.commentBy, People.ann.id)
    }

    func testNumberAfterFailedAttempts() throws {
        let session = try assertSurvivesRestart(
            single(
                """
                  - id: people
                    ask: number
                    min: 1
                    max: 100
                    integer: true
                    question: {en: "How many?", fr: "Combien ?"}
                """), before: ["!start", "0", "2.5"], after: ["42"])
        XCTAssertEqual(session.attempts, 2)
    }

    func testListWithItemsGatheredAndAFailedAttempt() throws {
        let session = try assertSurvivesRestart(
            single(
                """
                  - id: ideas
                    ask: list
                    min: 2
                    question: {en: "Ideas?", fr: "Idées ?"}
                    rules:
                      - min_length: 3
                """), before: ["!start", "a market", "ab"], after: ["repeat", "a repair café", "done"])
        XCTAssertEqual(session.listDraft, ["a market"])
        XCTAssertEqual(session.attempts, 1)
    }

    func testSayStepsAndBranchesAfterTheRestart() throws {
        try assertSurvivesRestart(
            single(
                """
                  - id: ready
                    ask: yesno
                    question: {en: "Ready?", fr: "Prêt ?"}
                    next:
                      - if: ready
                        goto: great
                      - goto: bye
                  - id: great
                    say: {en: "Great, {sender} from {territory}!", fr: "Super, {sender} de {territory} !"}
                """), before: ["!start"], after: ["yes"])
    }

    func testWhileChoosingAnAnswerToChange() throws {
        let yaml = InterpreterNavigationTests.yaml
        let session = try assertSurvivesRestart(yaml, before: ["!start", "Ann", "red", "summary"], after: ["1", "Bea", "yes"])
        XCTAssertEqual(session.phase, .choosingChange)
    }

    func testWhileChangingAnAnswerFromTheSummary() throws {
        let yaml = InterpreterNavigationTests.yaml
        let session = try assertSurvivesRestart(yaml, before: ["!start", "Ann", "red", "change 1"], after: ["Bea", "yes"])
        XCTAssertEqual(session.returnTo, "agree")
        XCTAssertEqual(session.stepID, "name")
    }

    func testWhilePausedAndAfterBack() throws {
        let yaml = InterpreterNavigationTests.yaml
        try assertSurvivesRestart(yaml, before: ["!start", "Ann", "back", "Bea", "stop"], after: ["!resume", "back", "Cy", "2", "no"])
        try assertSurvivesRestart(yaml, before: ["!start", "Ann", "!expire"], after: ["hello", "!resume", "skip"])
    }

    func testRoomWithCollectedAnswersPerPersonAndAttempts() throws {
        let yaml = RoomDialogueTests.yaml
        let session = try assertSurvivesRestart(
            yaml, speaker: People.alice,
            before: ["!start", "alice> 1, 2", "bob> 3", "carol> 2", "bob> 4"],
            after: ["bob> 1 we share cars", "carol> chatting", "alice> next", "bob> Carol", "alice> Carol", "alice> 12"])
        XCTAssertEqual(session.byPerson["rating"], [People.bob.id: .scale(4), People.carol.id: .scale(2)])
        XCTAssertEqual(session.answerCounts["rating"], 2)
    }

    func testRoomRunNumberAfterARestartOfTheDialogue() throws {
        let yaml = RoomDialogueTests.yaml
        let session = try assertSurvivesRestart(
            yaml, speaker: People.alice, before: ["!start", "alice> 1", "restart"], after: ["alice> 2", "bob> 3"])
        XCTAssertEqual(session.run, 2)
    }

    func testPromptShowsTheCurrentQuestionAgainAfterARestart() throws {
        var bench = Bench(try loadClean(InterpreterNavigationTests.yaml), language: .fr)
        bench.start()
        bench.say("Ann")
        try bench.restart(reloading: InterpreterNavigationTests.yaml)
        let context = TurnContext(language: .fr, speaker: People.ann, now: bench.now)
        let replies = DialogueInterpreter(bench.script).prompt(bench.state, context)
        XCTAssertEqual(replies.count, 1)
        XCTAssertTrue(replies[0].markdown.hasPrefix("Couleur préférée ?"), replies[0].markdown)
        XCTAssertEqual(replies[0].choices, ["Rouge", "Vert"])
        XCTAssertEqual(bench.state.phase, .answer, "showing the question changes nothing")
    }

    func testSessionsFromBeforePendingCommentsStillDecode() throws {
        // A session stored before `pendingComments` existed must still load after an upgrade.
        var bench = Bench(try loadClean(InterpreterNavigationTests.yaml))
        bench.start()
        bench.say("Ann")
        var json = try XCTUnwrap(JSON.parse(bench.state.storedText)?.object)
        XCTAssertNotNil(json.removeValue(forKey: "pendingComments"))
        let old = try DialogueSession(stored: .object(json))
        XCTAssertEqual(old, bench.state)
    }
}
