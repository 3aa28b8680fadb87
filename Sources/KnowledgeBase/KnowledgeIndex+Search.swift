import GRDB

extension KnowledgeIndex {
    /// Searches the knowledge base with a chat question, in its own read transaction.
    ///
    /// - Parameters:
    ///   - query: free text, anything a person may type; never an FTS5 syntax error.
    ///   - limit: how many results to return, from `offset` (for "!more").
    ///   - language: "fr" or "en" to prefer passages in that language: they are returned when they answer
    ///     confidently, otherwise passages in every language are.
    public func search(_ query: String, limit: Int, offset: Int = 0, language: String? = nil) throws -> SearchResponse {
        try writer.read { db in try search(db, query, limit: limit, offset: offset, language: language) }
    }

    /// The same search inside a transaction the caller already holds (the engine searches while it writes).
    ///
    /// With a sentence model (``sentenceModel``) that loads, and a vector for every passage, the ranking and the
    /// confidence are hybrid (``HybridFusion``); otherwise BM25 alone.
    /// - Parameter strictLanguage: only passages in `language`, even when others would answer better.
    /// - Parameter scope: the documents added from rooms it may draw on (see ``DocumentScope``).
    public func search(
        _ db: Database, _ query: String, limit: Int, offset: Int = 0, language: String? = nil, strictLanguage: Bool = false,
        scope: DocumentScope = .everything
    ) throws -> SearchResponse {
        try search(
            db, query, limit: limit, offset: offset, language: language, strictLanguage: strictLanguage, scope: scope,
            dense: denseQuery(query))
    }

    /// The question's vector and the model that made it, when the sentence model is there.
    struct DenseQuery {
        var model: any SentenceEmbedder
        var vector: [Float]
    }

    func denseQuery(_ query: String) -> DenseQuery? {
        guard let source = sentenceModel, let model = source.model,
            let vector = source.queryVector(String(query.prefix(Self.embeddedQueryLength)), model: model)
        else { return nil }
        return DenseQuery(model: model, vector: vector)
    }

    /// Embeds `question` into the question cache (loading the model on first use), so that a search for it
    /// soon after finds its vector at once. For callers that can do it outside a write transaction.
    public func warmUp(question: String) {
        _ = denseQuery(question)
    }

    /// The model reads 512 tokens at most; a question longer than this is cut before it is embedded.
    static let embeddedQueryLength = 2_000

    /// - Parameter dense: the question's vector for a hybrid search; nil for BM25 alone, as is a knowledge base
    ///   whose passages do not all have their vector yet (the weights and thresholds suppose every passage has
    ///   a cosine).
    func search(
        _ db: Database, _ query: String, limit: Int, offset: Int, language: String?, strictLanguage: Bool,
        scope: DocumentScope = .everything, dense: DenseQuery?
    ) throws -> SearchResponse {
        var dense = dense
        if let query = dense, try passageVectors.vectors(db, model: query.model).missing > 0 { dense = nil }
        let parsed = SearchQuery(query, thesaurus: try synonymCache.thesaurus(db))
        guard let expression = parsed.expression, limit > 0 else {
            return SearchResponse(query: query, confidence: .unknown, results: [])
        }
        let offset = max(0, offset)
        let wanted = offset + limit
        let questionLanguage = language ?? TextAnalysis.guessQuestionLanguage(query)
        var ranking = try rank(
            db, parsed, expression: expression, language: language, preferring: questionLanguage, wanted: wanted, scope: scope, dense: dense
        )
        if language != nil && !strictLanguage && ranking.confidence != .confident {
            let everywhere = try rank(
                db, parsed, expression: expression, language: nil, preferring: questionLanguage, wanted: wanted, scope: scope, dense: dense)
            if everywhere.confidence == .confident || ranking.passages.isEmpty { ranking = everywhere }
        }
        let page = ranking.passages.dropFirst(offset).prefix(limit)
        let stems = parsed.highlightStems
        return SearchResponse(
            query: query, confidence: ranking.confidence,
            results: page.map { passage in
                SearchResult(
                    document: passage.title, heading: passage.heading.isEmpty ? passage.title : passage.heading,
                    source: passage.source, url: passage.url, page: passage.page, score: passage.score,
                    snippet: Snippet.make(from: passage.text, language: passage.language, stems: stems),
                    answer: Snippet.whole(passage.text, language: passage.language, stems: stems),
                    excerpt: Snippet.line(passage.text, language: passage.language, stems: stems),
                    text: passage.text, language: passage.language, territory: passage.territory)
            })
    }

    /// The FTS5 MATCH expression a question becomes, or nil when it has no significant word: what the
    /// benchmark runs directly through SQLite to compare.
    public func matchExpression(_ db: Database, for query: String) throws -> String? {
        SearchQuery(query, thesaurus: try synonymCache.thesaurus(db)).expression
    }

    /// The coverage of the best passage for `query`: the other half of the confidence decision, exposed for
    /// the calibration of ``confidenceThreshold``.
    func topCoverage(_ db: Database, _ query: String, language: String? = nil) throws -> Double {
        let parsed = SearchQuery(query, thesaurus: try synonymCache.thesaurus(db))
        guard let expression = parsed.expression else { return 0 }
        let questionLanguage = language ?? TextAnalysis.guessQuestionLanguage(query)
        return try rank(
            db, parsed, expression: expression, language: language, preferring: questionLanguage, wanted: 1, dense: nil
        ).passages.first?.coverage ?? 0
    }

    // MARK: Ranking

    struct ScoredPassage {
        var id: Int64
        var score: Double
        var coverage: Double
        /// Share of the question's concepts found in the passage's own text (not its title or heading).
        var bodyCoverage: Double
        var documentID: Int64
        var title: String
        var heading: String
        var source: String
        var text: String
        var language: String
        var territory: String?
        var url: String?
        var page: Int?
        /// In a hybrid ranking, the BM25 score (0 for a passage only the dense ranking found) and the cosine.
        var lexical = 0.0
        var cosine: Double?
    }

    struct Ranking {
        var passages: [ScoredPassage]
        var confidence: SearchResponse.Confidence
    }

    /// How many BM25 candidates to re-rank per result wanted: enough for the proximity and coverage
    /// bonuses to lift a passage BM25 ranked a little lower, few enough to keep the cost flat.
    static let candidatesPerResult = 3
    static let minimumCandidates = 40
    /// Score factor for passages in the language the question is written in: "Why capitalise experience?"
    /// should find the English page before the French one, which shares most of its stems.
    static let questionLanguageBonus = 1.5
    /// Score added for a heading or a title made of the question's words and nothing else (see
    /// ``QueryVocabulary/labelMatch(_:)``), a share of it for a partial match.
    static let labelMatchBonus = 6.0
    /// The title counts a little less than the passage's own heading: it names the page, the heading the passage.
    static let titleMatchShare = 0.8
    /// Score factor for a passage none of whose text holds the question's words (only its title or heading).
    static let titleOnlyFactor = 0.6

    private func rank(
        _ db: Database, _ query: SearchQuery, expression: String, language: String?, preferring preferred: String?,
        wanted: Int, scope: DocumentScope = .everything, dense: DenseQuery?
    ) throws -> Ranking {
        var scored = try lexicalCandidates(
            db, query, expression: expression, language: language, preferring: preferred, wanted: wanted, scope: scope)
        var reference: Double?
        if let dense { (scored, reference) = try fuse(db, scored, dense: dense, language: language, scope: scope) }
        return group(scored, denseReference: reference)
    }

    /// The passages BM25 finds, scored by our BM25 (coverage, proximity, headings, language), unsorted.
    func lexicalCandidates(
        _ db: Database, _ query: SearchQuery, expression: String, language: String?, preferring preferred: String?,
        wanted: Int, scope: DocumentScope
    ) throws -> [ScoredPassage] {
        let languageFilter = language == nil ? "" : "AND language = :language"
        let scopeFilter = Self.scopeFilter(scope)
        let statement = try db.cachedStatement(
            sql: """
                SELECT m.rowid, m.rank, t.title, t.heading, t.body,
                       p.document_id, p.heading, p.text, d.title, d.source, d.language, d.territory,
                       d.url, p.page
                FROM (SELECT rowid, rank FROM kb_passage_terms
                      WHERE kb_passage_terms MATCH :match \(languageFilter) \(scopeFilter.sql)
                      ORDER BY rank LIMIT :limit) AS m
                JOIN kb_passage_terms AS t ON t.rowid = m.rowid
                JOIN kb_passage AS p ON p.id = m.rowid
                JOIN kb_document AS d ON d.id = p.document_id
                """)
        var arguments: StatementArguments = [
            "match": expression, "limit": max(Self.minimumCandidates, wanted * Self.candidatesPerResult),
        ]
        if let language { arguments += ["language": language] }
        arguments += scopeFilter.arguments
        var scored: [ScoredPassage] = []
        let vocabulary = QueryVocabulary(query)
        let rows = try Row.fetchCursor(statement, arguments: arguments)
        var titleMatches: [Int64: Double] = [:]
        while let row = try rows.next() {
            let bm25: Double = row[1]
            let terms = PassageTerms(title: row[2], heading: row[3], body: row[4], vocabulary: vocabulary)
            let (coverage, proximity, bodyCoverage) = terms.evaluate(vocabulary)
            let passageLanguage: String = row[10]
            let documentID: Int64 = row[5]
            // A heading or a title that says what the question asks about ("What the Charter is" for "what is
            // the Charter?") is the strongest sign of an answer, even when its words are too common in the
            // knowledge base for BM25 to weigh them.
            let titleMatch =
                titleMatches[documentID]
                ?? {
                    let match = vocabulary.labelMatch(TextAnalysis.indexTerms(of: row[8], language: passageLanguage))
                    titleMatches[documentID] = match
                    return match
                }()
            let labelMatch = max(Self.titleMatchShare * titleMatch, vocabulary.labelMatch(row[3]))
            let languageFactor = passageLanguage == preferred ? Self.questionLanguageBonus : 1
            let score =
                (-bm25 * (0.3 + 0.7 * coverage) * (1 + proximity) + Self.labelMatchBonus * labelMatch) * languageFactor
            scored.append(
                ScoredPassage(
                    id: row[0], score: score, coverage: coverage, bodyCoverage: bodyCoverage, documentID: documentID,
                    title: row[8],
                    heading: row[6],
                    source: row[9], text: row[7], language: passageLanguage, territory: row[11], url: row[12],
                    page: row[13]))
        }
        return scored
    }

    /// Best passage of each document first, then the other passages, with the confidence of the best one.
    ///
    /// - Parameter denseReference: in a hybrid ranking, the dense ranking's tenth best cosine; nil for BM25 alone.
    private func group(_ scored: [ScoredPassage], denseReference: Double?) -> Ranking {
        var scored = scored
        scored.sort { $0.score != $1.score ? $0.score > $1.score : $0.id < $1.id }
        // Best passage of each document first, then the other passages: "!more" shows other documents
        // before a second passage of the one already shown.
        // Documents keep the order of their best score; the passage shown for a document is the one whose
        // text speaks of the question's words: words found only in the page's title say which page, not
        // which passage of it.
        var seen = Set<Int64>()
        var firsts: [ScoredPassage] = []
        var others: [ScoredPassage] = []
        for passage in scored {
            if seen.insert(passage.documentID).inserted { firsts.append(passage) } else { others.append(passage) }
        }
        for (index, first) in firsts.enumerated() {
            func withinPage(_ p: ScoredPassage) -> Double { p.score * (Self.titleOnlyFactor + (1 - Self.titleOnlyFactor) * p.bodyCoverage) }
            guard let better = others.filter({ $0.documentID == first.documentID }).max(by: { withinPage($0) < withinPage($1) }),
                withinPage(better) > withinPage(first), let position = others.firstIndex(where: { $0.id == better.id })
            else { continue }
            var promoted = better
            promoted.score = first.score  // the page keeps its rank and its confidence
            promoted.lexical = first.lexical
            promoted.cosine = first.cosine
            others[position] = first
            firsts[index] = promoted
        }
        let confidence = firsts.first.map { best in
            guard let denseReference else { return Self.confidence(of: best) }
            return HybridFusion.confidence(
                lexical: best.lexical, cosine: best.cosine ?? 0, reference: denseReference,
                titleOnly: best.lexical > 0 && best.bodyCoverage == 0, weights: hybridWeights)
        }
        return Ranking(passages: firsts + others, confidence: confidence ?? .unknown)
    }

    /// How many passages the dense ranking adds to BM25's candidates when BM25 missed them.
    static let denseCandidates = 10

    /// The rank in the dense ranking whose cosine the best one is compared with, for the confidence.
    static let denseReferenceRank = 10

    /// BM25's candidates and the dense ranking's best ones that BM25 missed, scored by ``HybridFusion``.
    /// A passage without a vector yet counts as the least similar of the candidates.
    /// - Returns: the candidates, and the dense ranking's cosine at ``denseReferenceRank``.
    func fuse(
        _ db: Database, _ lexical: [ScoredPassage], dense: DenseQuery, language: String?, scope: DocumentScope
    ) throws -> (passages: [ScoredPassage], reference: Double) {
        let vectors = try passageVectors.vectors(db, model: dense.model)
        var fused = lexical
        for index in fused.indices {
            fused[index].lexical = fused[index].score
            fused[index].cosine = vectors.vector(of: fused[index].id).map { Self.cosine($0, dense.vector) }
        }
        let found = Set(lexical.map(\.id))
        // Documents added from another territory's rooms are out of scope for dense candidates too.
        let excluded = try Self.passagesOutOfScope(scope, db)
        let ranked = try denseRanking(
            db, query: dense.vector, model: dense.model, language: language,
            limit: max(Self.denseReferenceRank, Self.denseCandidates + found.count) + excluded.count
        ).filter { !excluded.contains($0.id) }
        let reference = ranked.isEmpty ? 0 : ranked[min(ranked.count, Self.denseReferenceRank) - 1].cosine
        let added = ranked.filter { !found.contains($0.id) }.prefix(Self.denseCandidates)
        if !added.isEmpty {
            let cosines = Dictionary(uniqueKeysWithValues: added.map { ($0.id, $0.cosine) })
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT p.id, p.document_id, p.heading, p.text, d.title, d.source, d.language, d.territory, d.url, p.page
                    FROM kb_passage AS p JOIN kb_document AS d ON d.id = p.document_id
                    WHERE p.id IN (\(added.map { String($0.id) }.joined(separator: ",")))
                    """)
            for row in rows {
                let id: Int64 = row[0]
                fused.append(
                    ScoredPassage(
                        id: id, score: 0, coverage: 0, bodyCoverage: 0, documentID: row[1], title: row[4], heading: row[2],
                        source: row[5], text: row[3], language: row[6], territory: row[7], url: row[8], page: row[9],
                        lexical: 0, cosine: cosines[id]))
            }
        }
        let floor = fused.compactMap(\.cosine).min() ?? 0
        for index in fused.indices {
            fused[index].score = HybridFusion.score(
                lexical: fused[index].lexical, cosine: fused[index].cosine ?? floor, weights: hybridWeights)
            if fused[index].cosine == nil { fused[index].cosine = floor }
        }
        return (fused, reference)
    }

    /// The kind of answer the best passage allows, from its score and the share of the question it covers.
    static func confidence(of best: ScoredPassage) -> SearchResponse.Confidence {
        confidence(score: best.score, coverage: best.coverage)
    }

    static func confidence(
        score: Double, coverage: Double, confidentAt confident: Double = confidenceThreshold,
        unsureAt unsure: Double = unsureThreshold
    ) -> SearchResponse.Confidence {
        if score >= confident && coverage >= minimumCoverage { return .confident }
        if score >= unsure && coverage >= minimumUnsureCoverage { return .unsure }
        return .unknown
    }
}

/// The question's stems, numbered, so that passages are matched on bytes without building a string
/// per word: re-ranking reads the stems of every candidate passage.
struct QueryVocabulary {
    private(set) var terms: [[UInt8]] = []
    private var byHash: [UInt64: [Int]] = [:]
    /// For each concept of the query, its phrases as term numbers.
    private(set) var concepts: [[[Int]]] = []

    init(_ query: SearchQuery) {
        var numbers: [String: Int] = [:]
        for concept in query.concepts {
            concepts.append(
                concept.phrases.map { phrase in
                    phrase.map { stem in
                        if let number = numbers[stem] { return number }
                        let number = terms.count
                        numbers[stem] = number
                        let bytes = Array(stem.utf8)
                        terms.append(bytes)
                        byHash[Self.hash(bytes), default: []].append(number)
                        return number
                    }
                })
        }
    }

    static func hash<C: Collection>(_ bytes: C) -> UInt64 where C.Element == UInt8 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return hash
    }

    /// How closely a heading or a title, as space-separated stems, names what the question asks about: the
    /// harmonic mean of the share of its words that are the question's and the share of the question's
    /// concepts it names. 1 for "What the Charter is" and "what is the Charter?" (stop words aside).
    func labelMatch(_ stems: String) -> Double {
        guard !concepts.isEmpty else { return 0 }
        var words = 0
        var matchedWords = 0
        var found = Set<Int>()
        scan(stems) { term, _ in
            matchedWords += 1
            found.insert(term)
        }
        for byte in stems.utf8 where byte == 0x20 { words += 1 }
        if !stems.isEmpty { words += 1 }
        guard matchedWords > 0, words > 0 else { return 0 }
        let named = concepts.filter { phrases in phrases.contains { phrase in phrase.allSatisfy(found.contains) } }.count
        let precision = Double(min(matchedWords, words)) / Double(words)
        let recall = Double(named) / Double(concepts.count)
        return precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall)
    }

    /// Calls `body(term, position)` for every word of the space-separated `stems` that is a query term.
    func scan(_ stems: String, _ body: (Int, Int) -> Void) {
        var stems = stems
        stems.withUTF8 { bytes in
            var position = 0
            var start = 0
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325
            for index in 0...bytes.count {
                if index < bytes.count && bytes[index] != 0x20 {
                    hash = (hash ^ UInt64(bytes[index])) &* 0x100_0000_01b3
                    continue
                }
                if index > start, let candidates = byHash[hash] {
                    let word = UnsafeBufferPointer(rebasing: bytes[start..<index])
                    for term in candidates where terms[term].elementsEqual(word) { body(term, position) }
                }
                if index > start { position += 1 }
                start = index + 1
                hash = 0xcbf2_9ce4_8422_2325
            }
        }
    }
}

/// Where the question's terms occur in a passage, to measure what BM25 does not: how many of the
/// question's concepts the passage has, and whether they occur close together.
struct PassageTerms {
    /// Body positions (in significant words) of each term.
    private var positions: [[Int]]
    /// Terms present in the title or the heading path.
    private var labels: [Bool]

    init(title: String, heading: String, body: String, vocabulary: QueryVocabulary) {
        positions = Array(repeating: [], count: vocabulary.terms.count)
        labels = Array(repeating: false, count: vocabulary.terms.count)
        vocabulary.scan(body) { term, position in positions[term].append(position) }
        vocabulary.scan(title) { term, _ in labels[term] = true }
        vocabulary.scan(heading) { term, _ in labels[term] = true }
    }

    /// Words within this distance (in significant words) count as close.
    static let closeDistance = 4
    /// The largest proximity bonus, reached when every concept is close to another.
    static let maximumProximityBonus = 0.3

    /// - Returns: the share of concepts found anywhere in the passage, a proximity bonus in
    ///   0...maximumProximityBonus, and the share of concepts found in the passage's own text.
    func evaluate(_ vocabulary: QueryVocabulary) -> (coverage: Double, proximity: Double, bodyCoverage: Double) {
        guard !vocabulary.concepts.isEmpty else { return (0, 0, 0) }
        var matched = 0
        var inBody = 0
        var events: [(position: Int, concept: Int)] = []
        for (index, phrases) in vocabulary.concepts.enumerated() {
            var found = false
            var foundInBody = false
            for phrase in phrases {
                let starts = occurrences(of: phrase)
                if !starts.isEmpty {
                    found = true
                    foundInBody = true
                    for position in starts { events.append((position, index)) }
                } else if !found {
                    found = phrase.allSatisfy { labels[$0] }
                }
            }
            if found { matched += 1 }
            if foundInBody { inBody += 1 }
        }
        let coverage = Double(matched) / Double(vocabulary.concepts.count)
        let bodyCoverage = Double(inBody) / Double(vocabulary.concepts.count)
        guard matched >= 2 else { return (coverage, 0, bodyCoverage) }
        events.sort { $0.position < $1.position }
        var closePairs = Set<Int>()
        for (previous, next) in zip(events, events.dropFirst())
        where previous.concept != next.concept && next.position - previous.position <= Self.closeDistance {
            let low = min(previous.concept, next.concept)
            let high = max(previous.concept, next.concept)
            closePairs.insert(low * SearchQuery.maximumConcepts + high)
        }
        let bonus = Self.maximumProximityBonus * min(1, Double(closePairs.count) / Double(matched - 1))
        return (coverage, bonus, bodyCoverage)
    }

    /// Body positions where `phrase` starts.
    private func occurrences(of phrase: [Int]) -> [Int] {
        guard let first = phrase.first else { return [] }
        let starts = positions[first]
        guard phrase.count > 1, !starts.isEmpty else { return starts }
        return starts.filter { start in
            (1..<phrase.count).allSatisfy { positions[phrase[$0]].contains(start + $0) }
        }
    }
}
