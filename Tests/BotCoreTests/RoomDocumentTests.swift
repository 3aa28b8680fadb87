@testable import BotCore
import FabriqueTesting
import Foundation
import GRDB
import KnowledgeBase
import Synchronization
import XCTest

/// Documents added to the knowledge base from a room (issue 18), with a fake transport that hands out
/// file bytes: `!kb add` by a facilitator fetches the shared file before the turn and commits the import
/// with its reply; members are refused without a download; limits, wrong types, damaged files and
/// failed downloads change nothing; `!kb remove` takes a document out; documents answer only in their
/// territory's rooms.
final class RoomDocumentTests: XCTestCase {
    /// Serves files by location and counts the fetches.
    final class Files: ChatAdapter {
        let contents: [String: Result<Data, FileFetchError>]
        let fetches = Mutex<[String]>([])

        init(_ contents: [String: Result<Data, FileFetchError>]) { self.contents = contents }

        func inbound() -> AsyncThrowingStream<InboundBatch, any Error> { AsyncThrowingStream { $0.finish() } }
        func deliver(_ message: OutgoingMessage) async throws {}
        func fetch(_ file: SharedFile, limit: Int) async throws(FileFetchError) -> Data {
            fetches.withLock { $0.append(file.location) }
            return try (contents[file.location] ?? .failure(.notFound)).get()
        }
    }

    static let hedges = Data(
        """
        # Planting a hedge

        A mixed hedge shelters fields from the wind.

        ## Choosing the shrubs

        Plant hawthorn, blackthorn, field maple and hazel together.

        ## When to plant

        Plant hedges between November and March, when the shrubs are dormant.
        """.utf8)

    var store: StateStore!
    var engine: Engine!
    var sql: StatementLog!
    var counter = 0

    override func setUp() async throws {
        try await super.setUp()
        try makeEngine()
    }

    /// - Parameter starter: with the starter knowledge base, so that answers are scored as in service.
    func makeEngine(limit: Int = 20_000_000, starter: Bool = false) throws {
        sql = StatementLog()
        store = try StateStore(path: nil, prepareDatabase: sql.prepareDatabase)
        let knowledge = try KnowledgeIndex(writer: store.writer)
        if starter { _ = try knowledge.importPaths([Repo.path("knowledge")]) }
        var configuration = EngineConfiguration(defaultTerritory: nil)
        configuration.maximumSharedFileSize = limit
        engine = try TestBench.makeEngine(
            store: store, catalog: DialogueCatalog([]), knowledge: knowledge, configuration: configuration,
            clock: { Date(timeIntervalSince1970: 1_780_000_000) })
        try store.writer.write { db in
            for (room, name) in [("room-1", "Drôme"), ("room-2", "Vercors")] {
                let territory = try Territory.named(orCreating: name, at: Date(timeIntervalSince1970: 1_780_000_000), db)
                try db.execute(sql: "INSERT INTO room_setting(room_id, territory) VALUES (?, ?)", arguments: [room, territory.id])
            }
        }
    }

    func message(
        _ text: String, from user: String = "alice", in room: String = "room-1", replyTo: String? = nil, file: SharedFile? = nil
    )
        -> IncomingMessage
    {
        counter += 1
        return IncomingMessage(
            roomID: room, senderID: user, senderName: user.capitalized, text: text, eventID: "e\(counter)", timestamp: Date(),
            replyToEventID: replyTo, senderIsFacilitator: user == "alice", file: file)
    }

    /// Handles `message` as the runner does: the fetch first, then one transaction; returns the replies' text.
    @discardableResult
    func say(_ message: IncomingMessage, through adapter: Files, file: StaticString = #filePath, line: UInt = #line) async throws -> String
    {
        let fetched = try await engine.fetchFile(for: .message(message), from: adapter)
        var replies: [OutgoingMessage] = []
        let statements = try sql.statements { replies = try engine.handle(.message(message), fetched: fetched) }
        StatementLog.assertTransactions(statements, count: 1, "handling \(message.eventID)", file: file, line: line)
        return replies.map(\.plain).joined(separator: "\n")
    }

    /// Bob shares `name` (at location `name`) in `room`; returns the file event's id.
    func share(
        _ name: String, size: Int? = nil, mimeType: String? = nil, in room: String = "room-1", through adapter: Files
    )
        async throws -> String
    {
        let shared = message(name, from: "bob", in: room, file: SharedFile(fileName: name, mimeType: mimeType, size: size, location: name))
        let said = try await say(shared, through: adapter)
        XCTAssertEqual(said, "", "a file shared in a group room is kept quietly")
        return shared.eventID
    }

    func documentCount() throws -> Int {
        try store.writer.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM kb_document") ?? 0 }
    }

    func testAFacilitatorAddsASharedFileForTheRoomsTerritoryAndItAnswersOnlyThere() async throws {
        try makeEngine(starter: true)
        let starter = try documentCount()
        let files = Files(["hedges.md": .success(Self.hedges)])
        let event = try await share("hedges.md", through: files)
        let added = try await say(message("!kb add", replyTo: event), through: files)
        XCTAssertTrue(added.contains("I added Planting a hedge to the knowledge base of Drôme, from hedges.md shared by Bob"), added)
        XCTAssertTrue(added.contains("- Choosing the shrubs\n- When to plant"), added)
        XCTAssertEqual(files.fetches.withLock { $0 }, ["hedges.md"])
        let row = try XCTUnwrap(
            try store.writer.read { db in
                try Row.fetchOne(
                    db,
                    sql:
                        "SELECT d.territory, r.territory AS scope, r.shared_by, r.added_by, r.file_event_id FROM kb_document d JOIN kb_room_document r ON r.document_id = d.id"
                )
            })
        XCTAssertEqual(row["territory"], "Drôme", "the label answers show")
        let drome = try await store.writer.read { try Territory.named("Drôme", $0) }
        XCTAssertEqual(row["scope"], drome?.id, "scoped by the territory's id")
        XCTAssertEqual(row["shared_by"], "bob")
        XCTAssertEqual(row["added_by"], "alice")
        XCTAssertEqual(row["file_event_id"], event)

        let here = try await say(message("!ask when should we plant hedges?", from: "bob"), through: files)
        XCTAssertTrue(here.contains("between November and March"), here)
        XCTAssertTrue(here.contains("Source: Planting a hedge"), here)
        XCTAssertTrue(here.contains("(shared by Drôme)"), here)
        let elsewhere = try await say(message("!ask when should we plant hedges?", from: "bob", in: "room-2"), through: files)
        XCTAssertFalse(elsewhere.contains("November"), "another territory's rooms do not see it: \(elsewhere)")
        XCTAssertFalse(elsewhere.contains("Planting a hedge"), "nor its title among the topics: \(elsewhere)")
        let unbound = try await say(message("!ask when should we plant hedges?", from: "bob", in: "room-3"), through: files)
        XCTAssertFalse(unbound.contains("November"), "nor a room bound to no territory: \(unbound)")

        // The same file added again is the same document, read again.
        let again = try await say(message("!kb add", replyTo: event), through: files)
        XCTAssertTrue(again.contains("is up to date"), again)
        XCTAssertEqual(try documentCount(), starter + 1)
    }

    func testAMemberIsRefusedWithoutADownloadAndNothingIsStored() async throws {
        let files = Files(["hedges.md": .success(Self.hedges)])
        let event = try await share("hedges.md", through: files)
        let refused = try await say(message("!kb add", from: "bob", replyTo: event), through: files)
        XCTAssertEqual(refused, "Only a facilitator can add documents to the knowledge base.")
        XCTAssertEqual(files.fetches.withLock { $0 }, [], "nothing downloaded")
        XCTAssertEqual(try documentCount(), 0)
    }

    func testWhatCannotBeAddedIsSaidAndChangesNothing() async throws {
        let png = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13])
        let files = Files([
            "scan.pdf": .success(png), "broken.pdf": .success(Data("%PDF-1.4\nnot really\n".utf8)),
            "gone.md": .failure(.notFound), "slow.md": .failure(.unavailable("HTTP 502")),
            "secret.md": .failure(.undecryptable("hash")), "big.md": .success(Data(repeating: 65, count: 2_000)),
        ])
        // Nothing shared yet.
        let none = try await say(message("!kb add"), through: files)
        XCTAssertTrue(none.contains("No file has been shared in this room lately"), none)
        // A reply to something that is not a file.
        let text = message("hello", from: "bob")
        try await say(text, through: files)
        let notFile = try await say(message("!kb add", replyTo: text.eventID), through: files)
        XCTAssertTrue(notFile.contains("is not a file I know of"), notFile)

        var said: [String: String] = [:]
        for name in ["scan.pdf", "broken.pdf", "gone.md", "slow.md", "secret.md"] {
            _ = try await share(name, through: files)
            said[name] = try await say(message("!kb add"), through: files)
        }
        XCTAssertTrue(said["scan.pdf"]!.contains("scan.pdf is an image"), "the content decides, not the name: \(said["scan.pdf"]!)")
        XCTAssertTrue(said["scan.pdf"]!.contains("I read PDF, Word (DOCX), OpenDocument (ODT), Markdown and HTML files"))
        XCTAssertEqual(said["broken.pdf"], "broken.pdf is damaged: I cannot read it. Nothing was added.")
        XCTAssertTrue(said["gone.md"]!.contains("the server no longer has it"), said["gone.md"]!)
        XCTAssertTrue(said["slow.md"]!.contains("(HTTP 502). Nothing was added; try again in a moment."), said["slow.md"]!)
        XCTAssertTrue(said["secret.md"]!.contains("I could not decrypt secret.md"), said["secret.md"]!)

        // Declared too large or as an image: refused before any download.
        _ = try await share("huge.md", size: 25_000_000, through: files)
        let huge = try await say(message("!kb add"), through: files)
        XCTAssertEqual(huge, "huge.md is too large (25 MB): I add files of at most 20 MB.")
        _ = try await share("cat.png", mimeType: "image/png", through: files)
        let cat = try await say(message("!kb add"), through: files)
        XCTAssertTrue(cat.contains("I cannot add cat.png (image/png)"), cat)
        XCTAssertFalse(files.fetches.withLock { $0 }.contains("huge.md"))
        XCTAssertFalse(files.fetches.withLock { $0 }.contains("cat.png"))

        // In a room bound to no territory, nothing can be added.
        let unbound = try await share("hedges.md", in: "room-3", through: files)
        let noTerritory = try await say(message("!kb add", in: "room-3", replyTo: unbound), through: files)
        XCTAssertTrue(noTerritory.contains("This room is not bound to a territory yet"), noTerritory)
        XCTAssertEqual(try documentCount(), 0)
    }

    func testAFileSentToTheBotInADirectRoomIsAnsweredWithWhatCanBeDone() async throws {
        let files = Files([:])
        counter += 1
        let direct = IncomingMessage(
            roomID: "dm-bob", senderID: "bob", text: "hedges.md", eventID: "e\(counter)", timestamp: Date(), roomKind: .direct,
            file: SharedFile(fileName: "hedges.md", location: "hedges.md"))
        let said = try await say(direct, through: files)
        XCTAssertEqual(said, "I keep this file. A facilitator can add it to the knowledge base by replying !kb add to it.")
    }

    func testAFileTakenBackCannotBeAdded() async throws {
        let files = Files(["hedges.md": .success(Self.hedges)])
        let event = try await share("hedges.md", through: files)
        counter += 1
        _ = try engine.handle(.redaction(redacted: event, roomID: "room-1", senderID: "bob", eventID: "r\(counter)", timestamp: Date()))
        let said = try await say(message("!kb add", replyTo: event), through: files)
        XCTAssertTrue(said.contains("is not a file I know of"), said)
        XCTAssertEqual(files.fetches.withLock { $0 }, [])
    }

    func testTheSizeLimitIsConfigurableAndHoldsWhenTheDeclaredSizeLies() async throws {
        try makeEngine(limit: 1_000)
        let files = Files(["big.md": .success(Data(repeating: 65, count: 2_000))])
        _ = try await share("big.md", size: 10, through: files)
        let said = try await say(message("!kb add"), through: files)
        XCTAssertEqual(said, "big.md is too large (2 KB): I add files of at most 1 KB.")
        XCTAssertEqual(try documentCount(), 0)
    }

    func testWithoutAFetchTheCommandSaysSoAndAHandledEventIsNotFetchedAgain() async throws {
        let files = Files(["hedges.md": .success(Self.hedges)])
        _ = try await share("hedges.md", through: files)
        let add = message("!kb add")
        // A caller that fetched nothing (a transport without files).
        let replies = try engine.handle(.message(add))
        XCTAssertEqual(replies.map(\.plain), ["I cannot download files through this connection, so I cannot add hedges.md."])
        // The same event again: already handled, so neither fetched nor answered again.
        let fetched = try await engine.fetchFile(for: .message(add), from: files)
        XCTAssertNil(fetched)
        XCTAssertEqual(try engine.handle(.message(add)), [])
        XCTAssertEqual(files.fetches.withLock { $0 }, [])
        XCTAssertEqual(try documentCount(), 0)
    }

    func testRemoveListAndWhoMay() async throws {
        let files = Files([
            "hedges.md": .success(Self.hedges), "orchard.md": .success(Data("# Orchards\n\nPrune apple trees in winter.".utf8)),
        ])
        let hedges = try await share("hedges.md", through: files)
        try await say(message("!kb add", replyTo: hedges), through: files)
        let orchard = try await share("orchard.md", through: files)
        try await say(message("!kb add", replyTo: orchard), through: files)
        let list = try await say(message("!kb list", from: "bob"), through: files)
        XCTAssertTrue(list.contains("1. Planting a hedge — hedges.md, shared by Bob\n2. Orchards — orchard.md, shared by Bob"), list)
        let elsewhere = try await say(message("!kb list", in: "room-2"), through: files)
        XCTAssertTrue(elsewhere.contains("No document has been added in Vercors yet"), elsewhere)

        let member = try await say(message("!kb remove 1", from: "bob"), through: files)
        XCTAssertEqual(member, "Only a facilitator can remove documents from the knowledge base.")
        let otherTerritory = try await say(message("!kb remove 1", in: "room-2"), through: files)
        XCTAssertTrue(otherTerritory.contains("No document has been added in Vercors yet"), otherTerritory)
        XCTAssertEqual(try documentCount(), 2)

        let byReply = try await say(message("!kb remove", replyTo: hedges), through: files)
        XCTAssertEqual(byReply, "I removed Planting a hedge from the knowledge base of Drôme: I no longer answer from it.")
        let asked = try await say(message("!ask when should we plant hedges?", from: "bob"), through: files)
        XCTAssertFalse(asked.contains("November"), asked)
        let byTitle = try await say(message("!kb remove orchards"), through: files)
        XCTAssertTrue(byTitle.hasPrefix("I removed Orchards"), byTitle)
        XCTAssertEqual(try documentCount(), 0)
        let passages = try await store.writer.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM kb_passage") }
        XCTAssertEqual(passages, 0, "the passages go with their documents")
        let gone = try await say(message("!kb remove 1"), through: files)
        XCTAssertEqual(gone, "No document has been added in Drôme yet.")
    }

    func testInFrench() async throws {
        let files = Files(["haies.md": .success(Data("# Planter une haie\n\n## Quand planter\n\nEntre novembre et mars.".utf8))])
        try await store.writer.write { db in try db.execute(sql: "UPDATE room_setting SET language = 'fr' WHERE room_id = 'room-1'") }
        let event = try await share("haies.md", through: files)
        let refused = try await say(message("!kb ajouter", from: "bob", replyTo: event), through: files)
        XCTAssertEqual(refused, "Seul·e un·e facilitateur·rice peut ajouter des documents à la base de connaissances.")
        let added = try await say(message("!kb add", replyTo: event), through: files)
        XCTAssertTrue(
            added.hasPrefix("J'ai ajouté Planter une haie à la base de connaissances de Drôme, depuis haies.md partagé par Bob"), added)
        XCTAssertTrue(added.contains("Sections :\n- Quand planter"), added)
        let removed = try await say(message("!kb retirer 1"), through: files)
        XCTAssertTrue(removed.hasPrefix("J'ai retiré Planter une haie"), removed)
    }

    func testTheRunnerFetchesBeforeTheTurn() async throws {
        let shared = message("hedges.md", from: "bob", file: SharedFile(fileName: "hedges.md", location: "hedges.md"))
        let add = message("!kb add", replyTo: shared.eventID)
        final class Adapter: ChatAdapter {
            let events: [IncomingEvent]
            let delivered = Mutex<[String]>([])
            init(_ events: [IncomingEvent]) { self.events = events }
            func inbound() -> AsyncThrowingStream<InboundBatch, any Error> {
                let events = events
                return AsyncThrowingStream { continuation in
                    continuation.yield(InboundBatch(events: events))
                    continuation.finish()
                }
            }
            func deliver(_ message: OutgoingMessage) async throws { delivered.withLock { $0.append(message.plain) } }
            func fetch(_ file: SharedFile, limit: Int) async throws(FileFetchError) -> Data { RoomDocumentTests.hedges }
        }
        let adapter = Adapter([.message(shared), .message(add)])
        try await EngineRunner(engine: engine, adapter: adapter, logger: .init(label: "test")).run()
        XCTAssertTrue(
            adapter.delivered.withLock { $0 }.first?.hasPrefix("I added Planting a hedge") == true, "\(adapter.delivered.withLock { $0 })")
        XCTAssertEqual(try documentCount(), 1)
    }
}
