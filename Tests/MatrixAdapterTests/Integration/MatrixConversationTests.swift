import BotCore
import Foundation
import GRDB
import XCTest

@testable import MatrixAdapter

/// A real Synapse, real people (over the client-server API) and the real `fabrique matrix` binary.
final class MatrixConversationTests: MatrixIntegrationCase {
    override func setUp() async throws { try await setUp(ratelimited: false) }

    func isQuestion(_ m: BotMessage) -> Bool { m.content["org.fabrique.choices"]?.int != nil }

    /// Whether the bot has handled `event`: its turn committed, whatever the turn decided.
    func handled(_ event: String, in store: StateStore) throws -> Bool {
        try store.writer.read { db in
            try Bool.fetchOne(db, sql: "SELECT 1 FROM processed_event WHERE event_id = ?", arguments: [event]) ?? false
        }
    }

    /// Three people in a group room: two hold the demo dialogue side by side, one asks the knowledge
    /// base; answers by text, by reply and by reaction; an answer edited, another redacted.
    func testGroupDialogueWithThreePeople() async throws {
        let ana = try await person("ana"), bo = try await person("bo"), cy = try await person("cy")
        let botUser = try await person("bot")
        let room = try await ana.createRoom(name: "Group \(tag)", invite: [bo.userID, cy.userID, botUser.userID])
        try await bo.join(room)
        try await cy.join(room)
        try await ana.setPowerLevel(50, for: bo.userID, in: room)
        let bot = try makeBot(botUser)
        try bot.start()
        try await waitForJoin(botUser, room, viewer: ana, process: bot)

        // Chatter not addressed to the bot gets no answer.
        let chatter = try await cy.say(room, "hello everyone, coffee at ten?")

        // Ana starts the tour: one message in a group room (greeting and question together), replying to her.
        let start = try await ana.say(room, "!start demo")
        let firstQuestion = try await waitForReply(to: start, in: room, bot: botUser, viewer: ana, process: bot)
        XCTAssertEqual(firstQuestion.msgtype, "m.notice")
        XCTAssertNotNil(firstQuestion.html, "formatted_body from the Markdown")
        XCTAssertTrue(firstQuestion.hasMentions, "m.mentions is always explicit")
        XCTAssertEqual(firstQuestion.content["m.mentions"]?["user_ids"]?.array?.count, 0)
        XCTAssertTrue(isQuestion(firstQuestion), "the role question offers choices")
        XCTAssertNotNil(firstQuestion.content["org.fabrique.anchor"]?.string, "a question carries its anchor")
        XCTAssertEqual(firstQuestion.content["format"]?.string, "org.matrix.custom.html")
        let seeded = try await ana.history(room).contains { $0["type"]?.string == "m.reaction" && $0["sender"]?.string == botUser.userID }
        XCTAssertFalse(seeded, "no reactions seeded unless the room asks for them")

        // Ana reacts 1️⃣ on the question (engine: anchored reactions, issue 15): that answers it, and the
        // dialogue moves on to the yes/no question.
        let store = try StateStore(path: workDirectory.appendingPathComponent("bot.sqlite").path)
        let before = try await botMessages(room, bot: botUser, viewer: ana).count
        let reaction = try await ana.react(room, to: firstQuestion.eventID, "1️⃣")
        try await eventually("the reaction handled", room: room, viewer: ana, bot: bot) { try self.handled(reaction, in: store) }
        var messages = try await waitForBotMessages(atLeast: before + 1, in: room, bot: botUser, viewer: ana, process: bot)
        let yesNo = try XCTUnwrap(messages.last, "the reaction moved the dialogue on")
        XCTAssertNotEqual(yesNo.body, firstQuestion.body)
        XCTAssertNil(messages.first { $0.replyTo == reaction }, "a reaction is never replied to as a message")
        // Then she changes that answer with a rich reply to the same question: it lands there, not on the
        // question the dialogue is now on.
        let roleAnswer = try await ana.say(room, "2", replyTo: firstQuestion.eventID)
        let changed = try await waitForReply(to: roleAnswer, in: room, bot: botUser, viewer: ana, process: bot)
        XCTAssertTrue(changed.body.contains("Updated your answer"), changed.body)
        messages = try await botMessages(room, bot: botUser, viewer: ana)
        _ = messages

        // Bo starts his own tour in the same room and answers by text.
        let boStart = try await bo.say(room, "!start demo")
        try await waitForReply(to: boStart, in: room, bot: botUser, viewer: bo, process: bot)
        let count = try await botMessages(room, bot: botUser, viewer: bo).count
        try await waitForBotMessages(atLeast: count, in: room, bot: botUser, viewer: bo, process: bot)
        let boAnswer = try await bo.say(room, "2")
        try await waitForReply(to: boAnswer, in: room, bot: botUser, viewer: bo, process: bot)

        // Ana answers yes (text), then the scale question with "3", then edits it to "2".
        let yes = try await ana.say(room, "yes")
        try await waitForReply(to: yes, in: room, bot: botUser, viewer: ana, process: bot)
        let three = try await ana.say(room, "3")
        try await waitForReply(to: three, in: room, bot: botUser, viewer: ana, process: bot)
        let edit = try await ana.edit(room, three, to: "2")
        let updated = try await waitForReply(to: edit, in: room, bot: botUser, viewer: ana, process: bot)
        XCTAssertFalse(updated.body.isEmpty)

        // Cy asks the knowledge base.
        let ask = try await cy.say(room, "!ask pilot group")
        let answer = try await waitForReply(to: ask, in: room, bot: botUser, viewer: cy, process: bot)
        XCTAssertFalse(answer.body.isEmpty)

        // Bo takes his answer back.
        try await bo.redact(room, boAnswer)
        let marker = try await cy.say(room, "!ask learning community")
        try await waitForReply(to: marker, in: room, bot: botUser, viewer: cy, process: bot)

        // Facilitator-only: Cy (power level 0) may not bind the room to a territory, Bo (50) may.
        let cyTerritory = try await cy.say(room, "!territory set Cytown")
        try await waitForReply(to: cyTerritory, in: room, bot: botUser, viewer: cy, process: bot)
        let boTerritory = try await bo.say(room, "!territory set Botown")
        try await waitForReply(to: boTerritory, in: room, bot: botUser, viewer: bo, process: bot)

        // Addressed without a command: a mention pill (m.mentions), then a rich reply to the bot.
        let mention = try await cy.say(room, "Fabrique what is a learning community?", mentions: [botUser.userID])
        let mentionAnswer = try await waitForReply(to: mention, in: room, bot: botUser, viewer: cy, process: bot)
        let replyToBot = try await cy.say(room, "and what about the pilot group?", replyTo: mentionAnswer.eventID)
        try await waitForReply(to: replyToBot, in: room, bot: botUser, viewer: cy, process: bot)
        // Another bot's notice is ignored even when it looks like a command.
        let otherBot = try await cy.send(room, ["msgtype": "m.notice", "body": "!help"])
        let lastMarker = try await cy.say(room, "!ask resource persons")
        try await waitForReply(to: lastMarker, in: room, bot: botUser, viewer: cy, process: bot)

        // The stored answers agree: Ana's reply and edited "2" are there, Bo's redacted one is gone.
        let rows = try store.writer.read { db in
            try Row.fetchAll(db, sql: "SELECT event_id, value FROM answer WHERE room_id = ?", arguments: [room])
        }
        let byEvent = Dictionary(rows.map { ($0["event_id"] as String, $0["value"] as String) }, uniquingKeysWith: { a, _ in a })
        XCTAssertEqual(byEvent[roleAnswer], AnswerValue.choice("staff").storedText, "the reply was stored as the role: \(byEvent)")
        XCTAssertNil(byEvent[reaction], "the reaction's answer was replaced by the reply to the same question: \(byEvent)")
        XCTAssertEqual(byEvent[three].map { $0.contains("2") }, true, "the edit updated the stored answer: \(byEvent)")
        XCTAssertNil(byEvent[boAnswer], "the redacted answer was removed: \(byEvent)")

        let territory = try await store.writer.read { db in
            try String.fetchOne(
                db, sql: "SELECT t.name FROM room_setting r JOIN territory t ON t.id = r.territory WHERE room_id = ?", arguments: [room])
        }
        XCTAssertEqual(territory, "Botown", "only the facilitator's command took effect")

        let all = try await botMessages(room, bot: botUser, viewer: ana)
        XCTAssertFalse(all.contains { $0.replyTo == chatter }, "group chatter is not answered")
        XCTAssertFalse(all.contains { $0.replyTo == otherBot }, "other bots' notices are ignored")
        XCTAssertTrue(all.allSatisfy { $0.msgtype == "m.notice" && $0.hasMentions })
        try await assertAnsweredExactlyOnce(
            [
                start, roleAnswer, boStart, boAnswer, yes, three, edit, ask, marker, cyTerritory, boTerritory, mention, replyToBot,
                lastMarker,
            ],
            in: room, bot: botUser, viewer: ana)
    }

    /// Questions asked in a thread are answered in that thread; a dialogue started there stays there.
    func testThreadReplies() async throws {
        let ana = try await person("ana"), bo = try await person("bo"), botUser = try await person("bot")
        let room = try await ana.createRoom(name: "Threads \(tag)", invite: [bo.userID, botUser.userID])
        try await bo.join(room)
        let bot = try makeBot(botUser)
        try bot.start()
        try await waitForJoin(botUser, room, viewer: ana, process: bot)

        let root = try await ana.say(room, "Questions about the pilot group go here")
        let ask = try await bo.say(room, "!ask pilot group", thread: root)
        let answer = try await waitForReply(to: ask, in: room, bot: botUser, viewer: ana, process: bot)
        XCTAssertEqual(answer.thread, root, "the answer stays in the thread")

        let start = try await ana.say(room, "!start demo", thread: root)
        try await waitForReply(to: start, in: room, bot: botUser, viewer: ana, process: bot)
        var question: BotMessage?
        try await eventually("a question in the thread", room: room, viewer: ana, bot: bot) {
            question = try await botMessages(room, bot: botUser, viewer: ana).last(where: isQuestion)
            return question != nil
        }
        XCTAssertEqual(question?.thread, root)
        // engine: anchored reactions (issue 15): a reaction on the question reaches the engine; what it
        // means is the engine's call. Ana then answers in the thread.
        let store = try StateStore(path: workDirectory.appendingPathComponent("bot.sqlite").path)
        let reaction = try await ana.react(room, to: question!.eventID, "2️⃣")
        try await eventually("the reaction handled", room: room, viewer: ana, bot: bot) { try self.handled(reaction, in: store) }
        let before = try await botMessages(room, bot: botUser, viewer: ana).count
        try await ana.say(room, "2", thread: root)
        let after = try await waitForBotMessages(atLeast: before + 1, in: room, bot: botUser, viewer: ana, process: bot)
        XCTAssertEqual(after.last?.thread, root, "the next step is said in the thread too")
    }

    /// A direct room needs no prefix or mention, and gets plain (not rich-reply) answers.
    func testDirectRoom() async throws {
        let ana = try await person("ana"), botUser = try await person("bot")
        let room = try await ana.createRoom(name: "DM \(tag)", invite: [botUser.userID], direct: true)
        let bot = try makeBot(botUser)
        try bot.start()
        try await waitForJoin(botUser, room, viewer: ana, process: bot)
        // Ana watches the room from here on (receipts come to her as incremental sync ephemera).
        var since = try await ana.request("GET", "/_matrix/client/v3/sync", query: [("timeout", "0")])["next_batch"]?.string ?? ""
        let question = try await ana.say(room, "what is a learning community?")
        let messages = try await waitForBotMessages(atLeast: 1, in: room, bot: botUser, viewer: ana, process: bot)
        XCTAssertNil(messages[0].replyTo, "no rich reply in a direct room")
        try await eventually("the bot's read receipt on Ana's message", room: room, viewer: ana, bot: bot) {
            let sync = try await ana.request("GET", "/_matrix/client/v3/sync", query: [("timeout", "0"), ("since", since)])
            since = sync["next_batch"]?.string ?? since
            let ephemeral = sync["rooms"]?["join"]?[room]?["ephemeral"]?["events"]?.array ?? []
            return ephemeral.contains { $0["type"]?.string == "m.receipt" && $0["content"]?[question]?["m.read"]?[botUser.userID] != nil }
        }
    }

    /// History from before the bot joined is not answered; invites from people outside the allow-list
    /// are declined; the bot leaves a room where it is alone; encrypted rooms are told once.
    func testFirstStartInvitesEncryptionAndLeaving() async throws {
        let ana = try await person("ana"), eve = try await person("eve"), bo = try await person("bo"), botUser = try await person("bot")
        let room = try await ana.createRoom(name: "Old \(tag)", invite: [bo.userID, botUser.userID])
        try await bo.join(room)
        let old = try await ana.say(room, "!help")
        let refused = try await eve.createRoom(name: "Eve \(tag)", invite: [botUser.userID])
        let encrypted = try await ana.createRoom(
            name: "Secret \(tag)", invite: [botUser.userID],
            initialState: [["type": "m.room.encryption", "state_key": "", "content": ["algorithm": "m.megolm.v1.aes-sha2"]]])

        let bot = try makeBot(botUser, extra: ["--allow-invites-from", ana.userID])
        try bot.start()
        try await waitForJoin(botUser, room, viewer: ana, process: bot)
        try await waitForJoin(botUser, encrypted, viewer: ana, process: bot)
        let fresh = try await ana.say(room, "!help")
        try await waitForReply(to: fresh, in: room, bot: botUser, viewer: ana, process: bot)
        let botSaid = try await botMessages(room, bot: botUser, viewer: ana)
        XCTAssertFalse(botSaid.contains { $0.replyTo == old }, "a message from before the bot joined is history")

        try await eventually("Eve's invite declined", bot: bot) { try await eve.membership(of: botUser.userID, in: refused) == "leave" }
        let eveRoom = try await botMessages(refused, bot: botUser, viewer: eve)
        XCTAssertTrue(eveRoom.isEmpty)
        let declined = try await eve.request(
            "GET", "/_matrix/client/v3/rooms/\(TestUser.seg(refused))/state/m.room.member/\(TestUser.seg(botUser.userID))")
        XCTAssertFalse((declined["reason"]?.string ?? "").isEmpty, "the decline says why: \(declined)")

        for n in 0..<2 {
            try await ana.send(
                encrypted, type: "m.room.encrypted",
                [
                    "algorithm": "m.megolm.v1.aes-sha2", "ciphertext": .string("opaque-\(n)"), "sender_key": "k", "session_id": "s",
                    "device_id": "D",
                ])
        }
        try await waitForBotMessages(atLeast: 1, in: encrypted, bot: botUser, viewer: ana, process: bot)
        let marker = try await ana.say(room, "!help")
        try await waitForReply(to: marker, in: room, bot: botUser, viewer: ana, process: bot)
        let notices = try await botMessages(encrypted, bot: botUser, viewer: ana)
        XCTAssertEqual(notices.count, 1, "the encryption notice is said once")
        XCTAssertTrue(notices.first?.body.lowercased().contains("encrypt") ?? false)

        // Ana leaves: the bot, alone, leaves too.
        try await ana.leave(encrypted)
        try await eventually("the bot leaves the empty room", bot: bot) {
            let admin = try await homeserver.register("admin-\(UUID().uuidString.prefix(6).lowercased())", admin: true)
            let members = try await admin.request("GET", "/_synapse/admin/v1/rooms/\(TestUser.seg(encrypted))/members")
            return (members["total"]?.int ?? 1) == 0
        }
    }

    /// `fabrique matrix --check` reports who the bot is; a wrong token is a clear error without the token.
    func testCheck() async throws {
        let botUser = try await person("bot")
        let good = try makeBot(botUser, extra: ["--check"], environment: ["FABRIQUE_MATRIX_TOKEN": botUser.token!])
        try good.start()
        let goodStatus = await good.waitForExit(timeout: 60)
        XCTAssertEqual(goodStatus, 0, good.output)
        XCTAssertTrue(good.output.contains(botUser.userID), good.output)
        XCTAssertFalse(good.output.contains(botUser.token!), "the token never appears in output")

        let bad = try makeBot(
            botUser, database: "bad.sqlite", extra: ["--check"], environment: ["FABRIQUE_MATRIX_TOKEN": "syt_not_a_real_token_12345"])
        try bad.start()
        let badStatus = await bad.waitForExit(timeout: 60)
        XCTAssertNotEqual(badStatus, 0)
        XCTAssertTrue(bad.output.contains("M_UNKNOWN_TOKEN"), bad.output)
        XCTAssertFalse(bad.output.contains("syt_not_a_real_token_12345"), bad.output)

        // Serving with a refused token stops at once, with the same clear message.
        let serving = try makeBot(botUser, database: "serving.sqlite", environment: ["FABRIQUE_MATRIX_TOKEN": "syt_not_a_real_token_12345"])
        try serving.start()
        let servingStatus = await serving.waitForExit(timeout: 60)
        XCTAssertNotNil(servingStatus)
        XCTAssertNotEqual(servingStatus, 0)
        XCTAssertTrue(serving.output.contains("M_UNKNOWN_TOKEN"), serving.output)
        XCTAssertFalse(serving.output.contains("syt_not_a_real_token_12345"), serving.output)
    }
}
