@testable import BotCore
import FabriqueTesting
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

        // With a code from a facilitator of room A, room B joins; the code works once.
        let invitation = try bench.say("!territory invite", from: "alice", in: "room-a").joined()
        let code = try XCTUnwrap(
            invitation.split(separator: " ").first { $0.count == 8 && $0.allSatisfy { $0.isUppercase || $0.isNumber } })
        XCTAssertTrue(
            try bench.say("!territory invite", from: "bob", in: "room-a", facilitator: false).joined().contains("Only a facilitator"))
        XCTAssertTrue(try bench.say("!territory join WRONGCOD", from: "carol", in: "room-c").joined().contains("unknown, used or expired"))
        XCTAssertTrue(try bench.say("!territory join \(code)", from: "carol", in: "room-c").joined().contains("Vallée de la Drôme"))
        XCTAssertTrue(try bench.say("!territory join \(code)", from: "mallory", in: "room-b").joined().contains("unknown, used or expired"))
    }

    func testInvitationsExpire() throws {
        var bench = try TestBench()
        try bench.say("!territory set Diois", from: "alice", in: "room-a")
        let invitation = try bench.say("!territory invite", from: "alice", in: "room-a").joined()
        let code = try XCTUnwrap(
            invitation.split(separator: " ").first { $0.count == 8 && $0.allSatisfy { $0.isUppercase || $0.isNumber } })
        bench.clock.advance(by: 8 * 24 * 3600)
        XCTAssertTrue(try bench.say("!territory join \(code)", from: "carol", in: "room-c").joined().contains("expired"))
    }
}
