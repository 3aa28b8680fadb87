import BotCore
import Foundation
import GRDB
import XCTest

@testable import Factory

/// Corrections from the chat keep what they change (an answer removed is marked, not deleted), count
/// nowhere once removed, show struck out in reports, and are each logged with who made them and when.
final class CorrectionTests: XCTestCase {
    func testARemovedAnswerStopsCountingShowsStruckOutAndIsLogged() throws {
        var bench = try FactoryBench()
        try bench.bind("diois", to: "Diois")
        try bench.play([("alice", "!start inventory"), ("bob", "3 a stray comment"), ("carol", "1")], in: "diois")
        let removed = try bench.say("!answers remove 1", in: "diois")
        XCTAssertTrue(removed[0].hasPrefix("Removed answer 1 (bob: 3 — Under way)."), "\(removed)")

        // Kept in the store, marked.
        let row = try bench.read { db in try Row.fetchOne(db, sql: "SELECT removed_at, removed_by FROM answer WHERE author_name = 'bob'") }
        XCTAssertEqual(row?["removed_by"] as String?, "alice")
        XCTAssertEqual(row?["removed_at"] as Double?, bench.clock.now.timeIntervalSince1970)
        // Counts nowhere: the spread is carol's alone; the room's summary too.
        let report = try bench.read { db in
            try FactoryReports.inventory(
                db, territory: Territory.existing("Diois", db), catalog: bench.engine.catalog, language: .en, now: bench.clock.now)
        }
        XCTAssertEqual(report.questions[0].answers.map(\.author), ["carol"])
        XCTAssertEqual(report.questions[0].spread?.mean, 1)
        XCTAssertEqual(report.questions[0].history.map(\.removedBy), ["alice"])
        XCTAssertTrue(try bench.say("summary", in: "diois").joined().contains("1 answer"), "the open run's summary counts it out too")
        // Struck out in every report format.
        let html = ReportHTML.inventory(report)
        XCTAssertTrue(html.contains("<s>@bob:example.org (bob)</s>") && html.contains("(removed by alice)"), "struck out in the HTML")
        XCTAssertTrue(
            ReportMarkdown.inventory(report, compact: false).contains(
                #"~~@bob:example.org \(bob\), 2026-03-02: 3 — Under way~~ (removed by alice)"#))
        let csv = CSVReader.rows(ReportCSV.inventory(report))
        let removedBy = csv[0].firstIndex(of: "removed_by")!
        XCTAssertEqual(csv.dropFirst().map { $0[removedBy] }.filter { !$0.isEmpty }, ["alice"])

        // Restored: it counts again, and both corrections are in the log with who and when.
        bench.clock.advance(by: 60)
        _ = try bench.say("!answers restore 1", in: "diois")
        let after = try bench.read { db in
            try FactoryReports.inventory(
                db, territory: Territory.existing("Diois", db), catalog: bench.engine.catalog, language: .en, now: bench.clock.now)
        }
        XCTAssertEqual(after.questions[0].spread?.count, 2)
        let log = try bench.read { db in
            try Row.fetchAll(
                db,
                sql:
                    "SELECT action, by_id, by_name, at, before, after, (SELECT name FROM territory WHERE id = correction.territory) AS territory FROM correction ORDER BY id"
            )
        }
        XCTAssertEqual(log.map { $0["action"] as String }, ["answer.remove", "answer.restore"])
        XCTAssertEqual(log.map { $0["by_id"] as String }, ["@alice:example.org", "@alice:example.org"])
        XCTAssertEqual(log[1]["at"] as Double - (log[0]["at"] as Double), 60)
        XCTAssertEqual(log[0]["before"] as String?, "3 — Under way")
        XCTAssertEqual(log[0]["territory"] as String?, "Diois")
    }

    func testStarAndPebbleCorrectionsAreLoggedWithWhatWasThereBefore() throws {
        var bench = try FactoryBench()
        try bench.bind("diois", to: "Diois")
        _ = try bench.say("!star A valley that feeds itself", in: "diois")
        _ = try bench.say("!star A valley where young people stay", in: "diois")
        _ = try bench.say("!pebble add School garden; Marie; 2026-04-15", in: "diois")
        _ = try bench.say("!pebble rename 1 Shared garden", in: "diois")
        _ = try bench.say("!pebble carrier 1 Karim", in: "diois")
        XCTAssertEqual(try bench.say("!pebble carrier 1 Bob", from: "bob", in: "diois"), ["Only a facilitator can correct a pebble."])
        let log = try bench.read { db in try Row.fetchAll(db, sql: "SELECT action, before, after FROM correction ORDER BY id") }
        XCTAssertEqual(
            log.map { "\($0["action"] as String): \(($0["before"] as String?) ?? "-") → \(($0["after"] as String?) ?? "-")" },
            [
                "star.set: - → A valley that feeds itself",
                "star.change: A valley that feeds itself → A valley where young people stay",
                "pebble.rename: School garden → Shared garden",
                "pebble.carrier: Marie → Karim",
            ])
        let pebbles = try bench.read { db in
            try FactoryReports.pebbles(db, territory: Territory.existing("Diois", db), language: .en, now: bench.clock.now)
        }
        XCTAssertEqual(pebbles.pebbles.map { "\($0.pebble.title) / \($0.pebble.carrier ?? "")" }, ["Shared garden / Karim"])
        XCTAssertEqual(pebbles.stars.map(\.text), ["A valley where young people stay"])
    }
}
