import Foundation
import GRDB

/// Which documents added from chat rooms a search or a topic list may draw on.
public enum DocumentScope: Sendable, Equatable {
    /// Every document (the command line, evaluations).
    case everything
    /// The reference documents, and those added from rooms of this territory (its id) only (none when nil):
    /// what a room bound to it sees.
    case territory(String?)
}

/// What a file shared in a chat room is, judged by its content (its name and declared type only break ties).
public enum UploadKind: String, Sendable, Equatable {
    case pdf, docx, odt, markdown, html, text
}

/// Why a file shared in a room cannot be added; the engine tells the room in its language.
public enum UploadProblem: Error, Sendable, Equatable {
    /// The content is of a kind the knowledge base does not take.
    case unsupported(ContentKind)
    /// A password-protected PDF or office document.
    case encrypted
    /// A PDF without a text layer (scanned pages).
    case imageOnly
    /// The file cannot be read; the detail (in English, for the log) says where.
    case damaged(String)
    /// Nothing in it to index.
    case noText
    /// The program that reads it is not installed (its description says which package).
    case toolMissing(String)

    /// What an unsupported file looks like.
    public enum ContentKind: String, Sendable, Equatable {
        case image, archive, oldOffice, binary, notUTF8
    }
}

/// A shared file read and analysed, ready to be added in the transaction that records the command.
public struct PreparedUpload: Sendable {
    var document: PreparedDocument
    public let kind: UploadKind
    /// The headings of its sections, in order, each once, the title aside: what the room is told it learnt.
    public let sections: [String]
    /// How many pages had text, for a PDF.
    public let pages: Int?

    public var title: String { document.title }
    /// "fr" or "en".
    public var language: String { document.language }
    public var passages: Int { document.passages.count }
}

/// A document a facilitator added from a room, and where it came from.
public struct RoomDocument: Sendable, Equatable {
    /// `room:<room id>/<file event id>`: adding the same file again replaces it.
    public var source: String
    public var title: String
    /// The territory's id: what scopes the document (``DocumentScope/territory(_:)``).
    public var territory: String
    public var roomID: String
    public var fileEventID: String
    public var fileName: String
    /// The person who shared the file in the room (transport id and display name).
    public var sharedBy: String
    public var sharedByName: String
    /// The facilitator who added it.
    public var addedBy: String
    public var addedAt: Date

    /// The source of the document added from the file shared as `fileEventID` in `roomID`.
    public static func source(roomID: String, fileEventID: String) -> String {
        "room:\(roomID)/\(fileEventID)"
    }
}

extension KnowledgeIndex {
    /// Reads a file shared in a room: its kind from its content (a PDF named `.md` is a PDF), then its text
    /// with the importer of that kind. Runs programs (poppler) for a PDF: call it outside any transaction.
    ///
    /// - Parameter fileName: the name it was shared under: the title when the document declares none, and
    ///   whether a text file is plain text (`.txt`) or Markdown.
    /// - Throws: ``UploadProblem`` saying why it cannot be added.
    public static func prepareUpload(_ bytes: [UInt8], fileName: String) throws(UploadProblem) -> PreparedUpload {
        let kind = try sniff(bytes, fileName: fileName)
        let hash = ContentHash.of(bytes)
        let base = (fileName as NSString).deletingPathExtension
        var fallbackTitle = String(base.map { $0 == "_" || $0 == "-" ? " " : $0 }).trimmingCharacters(in: .whitespaces)
        if fallbackTitle.isEmpty { fallbackTitle = fileName }
        let document: PreparedDocument
        let parsedSections: [ParsedDocument.Section]
        var pages: Int?
        switch kind {
        case .pdf:
            let sections = try readPDF(bytes)
            pages = sections.sections.count
            let text = sections.sections.map(\.body).joined(separator: "\n\n")
            parsedSections = sections.sections
            document = PreparedDocument(
                source: "", title: sections.title ?? fallbackTitle, language: TextAnalysis.detectLanguage(text), territory: nil,
                tags: [], hash: hash, sections: sections.sections)
        case .docx, .odt:
            let title: String?
            let markdown: String
            do {
                (title, markdown) = try OfficeText.read(file: fileName, bytes: bytes, kind: kind.rawValue)
            } catch {
                if error == .encrypted { throw .encrypted }
                throw .damaged(error.description)
            }
            var parsed: ParsedDocument
            do {
                parsed = try MarkdownParser.parse(markdown, fallbackTitle: title ?? fallbackTitle)
            } catch {
                throw .damaged("\(error)")
            }
            if let title { parsed.title = title }
            parsedSections = parsed.sections
            document = PreparedDocument(
                source: "", title: parsed.title, language: TextAnalysis.detectLanguage(markdown), territory: nil, tags: [],
                hash: hash, sections: parsed.sections)
        case .markdown, .html, .text:
            guard var text = String(validating: bytes, as: UTF8.self) else { throw .unsupported(.notUTF8) }
            if text.hasPrefix("\u{FEFF}") { text.removeFirst() }
            if kind == .html {
                let converted = HTMLText.markdown(from: text)
                text = converted.markdown
                if let title = converted.title, !title.isEmpty { fallbackTitle = title }
            }
            let parsed: ParsedDocument
            do {
                parsed = try MarkdownParser.parse(text, fallbackTitle: fallbackTitle, headings: kind != .text)
            } catch {
                throw .damaged("\(error)")
            }
            let language = parsed.language.flatMap { TextAnalysis.languages.contains($0) ? $0 : nil } ?? TextAnalysis.detectLanguage(text)
            parsedSections = parsed.sections
            document = PreparedDocument(
                source: "", title: parsed.title, language: language, territory: nil, tags: parsed.tags, hash: hash, url: parsed.url,
                sections: parsed.sections)
        }
        guard !document.passages.isEmpty else { throw .noText }
        // From the document's sections rather than its passages: short sections share a passage.
        var sections: [String] = []
        for section in parsedSections where !section.body.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            guard let heading = section.path.last, !heading.isEmpty, heading != document.title, !sections.contains(heading) else {
                continue
            }
            sections.append(heading)
        }
        return PreparedUpload(document: document, kind: kind, sections: sections, pages: pages)
    }

    /// What the bytes are. ZIP archives are told apart by the parts DOCX and ODT must have.
    static func sniff(_ bytes: [UInt8], fileName: String) throws(UploadProblem) -> UploadKind {
        let head = Array(bytes.prefix(1_024))
        let pdf = Array("%PDF-".utf8)
        if head.count >= pdf.count, (0...(head.count - pdf.count)).contains(where: { head[$0..<($0 + pdf.count)].elementsEqual(pdf) }) {
            return .pdf
        }
        let name = fileName.lowercased()
        if bytes.starts(with: [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) {
            // An encrypted DOCX or ODT is an OLE compound file, and so is an old .doc.
            throw name.hasSuffix(".docx") || name.hasSuffix(".odt") ? .encrypted : .unsupported(.oldOffice)
        }
        if bytes.starts(with: [0x50, 0x4B, 0x03, 0x04]) {
            guard let archive = try? ZipArchive(bytes) else { throw .damaged("not a readable ZIP archive") }
            if let mimetype = try? archive.contents(of: "mimetype", limit: 200),
                String(decoding: mimetype, as: UTF8.self).hasPrefix("application/vnd.oasis.opendocument.text")
            {
                return .odt
            }
            if let types = try? archive.contents(of: "[Content_Types].xml", limit: 1_000_000),
                String(decoding: types, as: UTF8.self).contains("wordprocessingml")
            {
                return .docx
            }
            throw .unsupported(.archive)
        }
        let images: [[UInt8]] = [[0x89, 0x50, 0x4E, 0x47], [0xFF, 0xD8, 0xFF], Array("GIF8".utf8), Array("BM".utf8)]
        if images.contains(where: bytes.starts(with:)) || (bytes.count > 12 && bytes[8..<12].elementsEqual("WEBP".utf8)) {
            throw .unsupported(.image)
        }
        if bytes.prefix(8_192).contains(0) { throw .unsupported(.binary) }
        guard let text = textPrefix(bytes) else { throw .unsupported(.notUTF8) }
        let start = text.prefix(2_048).lowercased().drop { $0.isWhitespace || $0 == "\u{FEFF}" }
        if name.hasSuffix(".html") || name.hasSuffix(".htm") || start.hasPrefix("<!doctype html") || start.hasPrefix("<html")
            || start.contains("<body")
        {
            return .html
        }
        return name.hasSuffix(".txt") || name.hasSuffix(".text") ? .text : .markdown
    }

    /// The first 64 KB as text (a character cut at the limit dropped), nil when they are not UTF-8.
    private static func textPrefix(_ bytes: [UInt8]) -> String? {
        guard bytes.count > 65_536 else { return String(validating: bytes, as: UTF8.self) }
        for cut in 0..<4 {
            if let text = String(validating: bytes.prefix(65_536 - cut), as: UTF8.self) { return text }
        }
        return nil
    }

    /// A PDF's title and pages, through a private temporary file: poppler reads files, not memory.
    private static func readPDF(_ bytes: [UInt8]) throws(UploadProblem) -> (title: String?, sections: [ParsedDocument.Section]) {
        let path = (NSTemporaryDirectory() as NSString).appendingPathComponent("fabrique-upload-\(UUID().uuidString).pdf")
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes), attributes: [.posixPermissions: 0o600]) else {
            throw .damaged("cannot write a temporary copy")
        }
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            return try PDFText.read(file: path, bytes: bytes)
        } catch {
            switch error {
            case .encrypted: throw .encrypted
            case .imageOnly: throw .imageOnly
            case .toolMissing: throw .toolMissing(error.description)
            case .notPDF, .corrupt, .timedOut: throw .damaged(error.description)
            }
        }
    }

    /// Adds a shared file to the knowledge base for `territory` (its id; answers say it was shared by
    /// `territoryName`), in the caller's transaction (the one that records the command and its reply). The
    /// same file added again replaces its document.
    @discardableResult
    public func addRoomDocument(
        _ db: Database, _ upload: PreparedUpload, territory: String, territoryName: String, roomID: String, fileEventID: String,
        fileName: String,
        sharedBy: String, sharedByName: String, addedBy: String, at date: Date
    ) throws -> RoomDocument {
        let source = RoomDocument.source(roomID: roomID, fileEventID: fileEventID)
        var document = upload.document
        document.source = source
        document.territory = territoryName
        let existing = try Int64.fetchOne(db, sql: "SELECT id FROM kb_document WHERE source = ?", arguments: [source])
        if let existing { try db.execute(sql: "DELETE FROM kb_room_document WHERE document_id = ?", arguments: [existing]) }
        try Self.write(document, replacing: existing, db)
        let documentID = try Int64.fetchOne(db, sql: "SELECT id FROM kb_document WHERE source = ?", arguments: [source])
        let added = RoomDocument(
            source: source, title: document.title, territory: territory, roomID: roomID, fileEventID: fileEventID, fileName: fileName,
            sharedBy: sharedBy, sharedByName: sharedByName, addedBy: addedBy, addedAt: date)
        try db.execute(
            sql: """
                INSERT INTO kb_room_document(document_id, territory, room_id, file_event_id, file_name, shared_by, shared_by_name,
                    added_by, added_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                documentID, territory, roomID, fileEventID, fileName, sharedBy, sharedByName, addedBy, date.timeIntervalSince1970,
            ])
        return added
    }

    /// The documents added from rooms of `territory` (its id), oldest first: what `!kb list` numbers.
    public func roomDocuments(_ db: Database, territory: String) throws -> [RoomDocument] {
        try Row.fetchAll(
            db,
            sql: """
                SELECT d.source, d.title, r.territory, r.room_id, r.file_event_id, r.file_name, r.shared_by, r.shared_by_name,
                       r.added_by, r.added_at
                FROM kb_room_document AS r JOIN kb_document AS d ON d.id = r.document_id
                WHERE r.territory = ? ORDER BY r.added_at, r.document_id
                """,
            arguments: [territory]
        ).map { row in
            RoomDocument(
                source: row[0], title: row[1], territory: row[2], roomID: row[3], fileEventID: row[4], fileName: row[5], sharedBy: row[6],
                sharedByName: row[7], addedBy: row[8], addedAt: Date(timeIntervalSince1970: row[9]))
        }
    }

    /// Removes a document added from a room, with its passages.
    /// - Returns: false when there was no such document.
    public func removeRoomDocument(_ db: Database, source: String) throws -> Bool {
        try db.execute(
            sql: "DELETE FROM kb_room_document WHERE document_id IN (SELECT id FROM kb_document WHERE source = ?)", arguments: [source])
        return try remove(db, source: source)
    }

    /// The passages a search in `scope` leaves out: those of documents added from other territories' rooms.
    static func passagesOutOfScope(_ scope: DocumentScope, _ db: Database) throws -> Set<Int64> {
        guard case .territory(let territory) = scope else { return [] }
        return Set(
            try Int64.fetchAll(
                db,
                sql: """
                    SELECT p.id FROM kb_room_document AS r JOIN kb_passage AS p ON p.document_id = r.document_id
                    WHERE r.territory IS NOT ?
                    """, arguments: [territory]))
    }

    /// The SQL condition (on a passage's rowid) that keeps a search in `scope`, with its arguments.
    static func scopeFilter(_ scope: DocumentScope) -> (sql: String, arguments: StatementArguments) {
        guard case .territory(let territory) = scope else { return ("", []) }
        return (
            """
            AND rowid NOT IN (SELECT p.id FROM kb_room_document AS r JOIN kb_passage AS p ON p.document_id = r.document_id
                              WHERE r.territory IS NOT :territory)
            """,
            ["territory": territory]
        )
    }
}
