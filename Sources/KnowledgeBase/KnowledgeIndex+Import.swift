import Foundation
import GRDB

extension KnowledgeIndex {
    /// Extensions of the files an import reads; other files in a folder are left alone.
    static let importedExtensions: Set<String> = ["md", "markdown", "txt", "text", "html", "htm", "pdf", "docx", "odt"]
    /// A file with this name holds synonyms (see ``Thesaurus``), not a document.
    static let synonymsFileNames: Set<String> = ["synonyms.yaml", "synonyms.yml"]
    /// Files analysed together, then written in one transaction: large enough to amortise a commit,
    /// small enough for a steady progress line and short write locks.
    static let importBatchSize = 512

    /// Imports Markdown, plain-text, HTML, PDF, Word (DOCX) and OpenDocument (ODT) files, and folders of them
    /// (recursively, hidden files aside).
    ///
    /// A file whose content has not changed since the last import is left as it is; a changed one is
    /// replaced whole; a document imported from a folder whose file is gone is removed, and so is one whose
    /// path was given but no longer exists. Each document is written in a transaction, so a failure never
    /// leaves one half imported. Binary, non-UTF-8 and malformed files, and PDFs that are damaged, encrypted
    /// or only scanned images, are skipped and listed in the report with the reason; the others are imported.
    ///
    /// Call it outside any database access block: it opens its own transactions (one per batch of files).
    ///
    /// - Parameter progress: called from the importing thread after each batch of files.
    /// - Throws: a GRDB `DatabaseError` when the database cannot be written.
    public func importPaths(
        _ paths: [String], progress: (@Sendable (ImportProgress) -> Void)? = nil
    ) throws -> ImportReport {
        var report = ImportReport()
        var files: [String] = []
        var folders: [String] = []
        var missing: [String] = []
        var synonymFiles: [String] = []
        let manager = FileManager.default
        for path in paths {
            let absolute = Self.absolutePath(path)
            var isFolder: ObjCBool = false
            guard manager.fileExists(atPath: absolute, isDirectory: &isFolder) else {
                missing.append(absolute)
                continue
            }
            if isFolder.boolValue {
                folders.append(absolute)
                for file in Self.files(under: absolute) {
                    let name = (file as NSString).lastPathComponent.lowercased()
                    if Self.synonymsFileNames.contains(name) {
                        synonymFiles.append(file)
                    } else if Self.importedExtensions.contains((name as NSString).pathExtension) {
                        files.append(file)
                    }
                }
            } else if Self.synonymsFileNames.contains((absolute as NSString).lastPathComponent.lowercased()) {
                synonymFiles.append(absolute)
            } else if Self.importedExtensions.contains((absolute as NSString).pathExtension.lowercased()) {
                files.append(absolute)
            } else {
                let kind = (absolute as NSString).pathExtension
                report.skipped.append(
                    .init(path: absolute, reason: DocumentError.unsupported(kind.isEmpty ? "(none)" : "." + kind).description))
            }
        }
        var seenFiles = Set<String>()
        files = files.filter { seenFiles.insert($0).inserted }

        for file in synonymFiles {
            do {
                let text = try String(contentsOfFile: file, encoding: .utf8)
                let groups = try Thesaurus.groups(fromYAML: text, path: file)
                if try writer.write({ db in try Thesaurus.store(groups, db) }) { report.synonymsUpdated = true }
            } catch let error as KnowledgeError {
                report.skipped.append(.init(path: file, reason: error.description))
            } catch let error as DatabaseError {
                throw error
            } catch {
                report.skipped.append(.init(path: file, reason: "cannot read: \(error.localizedDescription)"))
            }
        }

        let known = try writer.read { db in
            var known: [String: (id: Int64, hash: String)] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT source, id, content_hash FROM kb_document") {
                known[row[0]] = (row[1], row[2])
            }
            return known
        }

        // A bulk import commits once per batch; letting SQLite checkpoint the WAL after each commit costs an
        // fsync every time (and doubled the import time of the benchmark), so checkpoints wait for the end.
        let suspendedCheckpoint = files.count > Self.importBatchSize ? try suspendAutomaticCheckpoints() : nil
        defer {
            if let suspendedCheckpoint {
                try? writer.writeWithoutTransaction { db in
                    try db.execute(sql: "PRAGMA wal_autocheckpoint = \(suspendedCheckpoint)")
                }
            }
        }

        // Analysis of one batch overlaps the write of the previous one: stemming runs on every core while
        // SQLite writes on its own thread, and the database is locked only for the inserts.
        let writes = BatchWrites()
        let writeQueue = DispatchQueue(label: "KnowledgeIndex.import.write")
        let group = DispatchGroup()
        var processed = 0
        for start in stride(from: 0, to: files.count, by: Self.importBatchSize) {
            let batch = Array(files[start..<min(start + Self.importBatchSize, files.count)])
            let outcomes = Self.analyse(batch, knownHashes: known.mapValues(\.hash))
            group.wait()
            if let error = writes.error { throw error }
            if processed > 0 {
                progress?(ImportProgress(processed: processed, total: files.count, path: files[processed - 1]))
            }
            let existing = batch.map { known[$0]?.id }
            group.enter()
            writeQueue.async { [writer] in
                defer { group.leave() }
                do {
                    let counts = try writer.write { db in
                        var counts = ImportReport()
                        for ((file, outcome), existing) in zip(zip(batch, outcomes), existing) {
                            switch outcome {
                            case .unchanged:
                                counts.unchanged += 1
                            case .skipped(let reason):
                                counts.skipped.append(.init(path: file, reason: reason))
                            case .prepared(let document):
                                try Self.write(document, replacing: existing, db)
                                if existing == nil { counts.added += 1 } else { counts.updated += 1 }
                                counts.passages += document.passages.count
                            }
                        }
                        return counts
                    }
                    writes.add(counts)
                } catch {
                    writes.fail(error)
                }
            }
            processed += batch.count
        }
        group.wait()
        if let error = writes.error { throw error }
        if suspendedCheckpoint != nil {
            try writer.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(PASSIVE)") }
        }
        let counts = writes.total
        report.added += counts.added
        report.updated += counts.updated
        report.unchanged += counts.unchanged
        report.passages += counts.passages
        report.skipped += counts.skipped
        if processed > 0 {
            progress?(ImportProgress(processed: processed, total: files.count, path: files[processed - 1]))
        }

        // Documents whose file is gone: under an imported folder, or named directly.
        let gone = known.keys.filter { source in
            !seenFiles.contains(source)
                && (missing.contains(source) || folders.contains { source.hasPrefix($0.hasSuffix("/") ? $0 : $0 + "/") })
        }
        if !gone.isEmpty {
            try writer.write { db in
                for source in gone {
                    if let id = known[source]?.id { try Self.deleteDocument(id: id, db) }
                }
            }
            report.removed = gone.count
        }
        for path in missing where known[path] == nil {
            report.skipped.append(.init(path: path, reason: "no such file or folder"))
        }
        return report
    }

    /// Turns the writer's automatic WAL checkpoints off.
    /// - Returns: the setting to restore.
    private func suspendAutomaticCheckpoints() throws -> Int {
        try writer.writeWithoutTransaction { db in
            let current = try Int.fetchOne(db, sql: "PRAGMA wal_autocheckpoint") ?? 1000
            try db.execute(sql: "PRAGMA wal_autocheckpoint = 0")
            return current
        }
    }

    enum Outcome: Sendable {
        case unchanged
        case skipped(String)
        case prepared(PreparedDocument)
    }

    /// Reads and analyses files on every core: stemming is what an import spends its time on.
    static func analyse(_ files: [String], knownHashes: [String: String]) -> [Outcome] {
        let results = OutcomeSlots(count: files.count)
        DispatchQueue.concurrentPerform(iterations: files.count) { index in
            results.set(index, analyse(file: files[index], knownHash: knownHashes[files[index]]))
        }
        return results.values
    }

    static func analyse(file: String, knownHash: String?) -> Outcome {
        guard let data = FileManager.default.contents(atPath: file) else {
            return .skipped("cannot read the file")
        }
        let bytes = [UInt8](data)
        let hash = ContentHash.of(bytes)
        if hash == knownHash { return .unchanged }
        let fileExtension = (file as NSString).pathExtension.lowercased()
        // "hedge_planting-guide.md" → "hedge planting guide", for files that name no title.
        var fallbackTitle = String(
            ((file as NSString).lastPathComponent as NSString).deletingPathExtension
                .map { $0 == "_" || $0 == "-" ? " " : $0 })
        if fileExtension == "pdf" {
            do {
                let (title, sections) = try PDFText.read(file: file, bytes: bytes)
                let text = sections.map(\.body).joined(separator: "\n\n")
                return .prepared(
                    PreparedDocument(
                        source: file, title: title ?? fallbackTitle, language: TextAnalysis.detectLanguage(text), territory: nil,
                        tags: [], hash: hash, sections: sections))
            } catch {
                return .skipped(error.description)
            }
        }
        if fileExtension == "docx" || fileExtension == "odt" {
            do {
                let (title, markdown) = try OfficeText.read(file: file, bytes: bytes, kind: fileExtension)
                var parsed = try MarkdownParser.parse(markdown, fallbackTitle: title ?? fallbackTitle)
                if let title { parsed.title = title }
                let document = PreparedDocument(
                    source: file, title: parsed.title, language: TextAnalysis.detectLanguage(markdown), territory: nil,
                    tags: [], hash: hash, sections: parsed.sections)
                if document.passages.isEmpty { return .skipped(DocumentError.empty.description) }
                return .prepared(document)
            } catch let problem as OfficeText.Problem {
                return .skipped(problem.description)
            } catch {
                return .skipped("\(error)")
            }
        }
        if bytes.prefix(8192).contains(0) { return .skipped(DocumentError.notText("binary content").description) }
        guard var text = String(data: data, encoding: .utf8) else {
            return .skipped(DocumentError.notText("not valid UTF-8").description)
        }
        if text.hasPrefix("\u{FEFF}") { text.removeFirst() }
        if fileExtension == "html" || fileExtension == "htm" {
            let converted = HTMLText.markdown(from: text)
            text = converted.markdown
            if let title = converted.title, !title.isEmpty { fallbackTitle = title }
        }
        do {
            let parsed = try MarkdownParser.parse(
                text, fallbackTitle: fallbackTitle, headings: fileExtension != "txt" && fileExtension != "text")
            let language =
                parsed.language.flatMap { TextAnalysis.languages.contains($0) ? $0 : nil }
                ?? TextAnalysis.detectLanguage(text)
            let document = PreparedDocument(
                source: file, title: parsed.title, language: language, territory: parsed.territory, tags: parsed.tags,
                hash: hash, url: parsed.url, sections: parsed.sections)
            if document.passages.isEmpty { return .skipped(DocumentError.empty.description) }
            return .prepared(document)
        } catch {
            return .skipped("\(error)")
        }
    }

    /// Imports a web page fetched by the caller (the knowledge base does no network I/O), under its address:
    /// importing the same address again replaces it, and answers drawn from it cite the address.
    ///
    /// - Returns: false when the page is the one already imported.
    /// - Throws: ``KnowledgeError/invalidDocument(source:reason:)`` when the page has no text to index.
    @discardableResult
    public func importWebPage(html: String, url: String) throws -> Bool {
        let hash = ContentHash.of(Array(html.utf8))
        let converted = HTMLText.markdown(from: html)
        let fallback = URL(string: url)?.host ?? url
        let parsed: ParsedDocument
        do {
            parsed = try MarkdownParser.parse(converted.markdown, fallbackTitle: converted.title ?? fallback)
        } catch {
            throw KnowledgeError.invalidDocument(source: url, reason: "\(error)")
        }
        var title = parsed.title
        if let declared = converted.title, !declared.isEmpty { title = declared }
        let document = PreparedDocument(
            source: url, title: title, language: TextAnalysis.detectLanguage(converted.markdown), territory: nil, tags: [],
            hash: hash, url: url, sections: parsed.sections)
        guard !document.passages.isEmpty else {
            throw KnowledgeError.invalidDocument(source: url, reason: DocumentError.empty.description)
        }
        return try writer.write { db in
            let existing = try Row.fetchOne(db, sql: "SELECT id, content_hash FROM kb_document WHERE source = ?", arguments: [url])
            if let existing, existing["content_hash"] == hash { return false }
            try Self.write(document, replacing: existing?["id"], db)
            return true
        }
    }

    /// The source under which a file is (or would be) imported: its absolute path, symbolic links
    /// resolved, so the same file imported from two working directories or through a link is one document.
    public static func sourceIdentifier(forPath path: String) -> String {
        absolutePath(path)
    }

    static func absolutePath(_ path: String) -> String {
        URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path
    }

    /// Regular files under `folder`, sorted, hidden files and folders aside.
    static func files(under folder: String) -> [String] {
        let manager = FileManager.default
        var files: [String] = []
        var folders = [folder]
        while let current = folders.popLast() {
            guard let names = try? manager.contentsOfDirectory(atPath: current) else { continue }
            for name in names where !name.hasPrefix(".") {
                let path = (current as NSString).appendingPathComponent(name)
                var isFolder: ObjCBool = false
                guard manager.fileExists(atPath: path, isDirectory: &isFolder) else { continue }
                if isFolder.boolValue { folders.append(path) } else { files.append(path) }
            }
        }
        return files.sorted()
    }
}

/// The counts of the batches written so far, or the error that stopped them; filled by the write thread.
private final class BatchWrites: @unchecked Sendable {
    private let lock = NSLock()
    private var counts = ImportReport()
    private var failure: (any Error)?

    func add(_ batch: ImportReport) {
        lock.withLock {
            counts.added += batch.added
            counts.updated += batch.updated
            counts.unchanged += batch.unchanged
            counts.passages += batch.passages
            counts.skipped += batch.skipped
        }
    }

    func fail(_ error: any Error) {
        lock.withLock { failure = failure ?? error }
    }

    var error: (any Error)? { lock.withLock { failure } }
    var total: ImportReport { lock.withLock { counts } }
}

/// Slots the parallel analysis fills, one per file; each index is written by exactly one iteration.
private final class OutcomeSlots: @unchecked Sendable {
    private var slots: [KnowledgeIndex.Outcome?]
    private let lock = NSLock()

    init(count: Int) {
        slots = Array(repeating: nil, count: count)
    }

    func set(_ index: Int, _ outcome: KnowledgeIndex.Outcome) {
        lock.withLock { slots[index] = outcome }
    }

    var values: [KnowledgeIndex.Outcome] {
        lock.withLock { slots.map { $0 ?? .skipped("not analysed") } }
    }
}
