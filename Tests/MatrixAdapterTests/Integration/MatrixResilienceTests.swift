import BotCore
import FabriqueTesting
import Foundation
import GRDB
import XCTest

@testable import MatrixAdapter

/// Crashes, outages and rate limits against a real Synapse: nothing lost, nothing said twice.
final class MatrixResilienceTests: MatrixIntegrationCase {
    override func setUp() async throws { try await setUp(ratelimited: false) }

    func devices(of user: TestUser) async throws -> Int {
        try await user.request("GET", "/_matrix/client/v3/devices")["devices"]?.array?.count ?? 0
    }

    /// SIGKILL the bot at random moments mid-dialogue, with messages arriving while it is down.
    func testKillAndRestartLosesNothingAndDoublesNothing() async throws {
        let ana = try await person("ana"), bo = try await person("bo"), botUser = try await person("bot")
        let room = try await ana.createRoom(name: "Crash \(tag)", invite: [bo.userID, botUser.userID])
        try await bo.join(room)
        let bot = try makeBot(botUser)
        try bot.start()
        try await waitForJoin(botUser, room, viewer: ana, process: bot)
        let devicesAfterFirstStart = try await devices(of: botUser)

        var expected: [String] = []
        var answers: [String] = []
        let start = try await ana.say(room, "!start demo")
        expected.append(start)
        try await waitForReply(to: start, in: room, bot: botUser, viewer: ana, process: bot)

        // Ana answers the tour while Bo asks questions; the bot is killed after each message, at a
        // different moment each time (before, during or after handling and delivery), and some
        // messages arrive while it is down.
        let anaSays = ["1", "no", "A territory where people cooperate"]
        let topics = [
            "pilot group", "learning community", "resource persons", "territory inventory", "sectoral policies", "ally", "factory offer",
        ]
        var generator = SeededRandom()
        for n in 0..<10 {
            let event: String
            if n % 3 == 0, answers.count < anaSays.count {
                event = try await ana.say(room, anaSays[answers.count])
                answers.append(event)
            } else {
                event = try await bo.say(room, "!ask \(topics[n % topics.count])")
            }
            expected.append(event)
            try await Task.sleep(for: .milliseconds(Int.random(in: 0...400, using: &generator)))
            bot.kill()
            if n % 2 == 0 { expected.append(try await bo.say(room, "!ask \(topics[(n + 3) % topics.count]) while you were down")) }
            try bot.start()
        }
        try await eventually("every message answered after the restarts", timeout: 120, room: room, viewer: ana, bot: bot) {
            let replies = try await botMessages(room, bot: botUser, viewer: ana)
            return expected.allSatisfy { e in replies.contains { $0.replyTo == e } }
        }
        // Let any straggling duplicate arrive before judging.
        try await Task.sleep(for: .seconds(3))
        try await assertAnsweredExactlyOnce(expected, in: room, bot: botUser, viewer: ana)
        let devicesNow = try await devices(of: botUser)
        XCTAssertEqual(devicesNow, devicesAfterFirstStart, "restarts reuse the stored token and device")

        // Every answer Ana gave is stored exactly once.
        await bot.stop()
        let store = try StateStore(path: workDirectory.appendingPathComponent("bot.sqlite").path)
        for answer in answers {
            let count = try await store.writer.read { db in
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM answer WHERE event_id = ?", arguments: [answer]) ?? 0
            }
            XCTAssertEqual(count, 1, "answer \(answer) stored once")
        }
        // The token from the password login is stored, reused, and never logged.
        let token = try XCTUnwrap(try store.setting("matrix.access_token"))
        XCTAssertFalse(bot.output.contains(token), "the access token appears in the bot's log")
        XCTAssertFalse(bot.output.contains(botUser.password), "the password appears in the bot's log")
    }

    /// More arrives while the bot is stopped than one sync timeline holds: the gap is fetched, the
    /// oldest question answered.
    func testLongDowntimeGapIsFilled() async throws {
        let ana = try await person("ana"), bo = try await person("bo"), botUser = try await person("bot")
        let room = try await ana.createRoom(name: "Gap \(tag)", invite: [bo.userID, botUser.userID])
        try await bo.join(room)
        let bot = try makeBot(botUser)
        try bot.start()
        try await waitForJoin(botUser, room, viewer: ana, process: bot)
        let warmup = try await ana.say(room, "!help")
        try await waitForReply(to: warmup, in: room, bot: botUser, viewer: ana, process: bot)
        await bot.stop()

        let oldest = try await ana.say(room, "!ask pilot group")
        for n in 0..<70 { try await bo.say(room, "chatter \(n)") }
        let newest = try await ana.say(room, "!ask learning community")
        try bot.start()
        try await eventually("the question from before the 70 messages answered", timeout: 60, room: room, viewer: ana, bot: bot) {
            let replies = try await botMessages(room, bot: botUser, viewer: ana)
            return [oldest, newest].allSatisfy { e in replies.contains { $0.replyTo == e } }
        }
        try await assertAnsweredExactlyOnce([warmup, oldest, newest], in: room, bot: botUser, viewer: ana)
        XCTAssertTrue(bot.output.contains("filled a gap"), "the limited timeline was filled from /messages")
    }

    /// Synapse goes away for 20 s mid-conversation, and the bot is restarted meanwhile: what was said
    /// before is answered once, after it returns.
    func testHomeserverOutage() async throws {
        let probe = try TestHomeserver.require()
        guard probe.directory != nil, probe.scripts != nil else {
            throw XCTSkip("FABRIQUE_TEST_SYNAPSE_DIR not set: cannot restart Synapse")
        }
        let ana = try await person("ana"), botUser = try await person("bot")
        let room = try await ana.createRoom(name: "Outage \(tag)", invite: [botUser.userID])
        let helper = try await person("bo")
        try await ana.invite(helper.userID, to: room)
        try await helper.join(room)
        let bot = try makeBot(botUser)
        try bot.start()
        try await waitForJoin(botUser, room, viewer: ana, process: bot)

        let first = try await ana.say(room, "!ask pilot group")
        try await homeserver.control("stop")
        try await Task.sleep(for: .seconds(10))
        XCTAssertTrue(bot.isRunning, "the bot waits for the homeserver instead of exiting")
        // A restart while the homeserver is away: the bot must wait for it, not give up at start.
        bot.kill()
        try bot.start()
        try await Task.sleep(for: .seconds(10))
        XCTAssertTrue(bot.isRunning, "a bot started without its homeserver waits for it:\n\(bot.output.suffix(2000))")
        try await homeserver.control("start")
        let second = try await ana.say(room, "!ask learning community")
        try await eventually("both questions answered after the outage", timeout: 120, room: room, viewer: ana, bot: bot) {
            let replies = try await botMessages(room, bot: botUser, viewer: ana)
            return [first, second].allSatisfy { e in replies.contains { $0.replyTo == e } }
        }
        try await Task.sleep(for: .seconds(2))
        try await assertAnsweredExactlyOnce([first, second], in: room, bot: botUser, viewer: ana)
    }
}

/// Against the second Synapse, whose message rate limit is low: the bot meets 429s and waits them out.
final class MatrixRateLimitTests: MatrixIntegrationCase {
    private var startedHere = false

    override func setUp() async throws {
        try await setUp(ratelimited: true)
    }

    override func setUp(ratelimited: Bool) async throws {
        try await super.setUp(ratelimited: false)
        let (server, started) = try await TestHomeserver.requireRatelimited()
        homeserver = server
        startedHere = started
    }

    override func tearDown() async throws {
        try await super.tearDown()
        if startedHere {
            try? await homeserver.control("stop")
            if let directory = homeserver.directory { try? FileManager.default.removeItem(atPath: directory) }
        }
    }

    func testRateLimitedRepliesAreDelayedNotLost() async throws {
        let ana = try await person("ana"), bo = try await person("bo"), botUser = try await person("bot")
        let room = try await ana.createRoom(name: "Busy \(tag)", invite: [bo.userID, botUser.userID])
        try await bo.join(room)
        let bot = try makeBot(botUser)
        try bot.start()
        try await waitForJoin(botUser, room, viewer: ana, process: bot)
        var asked: [String] = []
        for topic in ["pilot group", "learning community", "resource persons"] {
            asked.append(try await ana.say(room, "!ask \(topic)"))
            asked.append(try await bo.say(room, "!ask \(topic) please"))
        }
        try await eventually("all six answered despite the rate limit", timeout: 120, room: room, viewer: ana, bot: bot) {
            let replies = try await botMessages(room, bot: botUser, viewer: ana)
            return asked.allSatisfy { e in replies.contains { $0.replyTo == e } }
        }
        XCTAssertTrue(bot.output.contains("M_LIMIT_EXCEEDED"), "the bot really met a 429:\n\(bot.output.suffix(3000))")
        try await assertAnsweredExactlyOnce(asked, in: room, bot: botUser, viewer: ana)
    }
}
