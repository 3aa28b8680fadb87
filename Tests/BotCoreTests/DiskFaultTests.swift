@testable import BotCore
import FabriqueTesting
import Foundation
import GRDB
import XCTest

/// A full disk (SQLite's page limit stands in for it) makes writes fail: the engine commits nothing,
/// says so, and handles the same message once space returns.
final class DiskFaultTests: XCTestCase {
    /// Caps the database at its current size, as a full disk would. Free pages left by migrations are
    /// dropped first: writes would reuse them without growing the file.
    static func fillDisk(_ store: StateStore) throws -> Int {
        try store.writer.writeWithoutTransaction { db -> Int in
            try db.execute(sql: "VACUUM")
            let count = try Int.fetchOne(db, sql: "PRAGMA page_count") ?? 0
            try db.execute(sql: "PRAGMA max_page_count = \(count)")
            return count
        }
    }

    static func freeDisk(_ store: StateStore) throws {
        try store.writer.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA max_page_count = 1073741823") }
    }

    /// An engine on a file database with one dialogue asking for a long text.
    static func engine(_ dir: URL, scheduler: ManualScheduler = ManualScheduler()) throws -> Engine {
        var loader = DialogueLoader()
        let script = try XCTUnwrap(
            loader.loadDialogue(
                yaml: """
                    id: essay
                    title: {en: Essay, fr: Essai}
                    steps:
                      - id: text
                        ask: text
                        question: {en: "Tell me everything.", fr: "Racontez-moi tout."}
                    """, file: "essay.yaml"))
        return try TestBench.makeEngine(
            store: try StateStore(path: dir.appendingPathComponent("state.sqlite").path), catalog: DialogueCatalog([script]),
            knowledge: nil,
            scheduler: scheduler)
    }

    static func message(_ text: String, _ id: String) -> IncomingEvent {
        .message(IncomingMessage(roomID: "dm-a", senderID: "a", text: text, eventID: id, timestamp: Date(), roomKind: .direct))
    }

    static func count(_ store: StateStore, _ sql: String) throws -> Int? {
        try store.writer.read { try Int.fetchOne($0, sql: sql) }
    }

    func testAFullDiskCommitsNothingAndTheRunnerResumesWhenSpaceReturns() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fabrique-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let scheduler = ManualScheduler()
        let engine = try Self.engine(dir, scheduler: scheduler)
        try engine.handle(Self.message("!start essay", "$start"))
        XCTAssertGreaterThan(try Self.fillDisk(engine.store), 0)
        let long = String(repeating: "a long answer ", count: 280)

        // Storing a long answer needs new pages: it fails cleanly, and nothing of it is stored.
        XCTAssertThrowsError(try engine.handle(Self.message(long, "$full"))) { error in
            XCTAssertTrue("\(error)".contains("full"), "\(error)")
        }
        XCTAssertEqual(try Self.count(engine.store, "SELECT COUNT(*) FROM processed_event WHERE event_id = '$full'"), 0)
        XCTAssertEqual(try Self.count(engine.store, "SELECT COUNT(*) FROM answer"), 0)

        // The runner keeps the event and tries again, every 50 ms of the scheduler's time, until space
        // returns at 300 ms: the seventh try succeeds.
        let adapter = FakeAdapter([InboundBatch(events: [Self.message(long, "$full")])])
        scheduler.schedule(after: .milliseconds(300)) { try? Self.freeDisk(engine.store) }
        try await EngineRunner(engine: engine, adapter: adapter, logger: .init(label: "test"), retryDelays: [.milliseconds(50)]).run()
        XCTAssertEqual(scheduler.now, .milliseconds(300), "the runner waited its retry delays until space returned, and no longer")
        let delivered = adapter.delivered.withLock { $0.map(\.id) }
        XCTAssertFalse(delivered.filter { $0.hasPrefix("$full#") }.isEmpty, "the answer was acknowledged once space returned")
        XCTAssertEqual(Set(delivered).count, delivered.count, "no reply twice")
        XCTAssertEqual(try Self.count(engine.store, "SELECT COUNT(*) FROM answer WHERE event_id = '$full'"), 1)
        XCTAssertEqual(try Self.count(engine.store, "SELECT COUNT(*) FROM pragma_integrity_check WHERE integrity_check = 'ok'"), 1)
    }

    func testTheTerminalGivesUpAtOnceWithAClearError() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fabrique-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let engine = try Self.engine(dir)
        try engine.handle(Self.message("!start essay", "$start"))
        _ = try Self.fillDisk(engine.store)
        let adapter = FakeAdapter([InboundBatch(events: [Self.message(String(repeating: "x ", count: 1_900), "$x")])])
        do {
            try await EngineRunner(engine: engine, adapter: adapter, logger: .init(label: "test"), storeRetries: 0).run()
            XCTFail("expected the runner to stop")
        } catch let error as StoreError {
            XCTAssertTrue(error.description.hasPrefix("cannot write to the database"), error.description)
        }
        XCTAssertEqual(adapter.delivered.withLock { $0.map(\.id).filter { $0.hasPrefix("$x#") } }, [])
        XCTAssertEqual(
            try Self.count(engine.store, "SELECT COUNT(*) FROM processed_event WHERE event_id = '$x'"), 0,
            "replaying the input handles it again")
    }
}
