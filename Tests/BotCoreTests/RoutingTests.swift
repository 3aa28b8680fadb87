@testable import BotCore
import FabriqueTesting
import GRDB
import XCTest

final class RoutingTests: XCTestCase {
    func testGroupChatterIsIgnoredButDirectRoomsAreAlwaysAddressed() throws {
        var bench = try TestBench()
        XCTAssertEqual(try bench.say("what a nice day", in: "room-1"), [])
        let direct = try bench.say("what a nice day", in: "dm-alice", kind: .direct)
        XCTAssertEqual(direct.count, 1)
        XCTAssertTrue(direct[0].contains("No knowledge base"), direct[0])
    }

    func testMentionsAndTheBotsNameAddressIt() throws {
        var bench = try TestBench()
        XCTAssertEqual(try bench.say("tell me more", mentions: true).count, 1)
        XCTAssertEqual(try bench.say("fabrique: tell me more").count, 1)
        XCTAssertEqual(try bench.say("Fabrique, take the tour").first?.contains("!start demo"), true)
        XCTAssertEqual(try bench.say("fabriquette is a word"), [])
    }

    func testAWaitingPersonalDialogueHearsOnlyItsPerson() throws {
        var bench = try TestBench()
        let started = try bench.say("!start demo", from: "bob")
        XCTAssertTrue(started.joined().contains("What brings you here?"))
        XCTAssertEqual(try bench.say("2", from: "carol"), [], "carol has no dialogue waiting and did not address the bot")
        XCTAssertTrue(try bench.say("2", from: "bob").joined().contains("transition approach"))
    }

    func testARoomDialogueHearsEveryoneAndAttributesAnswers() throws {
        var bench = try TestBench()
        try bench.say("!start workshop", from: "alice")
        XCTAssertEqual(try bench.say("2", from: "bob", facilitator: false), [], "the fields are the facilitator's decision")
        try bench.say("2", from: "alice")
        try bench.say("3", from: "carol", facilitator: false)
        try bench.say("1", from: "dave", facilitator: false)
        XCTAssertEqual(try bench.say("see you at the market", from: "carol", facilitator: false), [], "side chat")
        let authors = try bench.store.writer.read { db in
            try String.fetchAll(db, sql: "SELECT author_id || ':' || step_id FROM answer ORDER BY id")
        }
        XCTAssertEqual(authors, ["alice:priorities", "carol:rating", "dave:rating"])
    }

    func testUnknownCommandsSuggestAndListWhatExists() throws {
        var bench = try TestBench()
        let reply = try bench.say("!stauts").joined()
        XCTAssertTrue(reply.contains("Did you mean !status?"), reply)
        XCTAssertTrue(reply.contains("!help") && reply.contains("!lang"), reply)
    }

    func testCommandsWorkInGroupRoomsWithoutMention() throws {
        var bench = try TestBench()
        XCTAssertTrue(try bench.say("!help").joined().contains("!start NAME"))
        XCTAssertTrue(try bench.say("!lang fr").joined().contains("français"))
        XCTAssertTrue(try bench.say("!status").joined().contains("Langue : fr"))
    }

    func testFacilitatorOnlyCommandsAreRefusedToOthers() throws {
        var bench = try TestBench()
        XCTAssertTrue(try bench.say("!start workshop", from: "bob", facilitator: false).joined().contains("Only a facilitator"))
        XCTAssertTrue(try bench.say("!territory set Lyon", from: "bob", facilitator: false).joined().contains("Only a facilitator"))
        XCTAssertTrue(try bench.say("!territory set Lyon", from: "alice").joined().contains("Lyon"))
        XCTAssertTrue(try bench.say("!territory", from: "bob", facilitator: false).joined().contains("Lyon"))
    }

    func testCustomPrefix() throws {
        let (catalog, _) = DialogueCatalog.load(paths: [Repo.root.appendingPathComponent("dialogues/demo.yaml").path])
        let engine = try TestBench.makeEngine(
            store: try StateStore(path: nil), catalog: catalog, knowledge: nil, configuration: EngineConfiguration(commandPrefix: "?"))
        let reply = try engine.handle(.message(IncomingMessage(roomID: "r", senderID: "a", text: "?help", eventID: "x", timestamp: Date())))
        XCTAssertTrue(reply.first?.plain.contains("?start NAME") ?? false)
        XCTAssertEqual(
            try engine.handle(.message(IncomingMessage(roomID: "r", senderID: "a", text: "!help", eventID: "y", timestamp: Date()))), [])
    }
}

/// Room B can never read or report room A's territory by naming it.
final class TerritoryIsolationTests: XCTestCase {
    func testANameTakenByAnotherRoomNeedsAnInvitation() throws {
        var bench = try TestBench()
        XCTAssertTrue(try bench.say("!territory set Vallée de la Drôme", from: "alice", in: "room-a").joined().contains("now works for"))
        try bench.say("!start workshop", from: "alice", in: "room-a")
        try bench.say("1", from: "bob", in: "room-a", facilitator: false)

        // A facilitator of another room cannot take the name, whatever its case or accents.
        let refused = try bench.say("!territory set vallee de la drome", from: "mallory", in: "room-b").joined()
        XCTAssertTrue(refused.contains("already used by another room"), refused)
        XCTAssertFalse(try bench.say("!territory", from: "mallory", in: "room-b").joined().contains("Vallée"))

        // With a code a facilitator of room A asked for room C, room C joins; the code works once.
        try bench.say("hello", from: "alice", in: "dm-alice", kind: .direct)
        let code = try invitation(&bench, for: "room-c")
        XCTAssertTrue(
            try bench.say("!territory invite room-c", from: "bob", in: "room-a", facilitator: false).joined().contains("Only a facilitator")
        )
        XCTAssertTrue(
            try bench.say("!territory join WRONGCODEWRONGCOD", from: "carol", in: "room-c").joined().contains("unknown, used, expired"))
        XCTAssertTrue(try bench.say("!territory join \(code)", from: "mallory", in: "room-b").joined().contains("meant for another room"))
        XCTAssertTrue(
            try bench.say("!territory join \(code)", from: "bob", in: "room-c", facilitator: false).joined().contains("Only a facilitator"))
        XCTAssertTrue(try bench.say("!territory join \(code)", from: "carol", in: "room-c").joined().contains("Vallée de la Drôme"))
        XCTAssertTrue(try bench.say("!territory join \(code)", from: "carol", in: "room-c").joined().contains("unknown, used"))
        XCTAssertFalse(try bench.say("!territory", from: "mallory", in: "room-b").joined().contains("Vallée"))
    }

    /// A code for `room` asked by alice in room-a, read from the message sent to her direct room.
    func invitation(_ bench: inout TestBench, for room: String, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let replies = try bench.handle(.message(bench.message("!territory invite \(room)", from: "alice", in: "room-a")))
        XCTAssertEqual(replies.map(\.roomID), ["room-a", "dm-alice"], file: file, line: line)
        XCTAssertEqual(replies.first?.plain, "I sent you the code for that room in our direct chat.", file: file, line: line)
        let words = (replies.last?.plain ?? "").split(separator: " ").map { $0.trimmingCharacters(in: .punctuationCharacters) }
        return try XCTUnwrap(words.first { $0.count == 19 && $0.split(separator: "-").count == 4 }, file: file, line: line)
    }

    /// A code goes only to the asking facilitator's direct room: none is made without one; the room
    /// that asked sees no code. Codes are 16 symbols of 32 (80 bits), all different.
    func testCodesAreRandomAndPrivate() throws {
        var bench = try TestBench()
        try bench.say("!territory set Diois", from: "alice", in: "room-a")
        let noDirect = try bench.say("!territory invite room-c", from: "alice", in: "room-a").joined()
        XCTAssertTrue(noDirect.contains("open a direct chat with me"), noDirect)
        XCTAssertEqual(try bench.store.writer.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM territory_invitation") }, 0)
        XCTAssertTrue(try bench.say("!territory invite", from: "alice", in: "room-a").joined().contains("Say which room may join"))
        try bench.say("hello", from: "alice", in: "dm-alice", kind: .direct)
        var codes: Set<String> = []
        for _ in 0..<20 { codes.insert(try invitation(&bench, for: "room-c")) }
        XCTAssertEqual(codes.count, 20)
        for code in codes {
            let symbols = code.filter { $0 != "-" }
            XCTAssertEqual(symbols.count, 16, "16 symbols of 5 bits: 80 bits")
            XCTAssertTrue(symbols.allSatisfy { "ABCDEFGHJKLMNPQRSTUVWXYZ23456789".contains($0) }, code)
        }
        // Someone else joined the direct room: it is no longer where codes go.
        try bench.say("hi all", from: "zed", in: "dm-alice", kind: .group)
        XCTAssertTrue(try bench.say("!territory invite room-c", from: "alice", in: "room-a").joined().contains("open a direct chat"))
    }

    func testInvitationsExpire() throws {
        var bench = try TestBench()
        try bench.say("!territory set Diois", from: "alice", in: "room-a")
        try bench.say("hello", from: "alice", in: "dm-alice", kind: .direct)
        let code = try invitation(&bench, for: "room-c")
        bench.clock.advance(by: 8 * 24 * 3600)
        XCTAssertTrue(try bench.say("!territory join \(code)", from: "carol", in: "room-c").joined().contains("expired"))
    }

    /// Five wrong codes in an hour, from one person or in one room, and even a good code is refused
    /// until the hour has passed.
    func testRepeatedWrongCodesLockOut() throws {
        var bench = try TestBench()
        try bench.say("!territory set Diois", from: "alice", in: "room-a")
        try bench.say("hello", from: "alice", in: "dm-alice", kind: .direct)
        let code = try invitation(&bench, for: "room-c")
        for n in 0..<5 {
            let guess = try bench.say("!territory join GUESS\(n)GUESSGUESSX", from: n % 2 == 0 ? "carol" : "dan", in: "room-c").joined()
            XCTAssertTrue(guess.contains("unknown"), guess)
        }
        let locked = try bench.say("!territory join \(code)", from: "erin", in: "room-c").joined()
        XCTAssertTrue(locked.contains("Too many wrong codes"), locked)
        XCTAssertEqual(try bound(bench), ["room-a": "Diois"])
        bench.clock.advance(by: 3601)
        let joined = try bench.say("!territory join \(code.lowercased())", from: "erin", in: "room-c").joined()
        XCTAssertTrue(joined.contains("This room now works for Diois."), "after the hour, the code (any case) works: \(joined)")
    }

    /// Names are one whatever their case, accents, width or look-alike letters; invisible and
    /// direction-changing characters and mixed alphabets are refused; only listed people or local
    /// facilitators create a name, and only for a group room.
    func testTerritoryNamesAreNormalisedAndChecked() throws {
        var bench = try TestBench()
        try bench.say("!territory set Ardèche", from: "alice", in: "room-a")
        try bench.say("!territory set Pace", from: "alice", in: "room-p")
        for (name, refusal) in [
            ("ARDECHE", "already used"), ("ａｒｄｅｃｈｅ", "already used"), ("  Ard\u{0065}\u{0300}che ", "already used"),
            ("\u{0410}rd\u{00E8}che", "mix alphabets"), ("\u{0420}\u{0410}\u{0421}\u{0415}", "already used"),
        ] {
            let reply = try bench.say("!territory set \(name)", from: "mallory", in: "room-b").joined()
            XCTAssertTrue(reply.contains(refusal), "\(name): \(reply)")
        }
        for hidden in ["Die\u{202E}sioD", "Di\u{200B}ois", "Diois\u{2066}"] {
            XCTAssertTrue(try bench.say("!territory set \(hidden)", from: "mallory", in: "room-b").joined().contains("invisible"), hidden)
        }
        XCTAssertTrue(
            try bench.say("!territory set Diois", from: "mallory", in: "dm-mallory", kind: .direct).joined().contains("not our direct chat")
        )
        var remote = bench.message("!territory set Diois", from: "@eve:elsewhere.org", in: "room-e")
        remote.senderIsLocal = false
        XCTAssertTrue(try bench.handle(.message(remote)).map(\.plain).joined().contains("Only the people the operator lists"))
        try bench.say("!territory set  Cre\u{0301}mieu   Nord ", from: "alice", in: "room-x")
        XCTAssertEqual(try bound(bench), ["room-a": "Ardèche", "room-p": "Pace", "room-x": "Crémieu Nord"], "single-spaced")
        // Strings compare by canonical equivalence: the scalars show the stored form is the composed one.
        XCTAssertEqual(try bound(bench)["room-x"].map { Array($0.unicodeScalars) }, Array("Cr\u{00E9}mieu Nord".unicodeScalars))
    }

    /// Room → territory, as stored.
    func bound(_ bench: TestBench) throws -> [String: String] {
        try bench.store.writer.read { db in
            Dictionary(
                uniqueKeysWithValues: try Row.fetchAll(
                    db, sql: "SELECT room_id, t.name AS territory FROM room_setting r JOIN territory t ON t.id = r.territory"
                )
                .map {
                    ($0["room_id"] as String, $0["territory"] as String)
                })
        }
    }
}
