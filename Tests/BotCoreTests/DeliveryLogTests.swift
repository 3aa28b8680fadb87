@testable import BotCore
import FabriqueTesting
import Foundation
import GRDB
import Synchronization
import XCTest

/// Delivery marks go to a memory-mapped log and ride on the next turn's commit; a run that stops in
/// between must neither deliver those replies again nor lose the ones it had not delivered.
final class DeliveryLogTests: XCTestCase {
    var dir: URL!
    var path: String { dir.appendingPathComponent("state.sqlite").path }

    override func setUpWithError() throws {
        #if !canImport(Glibc)
        throw XCTSkip("the delivery log is Linux-only: elsewhere every mark is a commit of its own")
        #endif
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("fabrique-log-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: dir)
    }

    func deliveredAt(_ id: String, _ store: StateStore) throws -> Double? {
        try store.writer.read { try Double.fetchOne($0, sql: "SELECT delivered_at FROM outbox WHERE id = ?", arguments: [id]) }
    }

    /// Replies of a first turn: the first is delivered (and marked), the rest is not.
    func firstRun() throws -> (delivered: String, undelivered: [String]) {
        var bench = try TestBench(path: path)
        let replies = try bench.engine.handle(.message(bench.message("!start demo", in: "dm-alice", kind: .direct, id: "$a")))
        XCTAssertGreaterThan(replies.count, 1)
        try bench.engine.markDelivered(replies[0].id)
        XCTAssertNil(try deliveredAt(replies[0].id, bench.store), "the mark waits in the log for the next commit")
        return (replies[0].id, replies.dropFirst().map(\.id))
    }

    func testARunStoppedBeforeItsNextCommitDeliversNothingTwiceAndLosesNothing() throws {
        let (delivered, undelivered) = try firstRun()
        // The first engine is gone (as after SIGKILL: its log stays in the file system's cache).
        var bench = try TestBench(path: path)
        XCTAssertEqual(try bench.engine.pendingOutbox().map(\.id), undelivered, "only what was not delivered goes out again")
        try bench.engine.handle(.message(bench.message("!status", id: "$b")))
        XCTAssertNotNil(try deliveredAt(delivered, bench.store), "the next commit carries the mark")
        XCTAssertEqual(bench.engine.deliveries.withLock { $0.unfolded }, [])
        XCTAssertEqual(bench.engine.deliveries.withLock { $0.log?.recorded() }, [], "the log is emptied after that commit")
    }

    /// Found by the Matrix kill loop: a bot killed right after a delivery, restarted, and then left without
    /// messages kept the marks it read from the log out of its database for good.
    func testARestartedEngineWithNoMessageStillCommitsTheMarksItFound() throws {
        let (delivered, _) = try firstRun()
        let bench = try TestBench(path: path)
        bench.scheduler.advance(by: .milliseconds(249))
        XCTAssertNil(try deliveredAt(delivered, bench.store), "not before the idle delay")
        bench.scheduler.advance(by: .milliseconds(1))
        XCTAssertNotNil(try deliveredAt(delivered, bench.store), "committed after the idle delay, with no message")
        XCTAssertEqual(bench.engine.deliveries.withLock { $0.log?.recorded() }, [])
    }

    func testWithoutTheLogTheStoppedRunsRepliesWouldGoOutAgain() throws {
        let (delivered, undelivered) = try firstRun()
        try FileManager.default.removeItem(atPath: path + "-delivered")
        let bench = try TestBench(path: path)
        XCTAssertEqual(try bench.engine.pendingOutbox().map(\.id), [delivered] + undelivered, "the log is what keeps the mark")
    }

    func testAnUnreadableLogIsIgnoredAndItsRepliesDeliveredAgain() throws {
        let (delivered, undelivered) = try firstRun()
        // A torn record: a length pointing past the recorded bytes.
        let handle = try XCTUnwrap(FileHandle(forUpdatingAtPath: path + "-delivered"))
        try handle.seek(toOffset: UInt64(DeliveryLog.headerSize))
        try handle.write(contentsOf: Data([0xFF, 0x7F]))
        try handle.close()
        let bench = try TestBench(path: path)
        XCTAssertEqual(try bench.engine.pendingOutbox().map(\.id), [delivered] + undelivered)

        // A file that is not a log at all starts an empty log.
        let foreign = dir.appendingPathComponent("foreign.sqlite").path
        try Data(repeating: 0xAB, count: 100).write(to: URL(fileURLWithPath: foreign + "-delivered"))
        XCTAssertEqual(try XCTUnwrap(DeliveryLog.open(databasePath: foreign)).recorded(), [])
    }

    func testAFullLogFallsBackToACommitOfItsOwn() throws {
        var bench = try TestBench(path: path)
        let replies = try bench.engine.handle(.message(bench.message("!start demo", in: "dm-alice", kind: .direct, id: "$a")))
        // Nearly all of the log's room taken: the replies' ids do not fit after it.
        let filler = String(repeating: "x", count: DeliveryLog.capacity - DeliveryLog.headerSize - 12)
        try bench.engine.markDelivered([filler])
        XCTAssertEqual(bench.engine.deliveries.withLock { $0.unfolded.count }, 1)
        try bench.engine.markDelivered(replies.map(\.id))
        for reply in replies { XCTAssertNotNil(try deliveredAt(reply.id, bench.store), "committed at once") }
        XCTAssertEqual(bench.engine.deliveries.withLock { $0.log?.recorded().count }, 0, "the log is emptied with that commit")
        XCTAssertEqual(try bench.engine.pendingOutbox(), [])
    }

    func testASecondEngineOnTheSameDatabaseCommitsItsMarks() throws {
        var first = try TestBench(path: path)
        var second = try TestBench(path: path)
        XCTAssertNotNil(first.engine.deliveries.withLock { $0.log })
        XCTAssertNil(second.engine.deliveries.withLock { $0.log }, "one log per database: the second engine cannot take it")
        let replies = try second.engine.handle(.message(second.message("!help", id: "$s")))
        try second.engine.markDelivered(replies.map(\.id))
        XCTAssertNotNil(try deliveredAt(replies[0].id, second.store))
        _ = try first.engine.handle(.message(first.message("!help", id: "$f")))
    }

    func testTheRunnerLeavesEveryMarkInTheDatabaseWhenItsInputEnds() async throws {
        var bench = try TestBench(path: path)
        let adapter = FakeAdapter([
            InboundBatch(events: [.message(bench.message("!help", id: "$1")), .message(bench.message("!status", id: "$2"))])
        ])
        try await EngineRunner(engine: bench.engine, adapter: adapter, logger: .init(label: "test")).run()
        let ids = adapter.delivered.withLock { $0.map(\.id) }
        XCTAssertEqual(ids.count, 2)
        for id in ids { XCTAssertNotNil(try deliveredAt(id, bench.store)) }
        XCTAssertEqual(bench.engine.deliveries.withLock { $0.log?.recorded() }, [])
    }

    /// What the log is for: a message and the marking of the previous replies cost one transaction, not
    /// two, turn after turn of a whole dialogue; the bench checks each turn is one transaction.
    func testEveryTurnOfADialogueIsOneTransactionThatCarriesThePreviousMarks() throws {
        var bench = try TestBench(path: path)
        let start = bench.sql.count
        let turns = ["!start demo", "3", "yes", "3", "We meet monthly.", "A territory where people decide together."]
        var byTurn: [[OutgoingMessage]] = []
        for (n, text) in turns.enumerated() {
            let message = bench.message(text, from: "bob", id: "$\(n)")
            let mark = bench.sql.count
            let replies = try bench.handle(.message(message))
            XCTAssertFalse(replies.isEmpty, "no reply to \(text)")
            let marksWritten = bench.sql.statements(since: mark).contains { $0.hasPrefix("UPDATE outbox SET delivered_at") }
            XCTAssertEqual(marksWritten, n > 0, "turn \(n) carries the marks of turn \(n - 1)'s replies, and only then")
            try bench.engine.markDelivered(replies.map(\.id))  // as the runner does once they are sent
            byTurn.append(replies)
        }
        StatementLog.assertTransactions(bench.sql.statements(since: start), count: turns.count, "no commit of marks between the turns")
        XCTAssertEqual(try bench.store.writer.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM answer WHERE author_id = 'bob'") }, 4)
        for reply in byTurn.dropLast().joined() {
            XCTAssertNotNil(try deliveredAt(reply.id, bench.store), "\(reply.id): committed with the next turn")
        }
        for reply in byTurn.last! { XCTAssertNil(try deliveredAt(reply.id, bench.store), "\(reply.id): no next turn yet") }

        // The last replies' marks wait for the idle delay, then take a small commit of their own.
        let idle = bench.sql.count
        bench.scheduler.advance(by: .milliseconds(250))
        StatementLog.assertTransactions(bench.sql.statements(since: idle), count: 1)
        for reply in byTurn.joined() { XCTAssertNotNil(try deliveredAt(reply.id, bench.store), reply.id) }
    }

    /// A bot that goes quiet does not keep its marks in the log: the database alone soon says which
    /// replies went out (what a backup of the database file, or a look at it, sees).
    func testAnIdleEngineCommitsItsMarksOnItsOwn() throws {
        var bench = try TestBench(path: path)
        let replies = try bench.engine.handle(.message(bench.message("!start demo", in: "dm-alice", kind: .direct, id: "$a")))
        try bench.engine.markDelivered(replies.map(\.id))
        XCTAssertNil(try deliveredAt(replies[0].id, bench.store), "not at once: the next message's commit may carry them")
        XCTAssertEqual(bench.scheduler.pendingCount, 1, "one commit planned for the marks")
        try bench.engine.markDelivered(["$elsewhere#0"])
        XCTAssertEqual(bench.scheduler.pendingCount, 1, "a mark while one is planned plans no other")
        bench.scheduler.advance(by: .milliseconds(250))
        for reply in replies { XCTAssertNotNil(try deliveredAt(reply.id, bench.store), "committed after the idle delay") }
        XCTAssertEqual(bench.engine.deliveries.withLock { $0.log?.recorded() }, [])
        XCTAssertEqual(bench.engine.deliveries.withLock { $0.unfolded }, [])
    }

    /// Like SQLite's own files, the log is never reached through a link someone else placed there.
    func testALinkInPlaceOfTheLogIsNotFollowed() throws {
        let target = dir.appendingPathComponent("elsewhere")
        try Data("untouched".utf8).write(to: target)
        try FileManager.default.createSymbolicLink(atPath: path + "-delivered", withDestinationPath: target.path)
        var bench = try TestBench(path: path)
        XCTAssertNil(bench.engine.deliveries.withLock { $0.log })
        let replies = try bench.engine.handle(.message(bench.message("!help", id: "$h")))
        try bench.engine.markDelivered(replies.map(\.id))
        XCTAssertNotNil(try deliveredAt(replies[0].id, bench.store), "marks are then committed on their own")
        XCTAssertEqual(try String(contentsOf: target, encoding: .utf8), "untouched")
    }

    func testTheLogIsOwnerOnly() throws {
        _ = try firstRun()
        let mode = try FileManager.default.attributesOfItem(atPath: path + "-delivered")[.posixPermissions] as? Int
        XCTAssertEqual(mode, 0o600)
    }
}
