// Turns per second through the engine (terminal adapter in batch mode, many people in many dialogues,
// state committed per turn) side by side with the raw limit: the same number of one-row SQLite commits
// with the same durability settings (WAL, synchronous=FULL), through the sqlite3 C API.
import BotCore
import Factory
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
    /// Raw commits run in slices of this many between the engine's turns, so both meet the same disk
    /// from one moment to the next (a shared virtual disk's speed drifts by a quarter within a minute);
    /// 0 runs them after the engine's whole run instead.
    var chunk = 100

    init() {
        var args = CommandLine.arguments.dropFirst()
        while let arg = args.popFirst() {
            switch arg {
            case "--turns": turns = Int(args.popFirst() ?? "") ?? turns
            case "--people": people = Int(args.popFirst() ?? "") ?? people
            case "--runs": runs = Int(args.popFirst() ?? "") ?? runs
            case "--root": root = args.popFirst() ?? root
            case "--memory": memory = true
            case "--chunk": chunk = Int(args.popFirst() ?? "") ?? chunk
            default:
                FileHandle.standardError.write(
                    Data("usage: engine-bench [--turns N] [--people N] [--runs N] [--chunk N] [--memory] [--root REPO]\n".utf8))
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

/// The raw limit: one-row commits (`BEGIN IMMEDIATE; INSERT; COMMIT`) through the sqlite3 C API, WAL and
/// `synchronous = FULL` as the engine's database. Used from one thread at a time (the bench's reader).
final class RawCommits: @unchecked Sendable {
    let path = temporaryDatabase("raw.sqlite")
    var db: OpaquePointer?
    var insert: OpaquePointer?
    var done = 0
    var seconds = 0.0

    init() {
        guard sqlite3_open(path, &db) == SQLITE_OK else { fatalError("cannot open \(path)") }
        exec("PRAGMA journal_mode = WAL")
        exec("PRAGMA synchronous = FULL")
        exec("CREATE TABLE turn (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
        precondition(sqlite3_prepare_v2(db, "INSERT INTO turn(body) VALUES (?)", -1, &insert, nil) == SQLITE_OK)
    }

    func exec(_ sql: String) { precondition(sqlite3_exec(db, sql, nil, nil, nil) == SQLITE_OK, String(cString: sqlite3_errmsg(db))) }

    /// Commits `count` rows, one per transaction, and adds the time they took.
    func commit(_ count: Int) {
        let start = ContinuousClock.now
        for _ in 0..<count {
            exec("BEGIN IMMEDIATE")
            sqlite3_bind_text(insert, 1, "turn \(done)", -1, unsafeBitCast(-1, to: sqlite3_destructor_type.self))
            precondition(sqlite3_step(insert) == SQLITE_DONE)
            sqlite3_reset(insert)
            exec("COMMIT")
            done += 1
        }
        seconds += inSeconds(ContinuousClock.now - start)
    }

    func close() {
        sqlite3_finalize(insert)
        sqlite3_close(db)
        try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent)
    }
}

func inSeconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }

/// One run: the engine handles `lines` (a turn each) and the raw program makes as many commits, either
/// interleaved in slices of `options.chunk` or after the engine's run. Returns both rates.
func run(_ lines: [String], catalog: DialogueCatalog, options: Options) async throws -> (engine: Double, raw: Double) {
    let path = temporaryDatabase("engine.sqlite")
    defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
    let store = try StateStore(path: options.memory ? nil : path)
    // As deployed: with the Factory's extension (its variables are read on every dialogue turn).
    let engine = try Engine(store: store, catalog: catalog, knowledge: nil, extensions: [FactoryExtension()])
    let raw = RawCommits()
    defer { raw.close() }
    let queue = Mutex((lines: lines[...], read: 0))
    let chunk = options.chunk
    var adapterOptions = StdioAdapter.Options()
    adapterOptions.inputID = "bench"
    // The raw slices run inside the engine's read of its next line, timed apart and taken off its time.
    let adapter = StdioAdapter(
        options: adapterOptions,
        readLine: {
            queue.withLock { q in
                if chunk > 0, q.read > 0, q.read % chunk == 0 || q.lines.isEmpty, raw.done < q.read { raw.commit(q.read - raw.done) }
                guard let line = q.lines.popFirst() else { return nil }
                q.read += 1
                return line
            }
        }, write: { _ in })
    let start = ContinuousClock.now
    try await EngineRunner(engine: engine, adapter: adapter, logger: Logger(label: "bench")).run()
    let engineSeconds = inSeconds(ContinuousClock.now - start) - raw.seconds
    let turns = try await store.writer.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM processed_event") } ?? 0
    precondition(turns == lines.count, "the engine handled \(turns) of \(lines.count) turns")
    let pending = try engine.pendingOutbox().count
    precondition(pending == 0, "replies left undelivered")
    if raw.done < lines.count { raw.commit(lines.count - raw.done) }
    return (Double(turns) / engineSeconds, Double(raw.done) / raw.seconds)
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
for index in 1...options.runs {
    let rates = try await run(lines, catalog: catalog, options: options)
    engineRates.append(rates.engine)
    rawRates.append(rates.raw)
    print(
        String(
            format: "run %d: engine %.0f turns/s, raw %.0f commits/s, ratio %.2f", index, rates.engine, rates.raw, rates.engine / rates.raw)
    )
}
let e = median(engineRates), r = median(rawRates)
let ratio = median(zip(engineRates, rawRates).map { $0 / $1 })
print(
    String(
        format:
            "median over %d runs of %d turns (%d people, raw commits %@): engine %.0f turns/s, raw SQLite %.0f commits/s, ratio %.2f (median of the runs' ratios)",
        options.runs, lines.count, options.people, options.chunk > 0 ? "interleaved by \(options.chunk)" : "after the engine", e, r, ratio))
