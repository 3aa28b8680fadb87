import Foundation
import XCTest

@testable import MatrixAdapter

/// The bot's own events are filtered out of its syncs, so the timeline of a room it has just joined no
/// longer shows where the join falls. These tests pin what people see: in a room that already had a
/// conversation, only what is said after the bot joined gets answered, each message once.
final class MatrixJoinTests: MatrixIntegrationCase {
    override func setUp() async throws { try await setUp(ratelimited: false) }

    func testRunningBotInvitedToARoomWithHistoryAnswersOnlyWhatFollowsItsJoin() async throws {
        let ana = try await person("ana"), bo = try await person("bo"), botUser = try await person("bot")
        // The bot runs and is synced in a first room before the second one exists. Bo makes both rooms
        // group rooms (two members would make them direct rooms, where replies are not threaded).
        let first = try await ana.createRoom(name: "First \(tag)", invite: [bo.userID, botUser.userID])
        try await bo.join(first)
        let bot = try makeBot(botUser)
        try bot.start()
        try await waitForJoin(botUser, first, viewer: ana, process: bot)
        let ping = try await ana.say(first, "!help")
        try await waitForReply(to: ping, in: first, bot: botUser, viewer: ana, process: bot)

        let room = try await ana.createRoom(name: "History \(tag)", invite: [bo.userID])
        try await bo.join(room)
        let history = [try await ana.say(room, "!help"), try await ana.say(room, "!start demo")]
        try await ana.invite(botUser.userID, to: room)
        // Messages keep coming while the bot joins: some land before its join, some after, some in
        // the same sync response as the join.
        var said: [String] = []
        let deadline = Date().addingTimeInterval(30)
        while try await ana.membership(of: botUser.userID, in: room) != "join", Date() < deadline {
            said.append(try await ana.say(room, "!help"))
        }
        for _ in 0..<3 { said.append(try await ana.say(room, "!help")) }

        let timeline = try await ana.history(room)
        let joinIndex = try XCTUnwrap(
            timeline.firstIndex {
                $0["type"]?.string == "m.room.member" && $0["state_key"]?.string == botUser.userID
                    && $0["content"]?["membership"]?.string == "join"
            })
        let position = Dictionary(
            uniqueKeysWithValues: timeline.enumerated().compactMap { index, event in event["event_id"]?.string.map { ($0, index) } })
        let after = said.filter { (position[$0] ?? 0) > joinIndex }
        let before = history + said.filter { (position[$0] ?? Int.max) < joinIndex }
        XCTAssertFalse(after.isEmpty)
        try await waitForReply(to: after.last!, in: room, bot: botUser, viewer: ana, process: bot)
        try await assertAnsweredExactlyOnce(after, in: room, bot: botUser, viewer: ana)
        let replies = try await botMessages(room, bot: botUser, viewer: ana)
        let transcript = try await transcript(room, viewer: ana)
        for event in before {
            XCTAssertFalse(replies.contains { $0.replyTo == event }, "\(event) came before the bot joined:\n\(transcript)")
        }
    }
}
