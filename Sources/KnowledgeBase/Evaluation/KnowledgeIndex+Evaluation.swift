import Foundation
import GRDB

/// A way of ranking passages that the evaluation compares.
public enum RetrievalSystem: String, Sendable, CaseIterable {
    /// FTS5's own BM25 ranking of the same MATCH expression, passages in rank order, no confidence: it
    /// abstains only when nothing matches.
    case rawFTS5 = "FTS5 BM25"
    /// ``KnowledgeIndex/search(_:_:limit:offset:language:strictLanguage:)`` without the sentence model: BM25
    /// re-ranked by coverage, proximity, headings and language, with its confidence.
    case ours = "our BM25"
    /// Cosine similarity of the sentence model's vectors (``SentenceModel``), no confidence.
    case dense = "dense"
    /// Reciprocal rank fusion (k = 60) of our BM25's and the dense ranking's first 20 passages, no confidence.
    case rrf = "RRF"
    /// What the chat answers with when the model is there: our BM25's candidates and the dense ranking's
    /// best, scored and judged by ``HybridFusion``.
    case hybrid = "hybrid"

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
    /// Median over the rounds of the time the query took; for the dense systems, with the question embedded
    /// each time (the query-vector cache emptied).
    public var milliseconds: Double
    /// For the hybrid system, the time of the same question asked again, its vector taken from the cache.
    public var cachedMilliseconds: Double?

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
    /// The dense systems run when this index's ``sentenceModel`` loads (passage vectors computed with
    /// ``embedPassages(with:progress:)``); otherwise only the BM25 systems do.
    /// - Parameter systems: the systems to ask (default: every one that can run).
    /// - Throws: a GRDB `DatabaseError` when the index cannot be read.
    public func evaluate(
        _ questions: [EvaluationQuestion], rounds: Int = 3, systems: [RetrievalSystem]? = nil
    ) throws -> [EvaluationObservation] {
        let available = RetrievalSystem.available(withModel: sentenceModel?.model != nil)
        let systems = systems?.filter(available.contains) ?? available
        return try writer.read { db in
            var observations: [EvaluationObservation] = []
            for question in questions {
                for system in systems {
                    var times: [Double] = []
                    var observation: EvaluationObservation?
                    for _ in 0..<max(1, rounds) {
                        // Latency with the question embedded every time: the cache would hide the model's cost.
                        sentenceModel?.queryCache.removeAll()
                        let start = ContinuousClock.now
                        let answered = try answer(db, question, system)
                        times.append(Self.milliseconds(since: start))
                        observation = answered
                    }
                    guard var observation else { continue }
                    observation.milliseconds = times.sorted()[times.count / 2]
                    if system == .hybrid {
                        let start = ContinuousClock.now
                        _ = try answer(db, question, system)
                        observation.cachedMilliseconds = Self.milliseconds(since: start)
                    }
                    observations.append(observation)
                }
            }
            return observations
        }
    }

    private static func milliseconds(since start: ContinuousClock.Instant) -> Double {
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
    }

    /// The documents of ranked passage ids, in order, at most three.
    private func documents(_ db: Database, ofPassages ids: [Int64]) throws -> [String] {
        var documents: [String] = []
        for id in ids {
            guard
                let source = try String.fetchOne(
                    db, sql: "SELECT d.source FROM kb_passage AS p JOIN kb_document AS d ON d.id = p.document_id WHERE p.id = ?",
                    arguments: [id])
            else { continue }
            let key = EvaluationQuestion.documentKey(forSource: source)
            if !documents.contains(key) { documents.append(key) }
            if documents.count == 3 { break }
        }
        return documents
    }

    private func answer(_ db: Database, _ question: EvaluationQuestion, _ system: RetrievalSystem) throws -> EvaluationObservation {
        let language = question.searchLanguage
        switch system {
        case .dense, .rrf:
            guard let dense = denseQuery(question.question) else { return EvaluationObservation.empty(question, system) }
            let ranked = try denseRanking(db, query: dense.vector, model: dense.model, language: language, limit: 20)
            var ids = ranked.map(\.id)
            if system == .rrf {
                let lexical = try passageIDs(
                    db,
                    search(db, question.question, limit: 20, offset: 0, language: language, strictLanguage: language != nil, dense: nil))
                var fused: [Int64: Double] = [:]
                for list in [ids, lexical] {
                    for (rank, id) in list.enumerated() { fused[id, default: 0] += 1 / Double(60 + rank + 1) }
                }
                ids = fused.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.map(\.key)
            }
            return EvaluationObservation(
                question: question, system: system, documents: try documents(db, ofPassages: ids), confidence: nil,
                topScore: ranked.first?.cosine ?? 0, topCoverage: 0, milliseconds: 0)
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
        case .ours, .hybrid:
            let dense = system == .hybrid ? denseQuery(question.question) : nil
            if system == .hybrid && dense == nil { return EvaluationObservation.empty(question, system) }
            let response = try search(
                db, question.question, limit: 3, offset: 0, language: language, strictLanguage: language != nil, dense: dense)
            let coverage = system == .ours ? try topCoverage(db, question.question, language: language) : 0
            return EvaluationObservation(
                question: question, system: system,
                documents: response.results.map { EvaluationQuestion.documentKey(forSource: $0.source) },
                confidence: response.confidence, topScore: response.results.first?.score ?? 0, topCoverage: coverage,
                milliseconds: 0)
        }
    }

    /// Passage ids of a response, found by source and text (a response does not carry ids).
    private func passageIDs(_ db: Database, _ response: SearchResponse) throws -> [Int64] {
        try response.results.compactMap { result in
            try Int64.fetchOne(
                db,
                sql: "SELECT p.id FROM kb_passage AS p JOIN kb_document AS d ON d.id = p.document_id WHERE d.source = ? AND p.text = ?",
                arguments: [result.source, result.text])
        }
    }

    /// The hybrid candidates of each question (BM25's and the dense ranking's, with both signals), for
    /// ``HybridFusion/calibrate(_:)``; empty without the sentence model.
    public func hybridSamples(_ questions: [EvaluationQuestion]) throws -> [HybridFusion.Sample] {
        try writer.read { db in
            try questions.compactMap { question -> HybridFusion.Sample? in
                guard let dense = denseQuery(question.question) else { return nil }
                let parsed = SearchQuery(question.question, thesaurus: try synonymCache.thesaurus(db))
                let language = question.searchLanguage
                // No significant word: the search says "I don't know" before ranking anything.
                guard let expression = parsed.expression else {
                    return HybridFusion.Sample(candidates: [], expected: question.expected, reference: 0)
                }
                let lexical = try lexicalCandidates(
                    db, parsed, expression: expression, language: language,
                    preferring: language ?? TextAnalysis.guessQuestionLanguage(question.question), wanted: 3, scope: .everything)
                let fused = try fuse(db, lexical, dense: dense, language: language, scope: .everything)
                return HybridFusion.Sample(
                    candidates: fused.passages.map {
                        HybridFusion.Candidate(
                            lexical: $0.lexical, cosine: $0.cosine ?? 0, document: EvaluationQuestion.documentKey(forSource: $0.source),
                            titleOnly: $0.lexical > 0 && $0.bodyCoverage == 0)
                    }, expected: question.expected, reference: fused.reference)
            }
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
