import FabriqueTesting
import Foundation
import XCTest

@testable import MatrixAdapter

/// Shared scaffolding: people, a bot process per test, waiting on room history, and cleanup.
class MatrixIntegrationCase: XCTestCase {
    var homeserver: TestHomeserver!
    var tag = ""
    var workDirectory: URL!
    var bots: [FabriqueProcess] = []
    /// An observer who sees every room the test creates (history is read through it).
    var reader: TestUser!

    func setUp(ratelimited: Bool) async throws {
        homeserver = try TestHomeserver.require(ratelimited: ratelimited)
        tag = String(UUID().uuidString.prefix(8)).lowercased()
        workDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("fabrique-mx-\(tag)")
        try FileManager.default.createDirectory(at: workDirectory, withIntermediateDirectories: true)
    }

    override func tearDown() async throws {
        for bot in bots { await bot.stop() }
        if let run = testRun, run.totalFailureCount == 0, let workDirectory {
            try? FileManager.default.removeItem(at: workDirectory)
        } else if let workDirectory {
            print("bot logs kept in \(workDirectory.path)")
        }
        bots = []
    }

    func person(_ name: String) async throws -> TestUser {
        try await homeserver.register("\(name)-\(tag)")
    }

    /// A `fabrique matrix` process logging in with a password, its database in the test's folder.
    func makeBot(
        _ user: TestUser, database: String = "bot.sqlite", extra: [String] = [], environment: [String: String] = [:]
    ) throws -> FabriqueProcess {
        let bot = try FabriqueProcess(
            [
                "matrix", "--homeserver", homeserver.url.absoluteString, "--user", user.userID,
                "--db", workDirectory.appendingPathComponent(database).path, "--log-level", "info",
            ] + extra,
            environment: ["FABRIQUE_MATRIX_PASSWORD": user.password].merging(environment) { _, new in new },
            log: workDirectory.appendingPathComponent("\(database).log"))
        bots.append(bot)
        return bot
    }

    /// Polls `condition` until it holds or `timeout` passes; the failure shows the room's history.
    func eventually(
        _ what: String, timeout: TimeInterval = 60, room: String? = nil, viewer: TestUser? = nil, bot: FabriqueProcess? = nil,
        file: StaticString = #filePath, line: UInt = #line, _ condition: () async throws -> Bool
    ) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if (try? await condition()) == true { return }
            try await Task.sleep(for: .milliseconds(250))
        }
        var detail = ""
        if let room, let viewer { detail += "\nroom history:\n" + (try await transcript(room, viewer: viewer)) }
        if let bot { detail += "\nbot log (tail):\n" + bot.output.split(separator: "\n").suffix(40).joined(separator: "\n") }
        XCTFail("timed out after \(Int(timeout)) s waiting for: \(what)\(detail)", file: file, line: line)
        throw TestFailure("timed out waiting for \(what)")
    }

    func transcript(_ room: String, viewer: TestUser) async throws -> String {
        try await viewer.history(room).compactMap { e -> String? in
            let sender = e["sender"]?.string ?? "?"
            let type = e["type"]?.string ?? "?"
            let content = e["content"]
            switch type {
            case "m.room.message":
                let relation = content?["m.relates_to"]
                var tags = ""
                if let r = relation?["m.in_reply_to"]?["event_id"]?.string { tags += " ↩\(r.prefix(8))" }
                if relation?["rel_type"]?.string == "m.thread" { tags += " 🧵\((relation?["event_id"]?.string ?? "").prefix(8))" }
                return
                    "\(e["event_id"]?.string?.prefix(8) ?? "") \(sender.prefix(12)) [\(content?["msgtype"]?.string ?? "")\(tags)] \(content?["body"]?.string ?? "")"
            case "m.reaction":
                return
                    "\(e["event_id"]?.string?.prefix(8) ?? "") \(sender.prefix(12)) reacts \(content?["m.relates_to"]?["key"]?.string ?? "") on \((content?["m.relates_to"]?["event_id"]?.string ?? "").prefix(8))"
            case "m.room.member":
                return "   \(e["state_key"]?.string ?? "") \(content?["membership"]?.string ?? "")"
            default:
                return "   \(sender.prefix(12)) \(type)"
            }
        }.joined(separator: "\n")
    }

    func botMessages(_ room: String, bot: TestUser, viewer: TestUser) async throws -> [BotMessage] {
        try await viewer.history(room).compactMap { BotMessage($0, bot: bot.userID) }
    }

    /// Waits until the bot has joined `room`.
    func waitForJoin(_ bot: TestUser, _ room: String, viewer: TestUser, process: FabriqueProcess, timeout: TimeInterval = 60) async throws {
        try await eventually("the bot joins \(room)", timeout: timeout, bot: process) {
            try await viewer.membership(of: bot.userID, in: room) == "join"
        }
    }

    /// Waits until a bot message replying to `event` exists, and returns it.
    @discardableResult
    func waitForReply(
        to event: String, in room: String, bot: TestUser, viewer: TestUser, process: FabriqueProcess?, timeout: TimeInterval = 60,
        file: StaticString = #filePath, line: UInt = #line
    ) async throws -> BotMessage {
        var found: BotMessage?
        try await eventually("a bot reply to \(event)", timeout: timeout, room: room, viewer: viewer, bot: process, file: file, line: line)
        {
            found = try await botMessages(room, bot: bot, viewer: viewer).first { $0.replyTo == event }
            return found != nil
        }
        return found!
    }

    /// Waits until the bot has said `count` more messages than `before` in `room`, and returns them all.
    @discardableResult
    func waitForBotMessages(
        atLeast count: Int, in room: String, bot: TestUser, viewer: TestUser, process: FabriqueProcess?, timeout: TimeInterval = 60,
        file: StaticString = #filePath, line: UInt = #line
    ) async throws -> [BotMessage] {
        var all: [BotMessage] = []
        try await eventually("\(count) bot messages", timeout: timeout, room: room, viewer: viewer, bot: process, file: file, line: line) {
            all = try await botMessages(room, bot: bot, viewer: viewer)
            return all.count >= count
        }
        return all
    }

    /// Every user event in `events` has exactly one bot message replying to it (the first reply of a turn
    /// carries the rich reply), and no two bot messages are the same send.
    func assertAnsweredExactlyOnce(
        _ events: [String], in room: String, bot: TestUser, viewer: TestUser,
        file: StaticString = #filePath, line: UInt = #line
    ) async throws {
        let messages = try await botMessages(room, bot: bot, viewer: viewer)
        let history = try await transcript(room, viewer: viewer)
        for event in events {
            let replies = messages.filter { $0.replyTo == event }
            XCTAssertEqual(replies.count, 1, "replies to \(event):\n\(history)", file: file, line: line)
        }
    }
}
