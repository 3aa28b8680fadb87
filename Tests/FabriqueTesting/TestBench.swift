@testable import BotCore
import Foundation
import Synchronization
import XCTest

/// A small engine on an in-memory database with the demo and workshop dialogues, and an injected clock.
struct TestBench {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    let engine: Engine
    let store: StateStore
    let clock: ManualClock
    var counter = 0

    init(path: String? = nil, idleTimeout: TimeInterval = 3600, deliveryMarkDelay: Duration = .milliseconds(250)) throws {
        let (catalog, diagnostics) = DialogueCatalog.load(paths: [
            Self.root.appendingPathComponent("Tests/Fixtures/dialogues").path,
            Self.root.appendingPathComponent("dialogues/demo.yaml").path,
        ])
        XCTAssertFalse(diagnostics.hasErrors, "\(diagnostics)")
        store = try StateStore(path: path)
        clock = ManualClock(Date(timeIntervalSince1970: 1_780_000_000))
        var configuration = EngineConfiguration(idleTimeout: idleTimeout, defaultTerritory: "Drôme")
        configuration.deliveryMarkDelay = deliveryMarkDelay
        engine = Engine(store: store, catalog: catalog, knowledge: nil, configuration: configuration, clock: clock.source)
    }

    mutating func message(_ text: String, from user: String = "alice", in room: String = "room-1", kind: RoomKind = .group,
                          mentions: Bool = false, facilitator: Bool = true, thread: String? = nil, id: String? = nil) -> IncomingMessage {
        counter += 1
        return IncomingMessage(roomID: room, senderID: user, senderName: user.capitalized, text: text, eventID: id ?? "e\(counter)",
                               timestamp: clock.now, mentionsBot: mentions, threadID: thread, roomKind: kind, senderIsFacilitator: facilitator)
    }

    /// Handles a message and returns the plain text of the replies.
    @discardableResult
    mutating func say(_ text: String, from user: String = "alice", in room: String = "room-1", kind: RoomKind = .group,
                      mentions: Bool = false, facilitator: Bool = true) throws -> [String] {
        let m = message(text, from: user, in: room, kind: kind, mentions: mentions, facilitator: facilitator)
        return try engine.handle(.message(m)).map(\.plain)
    }
}

/// An adapter that replays given batches and records deliveries; failures can be scripted per message id.
final class FakeAdapter: ChatAdapter {
    let batches: [InboundBatch]
    let delivered = Mutex<[OutgoingMessage]>([])
    let failures = Mutex<[String: [DeliveryError]]>([:])
    let acknowledged = Mutex<[String]>([])

    init(_ batches: [InboundBatch]) { self.batches = batches }

    func inbound() -> AsyncThrowingStream<InboundBatch, any Error> {
        let batches = self.batches
        return AsyncThrowingStream { continuation in
            for batch in batches { continuation.yield(batch) }
            continuation.finish()
        }
    }

    func deliver(_ message: OutgoingMessage) async throws {
        let failure: DeliveryError? = failures.withLock { map in
            guard var list = map[message.id], !list.isEmpty else { return nil }
            let first = list.removeFirst()
            map[message.id] = list
            return first
        }
        if let failure { throw failure }
        delivered.withLock { $0.append(message) }
    }

    func acknowledge(_ event: IncomingEvent) async {
        acknowledged.withLock { $0.append(event.eventID) }
    }
}
