import Foundation
import GRDB
import GRDBSQLite
import KnowledgeBase

/// Measures the knowledge base on a large corpus, side by side with SQLite used directly:
///
/// 1. import: `KnowledgeIndex.importPaths` on the corpus folder, against inserting exactly the same rows
///    (documents, passages, stems) with the SQLite C API in one transaction;
/// 2. queries: `KnowledgeIndex.search` for every question, against the same FTS5 MATCH expression run
///    through the C API with a plain BM25 query that returns the same number of passages.
///
/// Usage: kb-bench CORPUS_FOLDER [WORK_FOLDER] (see BENCHMARKS.md).
let arguments = CommandLine.arguments
guard arguments.count >= 2 else {
    FileHandle.standardError.write(Data("usage: kb-bench CORPUS_FOLDER [WORK_FOLDER]\n".utf8))
    exit(2)
}
let corpus = arguments[1]
let work = arguments.count > 2 ? arguments[2] : NSTemporaryDirectory() + "kb-bench"
let rounds = 3
let limit = 5

@MainActor func seconds(_ start: ContinuousClock.Instant) -> Double {
    let duration = ContinuousClock.now - start
    return Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
}

@MainActor func percentile(_ values: [Double], _ p: Double) -> Double {
    let sorted = values.sorted()
    return sorted[min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.down)))]
}

@MainActor func check(_ code: Int32, _ db: OpaquePointer?, _ what: String) {
    if code != SQLITE_OK && code != SQLITE_DONE && code != SQLITE_ROW {
        fatalError("\(what): \(String(cString: sqlite3_errmsg(db)))")
    }
}

@MainActor func freshDatabase(_ name: String) throws -> DatabasePool {
    let path = (work as NSString).appendingPathComponent(name)
    for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
    var configuration = Configuration()
    configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = NORMAL") }
    return try DatabasePool(path: path, configuration: configuration)
}

@MainActor func openRaw(_ name: String) -> OpaquePointer? {
    var db: OpaquePointer?
    let path = (work as NSString).appendingPathComponent(name)
    check(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, nil), db, "open")
    check(sqlite3_exec(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL", nil, nil, nil), db, "pragma")
    return db
}

let SQLITE_TRANSIENT = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

@MainActor func bind(_ statement: OpaquePointer?, _ index: Int32, _ value: DatabaseValue) {
    switch value.storage {
    case .null: sqlite3_bind_null(statement, index)
    case .int64(let int): sqlite3_bind_int64(statement, index, int)
    case .double(let double): sqlite3_bind_double(statement, index, double)
    case .string(let string): sqlite3_bind_text(statement, index, string, -1, SQLITE_TRANSIENT)
    case .blob(let data):
        _ = data.withUnsafeBytes { sqlite3_bind_blob(statement, index, $0.baseAddress, Int32(data.count), SQLITE_TRANSIENT) }
    }
}

try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
let corpusBytes = (FileManager.default.enumerator(atPath: corpus)?.allObjects as? [String] ?? [])
    .filter { $0.hasSuffix(".md") }
    .reduce(0) { total, file in
        total + ((try? FileManager.default.attributesOfItem(atPath: corpus + "/" + file)[.size] as? Int) ?? 0)
    }

// MARK: 1. Import

/// CPU seconds (user + system) this process has used so far.
@MainActor func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
        + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}

print("corpus: \(corpus), \(corpusBytes / 1_000_000) MB of Markdown")
let importRounds = Int(ProcessInfo.processInfo.environment["KB_BENCH_IMPORT_ROUNDS"] ?? "") ?? 3
var importTimes: [Double] = []
var importCPU: [Double] = []
var directTimes: [Double] = []
var directCPU: [Double] = []
var pool = try freshDatabase("kb.sqlite")
var index = try KnowledgeIndex(writer: pool)
var report = ImportReport()
var start = ContinuousClock.now
// Rounds alternate the two sides, so that a busy machine slows both alike; medians are reported.
for round in 0..<importRounds {
    pool = try freshDatabase("kb.sqlite")
    index = try KnowledgeIndex(writer: pool)
    var cpu = cpuSeconds()
    start = ContinuousClock.now
    report = try index.importPaths([corpus]) { progress in
        if progress.processed % 2_048 == 0 || progress.processed == progress.total {
            FileHandle.standardError.write(Data("\rimporting \(progress.processed)/\(progress.total)".utf8))
        }
    }
    importTimes.append(seconds(start))
    importCPU.append(cpuSeconds() - cpu)
    FileHandle.standardError.write(Data("\n".utf8))

    // The same rows, read back untimed, then inserted directly.
    let documents = try pool.read { db in try Row.fetchAll(db, sql: "SELECT * FROM kb_document ORDER BY id") }
    let passages = try pool.read { db in try Row.fetchAll(db, sql: "SELECT * FROM kb_passage ORDER BY id") }
    let terms = try pool.read { db in
        try Row.fetchAll(db, sql: "SELECT rowid, title, heading, body, language FROM kb_passage_terms ORDER BY rowid")
    }
    do {
        _ = try KnowledgeIndex(writer: try freshDatabase("direct.sqlite"))  // same schema, empty
    }
    let raw = openRaw("direct.sqlite")
    func insertAll(_ rows: [Row], _ sql: String) {
        var statement: OpaquePointer?
        check(sqlite3_prepare_v2(raw, sql, -1, &statement, nil), raw, sql)
        for row in rows {
            for (offset, value) in row.databaseValues.enumerated() { bind(statement, Int32(offset + 1), value) }
            check(sqlite3_step(statement), raw, "insert")
            sqlite3_reset(statement)
        }
        sqlite3_finalize(statement)
    }
    cpu = cpuSeconds()
    start = ContinuousClock.now
    // Same constraints as the index: GRDB turns foreign keys on.
    check(sqlite3_exec(raw, "PRAGMA foreign_keys = ON; BEGIN", nil, nil, nil), raw, "begin")
    insertAll(documents, "INSERT INTO kb_document VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
    insertAll(passages, "INSERT INTO kb_passage VALUES (?, ?, ?, ?, ?, ?)")
    insertAll(terms, "INSERT INTO kb_passage_terms(rowid, title, heading, body, language) VALUES (?, ?, ?, ?, ?)")
    check(sqlite3_exec(raw, "COMMIT", nil, nil, nil), raw, "commit")
    directTimes.append(seconds(start))
    directCPU.append(cpuSeconds() - cpu)
    sqlite3_close(raw)
    print(String(format: "  round %d: import %.2f s (%.2f s CPU), direct %.2f s (%.2f s CPU)", round + 1,
                 importTimes.last!, importCPU.last!, directTimes.last!, directCPU.last!))
}
let stats = try index.stats()
let importSeconds = percentile(importTimes, 0.5)
let directImportSeconds = percentile(directTimes, 0.5)
print(String(format: "import: %d documents, %d passages in %.2f s (median of %d): %.0f passages/s, %.1f MB/s (%d skipped)",
             stats.documents, stats.passages, importSeconds, importRounds, Double(stats.passages) / importSeconds,
             Double(corpusBytes) / 1e6 / importSeconds, report.skipped.count))
print(String(format: "direct bulk insert of the same rows: %.2f s (median): %.0f passages/s; ratio %.2fx (CPU %.2fx)",
             directImportSeconds, Double(stats.passages) / directImportSeconds, importSeconds / directImportSeconds,
             percentile(importCPU, 0.5) / percentile(directCPU, 0.5)))

// MARK: 2. Queries

if ProcessInfo.processInfo.environment["KB_BENCH_IMPORT_ONLY"] != nil { exit(0) }

let questions = try String(contentsOfFile: corpus + "/questions.list", encoding: .utf8)
    .split(separator: "\n").map(String.init).filter { !$0.isEmpty }
let expressions = try pool.read { db in try questions.map { try index.matchExpression(db, for: $0) } }
let reader = openRaw("kb.sqlite")
let directSQL = """
    SELECT p.id, d.title, p.heading, p.text, m.rank
    FROM (SELECT rowid, rank FROM kb_passage_terms WHERE kb_passage_terms MATCH ?1 ORDER BY rank LIMIT ?2) AS m
    JOIN kb_passage AS p ON p.id = m.rowid
    JOIN kb_document AS d ON d.id = p.document_id
    ORDER BY m.rank
    """
var direct: OpaquePointer?
check(sqlite3_prepare_v2(reader, directSQL, -1, &direct, nil), reader, "prepare")

@MainActor func runDirect(_ expression: String?) -> Int {
    guard let expression else { return 0 }
    sqlite3_bind_text(direct, 1, expression, -1, SQLITE_TRANSIENT)
    sqlite3_bind_int(direct, 2, Int32(limit))
    var count = 0
    while sqlite3_step(direct) == SQLITE_ROW {
        // Read what a caller would show: title, heading, passage text, score.
        _ = sqlite3_column_text(direct, 1)
        _ = sqlite3_column_text(direct, 2)
        _ = sqlite3_column_text(direct, 3)
        _ = sqlite3_column_double(direct, 4)
        count += 1
    }
    sqlite3_reset(direct)
    return count
}

var ours: [Double] = []
var theirs: [Double] = []
var answered = 0
var confident = 0
for question in questions {  // warm-up: page cache, statement caches
    _ = try index.search(question, limit: limit)
}
for (question, expression) in zip(questions, expressions) { _ = question; _ = runDirect(expression) }
for round in 0..<rounds {
    for (question, expression) in zip(questions, expressions) {
        start = ContinuousClock.now
        let response = try index.search(question, limit: limit)
        ours.append(seconds(start) * 1000)
        start = ContinuousClock.now
        _ = runDirect(expression)
        theirs.append(seconds(start) * 1000)
        if round == 0 {
            if !response.results.isEmpty { answered += 1 }
            if response.confident { confident += 1 }
        }
    }
}
sqlite3_finalize(direct)
sqlite3_close(reader)
print("queries: \(questions.count) questions × \(rounds) rounds, limit \(limit); \(answered) with results, \(confident) confident")
print(String(format: "  KnowledgeIndex.search: p50 %.3f ms, p99 %.3f ms, mean %.3f ms",
             percentile(ours, 0.5), percentile(ours, 0.99), ours.reduce(0, +) / Double(ours.count)))
print(String(format: "  direct SQLite (same MATCH): p50 %.3f ms, p99 %.3f ms, mean %.3f ms",
             percentile(theirs, 0.5), percentile(theirs, 0.99), theirs.reduce(0, +) / Double(theirs.count)))
print(String(format: "  ratio: p50 %.2fx, p99 %.2fx",
             percentile(ours, 0.5) / percentile(theirs, 0.5), percentile(ours, 0.99) / percentile(theirs, 0.99)))
