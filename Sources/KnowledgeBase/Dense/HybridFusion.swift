/// How our BM25 score and the sentence model's cosine combine, to rank passages and to decide how sure an
/// answer is, with weights calibrated on the calibration part of the evaluation set.
///
/// A passage's lexical evidence is its BM25 score (ours: coverage, proximity, headings and language
/// included) squashed into 0..<1, `s / (s + lexicalHalf)`, so that one passage with many rare words cannot
/// outweigh every cosine; the dense evidence is the cosine itself. Both ranking and confidence are a weighted
/// sum of the two, with their own weights: what orders passages well is not what separates an answer from
/// an off-topic question. The confidence also weighs how far the best cosine stands above the tenth best.
///
///     let score = HybridFusion.score(lexical: 12.0, cosine: 0.86, weights: .calibrated)
public struct HybridWeights: Sendable, Equatable, CustomStringConvertible {
    /// The BM25 score at which the lexical evidence is 0.5.
    public var lexicalHalf: Double
    /// The cosine's weight in the ranking score.
    public var rankingDenseWeight: Double
    /// The cosine's weight in the confidence evidence.
    public var confidenceDenseWeight: Double
    /// The weight, in the confidence evidence, of how far the best cosine stands above the dense ranking's
    /// tenth: an off-topic question is about equally far from every passage, an answerable one close to a few.
    public var confidenceGapWeight: Double
    /// Confidence evidence from which the best passage is given as the answer.
    public var confidentAt: Double
    /// Confidence evidence from which the closest passages are offered as "may help"; under it, "I don't know".
    public var unsureAt: Double

    public init(
        lexicalHalf: Double, rankingDenseWeight: Double, confidenceDenseWeight: Double, confidenceGapWeight: Double = 0,
        confidentAt: Double, unsureAt: Double
    ) {
        self.lexicalHalf = lexicalHalf
        self.rankingDenseWeight = rankingDenseWeight
        self.confidenceDenseWeight = confidenceDenseWeight
        self.confidenceGapWeight = confidenceGapWeight
        self.confidentAt = confidentAt
        self.unsureAt = unsureAt
    }

    /// Calibrated with `fabrique kb eval Benchmarks/kb/eval/questions.tsv --knowledge knowledge --knowledge
    /// Benchmarks/kb/corpus2 --calibrate` on the calibration part only (BENCHMARKS.md).
    public static let calibrated = HybridWeights(
        lexicalHalf: 20, rankingDenseWeight: 8.75, confidenceDenseWeight: 7, confidenceGapWeight: 6, confidentAt: 6.136,
        unsureAt: 6.126)

    public var description: String {
        "lexical half \(lexicalHalf), ranking dense weight \(rankingDenseWeight), confidence dense weight "
            + "\(confidenceDenseWeight), confidence gap weight \(confidenceGapWeight), confident from \(confidentAt), "
            + "unsure from \(unsureAt)"
    }
}

public enum HybridFusion {
    /// BM25 squashed into 0..<1; 0 for a passage BM25 did not find.
    static func lexicalEvidence(_ score: Double, half: Double) -> Double {
        score <= 0 ? 0 : score / (score + half)
    }

    /// The ranking score of a passage; `cosine` is nil for a passage without a vector yet, which then
    /// counts as the least similar candidate (the caller passes that cosine instead).
    public static func score(lexical: Double, cosine: Double, weights: HybridWeights) -> Double {
        lexicalEvidence(lexical, half: weights.lexicalHalf) + weights.rankingDenseWeight * max(0, cosine)
    }

    /// The evidence that the best passage answers the question.
    ///
    /// BM25's score counts only when the passage's own text holds a word of the question: words found only in
    /// its page's title or its heading say which page the question is near, not that the passage answers it
    /// ("Quel temps fera-t-il demain ?" matches only the title of the page on durations, "Combien de temps cela prend").
    /// - Parameters:
    ///   - reference: the dense ranking's tenth best cosine (see ``HybridWeights/confidenceGapWeight``).
    ///   - titleOnly: BM25 matched the question's words only in the passage's title or heading.
    public static func evidence(
        lexical: Double, cosine: Double, reference: Double, titleOnly: Bool = false, weights: HybridWeights
    ) -> Double {
        (titleOnly ? 0 : lexicalEvidence(lexical, half: weights.lexicalHalf)) + weights.confidenceDenseWeight * max(0, cosine)
            + weights.confidenceGapWeight * (cosine - reference)
    }

    public static func confidence(
        lexical: Double, cosine: Double, reference: Double, titleOnly: Bool = false, weights: HybridWeights
    ) -> SearchResponse.Confidence {
        let evidence = evidence(lexical: lexical, cosine: cosine, reference: reference, titleOnly: titleOnly, weights: weights)
        if evidence >= weights.confidentAt { return .confident }
        if evidence >= weights.unsureAt { return .unsure }
        return .unknown
    }

    // MARK: Calibration

    /// A passage that may answer a question, as the calibration sees it.
    public struct Candidate: Sendable {
        /// Our BM25 score, 0 when BM25 did not find it.
        public var lexical: Double
        public var cosine: Double
        /// The document it belongs to; documents are ranked by their best passage.
        public var document: String
        /// BM25 matched the question's words only in its title or heading (see ``HybridFusion/evidence``).
        public var titleOnly: Bool

        public init(lexical: Double, cosine: Double, document: String, titleOnly: Bool = false) {
            self.lexical = lexical
            self.cosine = cosine
            self.document = document
            self.titleOnly = titleOnly
        }
    }

    /// One question of the calibration part with its candidates (BM25's and the dense ranking's).
    public struct Sample: Sendable {
        public var candidates: [Candidate]
        /// Documents that answer it; empty off topic.
        public var expected: [String]
        /// The dense ranking's tenth best cosine.
        public var reference: Double

        public init(candidates: [Candidate], expected: [String], reference: Double) {
            self.candidates = candidates
            self.expected = expected
            self.reference = reference
        }
    }

    /// The documents of `candidates` in the order `weights` ranks them (each by its best passage), with that
    /// best passage.
    public static func rankDocuments(_ candidates: [Candidate], weights: HybridWeights) -> [(document: String, best: Candidate)] {
        let scored = candidates.map { ($0, score(lexical: $0.lexical, cosine: $0.cosine, weights: weights)) }
            .sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0.document < $1.0.document }
        var seen = Set<String>()
        var documents: [(document: String, best: Candidate)] = []
        for (candidate, _) in scored where seen.insert(candidate.document).inserted {
            documents.append((document: candidate.document, best: candidate))
        }
        return documents
    }

    /// hit@1 and hit@3 counts of `weights` over the answerable samples.
    public static func hits(_ samples: [Sample], weights: HybridWeights) -> (at1: Int, at3: Int) {
        var at1 = 0
        var at3 = 0
        for sample in samples where !sample.expected.isEmpty {
            let documents = rankDocuments(sample.candidates, weights: weights).map(\.document)
            if let first = documents.first, sample.expected.contains(first) { at1 += 1 }
            if documents.prefix(3).contains(where: sample.expected.contains) { at3 += 1 }
        }
        return (at1, at3)
    }

    /// The weights that fit `samples` best: first the ranking (most right documents at rank 1, then within
    /// the first three; the middle of the best plateau), then the confidence (fewest wrong decisions:
    /// confident only when the best document is right, "I don't know" only off topic).
    ///
    /// Call it on the calibration part alone; the reported part must not be tuned on.
    public static func calibrate(_ samples: [Sample]) -> (weights: HybridWeights, confidentErrors: Int, unsureErrors: Int) {
        var best: [HybridWeights] = []
        var bestHits = (at1: -1, at3: -1)
        for half in [5.0, 10, 20] {
            for step in 0...60 {
                let weights = HybridWeights(
                    lexicalHalf: half, rankingDenseWeight: Double(step) * 0.25, confidenceDenseWeight: 0, confidentAt: 0, unsureAt: 0)
                let hits = hits(samples, weights: weights)
                if hits.at1 > bestHits.at1 || (hits.at1 == bestHits.at1 && hits.at3 > bestHits.at3) {
                    bestHits = hits
                    best = [weights]
                } else if hits.at1 == bestHits.at1 && hits.at3 == bestHits.at3 {
                    best.append(weights)
                }
            }
        }
        var weights = best.isEmpty ? HybridWeights.calibrated : best[best.count / 2]
        // The best passage of each question under those ranking weights, and what it should be.
        let tops: [(best: Candidate, reference: Double, right: Bool, offTopic: Bool)] = samples.compactMap { sample in
            guard let top = rankDocuments(sample.candidates, weights: weights).first else { return nil }
            return (top.best, sample.reference, sample.expected.contains(top.document), sample.expected.isEmpty)
        }
        func evidences(_ weights: HybridWeights) -> [Double] {
            tops.map {
                evidence(
                    lexical: $0.best.lexical, cosine: $0.best.cosine, reference: $0.reference, titleOnly: $0.best.titleOnly,
                    weights: weights)
            }
        }
        var fewest = (errors: Int.max, weights: weights)
        for step in 0...40 {
            for gapStep in 0...20 {
                var trial = weights
                trial.confidenceDenseWeight = Double(step) * 0.5
                trial.confidenceGapWeight = Double(gapStep) * 2
                let fit = bestThreshold(evidences(trial), above: tops.map { $0.right && !$0.offTopic })
                trial.confidentAt = fit.threshold
                if fit.errors < fewest.errors { fewest = (fit.errors, trial) }
            }
        }
        weights = fewest.weights
        let evidences = evidences(weights)
        let unsure = bestThreshold(evidences, above: tops.map { !$0.offTopic }, atMost: weights.confidentAt)
        weights.unsureAt = unsure.threshold
        return (weights, max(0, fewest.errors), unsure.errors)
    }

    /// The threshold that best separates `values` whose `above` is true (to be at or over it) from the others:
    /// midway between two neighbouring values, so that a question a little off either side is not decided by
    /// chance.
    static func bestThreshold(_ values: [Double], above: [Bool], atMost limit: Double = .infinity) -> (threshold: Double, errors: Int) {
        let sorted = Set(values).sorted()
        var candidates = [(sorted.first ?? 0) - 0.01]
        for (low, high) in zip(sorted, sorted.dropFirst()) { candidates.append((low + high) / 2) }
        candidates.append((sorted.last ?? 0) + 0.01)
        var best = (threshold: min(limit, candidates[0]), errors: Int.max)
        for threshold in candidates where threshold <= limit {
            let errors = zip(values, above).filter { value, wanted in (value >= threshold) != wanted }.count
            if errors < best.errors { best = (threshold, errors) }
        }
        if best.errors == Int.max { best = (limit, zip(values, above).filter { ($0 >= limit) != $1 }.count) }
        return best
    }

}
