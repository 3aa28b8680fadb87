import XCTest

@testable import Dialogues

/// A run remembers what each question meant when it was shown: an answer to a question whose options or
/// kind changed since is never stored against the new meaning (issue 19).
final class VersionedRunTests: XCTestCase {
    static func yaml(options: String, question: String = "What helped most?", kind: String = "choice") -> String {
        dialogue(
            steps: """
                  - id: helped
                    ask: \(kind)
                    question: {en: "\(question)", fr: "Qu'est-ce qui a le plus aidé ?"}
                \(options)
                  - id: why
                    ask: text
                    question: {en: "Why?", fr: "Pourquoi ?"}
                """)
    }

    static let before = yaml(
        options: """
                options:
                  - {value: talks, label: {en: "The talks", fr: "Les exposés"}}
                  - {value: groups, label: {en: "Working in small groups", fr: "Le travail en petits groupes"}}
                  - {value: visit, label: {en: "The visit", fr: "La visite"}}
            """)
    static let firstRemoved = yaml(
        options: """
                options:
                  - {value: groups, label: {en: "Working in small groups", fr: "Le travail en petits groupes"}}
                  - {value: visit, label: {en: "The visit", fr: "La visite"}}
            """)

    /// The person saw "1. The talks"; the author removed that option; their "1" is not stored as "Working in
    /// small groups": the question is shown again, as it now is, and the next answer counts.
    func testAnAnswerToAChangedQuestionIsNotStored() throws {
        var bench = Bench(try loadClean(Self.before))
        XCTAssertTrue(bench.start().text.contains("1. The talks"))
        try bench.restart(reloading: Self.firstRemoved)
        let refused = bench.say("1")
        XCTAssertEqual(refused.saved, [], "nothing stored against the new meaning")
        XCTAssertTrue(refused.text.contains("This question was changed by the dialogue's authors since I asked it"), refused.text)
        XCTAssertTrue(refused.text.contains("1. Working in small groups"), "shown again as it is now: \(refused.text)")
        XCTAssertEqual(bench.stepID, "helped")
        XCTAssertEqual(bench.say("1").saved, [.choice("groups")], "an answer to what was shown counts")
    }

    /// Rewording a question does not change what its answers mean.
    func testRewordingKeepsTheAnswer() throws {
        var bench = Bench(try loadClean(Self.before))
        bench.start()
        let reworded = Self.before.replacingOccurrences(of: "What helped most?", with: "What helped you most?")
        try bench.restart(reloading: reworded)
        XCTAssertEqual(bench.say("1").saved, [.choice("talks")])
    }

    /// An answer given under the old meaning stops feeding conditions and the summary once the question's kind
    /// changed (the stored answer itself stays, as history).
    func testAnAnswerOfAnOldKindIsSetAsideInTheRun() throws {
        var bench = Bench(try loadClean(Self.before))
        bench.start()
        bench.say("2")
        XCTAssertEqual(bench.state.answers["helped"], .choice("groups"))
        try bench.restart(reloading: Self.yaml(options: "", kind: "text"))
        bench.say("Because we met")
        XCTAssertNil(bench.state.answers["helped"], "a choice is no answer to a text question")
        XCTAssertEqual(bench.state.answers["why"], .text("Because we met"))
    }

    /// The meaning is stored with the session, so a restart cannot lose it.
    func testTheShownMeaningIsStored() throws {
        var bench = Bench(try loadClean(Self.before))
        bench.start()
        let meaning = try XCTUnwrap(bench.state.shown["helped"])
        try bench.restart(reloading: Self.before)
        XCTAssertEqual(bench.state.shown["helped"], meaning)
        XCTAssertNotEqual(meaning, try XCTUnwrap(load(Self.firstRemoved).script?.step("helped")).meaning(scales: [:]))
    }
}
