import Foundation
import GRDB

extension KnowledgeIndex {
    /// A passage ranked by the sentence model.
    struct DensePassage {
        var source: String
        var text: String
        var cosine: Float
    }

    /// What a passage is embedded as: where it is, then what it says.
    static func embeddingText(title: String, heading: String, text: String) -> String {
        (heading.isEmpty ? title : title + " › " + heading) + "\n" + text
    }

    /// Computes the vectors of the passages that have none for `model` yet, and caches them by the hash of
    /// their text: a passage unchanged by a re-import is not embedded again.
    ///
    /// - Parameter progress: called after each passage embedded, with (done, to do).
    /// - Returns: how many vectors were computed, and how many were already cached.
    public func embedPassages(
        with model: SentenceModel, progress: ((Int, Int) -> Void)? = nil
    ) throws -> (computed: Int, cached: Int) {
        let (missing, cached) = try writer.read { db in
            let known = Set(try String.fetchAll(db, sql: "SELECT hash FROM kb_vector WHERE model = ?", arguments: [model.identifier]))
            var missing: [String: String] = [:]
            var cached = 0
            let rows = try Row.fetchCursor(
                db, sql: "SELECT d.title, p.heading, p.text FROM kb_passage AS p JOIN kb_document AS d ON d.id = p.document_id")
            while let row = try rows.next() {
                let text = Self.embeddingText(title: row[0], heading: row[1], text: row[2])
                let hash = ContentHash.of(Array(text.utf8))
                if known.contains(hash) { cached += 1 } else { missing[hash] = text }
            }
            return (missing, cached)
        }
        var done = 0
        var batch: [(String, Data)] = []
        func flush() throws {
            let rows = batch
            batch = []
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
            if batch.count >= 64 { try flush() }
        }
        try flush()
        return (done, cached)
    }

    /// Passages by cosine similarity to `query`, best first; passages without a cached vector are left out.
    ///
    /// Reads every vector of the knowledge base: fine for a few thousand passages, not for the benchmark
    /// corpus (an index of vectors is the next step).
    func denseRanking(
        _ db: Database, _ query: String, model: SentenceModel, language: String?, limit: Int
    ) throws -> [DensePassage] {
        guard let question = model.embed(query, query: true) else { return [] }
        var vectors: [String: [Float]] = [:]
        let stored = try Row.fetchCursor(db, sql: "SELECT hash, vector FROM kb_vector WHERE model = ?", arguments: [model.identifier])
        while let row = try stored.next() {
            let data: Data = row[1]
            vectors[row[0]] = data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        }
        var ranked: [DensePassage] = []
        let rows = try Row.fetchCursor(
            db,
            sql: """
                SELECT d.title, p.heading, p.text, d.source FROM kb_passage AS p JOIN kb_document AS d ON d.id = p.document_id
                WHERE (?1 IS NULL OR d.language = ?1)
                """, arguments: [language])
        while let row = try rows.next() {
            let text: String = row[2]
            let hash = ContentHash.of(Array(Self.embeddingText(title: row[0], heading: row[1], text: text).utf8))
            guard let vector = vectors[hash], vector.count == question.count else { continue }
            var cosine: Float = 0
            for index in vector.indices { cosine += vector[index] * question[index] }
            ranked.append(DensePassage(source: row[3], text: text, cosine: cosine))
        }
        ranked.sort { $0.cosine > $1.cosine }
        return Array(ranked.prefix(limit))
    }
}
