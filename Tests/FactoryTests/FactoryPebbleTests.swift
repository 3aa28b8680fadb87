@testable import BotCore
@testable import Factory
import Foundation
import GRDB
import XCTest

final class FactoryPebbleTests: XCTestCase {
    func testADraftReadsTitleCarrierAndDate() {
        XCTAssertEqual(
            try PebbleDraft.parse("Bike survey; Karim; 15/05/2026").get(),
            PebbleDraft(title: "Bike survey", carrier: "Karim", targetDate: "2026-05-15"))
        XCTAssertEqual(
            try PebbleDraft.parse(" Compost ;2026-05-10 ").get(), PebbleDraft(title: "Compost", carrier: nil, targetDate: "2026-05-10"))
        XCTAssertEqual(try PebbleDraft.parse("Compost; Lou").get(), PebbleDraft(title: "Compost", carrier: "Lou", targetDate: nil))
        XCTAssertEqual(try PebbleDraft.parse("Seeds").get(), PebbleDraft(title: "Seeds", carrier: nil, targetDate: nil))
        XCTAssertEqual(try PebbleDraft.parse("Leap; Lou; 29/02/2028").get().targetDate, "2028-02-29")
        XCTAssertEqual(PebbleDraft.parse("Not leap; Lou; 29/02/2027"), .failure(.badDate("29/02/2027")))
        XCTAssertEqual(PebbleDraft.parse("x; Lou; 2026-13-01"), .failure(.badDate("2026-13-01")))
        XCTAssertEqual(PebbleDraft.parse("x; Lou; 26-01-01"), .failure(.badDate("26-01-01")))
        XCTAssertEqual(PebbleDraft.parse(" ; Lou"), .failure(.noTitle))
        XCTAssertEqual(PebbleDraft.parse("a; b; c; d"), .failure(.tooManyParts))
        XCTAssertEqual(PebbleDraft.parse(String(repeating: "x", count: 161)), .failure(.tooLong))
    }

    func due(_ bench: FactoryBench) throws -> Bool {
        try bench.read { db in try !FactoryExtension().dueTimers(db, now: bench.clock.now).isEmpty }
    }

    func testTheRoomIsRemindedOnceWhenATargetDatePasses() throws {
        var bench = try FactoryBench()  // 2026-03-02 09:00
        try bench.say("!pebble add Seed library; Lou; 2026-03-04", from: "bob", in: "garden")
        try bench.say("!pebble add Compost; Ana; 2026-03-04", from: "bob", in: "garden")
        try bench.say("!pebble add Repair café", from: "bob", in: "garden")
        try bench.say("!pebble done 2", from: "ana", in: "garden")
        let id = try XCTUnwrap(try bench.read { try Int64.fetchOne($0, sql: "SELECT id FROM factory_pebble WHERE title = 'Seed library'") })

        bench.clock.advance(by: 2 * 86400)  // 2026-03-04: the target day itself is not late yet
        XCTAssertFalse(try due(bench))
        XCTAssertEqual(try bench.engine.tick(), [])

        bench.clock.advance(by: 86400)  // 2026-03-05
        XCTAssertTrue(try due(bench))
        let reminders = try bench.engine.tick()
        XCTAssertEqual(reminders.count, 1, "the laid pebble and the undated one are not reminded")
        XCTAssertEqual(reminders.first?.id, "pebble-due:\(id):2026-03-04#0")
        XCTAssertEqual(reminders.first?.roomID, "garden")
        XCTAssertEqual(
            reminders.first?.plain,
            "⏰ The target date of pebble 1, Seed library (carried by Lou), was 2026-03-04. Laid? Say !pebble done 1. Still on the way? Give it a new date: !pebble date 1 YYYY-MM-DD."
        )
        XCTAssertEqual(
            try bench.engine.pendingOutbox().map(\.id).filter { $0.hasPrefix("pebble-due:") }, ["pebble-due:\(id):2026-03-04#0"],
            "the reminder is in the outbox until delivered")

        XCTAssertFalse(try due(bench))
        XCTAssertEqual(try bench.engine.tick(), [], "a second tick says nothing")
        bench.clock.advance(by: 30 * 86400)
        XCTAssertEqual(try bench.engine.tick(), [], "nor does a later one")

        // A new date means a new reminder, under a new id.
        XCTAssertEqual(
            try bench.say("!pebble date 1 2026-04-10", from: "lou", in: "garden"), ["Pebble 1 (Seed library) is now due by 2026-04-10."])
        XCTAssertEqual(try bench.engine.tick(), [], "2026-04-04 is before the new date")
        bench.clock.advance(by: 7 * 86400)
        XCTAssertEqual(try bench.engine.tick().map(\.id), ["pebble-due:\(id):2026-04-10#0"])
        XCTAssertEqual(try bench.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM outbox WHERE id LIKE 'pebble-due:%'") }, 2)
    }

    func testAReminderSpeaksTheRoomsLanguage() throws {
        var bench = try FactoryBench()
        try bench.say("!lang room fr", in: "jardin")
        try bench.say("!pebble add Grainothèque; Lou; 2026-03-02", from: "lou", in: "jardin")
        bench.clock.advance(by: 86400)
        let reminder = try XCTUnwrap(try bench.engine.tick().first)
        XCTAssertTrue(
            reminder.plain.hasPrefix("⏰ La date visée du caillou 1, Grainothèque (porté par Lou), était le 2026-03-02."), reminder.plain)
    }

    func testNumbersBelongToTheirRoom() throws {
        var bench = try FactoryBench()
        try bench.say("!pebble add First in A", from: "bob", in: "room-a")
        try bench.say("!pebble add Second in A", from: "bob", in: "room-a")
        XCTAssertEqual(try bench.say("!pebble add First in B", from: "bob", in: "room-b"), ["Pebble 1 added: ⬜ First in B"])
        XCTAssertEqual(
            try bench.say("!pebble done 2", from: "bob", in: "room-b"), ["There is no pebble 2 in this room; !pebbles lists them."])
        try bench.say("!pebble done 1", from: "bob", in: "room-b")
        let statuses = try bench.read {
            try Row.fetchAll($0, sql: "SELECT room_id, number, status FROM factory_pebble ORDER BY room_id, number")
        }
        .map { "\($0["room_id"] as String)#\($0["number"] as Int):\($0["status"] as String)" }
        XCTAssertEqual(statuses, ["room-a#1:open", "room-a#2:open", "room-b#1:done"])
        let listing = try bench.say("!pebbles", from: "carol", in: "room-a").joined()
        XCTAssertTrue(listing.contains("White pebbles (0 of 2 laid):"), listing)
        XCTAssertFalse(listing.contains("First in B"))
    }

    func testPeoplesTextIsEscapedInReplies() throws {
        let bench = try FactoryBench()
        let replies = try bench.engine.handle(
            .message(
                IncomingMessage(
                    roomID: "r", senderID: "u", text: "!pebble add *Big* [link](http://x); `Lou`", eventID: "$1", timestamp: bench.clock.now
                )))
        XCTAssertEqual(replies.first?.markdown, #"Pebble 1 added: ⬜ **\*Big\* \[link\]\(http://x\)** — carried by \`Lou\`"#)
    }
}
