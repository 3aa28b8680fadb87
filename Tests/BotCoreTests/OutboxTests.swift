@testable import BotCore
import FabriqueTesting
import GRDB
import Synchronization
import XCTest

final class OutboxTests: XCTestCase {
    func testAnEventAlreadyProcessedChangesNothing() throws {
        var bench = try TestBench()
        let start = bench.message("!start demo", from: "bob")
        let first = try bench.engine.handle(.message(start))
        XCTAssertFalse(first.isEmpty)
        XCTAssertEqual(try bench.engine.handle(.message(start)), [], "the same event must not be answered twice")
        let answer = bench.message("2", from: "bob")
        XCTAssertFalse(try bench.engine.handle(.message(answer)).isEmpty)
        XCTAssertEqual(try bench.engine.handle(.message(answer)), [])
        let count = try bench.store.writer.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM answer") }
        XCTAssertEqual(count, 1)
    }

    func testReplyIDsDeriveFromTheEventAndAreQueuedBeforeDelivery() throws {
        var bench = try TestBench()
        let replies = try bench.engine.handle(.message(bench.message("!start demo", id: "$ev1")))
        XCTAssertEqual(replies.map(\.id), (0..<replies.count).map { "$ev1#\($0)" })
        XCTAssertEqual(try bench.engine.pendingOutbox().map(\.id), replies.map(\.id))
        try bench.engine.markDelivered(replies[0].id)
        XCTAssertEqual(try bench.engine.pendingOutbox().map(\.id), Array(replies.dropFirst()).map(\.id))
    }

    func testTheRunnerRedeliversWhatAPreviousRunLeftInTheOutbox() async throws {
        var bench = try TestBench()
        // A previous run committed these replies and died before sending them.
        let orphaned = try bench.engine.handle(.message(bench.message("!start demo", id: "old")))
        let adapter = FakeAdapter([InboundBatch(events: [.message(bench.message("!status", id: "new"))])])
        try await EngineRunner(engine: bench.engine, adapter: adapter, logger: .init(label: "test")).run()
        let ids = adapter.delivered.withLock { $0.map(\.id) }
        XCTAssertEqual(Array(ids.prefix(orphaned.count)), orphaned.map(\.id), "orphans first, in order")
        XCTAssertEqual(ids.last, "new#0")
        XCTAssertEqual(Set(ids).count, ids.count, "no reply delivered twice")
        XCTAssertEqual(try bench.engine.pendingOutbox(), [])
    }

    func testTransientFailuresAreRetriedAndPermanentOnesDropped() async throws {
        var bench = try TestBench()
        let adapter = FakeAdapter([
            InboundBatch(events: [.message(bench.message("!help", id: "a")), .message(bench.message("!status", id: "b"))])
        ])
        adapter.failures.withLock { $0 = ["a#0": [.transient("503"), .transient("timeout")], "b#0": [.permanent("403 forbidden")]] }
        let runner = EngineRunner(
            engine: bench.engine, adapter: adapter, logger: .init(label: "test"), retryDelays: [.milliseconds(1), .milliseconds(5)])
        try await runner.run()
        XCTAssertEqual(bench.scheduler.now, .milliseconds(6), "two waits before the third try, the first of each delay")
        XCTAssertEqual(adapter.delivered.withLock { $0.map(\.id) }, ["a#0"])
        XCTAssertEqual(try bench.engine.pendingOutbox(), [], "a permanent failure is not retried forever")
    }

    func testAFatalFailureStopsTheRunnerAndKeepsTheReply() async throws {
        var bench = try TestBench()
        let adapter = FakeAdapter([InboundBatch(events: [.message(bench.message("!help", id: "a"))])])
        adapter.failures.withLock { $0 = ["a#0": [.fatal("M_UNKNOWN_TOKEN")]] }
        do {
            try await EngineRunner(engine: bench.engine, adapter: adapter, logger: .init(label: "test")).run()
            XCTFail("expected the runner to stop")
        } catch let error as RunnerError {
            XCTAssertTrue(error.description.contains("M_UNKNOWN_TOKEN"))
        }
        XCTAssertEqual(try bench.engine.pendingOutbox().map(\.id), ["a#0"])
    }

    func testTheCursorIsStoredWithTheLastEventOfItsBatch() async throws {
        var bench = try TestBench()
        let events: [IncomingEvent] = [.message(bench.message("hello")), .message(bench.message("!help"))]
        let adapter = FakeAdapter([InboundBatch(events: events, cursor: AdapterCursor(name: "since", value: "s42"))])
        try await EngineRunner(engine: bench.engine, adapter: adapter, logger: .init(label: "test")).run()
        XCTAssertEqual(try bench.store.cursor(named: "since"), "s42")
        XCTAssertEqual(adapter.acknowledged.withLock { $0 }, events.map(\.eventID))

        // Handling only the first event of a batch (a crash before the last) leaves the cursor where it was.
        let next = [bench.message("!status"), bench.message("!help")]
        try bench.engine.handle(.message(next[0]))
        XCTAssertEqual(try bench.store.cursor(named: "since"), "s42")
        try bench.engine.handle(.message(next[1]), cursor: AdapterCursor(name: "since", value: "s43"))
        XCTAssertEqual(try bench.store.cursor(named: "since"), "s43")
    }

    /// An adapter's own writes (`withCursor`) commit in the cursor's transaction, after the batch's last
    /// event, or fail with it; the batch's replies then go out only after that commit, and `handled` comes last.
    func testAnAdaptersWritesCommitWithTheCursorAndItsRepliesWaitForThem() async throws {
        var bench = try TestBench()
        try await bench.store.writer.write { db in try db.execute(sql: "CREATE TABLE adapter_state (value TEXT NOT NULL)") }
        let order = Recorded()
        let store = bench.store
        let stored: @Sendable () -> [String] = {
            (try? store.writer.read { db in try String.fetchAll(db, sql: "SELECT value FROM adapter_state") }) ?? []
        }
        let events: [IncomingEvent] = [.message(bench.message("!help", id: "a")), .message(bench.message("!status", id: "b"))]
        let batches = [
            InboundBatch(
                events: events, cursor: AdapterCursor(name: "since", value: "s7"),
                withCursor: { db in try db.execute(sql: "INSERT INTO adapter_state(value) VALUES ('key')") },
                handled: { order.append("handled") }),
            InboundBatch(
                events: [], cursor: AdapterCursor(name: "since", value: "s8"),
                withCursor: { db in try db.execute(sql: "INSERT INTO adapter_state(value) VALUES ('second')") }),
        ]
        let adapter = RecordingAdapter(FakeAdapter(batches)) { message in order.append("\(message.id) \(stored())") }
        try await EngineRunner(engine: bench.engine, adapter: adapter, logger: .init(label: "test")).run()
        XCTAssertEqual(order.lines, ["a#0 [\"key\"]", "b#0 [\"key\"]", "handled"], "both replies after the commit of the last event")
        XCTAssertEqual(try bench.store.cursor(named: "since"), "s8")
        XCTAssertEqual(stored(), ["key", "second"], "a batch without events commits its writes with its cursor too")

        // Writes that fail take the cursor (and the event) down with them.
        let failing = bench.message("!help", id: "c")
        let broken: @Sendable (Database) throws -> Void = { db in try db.execute(sql: "INSERT INTO no_such_table VALUES (1)") }
        XCTAssertThrowsError(
            try bench.engine.handle(.message(failing), cursor: AdapterCursor(name: "since", value: "s9"), withCursor: broken))
        XCTAssertThrowsError(try bench.store.setCursor(AdapterCursor(name: "since", value: "s9"), withCursor: broken))
        XCTAssertEqual(try bench.store.cursor(named: "since"), "s8")
        XCTAssertFalse(try bench.engine.handle(.message(failing)).isEmpty, "the event was not recorded as handled")
    }

    func testOldDeliveredRepliesAndProcessedIDsArePrunedButPendingRepliesStay() throws {
        var bench = try TestBench()
        let delivered = try bench.engine.handle(.message(bench.message("!help", id: "old-delivered")))
        try bench.engine.markDelivered(delivered.map(\.id))
        let pending = try bench.engine.handle(.message(bench.message("!status", id: "old-pending")))
        func count(_ sql: String) throws -> Int { try bench.store.writer.read { try Int.fetchOne($0, sql: sql) ?? -1 } }
        bench.clock.advance(by: 8 * 86400)
        try bench.engine.tick()
        XCTAssertEqual(try count("SELECT COUNT(*) FROM outbox WHERE cause_event_id = 'old-delivered'"), 0, "a week after delivery")
        XCTAssertEqual(try count("SELECT COUNT(*) FROM outbox WHERE cause_event_id = 'old-pending'"), pending.count, "never while pending")
        XCTAssertEqual(try count("SELECT COUNT(*) FROM processed_event WHERE event_id = 'old-delivered'"), 1, "ids stay a month")
        bench.clock.advance(by: 23 * 86400)
        try bench.engine.tick()
        XCTAssertEqual(try count("SELECT COUNT(*) FROM processed_event WHERE event_id = 'old-delivered'"), 0)
        XCTAssertEqual(try bench.engine.pendingOutbox().map(\.id), pending.map(\.id))
    }

    func testTheStoredFormOfARepliesKeepsEverything() throws {
        let message = OutgoingMessage(
            id: "e#0", roomID: "r", markdown: "**Hi** [x](https://x.org)", replyToEventID: "e", threadID: "t",
            choices: ["a", "b"], style: .message, mentions: ["@u:s"])
        XCTAssertEqual(Engine.decode(Engine.encode(message)), message)
        var custom = message
        custom.plain = "something else"
        XCTAssertEqual(Engine.decode(Engine.encode(custom))?.plain, "something else")
        XCTAssertFalse(Engine.encode(message).contains("\"plain\""), "derived text is not stored")
    }

    /// The engine reuses the session it saved last only while the row still holds that very text: a
    /// row changed behind its back (another process, a repair by hand) is read again.
    func testASessionChangedInTheDatabaseIsReadAgain() throws {
        var bench = try TestBench()
        _ = try bench.say("!start demo", from: "bob")
        try bench.store.writer.write { db in
            let state = try XCTUnwrap(String.fetchOne(db, sql: "SELECT state FROM session"))
            XCTAssertTrue(state.contains("\"stepID\":\"role\""), state)
            try db.execute(
                sql: "UPDATE session SET state = ?",
                arguments: [state.replacingOccurrences(of: "\"stepID\":\"role\"", with: "\"stepID\":\"ready\"")])
        }
        let replies = try bench.say("yes", from: "bob").joined(separator: "\n")
        XCTAssertFalse(replies.contains("What brings you here"), "the edited row moved the session to the yes/no question: \(replies)")
        XCTAssertTrue(
            try bench.store.writer.read { try String.fetchOne($0, sql: "SELECT state FROM session") ?? "" }.contains("\"ready\":{\"yesno\"")
        )
    }

}

/// Lines recorded from several tasks, in order.
private final class Recorded: Sendable {
    private let storage = Mutex<[String]>([])
    func append(_ line: String) { storage.withLock { $0.append(line) } }
    var lines: [String] { storage.withLock { $0 } }
}

/// A ``FakeAdapter`` that reports each delivery before making it.
private final class RecordingAdapter: ChatAdapter {
    let inner: FakeAdapter
    let onDeliver: @Sendable (OutgoingMessage) -> Void
    init(_ inner: FakeAdapter, onDeliver: @escaping @Sendable (OutgoingMessage) -> Void) {
        self.inner = inner
        self.onDeliver = onDeliver
    }
    func inbound() -> AsyncThrowingStream<InboundBatch, any Error> { inner.inbound() }
    func deliver(_ message: OutgoingMessage) async throws {
        onDeliver(message)
        try await inner.deliver(message)
    }
}
