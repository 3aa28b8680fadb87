import Foundation
import GRDB

/// The knowledge base: documents cut into passages, indexed for full-text search in French and English.
///
/// Lives in the same SQLite database as the rest of Fabrique's state, in tables prefixed `kb_`: one file
/// to back up, and an experience shared in a dialogue is stored in the same transaction as the dialogue's
/// answers, so it is never half-recorded.
///
/// Every passage is indexed by FTS5 as the stems of its words (title, heading path, body), computed by our
/// own analysis (``TextAnalysis``) rather than by an SQLite tokenizer: SQLite has no French stemmer, and a
/// custom tokenizer would make the index unreadable to any other SQLite client.
///
///     let index = try KnowledgeIndex(writer: store.writer)
///     _ = try index.importPaths(["knowledge"])
///     let response = try index.search("comment devenir allié ?", limit: 3)
public final class KnowledgeIndex: Sendable {
    let writer: any DatabaseWriter
    let synonymCache = SynonymCache()
    /// The sentence model for hybrid retrieval; nil, or a model that cannot load, means BM25 alone.
    public let sentenceModel: SentenceModelSource?
    /// How BM25 and the model's cosine combine (``HybridWeights/calibrated`` unless a calibration tries others).
    let hybridWeights: HybridWeights
    let passageVectors = PassageVectorCache()

    /// The score under which the best passage is not offered as an answer. Calibrated on the question set
    /// in `Tests/KnowledgeBaseTests/CalibrationQuestions.swift` over the starter knowledge base (run
    /// `KB_CALIBRATION_REPORT=1 swift test --filter CalibrationTests` for the table): answerable questions
    /// score 6.5 and up, unanswerable ones 4.8 and down, except for a stray word the knowledge base happens to
    /// use ("capital"). BM25 grows with the size of the corpus, so recalibrate after a large import.
    public static let confidenceThreshold = 10.8
    /// The share of the question's significant words the best passage must contain to be an answer.
    public static let minimumCoverage = 0.51
    /// Under ``confidenceThreshold`` but at least this, the closest passages are offered as "may help";
    /// under it, "I don't know". Calibrated like the confidence threshold, on the calibration part only.
    public static let unsureThreshold = 5.0
    /// The share of the question's significant words the best passage must contain to be offered as "may help".
    public static let minimumUnsureCoverage = 0.34

    /// "fr" or "en" when a chat question gives a clue (stop words of one language only, accents), else nil.
    public static func guessLanguage(of question: String) -> String? {
        TextAnalysis.guessQuestionLanguage(question)
    }

    /// Opens the knowledge base in `writer`'s database, creating or upgrading its tables.
    ///
    /// - Parameter sentenceModel: where the sentence model comes from, for hybrid retrieval (BM25 and the
    ///   model's cosine, see ``HybridFusion``); without it, or when it cannot be loaded, searches are BM25 alone.
    /// - Throws: a GRDB `DatabaseError` when the migrations cannot run.
    public convenience init(writer: any DatabaseWriter, sentenceModel: SentenceModelSource? = nil) throws {
        try self.init(writer: writer, sentenceModel: sentenceModel, hybridWeights: .calibrated)
    }

    init(writer: any DatabaseWriter, sentenceModel: SentenceModelSource?, hybridWeights: HybridWeights) throws {
        self.writer = writer
        self.sentenceModel = sentenceModel
        self.hybridWeights = hybridWeights
        try Self.migrator.migrate(writer)
    }

    /// True when no document has been imported or added yet: Fabrique imports the starter knowledge base then.
    public func isEmpty() throws -> Bool {
        try writer.read { db in try isEmpty(db) }
    }

    public func isEmpty(_ db: Database) throws -> Bool {
        try !Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM kb_document)")!
    }

    /// Titles of the documents in `language` (all languages when nil), for "here is what I know about".
    /// Documents shared by territories come after the reference documents; documents added from rooms of
    /// another territory than `scope`'s are left out.
    public func topics(_ db: Database, language: String?, scope: DocumentScope = .everything) throws -> [String] {
        var territory: String?
        if case .territory(let name) = scope { territory = name }
        let scopeFilter =
            scope == .everything ? "" : "AND id NOT IN (SELECT document_id FROM kb_room_document WHERE territory IS NOT ?2)"
        return try String.fetchAll(
            db,
            sql: """
                SELECT title FROM kb_document WHERE (?1 IS NULL OR language = ?1) \(scopeFilter)
                GROUP BY title ORDER BY MAX(territory IS NOT NULL), title COLLATE NOCASE
                """,
            arguments: scope == .everything ? [language] : [language, territory])
    }

    public func topics(language: String?) throws -> [String] {
        try writer.read { db in try topics(db, language: language) }
    }

    /// Removes the document imported or added from `source`.
    /// - Returns: false when there was no such document.
    public func remove(source: String) throws -> Bool {
        try writer.write { db in try remove(db, source: source) }
    }

    public func remove(_ db: Database, source: String) throws -> Bool {
        guard let id = try Int64.fetchOne(db, sql: "SELECT id FROM kb_document WHERE source = ?", arguments: [source])
        else { return false }
        try Self.deleteDocument(id: id, db)
        return true
    }

    public func stats() throws -> KnowledgeStats {
        try writer.read { db in try stats(db) }
    }

    public func stats(_ db: Database) throws -> KnowledgeStats {
        let documents = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM kb_document") ?? 0
        let passages = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM kb_passage") ?? 0
        var languages: [String: Int] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT language, COUNT(*) FROM kb_document GROUP BY language") {
            languages[row[0]] = row[1]
        }
        let shared = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM kb_document WHERE territory IS NOT NULL") ?? 0
        let groups = try Int.fetchOne(db, sql: "SELECT COUNT(DISTINCT group_id) FROM kb_synonym") ?? 0
        let last = try Double.fetchOne(db, sql: "SELECT MAX(imported_at) FROM kb_document")
        return KnowledgeStats(
            documents: documents, passages: passages, languages: languages, sharedByTerritories: shared,
            synonymGroups: groups, lastImport: last.map(Date.init(timeIntervalSince1970:)))
    }

    // MARK: Writing documents

    /// Adds (or replaces, for the same source) a document written in the chat; searchable as soon as the
    /// enclosing transaction commits.
    /// - Throws: ``KnowledgeError/invalidDocument(source:reason:)`` when the text has nothing to index.
    public func addDocument(_ db: Database, _ document: NewDocument) throws {
        let language = TextAnalysis.languages.contains(document.language) ? document.language : "en"
        let parsed: ParsedDocument
        do {
            parsed = try MarkdownParser.parse(document.markdown, fallbackTitle: document.title)
        } catch {
            throw KnowledgeError.invalidDocument(source: document.source, reason: "\(error)")
        }
        let prepared = PreparedDocument(
            source: document.source, title: document.title, language: language, territory: document.territory,
            tags: document.tags, hash: ContentHash.of(Array(document.markdown.utf8)), sections: parsed.sections)
        guard !prepared.passages.isEmpty else {
            throw KnowledgeError.invalidDocument(source: document.source, reason: "no text to index")
        }
        let existing = try Int64.fetchOne(
            db, sql: "SELECT id FROM kb_document WHERE source = ?", arguments: [document.source])
        try Self.write(prepared, replacing: existing, db)
    }

    public func addDocument(_ document: NewDocument) throws {
        try writer.write { db in try addDocument(db, document) }
    }

    static func deleteDocument(id: Int64, _ db: Database) throws {
        try db.execute(
            sql: "DELETE FROM kb_passage_terms WHERE rowid IN (SELECT id FROM kb_passage WHERE document_id = ?)",
            arguments: [id])
        try db.execute(sql: "DELETE FROM kb_passage WHERE document_id = ?", arguments: [id])
        try db.execute(sql: "DELETE FROM kb_document WHERE id = ?", arguments: [id])
    }

    /// Writes a prepared document and its passages, replacing the document `replacing` if given.
    /// Runs inside the caller's transaction, so a document is always stored whole or not at all.
    static func write(_ document: PreparedDocument, replacing existing: Int64?, _ db: Database) throws {
        if let existing { try deleteDocument(id: existing, db) }
        let tags = jsonArray(document.tags)
        try db.cachedStatement(
            sql: """
                INSERT INTO kb_document(source, title, language, territory, tags, imported_at, content_hash, url)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(arguments: [
            document.source, document.title, document.language, document.territory, tags,
            Date().timeIntervalSince1970, document.hash, document.url,
        ])
        let documentID = db.lastInsertedRowID
        let insertPassage = try db.cachedStatement(
            sql: "INSERT INTO kb_passage(document_id, position, heading, text, page) VALUES (?, ?, ?, ?, ?)")
        let insertTerms = try db.cachedStatement(
            sql: "INSERT INTO kb_passage_terms(rowid, title, heading, body, language) VALUES (?, ?, ?, ?, ?)")
        // Unchecked arguments: the counts are right by construction, and the checks showed in import profiles.
        for (position, passage) in document.passages.enumerated() {
            insertPassage.setUncheckedArguments([documentID, position, passage.heading, passage.text, passage.page])
            try insertPassage.execute()
            insertTerms.setUncheckedArguments([
                db.lastInsertedRowID, document.titleTerms, passage.headingTerms, passage.bodyTerms, document.language,
            ])
            try insertTerms.execute()
        }
    }
}

/// Tags as a JSON array of strings; written by hand because a JSONEncoder per document costs more than
/// the document's own inserts in a large import.
func jsonArray(_ strings: [String]) -> String {
    var json = "["
    for (index, string) in strings.enumerated() {
        if index > 0 { json += "," }
        json += "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": json += "\\\""
            case "\\": json += "\\\\"
            case "\n": json += "\\n"
            case "\r": json += "\\r"
            case "\t": json += "\\t"
            case _ where scalar.value < 0x20: json += String(format: "\\u%04x", scalar.value)
            default: json.unicodeScalars.append(scalar)
            }
        }
        json += "\""
    }
    return json + "]"
}

/// A document analysed and ready to store: the CPU-heavy part of an import, done outside the write
/// transaction (and in parallel) so the database is locked only for the inserts.
struct PreparedDocument: Sendable {
    var source: String
    var title: String
    var language: String
    var territory: String?
    var tags: [String]
    var hash: String
    var url: String?
    var titleTerms: String
    var passages: [Analysed]

    struct Analysed: Sendable {
        var heading: String
        var text: String
        var page: Int?
        var headingTerms: String
        var bodyTerms: String
    }

    init(
        source: String, title: String, language: String, territory: String?, tags: [String], hash: String,
        url: String? = nil, sections: [ParsedDocument.Section], splitter: PassageSplitter = PassageSplitter()
    ) {
        self.url = url
        self.source = source
        self.title = title
        self.language = language
        self.territory = territory
        self.tags = tags
        self.hash = hash
        // Tags count as title words: they say what the whole document is about.
        self.titleTerms = TextAnalysis.indexTerms(of: ([title] + tags).joined(separator: " "), language: language)
        self.passages = splitter.passages(of: sections).map { passage in
            Analysed(
                heading: passage.heading, text: passage.text, page: passage.page,
                headingTerms: TextAnalysis.indexTerms(of: passage.headingWords, language: language),
                bodyTerms: TextAnalysis.indexTerms(of: passage.text, language: language))
        }
    }
}
