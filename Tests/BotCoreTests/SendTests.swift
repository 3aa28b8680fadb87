import BotCore
import FabriqueTesting
import Foundation
import GRDB
import XCTest

/// `!send NAME` (issue 19): a person dialogue started for each member of a group room, each in a run of
/// their own there, and one reminder to those who have not finished.
final class SendTests: XCTestCase {
    let room = "room-1"
    let clock = ManualClock(Date(timeIntervalSince1970: 1_780_000_000))
    var counter = 0

    static func catalog() -> DialogueCatalog {
        let (catalog, diagnostics) = DialogueCatalog.load(paths: [
            Repo.path("Tests/Transcripts/core/send-dialogues"), Repo.path("dialogues/demo.yaml"), Repo.path("dialogues/scales.yaml"),
        ])
        XCTAssertFalse(diagnostics.hasErrors, "\(diagnostics)")
        return catalog
    }

    func makeEngine(_ store: StateStore) throws -> Engine {
        try TestBench.makeEngine(store: store, catalog: Self.catalog(), clock: clock.source)
    }

    /// What `user` says in the room, with the room's members as the adapter would list them.
    @discardableResult
    func say(
        _ engine: Engine, _ text: String, from user: String, members: [String]? = ["alice", "bob", "carol"], facilitator: Bool? = nil,
        kind: RoomKind = .group
    ) throws -> [OutgoingMessage] {
        counter += 1
        let message = IncomingMessage(
            roomID: room, senderID: user, senderName: user.capitalized, text: text, eventID: "e\(counter)", timestamp: clock.now,
            roomKind: kind, senderIsFacilitator: facilitator ?? (user == "alice"),
            roomMembers: members.map { $0.map { RoomMember(id: $0, name: $0.capitalized) } })
        return try engine.handle(.message(message))
    }

    func sessions(_ store: StateStore) throws -> [String: String] {
        try store.writer.read { db in
            Dictionary(
                uniqueKeysWithValues: try Row.fetchAll(db, sql: "SELECT key, dialogue_id, status FROM session").map {
                    (($0["key"] as String), "\($0["dialogue_id"] as String) \($0["status"] as String)")
                })
        }
    }

    func key(_ user: String) -> String { SessionKey.person(room, user).rawValue }

    func testEachMemberButTheSenderGetsARunOfTheirOwnInTheRoom() throws {
        let store = try StateStore(path: nil)
        let engine = try makeEngine(store)
        let replies = try say(engine, "!send checkin", from: "alice")
        XCTAssertEqual(replies.count, 3, "the facilitator's note, then one message per person")
        XCTAssertTrue(replies[0].plain.hasPrefix("I sent Weekly check-in to Bob, Carol:"), replies[0].plain)
        XCTAssertTrue(replies[0].plain.contains("in 2 days get a reminder"), "remind_after: 2d from the file: \(replies[0].plain)")
        for (reply, person) in zip(replies.dropFirst(), ["bob", "carol"]) {
            XCTAssertEqual(reply.mentions, [person])
            XCTAssertEqual(reply.roomID, room)
            XCTAssertTrue(reply.plain.contains("How was your week?"), reply.plain)
            XCTAssertNotNil(reply.anchor, "each question is anchored to its person's run")
        }
        XCTAssertEqual(try sessions(store), [key("bob"): "checkin active", key("carol"): "checkin active"])

        // Bob's messages in the room are his answers; Carol's run does not move.
        try say(engine, "1", from: "bob")
        let last = try say(engine, "The water map", from: "bob")
        XCTAssertTrue(last.map(\.plain).joined().contains("Thank you, Bob."), "\(last.map(\.plain))")
        let answers = try store.writer.read { db in
            try Row.fetchAll(db, sql: "SELECT author_id, variable, room_id FROM answer ORDER BY id").map {
                "\($0["author_id"] as String) \($0["variable"] as String) \($0["room_id"] as String)"
            }
        }
        XCTAssertEqual(answers, ["bob week room-1", "bob share room-1"])
        XCTAssertEqual(try sessions(store)[key("carol")], "checkin active")
        let status = try say(engine, "!send status", from: "alice").map(\.plain).joined()
        XCTAssertTrue(status.contains("to 2: 1 finished."), status)
        XCTAssertTrue(status.contains("Finished: Bob"), status)
        XCTAssertTrue(status.contains("Not yet: Carol"), status)
    }

    func testSendingAgainReachesOnlyNewcomersAndLeavesRunsUnderWay() throws {
        let store = try StateStore(path: nil)
        let engine = try makeEngine(store)
        try say(engine, "!send checkin", from: "alice", members: ["alice", "bob", "carol"])
        try say(engine, "2", from: "bob", members: ["alice", "bob", "carol"])
        try say(engine, "Done", from: "bob", members: ["alice", "bob", "carol"])
        try say(engine, "3", from: "carol", members: ["alice", "bob", "carol"])
        // Dave joined after the send: not included until it is sent again, which reaches only him.
        XCTAssertNil(try sessions(store)[key("dave")])
        let again = try say(engine, "!send checkin", from: "alice", members: ["alice", "bob", "carol", "dave"])
        XCTAssertEqual(again.count, 2)
        XCTAssertTrue(again[0].plain.hasPrefix("I sent Weekly check-in to Dave:"), again[0].plain)
        XCTAssertTrue(again[0].plain.contains("Already answering it: Carol."), again[0].plain)
        XCTAssertTrue(again[0].plain.contains("Already finished it: Bob"), again[0].plain)
        XCTAssertEqual(again[1].mentions, ["dave"])
        let carol = try store.writer.read { db in
            try String.fetchOne(db, sql: "SELECT state FROM session WHERE key = ?", arguments: [key("carol")])
        }
        XCTAssertTrue(carol?.contains("\"share\"") == true, "Carol stays at her second question")
        // `--again`: a new round for Bob, as a new run; his first run's answers stay.
        let round = try say(engine, "!send checkin --again", from: "alice", members: ["alice", "bob", "carol", "dave"])
        XCTAssertTrue(round[0].plain.hasPrefix("I sent Weekly check-in to Bob:"), round[0].plain)
        let bobRuns = try store.writer.read { db in
            try Int.fetchAll(db, sql: "SELECT DISTINCT run FROM answer WHERE author_id = 'bob'")
        }
        XCTAssertEqual(bobRuns, [1])
        XCTAssertEqual(try sessions(store)[key("bob")], "checkin active")
    }

    func testRefusalsChangeNothing() throws {
        let store = try StateStore(path: nil)
        let engine = try makeEngine(store)
        func only(
            _ text: String, from user: String = "alice", members: [String]? = ["alice", "bob"], kind: RoomKind = .group
        ) throws
            -> String
        {
            let replies = try say(engine, text, from: user, members: members, kind: kind)
            XCTAssertEqual(replies.count, 1, "\(replies.map(\.plain))")
            return replies.first?.plain ?? ""
        }
        XCTAssertEqual(
            try only("!send vote"),
            "Room vote has questions the room answers together (date), so it cannot be sent as personal runs. Say !start vote to run it with the room."
        )
        XCTAssertEqual(try only("!send checkin", from: "bob"), "Only a facilitator can send a dialogue to everyone in the room.")
        XCTAssertEqual(try only("!send checkin", members: nil), "I cannot tell who is in this room, so I sent nothing.")
        XCTAssertEqual(try only("!send checkin", members: ["alice"]), "There is nobody else in this room to send Weekly check-in to.")
        XCTAssertTrue(try only("!send checkin --remind soon").hasPrefix("Say when to remind"))
        XCTAssertTrue(try only("!send nope").hasPrefix("There is no dialogue called nope."))
        XCTAssertTrue(try only("!send checkin", kind: .direct).hasPrefix("!send is for a group room"))
        XCTAssertEqual(try sessions(store), [:])
        let sends = try store.writer.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM dialogue_send") }
        XCTAssertEqual(sends, 0)
    }

    func testSomeoneInAnotherDialogueHereIsNotInterrupted() throws {
        let store = try StateStore(path: nil)
        let engine = try makeEngine(store)
        try say(engine, "!start demo", from: "bob")
        let replies = try say(engine, "!send checkin", from: "alice")
        XCTAssertTrue(replies[0].plain.contains("Not sent to Bob: in the middle of another dialogue here."), replies[0].plain)
        XCTAssertEqual(replies.flatMap(\.mentions), ["carol"])
        XCTAssertEqual(try sessions(store)[key("bob")], "demo active")
    }

    /// The reminder goes once, to those whose run is not over, and a restart neither loses nor repeats it.
    func testOneReminderToThoseNotFinishedAcrossRestarts() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("fabrique-send-\(UUID().uuidString).sqlite").path
        defer { for suffix in ["", "-wal", "-shm", "-delivered"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        do {
            let engine = try makeEngine(try StateStore(path: path))
            try say(engine, "!send checkin --remind 36h", from: "alice", members: ["alice", "bob", "carol", "dave", "erin"])
            try say(engine, "1", from: "bob", members: nil)
            try say(engine, "Done", from: "bob", members: nil)
            try say(engine, "!stop", from: "dave", members: nil)
            try say(engine, "pause", from: "erin", members: nil)
            clock.advance(by: 35 * 3600)
            XCTAssertEqual(try engine.tick(), [], "not due yet")
        }
        clock.advance(by: 3600)
        // A new engine on the same file: what a restart sees.
        let engine = try makeEngine(try StateStore(path: path))
        let reminders = try engine.tick()
        XCTAssertEqual(reminders.map(\.mentions), [["carol"], ["erin"]], "Bob finished, Dave ended his run: not them")
        XCTAssertEqual(
            reminders.first?.plain,
            "Carol, a reminder: Weekly check-in is waiting for your answers here. Say repeat to see your question again.")
        XCTAssertEqual(
            reminders.last?.plain,
            "Erin, a reminder: Weekly check-in is waiting for you, paused where you left it. Say !resume here to go on.")
        clock.advance(by: 86400)
        XCTAssertEqual(try engine.tick(), [], "once")
        clock.advance(by: 86400)
        XCTAssertEqual(try makeEngine(try StateStore(path: path)).tick(), [], "once, after a restart too")
    }
}
