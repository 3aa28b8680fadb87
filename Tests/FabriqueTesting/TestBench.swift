import BotCore
import Foundation
import KnowledgeBase
import XCTest

/// A small engine on a database of its own (in memory, or at `path`) with the demo and workshop
/// dialogues, a clock and a scheduler moved by hand, and a log of every SQL statement it runs.
///
/// Every message handled through the bench (`say`, `handle`) is checked to be one transaction: the
/// engine's promise that a turn is committed whole, with the delivery marks it carries, or not at all.
public struct TestBench {
    public let engine: Engine
    public let store: StateStore
    public let clock: ManualClock
    /// Runs the engine's delayed work (the commit of delivery marks) when the test advances it.
    public let scheduler: ManualScheduler
    /// Every statement run since the schema was migrated.
    public let sql: StatementLog
    /// Numbers the event ids of `message`.
    public var counter = 0

    /// - Parameter extensions: what the engine is given besides its own features (none by default).
    public init(
        path: String? = nil, idleTimeout: TimeInterval = 3600, deliveryMarkDelay: Duration = .milliseconds(250),
        extensions: [any EngineExtension] = []
    ) throws {
        let (catalog, diagnostics) = DialogueCatalog.load(
            paths: [Repo.path("Tests/Fixtures/dialogues"), Repo.path("dialogues/demo.yaml")], vocabulary: extensions.vocabulary)
        XCTAssertFalse(diagnostics.hasErrors, "\(diagnostics)")
        sql = StatementLog()
        store = try StateStore(path: path, prepareDatabase: sql.prepareDatabase)
        sql.removeAll()
        clock = ManualClock(Date(timeIntervalSince1970: 1_780_000_000))
        scheduler = ManualScheduler()
        var configuration = EngineConfiguration(idleTimeout: idleTimeout, defaultTerritory: "Drôme")
        configuration.deliveryMarkDelay = deliveryMarkDelay
        engine = try Self.makeEngine(
            store: store, catalog: catalog, extensions: extensions, configuration: configuration, clock: clock.source, scheduler: scheduler)
    }

    /// The one place the tests construct an ``Engine``: what every test engine gets, whoever builds it.
    public static func makeEngine(
        store: StateStore, catalog: DialogueCatalog, knowledge: KnowledgeIndex? = nil, extensions: [any EngineExtension] = [],
        configuration: EngineConfiguration = .init(), clock: @escaping @Sendable () -> Date = { Date() },
        scheduler: ManualScheduler = ManualScheduler(), dialogueSource: (@Sendable () -> (DialogueCatalog, [Diagnostic]))? = nil
    ) throws -> Engine {
        try Engine(
            store: store, catalog: catalog, knowledge: knowledge, extensions: extensions, configuration: configuration, clock: clock,
            scheduler: scheduler, dialogueSource: dialogueSource)
    }

    /// A message at the bench's time, with the next event id unless `id` is given.
    public mutating func message(
        _ text: String, from user: String = "alice", in room: String = "room-1", kind: RoomKind = .group,
        mentions: Bool = false, facilitator: Bool = true, thread: String? = nil, id: String? = nil
    ) -> IncomingMessage {
        counter += 1
        return IncomingMessage(
            roomID: room, senderID: user, senderName: user.capitalized, text: text, eventID: id ?? "e\(counter)",
            timestamp: clock.now, mentionsBot: mentions, threadID: thread, roomKind: kind, senderIsFacilitator: facilitator)
    }

    /// Handles a message and returns the plain text of the replies.
    @discardableResult
    public mutating func say(
        _ text: String, from user: String = "alice", in room: String = "room-1", kind: RoomKind = .group,
        mentions: Bool = false, facilitator: Bool = true, file: StaticString = #filePath, line: UInt = #line
    ) throws -> [String] {
        let m = message(text, from: user, in: room, kind: kind, mentions: mentions, facilitator: facilitator)
        return try handle(.message(m), file: file, line: line).map(\.plain)
    }

    /// Handles `event` as the runner does and returns its replies, failing the test unless the turn was
    /// exactly one transaction.
    @discardableResult
    public func handle(
        _ event: IncomingEvent, cursor: AdapterCursor? = nil, fetched: FetchedFile? = nil, file: StaticString = #filePath,
        line: UInt = #line
    ) throws -> [OutgoingMessage] {
        var replies: [OutgoingMessage] = []
        let statements = try sql.statements { replies = try engine.handle(event, cursor: cursor, fetched: fetched) }
        StatementLog.assertTransactions(statements, count: 1, "handling \(event.eventID)", file: file, line: line)
        return replies
    }
}
