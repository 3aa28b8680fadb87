// Turns per second through the engine (terminal adapter in batch mode, many people in many dialogues,
// state committed per turn) side by side with the raw limit: the same number of one-row SQLite commits
// with the same durability settings (WAL, synchronous=FULL), through the sqlite3 C API.
import BotCore
import Foundation
import GRDBSQLite
import Logging
import StdioAdapter
import Synchronization

struct Options {
    var turns = 3_000
    var people = 60
    var runs = 3
    var root = FileManager.default.currentDirectoryPath
    /// Engine on an in-memory database: its CPU cost per turn, without the disk.
    var memory = false

    init() {
        var args = CommandLine.arguments.dropFirst()
        while let arg = args.popFirst() {
            switch arg {
            case "--turns": turns = Int(args.popFirst() ?? "") ?? turns
            case "--people": people = Int(args.popFirst() ?? "") ?? people
            case "--runs": runs = Int(args.popFirst() ?? "") ?? runs
            case "--root": root = args.popFirst() ?? root
            case "--memory": memory = true
            default:
                FileHandle.standardError.write(Data("usage: engine-bench [--turns N] [--people N] [--runs N] [--root REPO]\n".utf8))
                exit(2)
            }
        }
    }
}

/// Answers that every step of the `allkinds` fixture accepts, in order, then a comment.
let walk = ["a plain answer", "no", "2", "1, 2", "yes", "3", "7", "first", "second", "done"]

/// `people` people, each in their own direct room, walking `allkinds` over and over, interleaved.
func script(turns: Int, people: Int) -> [String] {
    var lines: [String] = []
    var position = [Int](repeating: -1, count: people)
    var i = 0
    while lines.count < turns {
        let p = i % people
        let step = position[p]
        lines.append("p\(p)@dm-p\(p)> " + (step < 0 ? "!start allkinds" : walk[step]))
        position[p] = step + 1 == walk.count ? -1 : step + 1
        i += 1
    }
    return lines
}

func temporaryDatabase(_ name: String) -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fabrique-bench-\(UUID().uuidString)")
    try! FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir.appendingPathComponent(name).path
}

func engineRun(_ lines: [String], catalog: DialogueCatalog, options: Options) async throws -> (seconds: Double, turns: Int) {
    let path = temporaryDatabase("engine.sqlite")
    defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
    let store = try StateStore(path: options.memory ? nil : path)
    let engine = Engine(store: store, catalog: catalog, knowledge: nil)
    let queue = Mutex(lines[...])
    var options = StdioAdapter.Options()
    options.inputID = "bench"
    let adapter = StdioAdapter(options: options, readLine: { queue.withLock { $0.popFirst() } }, write: { _ in })
    let start = ContinuousClock.now
    try await EngineRunner(engine: engine, adapter: adapter, logger: Logger(label: "bench")).run()
    let elapsed = ContinuousClock.now - start
    let turns = try await store.writer.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM processed_event") } ?? 0
    let pending = try engine.pendingOutbox().count
    precondition(pending == 0, "replies left undelivered")
    return (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18, turns)
}

func rawRun(commits: Int) -> Double {
    let path = temporaryDatabase("raw.sqlite")
    defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
    var db: OpaquePointer?
    guard sqlite3_open(path, &db) == SQLITE_OK else { fatalError("cannot open \(path)") }
    defer { sqlite3_close(db) }
    func exec(_ sql: String) { precondition(sqlite3_exec(db, sql, nil, nil, nil) == SQLITE_OK, String(cString: sqlite3_errmsg(db))) }
    exec("PRAGMA journal_mode = WAL")
    exec("PRAGMA synchronous = FULL")
    exec("CREATE TABLE turn (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
    var insert: OpaquePointer?
    precondition(sqlite3_prepare_v2(db, "INSERT INTO turn(body) VALUES (?)", -1, &insert, nil) == SQLITE_OK)
    defer { sqlite3_finalize(insert) }
    let start = ContinuousClock.now
    for i in 0..<commits {
        exec("BEGIN IMMEDIATE")
        sqlite3_bind_text(insert, 1, "turn \(i)", -1, unsafeBitCast(-1, to: sqlite3_destructor_type.self))
        precondition(sqlite3_step(insert) == SQLITE_DONE)
        sqlite3_reset(insert)
        exec("COMMIT")
    }
    let elapsed = ContinuousClock.now - start
    return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}

let options = Options()
let (catalog, diagnostics) = DialogueCatalog.load(paths: [options.root + "/Tests/Fixtures/dialogues-allkinds"])
guard !diagnostics.hasErrors, catalog.script(named: "allkinds") != nil else {
    FileHandle.standardError.write(Data("cannot load Tests/Fixtures/dialogues-allkinds under \(options.root) (use --root)\n".utf8))
    exit(1)
}
let lines = script(turns: options.turns, people: options.people)
var engineRates: [Double] = []
var rawRates: [Double] = []
for run in 1...options.runs {
    let engine = try await engineRun(lines, catalog: catalog, options: options)
    precondition(engine.turns == lines.count, "the engine handled \(engine.turns) of \(lines.count) turns")
    let raw = rawRun(commits: lines.count)
    engineRates.append(Double(engine.turns) / engine.seconds)
    rawRates.append(Double(lines.count) / raw)
    print(String(format: "run %d: engine %.0f turns/s, raw %.0f commits/s", run, engineRates.last!, rawRates.last!))
}
let e = median(engineRates), r = median(rawRates)
print(String(format: "median over %d runs of %d turns (%d people): engine %.0f turns/s, raw SQLite %.0f commits/s, ratio %.2f",
             options.runs, lines.count, options.people, e, r, e / r))
