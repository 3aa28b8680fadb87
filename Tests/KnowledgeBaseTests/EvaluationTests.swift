import Foundation
import Testing
@testable import KnowledgeBase

/// The evaluation set in `Benchmarks/kb/eval/questions.tsv` and the thresholds calibrated on its calibration part.
struct EvaluationTests {
    static let file = repositoryRoot.appendingPathComponent("Benchmarks/kb/eval/questions.tsv")

    static func questions() throws -> [EvaluationQuestion] {
        try EvaluationSet.parse(try String(contentsOf: file, encoding: .utf8))
    }

    /// The knowledge base the set is asked of: the starter one and the second corpus (`Benchmarks/kb/corpus2`).
    static let index: Result<KnowledgeIndex, any Error> = Result {
        let index = try makeIndex()
        let report = try index.importPaths(
            ["knowledge", "Benchmarks/kb/corpus2"].map { repositoryRoot.appendingPathComponent($0).path })
        guard report.skipped.isEmpty, report.added > 0 else {
            throw StarterError(description: "the evaluation's knowledge base did not import cleanly: \(report)")
        }
        return index
    }

    @Test func theSetHasEnoughQuestionsOfEachKindInBothLanguages() throws {
        let questions = try Self.questions()
        for language in ["en", "fr"] {
            let mine = questions.filter { $0.language == language }
            #expect(mine.count >= 80, "\(language): \(mine.count)")
            for kind in EvaluationQuestion.Kind.allCases {
                #expect(mine.contains { $0.kind == kind && $0.part == .reported }, "\(language) \(kind) reported")
                #expect(mine.contains { $0.kind == kind && $0.part == .calibration }, "\(language) \(kind) calibration")
            }
        }
    }

    /// A question tuned on must not be reported: no reported question is also a calibration question, nor one
    /// of `CalibrationQuestions`, which the thresholds were first chosen on.
    @Test func theReportedPartIsHeldOut() throws {
        let questions = try Self.questions()
        func key(_ question: EvaluationQuestion) -> String { "\(question.kind) \(question.question.lowercased())" }
        let calibration = Set(questions.filter { $0.part == .calibration }.map(key))
        let older = Set(
            CalibrationQuestions.answerable.map { $0.question.lowercased() } + CalibrationQuestions.unanswerable.map { $0.lowercased() })
        for question in questions where question.part == .reported {
            #expect(!calibration.contains(key(question)), "\(question.question)")
            #expect(!older.contains(question.question.lowercased()), "\(question.question)")
        }
    }

    @Test func everyExpectedDocumentExists() throws {
        let index = try Self.index.get()
        let sources = try index.writer.read { db in try String.fetchAll(db, sql: "SELECT source FROM kb_document") }
        let keys = Set(sources.map(EvaluationQuestion.documentKey(forSource:)))
        for question in try Self.questions() {
            for document in question.expected { #expect(keys.contains(document), "\(question.question): \(document)") }
        }
    }

    @Test(arguments: [
        ("reported\teasy\ten\ten/charter", "expected 5 tab-separated fields"),
        ("final\teasy\ten\ten/charter\tWhat?", "unknown part final"),
        ("reported\tsimple\ten\ten/charter\tWhat?", "unknown kind simple"),
        ("reported\teasy\tde\ten/charter\tWas?", "unknown language de"),
        ("reported\toff-topic\ten\ten/charter\tWhat?", "an off-topic question expects -"),
        ("reported\teasy\ten\t-\tWhat?", "an off-topic question expects -"),
    ])
    func aMalformedLineIsNamed(_ line: String, _ reason: String) {
        #expect {
            try EvaluationSet.parse("# comment\n\n" + line)
        } throws: { error in
            guard let error = error as? EvaluationSet.ParseError else { return false }
            return error.line == 3 && error.reason.hasPrefix(reason)
        }
    }

    /// The shipped thresholds make about as few wrong decisions on the calibration part as the best ones: a
    /// change of the knowledge base or of the ranking that moves the scores must come with a recalibration
    /// (`fabrique kb eval Benchmarks/kb/eval/questions.tsv --knowledge knowledge --knowledge Benchmarks/kb/corpus2
    /// --calibrate`).
    @Test func theThresholdsFitTheCalibrationPart() throws {
        let index = try Self.index.get()
        let observations = try index.evaluate(try Self.questions().filter { $0.part == .calibration }, rounds: 1, systems: [.ours])
        let best = KnowledgeIndex.calibrate(observations)
        let ours = observations.filter { $0.system == .ours }
        let confidentErrors = ours.filter { observation in
            (observation.confidence == .confident) != (observation.question.kind != .offTopic && observation.hitAt1)
        }.count
        let abstentionErrors = ours.filter { observation in
            (observation.confidence == .unknown) != (observation.question.kind == .offTopic)
        }.count
        #expect(confidentErrors <= best.confidentErrors + 2, "best threshold \(best.confident)")
        #expect(abstentionErrors <= best.unsureErrors + 2, "best unsure threshold \(best.unsure)")
    }
}
