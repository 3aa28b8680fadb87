import XCTest

@testable import Dialogues

/// Changing an answer through the summary takes the branch again: answers on the branch the run left are set
/// aside, and the run goes on where the new path needs an answer (issue 19).
final class RetakeBranchTests: XCTestCase {
    static let yaml = dialogue(
        steps: """
              - id: signed
                ask: yesno
                question: {en: "Did you sign?", fr: "Avez-vous signé ?"}
                next:
                  - if: signed == true
                    goto: when
                  - goto: why_not
              - id: when
                ask: text
                question: {en: "When?", fr: "Quand ?"}
                next: plans
              - id: why_not
                ask: text
                question: {en: "Why not?", fr: "Pourquoi pas ?"}
              - id: plans
                ask: text
                question: {en: "Your plans?", fr: "Vos projets ?"}
            """)

    func testAChangedAnswerTakesItsNewBranch() throws {
        var bench = Bench(try loadClean(Self.yaml))
        bench.start()
        bench.say("no")
        bench.say("too early")
        XCTAssertEqual(bench.stepID, "plans")
        bench.say("summary")
        let changing = bench.say("1")
        XCTAssertEqual(bench.stepID, "signed", "\(changing.text)")
        let changed = bench.say("yes")
        XCTAssertEqual(
            changed.effects.filter { if case .setAside = $0 { true } else { false } }, [.setAside(step: "why_not")],
            "the answer on the branch left behind is set aside")
        XCTAssertNil(bench.state.answers["why_not"])
        XCTAssertEqual(bench.stepID, "when", "the new branch's question, not the old place: \(changed.text)")
        XCTAssertTrue(changed.text.contains("When?"))
        bench.say("in May")
        XCTAssertEqual(bench.stepID, "plans")
        let summary = bench.say("summary").text
        XCTAssertFalse(summary.contains("too early"), summary)
        XCTAssertTrue(summary.contains("in May"), summary)
    }

    /// *back* after a summary edit goes to the question shown before, never forward.
    func testBackAfterAnEditGoesToTheQuestionShownBefore() throws {
        var bench = Bench(try loadClean(Self.yaml))
        bench.start()
        bench.say("no")
        bench.say("too early")
        bench.say("summary")
        bench.say("1")
        bench.say("yes")
        XCTAssertEqual(bench.stepID, "when")
        bench.say("back")
        XCTAssertEqual(bench.stepID, "signed", "the question shown before 'when'")
        bench.say("back")
        XCTAssertEqual(bench.stepID, "signed", "the first question: nothing before it")
    }

    /// A change that keeps the branch returns where the person was, and sets nothing aside.
    func testAChangeOnTheSameBranchReturnsWhereThePersonWas() throws {
        var bench = Bench(try loadClean(Self.yaml))
        bench.start()
        bench.say("no")
        bench.say("too early")
        bench.say("summary")
        bench.say("2")
        let changed = bench.say("not ready")
        XCTAssertFalse(changed.effects.contains { if case .setAside = $0 { true } else { false } })
        XCTAssertEqual(bench.stepID, "plans")
        XCTAssertEqual(bench.state.answers["why_not"], .text("not ready"))
    }
}
