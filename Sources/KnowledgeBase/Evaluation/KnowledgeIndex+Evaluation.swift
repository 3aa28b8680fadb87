import Foundation
import GRDB

/// A way of ranking passages that the evaluation compares.
public enum RetrievalSystem: String, Sendable, CaseIterable {
    /// FTS5's own BM25 ranking of the same MATCH expression, passages in rank order, no confidence: it
    /// abstains only when nothing matches.
    case rawFTS5 = "FTS5 BM25"
    /// ``KnowledgeIndex/search(_:_:limit:offset:language:strictLanguage:)``: BM25 re-ranked by coverage,
    /// proximity, headings and language, with its confidence.
    case ours = "our BM25"
    /// Cosine similarity of the sentence model's vectors (``SentenceModel``), no confidence.
    case dense = "dense"
    /// Reciprocal rank fusion (k = 60) of our BM25's and the dense ranking's first 20 passages.
    case hybrid = "hybrid RRF"

    /// The systems that can run: the dense ones need the sentence model.
    public static func available(withModel: Bool) -> [RetrievalSystem] {
        withModel ? allCases : [.rawFTS5, .ours]
    }
}

/// What one system answered to one question of the evaluation set.
public struct EvaluationObservation: Sendable {
    public var question: EvaluationQuestion
    public var system: RetrievalSystem
    /// Documents of the first three passages, as `LANGUAGE/FILE`.
    public var documents: [String]
    /// Nil for a system that has no notion of confidence.
    public var confidence: SearchResponse.Confidence?
    /// Score and coverage of the best passage, for calibrating the thresholds.
    public var topScore: Double
    public var topCoverage: Double
    /// Median over the rounds of the time the query took.
    public var milliseconds: Double

    static func empty(_ question: EvaluationQuestion, _ system: RetrievalSystem) -> EvaluationObservation {
        EvaluationObservation(
            question: question, system: system, documents: [], confidence: nil, topScore: 0, topCoverage: 0, milliseconds: 0)
    }

    public var hitAt1: Bool { documents.first.map(question.expected.contains) ?? false }
    public var hitAt3: Bool { documents.prefix(3).contains(where: question.expected.contains) }
    /// "I don't know": nothing found, or not even close.
    public var abstained: Bool { confidence.map { $0 == .unknown } ?? documents.isEmpty }
}

extension KnowledgeIndex {
    /// Asks every question of `questions` to every system, `rounds` times for the timings.
    ///
    /// - Throws: a GRDB `DatabaseError` when the index cannot be read.
    /// - Parameter model: the sentence model for the dense and hybrid systems (their vectors must have been
    ///   computed with ``embedPassages(with:progress:)``); without it only the BM25 systems run.
    public func evaluate(
        _ questions: [EvaluationQuestion], rounds: Int = 3, model: SentenceModel? = nil
    ) throws -> [EvaluationObservation] {
        try writer.read { db in
            var observations: [EvaluationObservation] = []
            for question in questions {
                for system in RetrievalSystem.available(withModel: model != nil) {
                    var times: [Double] = []
                    var observation: EvaluationObservation?
                    for _ in 0..<max(1, rounds) {
                        let start = ContinuousClock.now
                        let answered = try answer(db, question, system, model: model)
                        let elapsed = ContinuousClock.now - start
                        times.append(
                            Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15)
                        observation = answered
                    }
                    guard var observation else { continue }
                    observation.milliseconds = times.sorted()[times.count / 2]
                    observations.append(observation)
                }
            }
            return observations
        }
    }

    private func answer(
        _ db: Database, _ question: EvaluationQuestion, _ system: RetrievalSystem, model: SentenceModel?
    ) throws -> EvaluationObservation {
        let language = question.searchLanguage
        switch system {
        case .dense, .hybrid:
            guard let model else { return EvaluationObservation.empty(question, system) }
            let dense = try denseRanking(db, question.question, model: model, language: language, limit: 20)
            var ranked = dense.map { ($0.source, $0.text) }
            if system == .hybrid {
                let lexical = try search(db, question.question, limit: 20, language: language, strictLanguage: language != nil)
                var fused: [String: (source: String, score: Double)] = [:]
                for list in [ranked, lexical.results.map { ($0.source, $0.text) }] {
                    for (rank, (source, text)) in list.enumerated() {
                        fused[source + "\u{0}" + text, default: (source, 0)].score += 1 / Double(60 + rank + 1)
                    }
                }
                ranked = fused.sorted { $0.value.score != $1.value.score ? $0.value.score > $1.value.score : $0.key < $1.key }
                    .map { ($0.value.source, $0.key) }
            }
            var documents: [String] = []
            for (source, _) in ranked {
                let key = EvaluationQuestion.documentKey(forSource: source)
                if !documents.contains(key) { documents.append(key) }
                if documents.count == 3 { break }
            }
            return EvaluationObservation(
                question: question, system: system, documents: documents, confidence: nil,
                topScore: Double(dense.first?.cosine ?? 0), topCoverage: 0, milliseconds: 0)
        case .rawFTS5:
            var documents: [String] = []
            var score = 0.0
            if let expression = try matchExpression(db, for: question.question) {
                let filter = language == nil ? "" : "AND language = :language"
                var arguments: StatementArguments = ["match": expression]
                if let language { arguments += ["language": language] }
                let rows = try Row.fetchAll(
                    db,
                    sql: """
                        SELECT d.source, m.rank
                        FROM (SELECT rowid, rank FROM kb_passage_terms
                              WHERE kb_passage_terms MATCH :match \(filter) ORDER BY rank LIMIT 3) AS m
                        JOIN kb_passage AS p ON p.id = m.rowid
                        JOIN kb_document AS d ON d.id = p.document_id
                        ORDER BY m.rank
                        """, arguments: arguments)
                documents = rows.map { EvaluationQuestion.documentKey(forSource: $0[0]) }
                score = rows.first.map { -($0[1] as Double) } ?? 0
            }
            return EvaluationObservation(
                question: question, system: system, documents: documents, confidence: nil, topScore: score,
                topCoverage: 0, milliseconds: 0)
        case .ours:
            let response = try search(
                db, question.question, limit: 3, language: language, strictLanguage: language != nil)
            return EvaluationObservation(
                question: question, system: system,
                documents: response.results.map { EvaluationQuestion.documentKey(forSource: $0.source) },
                confidence: response.confidence, topScore: response.results.first?.score ?? 0,
                topCoverage: try topCoverage(db, question.question, language: language), milliseconds: 0)
        }
    }

    /// The thresholds that make the fewest wrong decisions on `observations` (of ``RetrievalSystem/ours``):
    /// confident only when the best passage is right, "I don't know" only off topic.
    ///
    /// Call it on the calibration part alone; the reported part must not be tuned on.
    public static func calibrate(
        _ observations: [EvaluationObservation]
    ) -> (confident: Double, confidentErrors: Int, unsure: Double, unsureErrors: Int) {
        let ours = observations.filter { $0.system == .ours }
        func confidenceErrors(_ threshold: Double) -> Int {
            ours.filter { observation in
                let decided = confidence(score: observation.topScore, coverage: observation.topCoverage, confidentAt: threshold)
                let shouldBe = observation.question.kind != .offTopic && observation.hitAt1
                return (decided == .confident) != shouldBe
            }.count
        }
        func abstentionErrors(_ threshold: Double) -> Int {
            ours.filter { observation in
                let decided = confidence(
                    score: observation.topScore, coverage: observation.topCoverage, confidentAt: .infinity,
                    unsureAt: threshold)
                return (decided == .unknown) != (observation.question.kind == .offTopic)
            }.count
        }
        let grid = (0...400).map { Double($0) * 0.1 }
        // Ties go to the lowest threshold: answering beats abstaining when both are as often wrong.
        let confident = grid.min { confidenceErrors($0) < confidenceErrors($1) } ?? confidenceThreshold
        let unsure = grid.filter { $0 <= confident }.min { abstentionErrors($0) < abstentionErrors($1) } ?? unsureThreshold
        return (confident, confidenceErrors(confident), unsure, abstentionErrors(unsure))
    }
}
