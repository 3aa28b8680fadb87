import BotCore
import Foundation
import XCTest

@testable import MatrixAdapter

/// The typing notification around a slow command, as a person in the room sees it through /sync.
final class MatrixTypingTests: MatrixIntegrationCase {
    override func setUp() async throws { try await setUp(ratelimited: false) }

    /// The `m.typing` events of one room as one person's /sync reports them, in order. Synapse reports
    /// the typing state as it is when the sync answers, so a long poll parked before the message is sent
    /// wakes on the bot's "typing" and sees it before the answer and the "stopped" that follows.
    actor TypingWatcher {
        struct Seen {
            var userIDs: [String]
            var at: Date
        }
        private(set) var events: [Seen] = []
        private(set) var failure: String?
        private(set) var polls = 0

        func record(_ event: Seen) { events.append(event) }
        func fail(_ text: String) { failure = text }
        func polled() { polls += 1 }

        /// Long-polls `viewer`'s /sync, with only the room's typing events let through, until cancelled.
        static func start(_ viewer: TestUser, room: String) async throws -> (TypingWatcher, Task<Void, Never>) {
            let none: JSON = ["not_types": ["*"]]
            let filter: JSON = [
                "presence": none, "account_data": none,
                "room": [
                    "rooms": [.string(room)], "timeline": none, "state": none, "account_data": none,
                    "ephemeral": ["types": ["m.typing"]],
                ],
            ]
            let text = String(decoding: filter.data(), as: UTF8.self)
            let first = try await viewer.request("GET", "/_matrix/client/v3/sync", query: [("filter", text), ("timeout", "0")])
            guard let start = first["next_batch"]?.string else { throw TestFailure("sync without next_batch: \(first)") }
            let watcher = TypingWatcher()
            let task = Task {
                var since = start
                while !Task.isCancelled {
                    do {
                        let sync = try await viewer.request(
                            "GET", "/_matrix/client/v3/sync", query: [("filter", text), ("timeout", "2000"), ("since", since)])
                        let now = Date()
                        since = sync["next_batch"]?.string ?? since
                        for event in sync["rooms"]?["join"]?[room]?["ephemeral"]?["events"]?.array ?? []
                        where event["type"]?.string == "m.typing" {
                            let users = (event["content"]?["user_ids"]?.array ?? []).compactMap(\.string)
                            await watcher.record(Seen(userIDs: users, at: now))
                        }
                        await watcher.polled()
                    } catch {
                        if !Task.isCancelled { await watcher.fail("\(error)") }
                        return
                    }
                }
            }
            return (watcher, task)
        }
    }

    /// `!ask` is a slow command: the bot shows it is typing while it prepares the answer, and stops
    /// once the answer is sent — explicitly, not by letting Synapse's typing timeout (10 s) run out.
    func testTypingWhilePreparingASlowAnswer() async throws {
        // Three members: a group room, where the answer is a rich reply to the question.
        let ana = try await person("ana"), bo = try await person("bo"), botUser = try await person("bot")
        let room = try await ana.createRoom(name: "Typing \(tag)", invite: [bo.userID, botUser.userID])
        try await bo.join(room)
        let bot = try makeBot(botUser)
        try bot.start()
        try await waitForJoin(botUser, room, viewer: ana, process: bot)

        let (watcher, task) = try await TypingWatcher.start(ana, room: room)
        defer { task.cancel() }
        // The first long poll is parked in Synapse before Ana speaks.
        try await eventually("the watcher's first sync", timeout: 10) { await watcher.polls >= 1 }

        let ask = try await ana.say(room, "!ask pilot group")
        let answer = try await waitForReply(to: ask, in: room, bot: botUser, viewer: ana, process: bot)
        XCTAssertFalse(answer.body.isEmpty)
        let answered = Date()

        var on: Int?
        var off: Int?
        try await eventually("the bot typing, then no longer typing", timeout: 20, room: room, viewer: ana, bot: bot) {
            let events = await watcher.events
            on = events.firstIndex { $0.userIDs.contains(botUser.userID) }
            off = on.flatMap { on in events.indices.first { $0 > on && !events[$0].userIDs.contains(botUser.userID) } }
            return off != nil || (on == nil && Date().timeIntervalSince(answered) > 5)
        }
        let events = await watcher.events
        let failure = await watcher.failure
        XCTAssertNil(failure)
        let seen = events.map { "\($0.userIDs)" }.joined(separator: ", ")
        let typing = try XCTUnwrap(on, "Ana's sync never saw the bot typing (typing events seen: [\(seen)])")
        let stopped = try XCTUnwrap(off, "the bot never stopped typing (typing events seen: [\(seen)])")
        XCTAssertEqual(events[typing].userIDs, [botUser.userID])
        XCTAssertTrue(events[stopped].userIDs.isEmpty, seen)
        // Synapse stops a forgotten typing notification by itself after its timeout (10 s); the bot's own
        // "stopped" comes right after the answer.
        XCTAssertLessThan(events[stopped].at.timeIntervalSince(answered), 5, "typing stopped only by the timeout? [\(seen)]")
        XCTAssertLessThan(events[stopped].at.timeIntervalSince(events[typing].at), 9, "typing stopped only by the timeout? [\(seen)]")
    }
}
