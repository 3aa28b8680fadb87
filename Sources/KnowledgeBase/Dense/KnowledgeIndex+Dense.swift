import Foundation
import GRDB

extension KnowledgeIndex {
    /// What a passage is embedded as: where it is, then what it says.
    static func embeddingText(title: String, heading: String, text: String) -> String {
        (heading.isEmpty ? title : title + " › " + heading) + "\n" + text
    }

    /// Hashes of the embedding texts of every passage, by passage id, with the passage's language.
    static func passageHashes(_ db: Database) throws -> [(id: Int64, hash: String, text: String, language: String)] {
        var passages: [(Int64, String, String, String)] = []
        let rows = try Row.fetchCursor(
            db,
            sql: """
                SELECT p.id, d.title, p.heading, p.text, d.language
                FROM kb_passage AS p JOIN kb_document AS d ON d.id = p.document_id ORDER BY p.id
                """)
        while let row = try rows.next() {
            let text = embeddingText(title: row[1], heading: row[2], text: row[3])
            passages.append((row[0], ContentHash.of(Array(text.utf8)), text, row[4]))
        }
        return passages
    }

    /// Computes the vectors of the passages that have none for `model` yet, and caches them in `kb_vector` by
    /// the hash of what was embedded: a passage unchanged by a re-import is not embedded again, and vectors
    /// of another model are never mixed with these.
    ///
    /// - Parameter progress: called after each passage embedded, with (done, to do).
    /// - Returns: how many vectors were computed, and how many were already cached.
    public func embedPassages(
        with model: any SentenceEmbedder, progress: ((Int, Int) -> Void)? = nil
    ) throws -> (computed: Int, cached: Int) {
        let (missing, cached) = try writer.read { db in
            let known = Set(try String.fetchAll(db, sql: "SELECT hash FROM kb_vector WHERE model = ?", arguments: [model.identifier]))
            var missing: [String: String] = [:]
            var cached = 0
            for passage in try Self.passageHashes(db) {
                if known.contains(passage.hash) { cached += 1 } else { missing[passage.hash] = passage.text }
            }
            return (missing, cached)
        }
        var done = 0
        var batch: [(String, Data)] = []
        func flush() throws {
            let rows = batch
            batch = []
            guard !rows.isEmpty else { return }
            try writer.write { db in
                for (hash, vector) in rows {
                    try db.execute(
                        sql: "INSERT OR REPLACE INTO kb_vector(model, hash, vector) VALUES (?, ?, ?)",
                        arguments: [model.identifier, hash, vector])
                }
            }
        }
        for (hash, text) in missing.sorted(by: { $0.key < $1.key }) {
            if let vector = model.embed(text, query: false) {
                batch.append((hash, vector.withUnsafeBufferPointer { Data(buffer: $0) }))
            }
            done += 1
            progress?(done, missing.count)
            // Small batches: a bot serving questions meanwhile waits for the writer at most this long.
            if batch.count >= 16 { try flush() }
        }
        try flush()
        return (done, cached)
    }

    /// Embeds the passages that have no vector yet with this index's sentence model, loading it if needed.
    ///
    /// What a bot runs after its start and after documents are added. Before the model is loaded, a passage
    /// with a vector of any model counts as done, so that a bot whose database has every vector starts without
    /// loading the model; once it is loaded (by a question), passages are checked against its own vectors, so
    /// that a new model's vectors are computed on the next call.
    /// - Returns: how many vectors were computed (0 without a model).
    @discardableResult
    public func embedMissingPassages(progress: ((Int, Int) -> Void)? = nil) throws -> Int {
        guard let source = sentenceModel else { return 0 }
        let loaded = source.loadedModel
        let anyMissing = try writer.read { db in
            let known = Set(
                try loaded.map { model in
                    try String.fetchAll(db, sql: "SELECT hash FROM kb_vector WHERE model = ?", arguments: [model.identifier])
                } ?? String.fetchAll(db, sql: "SELECT DISTINCT hash FROM kb_vector"))
            return try Self.passageHashes(db).contains { !known.contains($0.hash) }
        }
        guard anyMissing, let model = loaded ?? source.model else { return 0 }
        return try embedPassages(with: model, progress: progress).computed
    }

    /// A passage ranked by the sentence model alone.
    struct DensePassage {
        var id: Int64
        var cosine: Double
    }

    /// The cosine of `query` with every passage that has a vector (in `language` when given), best first.
    func denseRanking(
        _ db: Database, query: [Float], model: any SentenceEmbedder, language: String?, limit: Int
    ) throws -> [DensePassage] {
        let vectors = try passageVectors.vectors(db, model: model)
        var ranked: [DensePassage] = []
        ranked.reserveCapacity(vectors.passages.count)
        for passage in vectors.passages where language == nil || passage.language == language {
            ranked.append(DensePassage(id: passage.id, cosine: Self.cosine(passage.vector, query)))
        }
        ranked.sort { $0.cosine != $1.cosine ? $0.cosine > $1.cosine : $0.id < $1.id }
        return Array(ranked.prefix(limit))
    }

    /// The dot product of two unit vectors; 0 when their dimensions differ.
    static func cosine(_ a: [Float], _ b: [Float]) -> Double {
        guard a.count == b.count else { return 0 }
        var sum: Float = 0
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                for index in 0..<a.count { sum += a[index] * b[index] }
            }
        }
        return Double(sum)
    }
}

/// The cached vectors of every passage, by passage id, held in memory for one model and rebuilt when the
/// knowledge base changes (documents added, replaced or removed, vectors computed), so that a question costs
/// one pass over a few thousand floats rather than a read of every vector.
final class PassageVectorCache: @unchecked Sendable {
    struct Passage {
        var id: Int64
        var language: String
        var vector: [Float]
    }

    struct Vectors {
        var passages: [Passage] = []
        var byID: [Int64: Int] = [:]
        /// Passages of the knowledge base without a vector of this model yet.
        var missing = 0

        func vector(of id: Int64) -> [Float]? { byID[id].map { passages[$0].vector } }
    }

    private let lock = NSLock()
    private var key: String?
    private var cached = Vectors()
    private(set) var rebuilds = 0

    func vectors(_ db: Database, model: any SentenceEmbedder) throws -> Vectors {
        // Every write of a document changes its import time, the passage count or the largest id; every
        // vector computed changes the count of this model's vectors.
        let row = try Row.fetchOne(
            db,
            sql: """
                SELECT (SELECT COUNT(*) FROM kb_passage), (SELECT MAX(id) FROM kb_passage),
                       (SELECT COUNT(*) FROM kb_document), (SELECT MAX(imported_at) FROM kb_document),
                       (SELECT COUNT(*) FROM kb_vector WHERE model = ?)
                """, arguments: [model.identifier])!
        let current =
            "\(model.identifier)|\(row[0] as Int64)|\(row[1] as Int64? ?? 0)|\(row[2] as Int64)|\(row[3] as Double? ?? 0)|\(row[4] as Int64)"
        if let hit = lock.withLock({ key == current ? cached : nil }) { return hit }
        var stored: [String: [Float]] = [:]
        let rows = try Row.fetchCursor(db, sql: "SELECT hash, vector FROM kb_vector WHERE model = ?", arguments: [model.identifier])
        while let row = try rows.next() {
            let data: Data = row[1]
            let vector = data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
            if vector.count == model.dimension { stored[row[0]] = vector }
        }
        var vectors = Vectors()
        for passage in try KnowledgeIndex.passageHashes(db) {
            guard let vector = stored[passage.hash] else {
                vectors.missing += 1
                continue
            }
            vectors.byID[passage.id] = vectors.passages.count
            vectors.passages.append(Passage(id: passage.id, language: passage.language, vector: vector))
        }
        lock.withLock {
            key = current
            cached = vectors
            rebuilds += 1
        }
        return vectors
    }
}
