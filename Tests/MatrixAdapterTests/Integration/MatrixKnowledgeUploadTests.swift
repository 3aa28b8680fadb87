import BotCore
import FabriqueTesting
import Foundation
import GRDB
import XCTest

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

@testable import MatrixAdapter

/// Documents added from a room over a real Synapse (issue 18): a member uploads files to the media
/// repository and shares them (`m.file`); her `!kb add` is refused and nothing is stored; a facilitator's
/// `!kb add` in reply to the file makes the bot download it (authenticated media), import it for the
/// room's territory and say its title and sections; a question is then answered from it, citing it;
/// `!kb remove` in reply to the file takes it out, and the question is no longer answered from it.
final class MatrixKnowledgeUploadTests: MatrixIntegrationCase {
    override func setUp() async throws { try await setUp(ratelimited: false) }

    func testAFacilitatorAddsAMembersFilesAndRemovesOne() async throws {
        let ana = try await person("ana"), bo = try await person("bo"), botUser = try await person("fab")
        let room = try await ana.createRoom(name: "Documents \(tag)", invite: [bo.userID, botUser.userID])
        try await bo.join(room)
        let bot = try makeBot(botUser)
        try bot.start()
        try await waitForJoin(botUser, room, viewer: ana, process: bot)
        let territory = "Drôme \(tag)"
        try await ask(ana, "!territory set \(territory)", in: room, bot: botUser, process: bot)

        let markdown = try Data(contentsOf: URL(fileURLWithPath: Repo.path("Tests/Fixtures/uploads/hedge-planting.md")))
        let hedges = try await bo.share(room, markdown, fileName: "hedge-planting.md", mimeType: "text/markdown")

        // A member cannot add it: a refusal, and nothing stored.
        let refused = try await ask(bo, "!kb add", in: room, replyTo: hedges, bot: botUser, process: bot)
        XCTAssertEqual(refused.body, "Only a facilitator can add documents to the knowledge base.")
        XCTAssertEqual(try roomDocuments(), 0)

        // The facilitator's reply to the file adds it, and says what was learnt.
        let added = try await ask(ana, "!kb add", in: room, replyTo: hedges, bot: botUser, process: bot)
        XCTAssertTrue(
            added.body.hasPrefix(
                "I added Planting a hedge to the knowledge base of \(territory), from hedge-planting.md shared by bo-\(tag)"),
            added.body)
        XCTAssertTrue(added.body.contains("Sections:\n- Choosing the shrubs\n- When to plant\n- Caring for the young hedge"), added.body)
        XCTAssertEqual(try roomDocuments(), 1)

        let answer = try await ask(bo, "!ask when should we plant a hedge?", in: room, bot: botUser, process: bot)
        XCTAssertTrue(answer.body.contains("between November and March"), answer.body)
        XCTAssertTrue(answer.body.contains("Source: Planting a hedge"), answer.body)

        // A Word document, the room's latest file: `!kb add` without a reply takes it.
        let docx = try Data(contentsOf: URL(fileURLWithPath: Repo.path("Tests/Fixtures/knowledge/orchard.docx")))
        _ = try await bo.share(
            room, docx, fileName: "orchard.docx", mimeType: "application/vnd.openxmlformats-officedocument.wordprocessingml.document")
        let orchard = try await ask(ana, "!kb add", in: room, bot: botUser, process: bot)
        XCTAssertTrue(
            orchard.body.hasPrefix("I added A community orchard to the knowledge base of \(territory), from orchard.docx"), orchard.body)
        XCTAssertTrue(orchard.body.contains("- Planting the orchard"), orchard.body)
        let list = try await ask(bo, "!kb list", in: room, bot: botUser, process: bot)
        XCTAssertTrue(
            list.body.contains("1. Planting a hedge — hedge-planting.md, shared by bo-\(tag)\n2. A community orchard — orchard.docx"),
            list.body)

        // Removed in reply to the file: the question no longer finds it.
        let removed = try await ask(ana, "!kb remove", in: room, replyTo: hedges, bot: botUser, process: bot)
        XCTAssertEqual(removed.body, "I removed Planting a hedge from the knowledge base of \(territory): I no longer answer from it.")
        let after = try await ask(bo, "!ask when should we plant a hedge?", in: room, bot: botUser, process: bot)
        XCTAssertFalse(after.body.contains("November"), after.body)
        XCTAssertEqual(try roomDocuments(), 1, "the orchard stays")
    }

    /// In an end-to-end encrypted room, with people on matrix-nio (`Tests/Peers/kb_peer.py`): the file is
    /// uploaded encrypted, its key inside the Megolm-encrypted event; the bot decrypts it (hash checked) and
    /// adds it. The script checks what the people see; this test, what the media repository holds (only
    /// ciphertext) and that the document was stored for the room's territory.
    func testAFileSharedInAnEncryptedRoomIsDecryptedAndAdded() async throws {
        let python = try MatrixEncryptionTests.peerPython()
        let botUser = try await person("bot")
        let bot = try makeBot(botUser, environment: ["FABRIQUE_MATRIX_PICKLE_KEY": MatrixEncryptionTests.pickleKey])
        try bot.start()
        try await eventually("the bot's keys are ready", bot: bot) { bot.output.contains("end-to-end encryption ready") }
        let script = MatrixEncryptionTests.peerScript.deletingLastPathComponent().appendingPathComponent("kb_peer.py")
        let file = Repo.path("Tests/Fixtures/uploads/hedge-planting.md")
        let result = try await runPeers(python, bot: botUser, script: script, [file], botLog: { bot.output })
        let mxc = try XCTUnwrap(result["mxc"]?.string)
        let stored = try await botUser.download(
            BotMessage(
                [
                    "sender": .string(botUser.userID), "type": "m.room.message", "event_id": "$x",
                    "content": ["body": "f", "url": .string(mxc)],
                ], bot: botUser.userID)!)
        let plain = try Data(contentsOf: URL(fileURLWithPath: file))
        XCTAssertEqual(stored.count, plain.count, "AES-CTR keeps the size")
        XCTAssertNotEqual(stored, plain, "the media repository holds only ciphertext")
        XCTAssertEqual(try roomDocuments(), 1)
    }

    // MARK: Helpers

    /// The documents added from rooms, read from the bot's database.
    func roomDocuments() throws -> Int {
        try StateStore(path: workDirectory.appendingPathComponent("bot.sqlite").path).writer.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM kb_room_document") ?? 0
        }
    }

    /// `who` says `text` in `room` (as a reply to `replyTo` when given); returns the bot's reply to it.
    @discardableResult
    func ask(
        _ who: TestUser, _ text: String, in room: String, replyTo: String? = nil, bot: TestUser, process: FabriqueProcess,
        file: StaticString = #filePath, line: UInt = #line
    ) async throws -> BotMessage {
        let event = try await who.say(room, text, replyTo: replyTo)
        return try await waitForReply(to: event, in: room, bot: bot, viewer: who, process: process, file: file, line: line)
    }
}

extension TestUser {
    /// Uploads `data` to the media repository and shares it in `room` as an `m.file`, as a client does;
    /// returns the event's id.
    func share(_ room: String, _ data: Data, fileName: String, mimeType: String) async throws -> String {
        var request = URLRequest(
            url: URL(
                string: server.url.absoluteString.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
                    + "/_matrix/media/v3/upload?filename=\(Self.seg(fileName))")!)
        request.httpMethod = "POST"
        request.httpBody = data
        request.setValue(mimeType, forHTTPHeaderField: "Content-Type")
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        let (body, response) = try await URLSession.shared.data(for: request)
        guard (response as? HTTPURLResponse)?.statusCode == 200, let uri = JSON.parse(body)?["content_uri"]?.string else {
            throw TestFailure("upload \(fileName): \(String(decoding: body, as: UTF8.self))")
        }
        return try await send(
            room,
            [
                "msgtype": "m.file", "body": .string(fileName), "filename": .string(fileName), "url": .string(uri),
                "info": ["mimetype": .string(mimeType), "size": .number(Double(data.count))],
            ])
    }
}
