import BotCore
import FabriqueTesting
import Synchronization
import XCTest

/// The shared test support must catch what it is there to catch: a bench that never fails proves nothing.
final class TestSupportTests: XCTestCase {
    func testTheTransactionCheckRefusesAnythingButOneCommitPerTurn() {
        let turn = ["BEGIN IMMEDIATE", "UPDATE outbox SET delivered_at = ?", "INSERT INTO answer VALUES (?)", "COMMIT"]
        XCTAssertNil(StatementLog.transactionProblem(in: turn, count: 1))
        XCTAssertNil(StatementLog.transactionProblem(in: turn + ["SELECT 1"] + turn, count: 2))
        XCTAssertNotNil(StatementLog.transactionProblem(in: turn + turn, count: 1), "a second commit in one turn")
        XCTAssertNotNil(
            StatementLog.transactionProblem(in: ["UPDATE outbox SET delivered_at = ?"] + turn, count: 1), "a write before BEGIN")
        XCTAssertNotNil(StatementLog.transactionProblem(in: ["BEGIN IMMEDIATE", "INSERT INTO answer VALUES (?)", "ROLLBACK"], count: 1))
        XCTAssertNotNil(StatementLog.transactionProblem(in: [], count: 1), "no transaction at all")
    }

    func testTheBenchRecordsTheStatementsOfATurn() throws {
        var bench = try TestBench()
        let message = bench.message("!start demo")
        let statements = try bench.sql.statements { try bench.engine.handle(.message(message)) }
        XCTAssertEqual(statements.first, "BEGIN IMMEDIATE")
        XCTAssertEqual(statements.last, "COMMIT")
        XCTAssertTrue(statements.contains { $0.hasPrefix("INSERT INTO processed_event") }, statements.joined(separator: "\n"))
        XCTAssertEqual(bench.sql.statements.suffix(statements.count), statements[...])
    }

    func testTheManualSchedulerRunsDueWorkInOrderAndOnlyWhenDue() async throws {
        let scheduler = ManualScheduler()
        let ran = Mutex<[String]>([])
        scheduler.schedule(after: .milliseconds(20)) { ran.withLock { $0.append("b") } }
        scheduler.schedule(after: .milliseconds(10)) {
            ran.withLock { $0.append("a") }
            scheduler.schedule(after: .milliseconds(5)) { ran.withLock { $0.append("a+5") } }
        }
        scheduler.schedule(after: .milliseconds(20)) { ran.withLock { $0.append("c") } }
        scheduler.advance(by: .milliseconds(9))
        XCTAssertEqual(ran.withLock { $0 }, [])
        scheduler.advance(by: .milliseconds(11))
        XCTAssertEqual(
            ran.withLock { $0 }, ["a", "a+5", "b", "c"], "by due time, then by planning order; work planned on the way runs when due")
        XCTAssertEqual(scheduler.now, .milliseconds(20))
        XCTAssertEqual(scheduler.pendingCount, 0)

        scheduler.schedule(after: .milliseconds(30)) { ran.withLock { $0.append("d") } }
        try await scheduler.sleep(for: .milliseconds(30))
        XCTAssertEqual(ran.withLock { $0.last }, "d", "a sleeper's time passes for the work planned meanwhile")
        XCTAssertEqual(scheduler.now, .milliseconds(50))
    }

    func testTheSeededRandomSourceReplaysItsSeed() {
        var fixed = SeededRandom(seed: 0)
        XCTAssertEqual(fixed.next(), 0xE220_A839_7B1D_CDAF, "SplitMix64's first value for seed 0")
        var first = SeededRandom(), second = SeededRandom()
        XCTAssertEqual(first.seed, SeededRandom.runSeed)
        XCTAssertEqual((0..<8).map { _ in first.next() }, (0..<8).map { _ in second.next() }, "the same test draws the same values")
        var other = SeededRandom("another test")
        var again = SeededRandom()
        XCTAssertNotEqual(other.next(), again.next(), "another test draws other values")
    }
}
