@testable import Dialogues
import Foundation
import XCTest

/// What the engine used to write into sessions on the side, now inputs of the interpreter: ending a
/// run, an answer edited or withdrawn elsewhere, a script changed or removed under a run; and the
/// command prefix the interpreter's own texts name.
final class InterpreterInputTests: XCTestCase {
    static let yaml = dialogue(
        steps: """
              - id: name
                ask: text
                question: {en: "Name?", fr: "Nom ?"}
              - id: town
                ask: text
                question: {en: "Town?", fr: "Ville ?"}
            """)

    func context(_ minutes: Double, prefix: String = "!") -> TurnContext {
        TurnContext(
            language: .en, speaker: People.ann, now: Date(timeIntervalSince1970: 1_800_000_000 + minutes * 60), commandPrefix: prefix)
    }

    func testEndingARunKeepsItsAnswersAndSaysSo() throws {
        let script = try loadClean(Self.yaml)
        let interpreter = DialogueInterpreter(script)
        let started = interpreter.turn(nil, .start, context(0))
        let answered = interpreter.turn(started.session, .text("Ann"), context(1))
        let ended = interpreter.turn(answered.session, .end, context(2))
        XCTAssertEqual(ended.session.status, .ended)
        XCTAssertNil(ended.session.stepID)
        XCTAssertEqual(ended.session.answers["name"], .text("Ann"))
        XCTAssertEqual(ended.session.updatedAt, context(2).now)
        XCTAssertEqual(ended.replies.map(\.markdown), ["Stopped *Test run*. The answers given so far are kept."])
        XCTAssertEqual(ended.effects, [], "ending by command runs no on_end action")
    }

    func testAnAnswerChangedElsewhereIsTakenWithoutMovingTheRunOrItsIdleClock() throws {
        let script = try loadClean(Self.yaml)
        let interpreter = DialogueInterpreter(script)
        var session = interpreter.turn(nil, .start, context(0)).session
        session = interpreter.turn(session, .text("Ann"), context(1)).session
        let before = session
        let edited = interpreter.turn(
            session, .answerChanged(stepID: "name", variable: "name", latest: .text("Anne"), author: "Bob", count: 1), context(30))
        XCTAssertEqual(edited.session.answers["name"], .text("Anne"))
        XCTAssertEqual(edited.session.authors["name"], "Bob")
        XCTAssertEqual(edited.session.stepID, before.stepID)
        XCTAssertEqual(edited.session.updatedAt, before.updatedAt, "a correction is not activity")
        XCTAssertEqual(edited.replies, [])
        let withdrawn = interpreter.turn(
            edited.session, .answerChanged(stepID: "name", variable: "name", latest: nil, author: "Bob", count: 0), context(31))
        XCTAssertNil(withdrawn.session.answers["name"])
        XCTAssertNil(withdrawn.session.authors["name"])
        XCTAssertEqual(withdrawn.session.answerCounts["name"], 0)
    }

    func testAChangedScriptIsAdoptedOrEndsTheRunWhenItsQuestionIsGone() throws {
        let old = try loadClean(Self.yaml)
        var session = DialogueInterpreter(old).turn(nil, .start, context(0)).session
        session = DialogueInterpreter(old).turn(session, .text("Ann"), context(1)).session
        XCTAssertEqual(session.stepID, "town")

        let reworded = try loadClean(Self.yaml.replacingOccurrences(of: "Town?", with: "Which town?"))
        let adopted = DialogueInterpreter(reworded).turn(session, .text("Die"), context(2))
        XCTAssertEqual(adopted.session.revision, reworded.revision)
        XCTAssertEqual(adopted.session.answers["town"], .text("Die"))

        let shortened = try loadClean(
            dialogue(
                steps: """
                      - id: name
                        ask: text
                        question: {en: "Name?", fr: "Nom ?"}
                    """))
        let ended = DialogueInterpreter(shortened).turn(session, .text("Die"), context(3, prefix: "?"))
        XCTAssertEqual(ended.session.status, .ended)
        XCTAssertNil(ended.session.answers["town"], "the input is not played on a question that no longer exists")
        XCTAssertEqual(
            ended.replies.map(\.markdown),
            [
                "*Test run* was changed by its authors and the question you were on is gone, so I ended this run. Your answers are kept; say `?start test` to begin again."
            ])
    }

    /// A run whose dialogue is gone is paused where it stood, not ended: it resumes when the file is back.
    func testARunWhoseDialogueWasRemovedIsSuspended() throws {
        let script = try loadClean(Self.yaml)
        let session = DialogueInterpreter(script).turn(nil, .start, context(0)).session
        let suspended = DialogueInterpreter.suspendOrphan(session)
        XCTAssertEqual(suspended.status, .paused)
        XCTAssertEqual(suspended.stepID, session.stepID, "the place is kept")
        let resumed = DialogueInterpreter(script).turn(suspended, .resume, context(9))
        XCTAssertEqual(resumed.session.status, .active)
        XCTAssertEqual(resumed.session.stepID, session.stepID)
    }

    func testTheInterpretersTextsNameCommandsWithTheContextsPrefix() throws {
        let script = try loadClean(Self.yaml)
        let interpreter = DialogueInterpreter(script)
        let started = interpreter.turn(nil, .start, context(0, prefix: "?"))
        let texts = [
            interpreter.turn(started.session, .text("help"), context(1, prefix: "?")),
            interpreter.turn(started.session, .text("stop"), context(1, prefix: "?")),
            interpreter.turn(started.session, .expire, context(1, prefix: "?")),
        ].flatMap(\.replies).map(\.markdown).joined(separator: "\n")
        XCTAssertTrue(texts.contains("`?resume`"), texts)
        XCTAssertFalse(texts.contains("`!"), texts)
    }
}
