@testable import BotCore
import Dialogues
import FabriqueTesting
import Foundation
import GRDB
import XCTest

/// A per-person pace (issue 21): a flood costs one polite message, other people and rooms are answered
/// as usual, and a batch is handled one room at a time in turns.
final class RateLimitTests: XCTestCase {
    func makeEngine(burst: Int, refill: TimeInterval, clock: ManualClock) throws -> (Engine, StateStore) {
        let (catalog, _) = DialogueCatalog.load(paths: [Repo.path("dialogues/demo.yaml")])
        var configuration = EngineConfiguration()
        configuration.personBurst = burst
        configuration.personRefill = refill
        let store = try StateStore(path: nil)
        return (try TestBench.makeEngine(store: store, catalog: catalog, configuration: configuration, clock: clock.source), store)
    }

    func testAFloodGetsOnePoliteMessageAndOthersAreStillAnswered() throws {
        let clock = ManualClock(Date(timeIntervalSince1970: 1_780_000_000))
        let (engine, store) = try makeEngine(burst: 3, refill: 10, clock: clock)
        var n = 0
        func say(_ text: String, from user: String, in room: String = "room-a") throws -> [String] {
            n += 1
            return try engine.handle(
                .message(
                    IncomingMessage(
                        roomID: room, senderID: user, senderName: user.capitalized, text: text, eventID: "$\(n)", timestamp: clock.now))
            ).map(\.plain)
        }
        for _ in 0..<3 { XCTAssertEqual(try say("!status", from: "bob").count, 1, "within the burst: answered") }
        let polite = try say("!status", from: "bob")
        XCTAssertEqual(polite.count, 1)
        XCTAssertTrue(polite[0].hasPrefix("Bob, you are writing faster than I can follow"), polite[0])
        XCTAssertEqual(try say("!status", from: "bob"), [], "said once")
        XCTAssertEqual(try say("!status", from: "bob", in: "room-b"), [], "the pace is the person's, in every room")
        let reaction = IncomingMessage(
            roomID: "room-a", senderID: "bob", text: "👍", eventID: "$r", timestamp: clock.now, anchor: "q1:1:4:role:room:6:room-a")
        XCTAssertEqual(try engine.handle(.reaction(reaction)), [])
        XCTAssertEqual(try say("!status", from: "carol", in: "room-b").count, 1, "someone else is answered")
        XCTAssertEqual(try say("!status", from: "carol").count, 1)

        clock.advance(by: 10)
        XCTAssertEqual(try say("!status", from: "bob").count, 1, "one more after the refill time")
        XCTAssertEqual(try say("!status", from: "bob"), [], "and the warning is not repeated at once")
        clock.advance(by: 30)
        XCTAssertEqual(try say("!status", from: "bob").count, 1)

        let processed = try store.writer.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM processed_event") }
        XCTAssertEqual(processed, n + 1, "every event is handled (and never handled again), answered or not")
    }

    func testABatchIsHandledOneRoomAtATime() {
        func message(_ room: String, _ id: String) -> IncomingEvent {
            .message(IncomingMessage(roomID: room, senderID: "x", text: "hi", eventID: id, timestamp: Date()))
        }
        let batch = [
            message("a", "a1"), message("a", "a2"), message("a", "a3"), message("b", "b1"), message("a", "a4"), message("c", "c1"),
        ]
        XCTAssertEqual(EngineRunner.interleavedByRoom(batch).map(\.eventID), ["a1", "b1", "c1", "a2", "a3", "a4"])
        XCTAssertEqual(EngineRunner.interleavedByRoom([message("a", "1"), message("a", "2")]).map(\.eventID), ["1", "2"])
    }

    /// Through the runner: a room's fifty messages in one batch do not keep another room's question
    /// waiting behind fifty replies.
    func testAnotherRoomIsAnsweredEarlyInABusyBatch() async throws {
        let clock = ManualClock(Date(timeIntervalSince1970: 1_780_000_000))
        let (engine, _) = try makeEngine(burst: 0, refill: 0, clock: clock)
        var events = (0..<50).map {
            IncomingEvent.message(
                IncomingMessage(roomID: "busy", senderID: "p\($0)", text: "!status", eventID: "$b\($0)", timestamp: clock.now))
        }
        events.append(.message(IncomingMessage(roomID: "quiet", senderID: "q", text: "!status", eventID: "$q", timestamp: clock.now)))
        let adapter = FakeAdapter([InboundBatch(events: events)])
        try await EngineRunner(engine: engine, adapter: adapter, logger: .init(label: "test")).run()
        let rooms = adapter.delivered.withLock { $0.map(\.roomID) }
        XCTAssertEqual(rooms.count, 51)
        XCTAssertEqual(rooms.firstIndex(of: "quiet"), 1, "the quiet room's reply goes second")
    }
}
