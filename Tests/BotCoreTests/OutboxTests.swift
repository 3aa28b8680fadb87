@testable import BotCore
import FabriqueTesting
import GRDB
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
