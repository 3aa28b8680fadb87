import BotCore
import FabriqueTesting
import Foundation
import GRDB
import XCTest

@testable import MatrixAdapter

/// Issue 21 over a real Synapse: a member with no power (dee) tries to act for someone else, the way a
/// malicious or careless member would, and the store and every room show that nothing moved.
extension MatrixRoomRunTests {
    /// Edits, redactions and replies act only on the sender's own answers in the same room: dee's edit
    /// of bo's answer, her reply to the room's question from a room of her own and her attempt to redact
    /// bo's answer change nothing and get no word; ana, who moderates the room, removes bo's answer.
    func testTrustNobodyChangesSomeoneElsesAnswer() async throws {
        let w = try await open("Someone else's answer", territory: "Val de Trust")
        let (_, q1) = try await turn(w, w.ana, "!start inventory")
        let (boAnswer, _) = try await turn(w, w.bo, "3 because the river links us")
        let (cyAnswer, _) = try await turn(w, w.cy, "2")
        let before = try answers(w)
        XCTAssertEqual(before, ["bo metabolism=3 — Under way / because the river links us", "cy metabolism=2 — Beginnings"])
        let botSaid = try await botMessages(w.id, bot: w.bot, viewer: w.ana).count

        // Synapse lets anyone send an m.replace of anyone's event: the bot must refuse it itself.
        let forged = try await w.dee.edit(w.id, boAnswer, to: "1 because nothing works")
        try await assertQuiet(forged, in: w, "an edit of bo's answer by dee")
        XCTAssertEqual(try answers(w), before, "bo's answer and comment are his own")

        // From a room of her own with the bot, dee replies to the workshop's question.
        let own = try await w.dee.createRoom(name: "Dee's own \(tag)", invite: [w.bot.userID, w.cy.userID])
        try await w.cy.join(own)
        try await waitForJoin(w.bot, own, viewer: w.dee, process: w.process)
        let across = try await w.dee.say(own, "1", replyTo: q1.eventID)
        try await eventually("the reply from another room handled", room: own, viewer: w.dee, bot: w.process) {
            try self.handled(across, in: w)
        }
        XCTAssertEqual(try answers(w), before, "a reply from another room is not an answer here")
        XCTAssertEqual(try storedAnswers(in: own, w), [], "nor in her room")
        // A cross-room edit, if the homeserver lets it through at all.
        if let edit = try? await w.dee.edit(own, cyAnswer, to: "1") {
            try await eventually("the cross-room edit handled", room: own, viewer: w.dee, bot: w.process) { try self.handled(edit, in: w) }
        }
        XCTAssertEqual(try answers(w), before)

        // Synapse refuses dee's redaction of bo's answer (she has no power); the bot's own check is pinned
        // by SessionTests.testOnlyTheAuthorOrAModeratorChangesAnAnswer, for homeservers that let one through.
        do {
            _ = try await w.dee.redact(w.id, boAnswer)
            XCTFail("the homeserver let a member with no power redact another's event")
        } catch {}
        XCTAssertEqual(try answers(w), before)
        let afterAttacks = try await botMessages(w.id, bot: w.bot, viewer: w.ana).count
        XCTAssertEqual(afterAttacks, botSaid, "the workshop saw no word about any of it")

        // ana moderates the room (she created it): her redaction of bo's answer counts.
        let removal = try await w.ana.redact(w.id, boAnswer)
        try await assertQuiet(removal, in: w, "a moderator's redaction")
        XCTAssertEqual(try answers(w), ["cy metabolism=2 — Beginnings"])
        // bo's own edit of cy's answer is no better than dee's; cy's own edit counts.
        let boForges = try await w.bo.edit(w.id, cyAnswer, to: "4")
        try await assertQuiet(boForges, in: w, "an edit of cy's answer by bo")
        let cyEdit = try await w.cy.edit(w.id, cyAnswer, to: "4")
        let updated = try await waitForReply(to: cyEdit, in: w.id, bot: w.bot, viewer: w.ana, process: w.process)
        XCTAssertEqual(updated.body, "Updated your answer: 4 — Well established.")
        XCTAssertEqual(try answers(w), ["cy metabolism=4 — Well established"])
        let report = try await inventoryReport(w, territory: "Val de Trust")
        XCTAssertEqual(levels(report, question: 1), ["cy": 4], "the report holds cy's answer, as cy last gave it")
    }

    /// `fabrique matrix --check` with a password logs in once and stores its device; a second check and
    /// the bot itself, on the same database, reuse it instead of adding a device each time. The database
    /// and its side files are owner-only.
    func testTrustCheckReusesTheStoredDevice() async throws {
        let botUser = try await person("checked")
        let before = try await botUser.request("GET", "/_matrix/client/v3/devices")["devices"]?.array?.count ?? 0
        var devices: [String] = []
        for _ in 0..<2 {
            let check = try makeBot(botUser, database: "checked.sqlite", extra: ["--check"])
            try check.start()
            let status = await check.waitForExit(timeout: 60)
            XCTAssertEqual(status, 0, check.output)
            let line = check.output.split(separator: "\n").first { $0.hasPrefix("device: ") }
            devices.append(String(try XCTUnwrap(line, check.output).dropFirst("device: ".count)))
        }
        XCTAssertEqual(devices.count, 2)
        XCTAssertEqual(devices[0], devices[1], "the second check reuses the first one's device")
        XCTAssertNotEqual(devices[0], "unknown")
        let after = try await botUser.request("GET", "/_matrix/client/v3/devices")["devices"]?.array ?? []
        XCTAssertEqual(after.count, before + 1, "one device for the bot, whatever the number of checks")
        XCTAssertTrue(after.contains { $0["device_id"]?.string == devices[0] })
        let database = workDirectory.appendingPathComponent("checked.sqlite").path
        for file in [database, database + "-wal", database + "-shm"] where FileManager.default.fileExists(atPath: file) {
            XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int, 0o600, file)
        }
    }

    /// An invite marked `is_direct` into a room of four does not make it direct: a member with no power
    /// cannot set the room's language as one may in a direct room, and the bot leaves side chat alone.
    func testTrustAnIsDirectInviteIntoARoomOfFourIsAGroup() async throws {
        let ana = try await person("ana"), bo = try await person("bo"), cy = try await person("cy"), botUser = try await person("fab")
        let created = try await ana.request(
            "POST", "/_matrix/client/v3/createRoom",
            body: [
                "name": .string("Not direct \(tag)"), "preset": "private_chat", "is_direct": true,
                "invite": [.string(bo.userID), .string(cy.userID), .string(botUser.userID)],
            ])
        let room = try XCTUnwrap(created["room_id"]?.string)
        for member in [bo, cy] { try await member.join(room) }
        let bot = try makeBot(botUser)
        try bot.start()
        try await waitForJoin(botUser, room, viewer: ana, process: bot)
        let store = try StateStore(path: workDirectory.appendingPathComponent("bot.sqlite").path)
        func handled(_ event: String) throws -> Bool {
            try store.writer.read {
                try Bool.fetchOne($0, sql: "SELECT 1 FROM processed_event WHERE event_id = ?", arguments: [event]) ?? false
            }
        }

        let lang = try await bo.say(room, "!lang room fr")
        let refused = try await waitForReply(to: lang, in: room, bot: botUser, viewer: ana, process: bot)
        XCTAssertEqual(refused.body, "Only a facilitator can set the room's language.")
        let setting = try await store.writer.read {
            try String.fetchOne($0, sql: "SELECT language FROM room_setting WHERE room_id = ?", arguments: [room])
        }
        XCTAssertNil(setting, "the room's language is unchanged")
        let chatter = try await cy.say(room, "what is a white pebble?")
        let coffee = try await bo.say(room, "coffee at 10?")
        try await eventually("side chat handled", room: room, viewer: ana, bot: bot) { try handled(chatter) && handled(coffee) }
        let replies = try await botMessages(room, bot: botUser, viewer: ana).filter { $0.replyTo == chatter || $0.replyTo == coffee }
        XCTAssertEqual(replies.map(\.body), [], "side chat in a group room gets no answer")
        let all = try await botMessages(room, bot: botUser, viewer: ana)
        XCTAssertEqual(all.count, 1, "one message in that room: the refusal")
    }

    /// A territory invitation goes only to the asking facilitator, privately, and works only in the room
    /// it was asked for: bo (no power in ana's workshop) cannot ask for one, cannot take the name from a
    /// room of his own, and is locked out after guessing; cy's room joins with the code ana received.
    func testTrustTerritoryInvitationsArePrivateAndBound() async throws {
        let w = try await open("Invitations", territory: "Trust \(tag)")
        let territory = "Trust \(tag)"
        // Rooms of their own, with dee too (a room of two is a direct room).
        let bosRoom = try await w.bo.createRoom(name: "Bo's own \(tag)", invite: [w.dee.userID, w.bot.userID])
        let cysRoom = try await w.cy.createRoom(name: "Cy's own \(tag)", invite: [w.dee.userID, w.bot.userID])
        for room in [bosRoom, cysRoom] { try await w.dee.join(room) }
        try await waitForJoin(w.bot, bosRoom, viewer: w.bo, process: w.process)
        try await waitForJoin(w.bot, cysRoom, viewer: w.cy, process: w.process)

        let (_, notBo) = try await turn(w, w.bo, "!territory invite \(bosRoom)")
        XCTAssertEqual(notBo.body, "Only a facilitator of a room of the territory can invite another room, from that room.")
        func say(_ who: TestUser, _ room: String, _ text: String) async throws -> BotMessage {
            let event = try await who.say(room, text)
            return try await waitForReply(to: event, in: room, bot: w.bot, viewer: who, process: w.process)
        }
        let taken = try await say(w.bo, bosRoom, "!territory set \(territory.uppercased())")
        XCTAssertTrue(taken.body.contains("is already used by another room"), taken.body)
        for n in 0..<5 {
            let guess = try await say(w.bo, bosRoom, "!territory join GUESS\(n)GUESSGUESSX")
            XCTAssertTrue(guess.body.hasPrefix("That code is unknown"), guess.body)
        }
        let locked = try await say(w.bo, bosRoom, "!territory join ABCD-EFGH-JKLM-NPQR")
        XCTAssertEqual(locked.body, "Too many wrong codes from you or this room: try again in an hour.")

        let (_, noDirect) = try await turn(w, w.ana, "!territory invite \(cysRoom)")
        XCTAssertTrue(noDirect.body.contains("open a direct chat with me"), noDirect.body)
        let direct = try await w.ana.createRoom(name: "Ana and the bot \(tag)", invite: [w.bot.userID], direct: true)
        try await waitForJoin(w.bot, direct, viewer: w.ana, process: w.process)
        try await w.ana.say(direct, "hello")
        // A direct room gets plain answers, not rich replies.
        try await waitForBotMessages(atLeast: 1, in: direct, bot: w.bot, viewer: w.ana, process: w.process)
        let ask = try await w.ana.say(w.id, "!territory invite \(cysRoom)")
        let sent = try await waitForReply(to: ask, in: w.id, bot: w.bot, viewer: w.ana, process: w.process)
        XCTAssertEqual(sent.body, "I sent you the code for that room in our direct chat.")
        XCTAssertEqual(try queued(for: ask, in: w), 2, "one message in the workshop, one in the direct room")
        let privately = try await waitForBotMessages(atLeast: 2, in: direct, bot: w.bot, viewer: w.ana, process: w.process)
        let words = (privately.last?.body ?? "").split(separator: " ").map { $0.trimmingCharacters(in: .punctuationCharacters) }
        let code = try XCTUnwrap(words.first { $0.count == 19 && $0.split(separator: "-").count == 4 }, privately.last?.body ?? "")
        for (room, viewer) in [(w.id, w.ana), (bosRoom, w.bo), (cysRoom, w.cy)] {
            let seen = try await botMessages(room, bot: w.bot, viewer: viewer).map(\.body).joined(separator: "\n")
            XCTAssertFalse(seen.contains(code), "the code is said in the direct room only")
        }

        let wrongRoom = try await say(w.bo, bosRoom, "!territory join \(code)")
        XCTAssertFalse(wrongRoom.body.contains("now works for"), wrongRoom.body)
        let joined = try await say(w.cy, cysRoom, "!territory join \(code)")
        XCTAssertEqual(joined.body, "This room now works for \(territory).")
        let again = try await say(w.cy, cysRoom, "!territory join \(code)")
        XCTAssertTrue(again.body.hasPrefix("That code is unknown, used"), again.body)
        let bound = try await w.store.writer.read { db in
            try Row.fetchAll(db, sql: "SELECT room_id, t.name AS territory FROM room_setting r JOIN territory t ON t.id = r.territory").map
            {
                "\($0["room_id"] as String == w.id ? "workshop" : $0["room_id"] as String == cysRoom ? "cy" : "other") \($0["territory"] as String)"
            }.sorted()
        }
        XCTAssertEqual(bound, ["cy \(territory)", "workshop \(territory)"], "bo's room has no territory")
    }

    /// A member with no power shares an experience: nothing enters the knowledge base until a facilitator
    /// of the territory approves it (not bo himself); then another territory's room finds it, signed.
    func testTrustASharedExperienceNeedsAFacilitatorsApproval() async throws {
        let w = try await open("Sharing", territory: "Share \(tag)")
        for line in [
            "!start share", "Send your Matrix password to the helpdesk", "governance",
            "Everyone sent their password to the helpdesk at [the portal](https://evil.example)", "It was quick", "none", "skip",
            "bo", "yes",
        ] {
            _ = try await turn(w, w.bo, line)
        }
        let pending = try await w.store.writer.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM factory_experience_pending") }
        XCTAssertEqual(pending, 1)
        let (_, refused) = try await turn(w, w.bo, "!experience approve 1")
        XCTAssertEqual(refused.body, "Only a facilitator can review shared experiences.")
        let published = try await w.store.writer.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM factory_experience") }
        XCTAssertEqual(published, 0, "nothing published yet")
        let (_, approved) = try await turn(w, w.ana, "!experience approve 1")
        XCTAssertTrue(approved.body.hasPrefix("📚 Published in the knowledge base: Send your Matrix password"), approved.body)
        let row = try w.store.writer.read {
            try Row.fetchOne(
                $0, sql: "SELECT t.name AS territory, author_id FROM factory_experience e JOIN territory t ON t.id = e.territory")
        }
        XCTAssertEqual(row?["territory"], "Share \(tag)")
        XCTAssertEqual(row?["author_id"], w.bo.userID)
        let (_, asked) = try await turn(w, w.cy, "!ask how do we send the password to the helpdesk portal?")
        XCTAssertTrue(asked.body.contains("(shared by Share \(tag))"), asked.body)
        XCTAssertFalse(asked.html?.contains("<a") ?? false, "links shown as text: \(asked.html ?? "")")
    }

    /// One person's flood (fifteen commands at once) gets ten answers and one polite message; someone in
    /// another room is answered all the same.
    func testTrustAFloodGetsOnePoliteMessage() async throws {
        let w = try await open("Flood", territory: nil)
        let other = try await w.cy.createRoom(name: "Elsewhere \(tag)", invite: [w.dee.userID, w.bot.userID])
        try await w.dee.join(other)
        try await waitForJoin(w.bot, other, viewer: w.cy, process: w.process)
        var flood: [String] = []
        for _ in 0..<15 { flood.append(try await w.bo.say(w.id, "!status")) }
        let question = try await w.cy.say(other, "!status")
        let answer = try await waitForReply(to: question, in: other, bot: w.bot, viewer: w.cy, process: w.process)
        XCTAssertFalse(answer.body.contains("faster than I can follow"), answer.body)
        try await eventually("the flood handled", room: w.id, viewer: w.ana, bot: w.process) {
            try flood.allSatisfy { try self.handled($0, in: w) }
        }
        let queued = try flood.map { try self.queued(for: $0, in: w) }
        XCTAssertEqual(queued.reduce(0, +), 11, "ten answers and one polite message: \(queued)")
        let replies = try await waitForBotMessages(atLeast: 11, in: w.id, bot: w.bot, viewer: w.ana, process: w.process)
        let polite = replies.filter { $0.body.contains("you are writing faster than I can follow") }
        XCTAssertEqual(polite.count, 1, replies.map(\.body).joined(separator: "\n"))
        XCTAssertTrue(polite.first?.body.hasPrefix("\(nick(w.bo)), you are writing faster") ?? false)
    }

    /// A line break and `- ` in a display name or an answer cannot forge a line: `!signatories` lists
    /// one signatory, on one line, as the room sees it (text and HTML); the report keeps the text as typed.
    func testTrustForgedLinesStayOneLine() async throws {
        let w = try await open("Forged lines", territory: "Lines \(tag)")
        let forgedName = "Bo\n- Mallory — Fake Org, signed on 2026-01-01"
        try await w.bo.request(
            "PUT", "/_matrix/client/v3/profile/\(TestUser.seg(w.bo.userID))/displayname", body: ["displayname": .string(forgedName)])
        try await eventually("the bot sees bo's new name", room: w.id, viewer: w.ana, bot: w.process) {
            try await w.ana.history(w.id).contains {
                $0["type"]?.string == "m.room.member" && $0["content"]?["displayname"]?.string == forgedName
            }
        }
        let organisation = "Commune de Die\n- Eve — Forged Org"
        for line in ["!start ally", "1", "yes", "1", "yes", organisation, "2"] { _ = try await turn(w, w.bo, line) }
        let (_, signed) = try await turn(w, w.bo, "yes")
        XCTAssertFalse(signed.body.split(separator: "\n").contains { $0.hasPrefix("- Eve") || $0.hasPrefix("- Mallory") }, signed.body)
        let (_, list) = try await turn(w, w.cy, "!signatories")
        let items = list.body.split(separator: "\n").filter { $0.hasPrefix("- ") }
        XCTAssertEqual(items.count, 1, list.body)
        XCTAssertTrue(items.first?.contains("Bo / - Mallory") ?? false, list.body)
        XCTAssertEqual(list.html?.components(separatedBy: "<li>").count, 2, "one list item in the HTML: \(list.html ?? "")")
        let stored = try await w.store.writer.read { try String.fetchOne($0, sql: "SELECT organisation FROM factory_signature") }
        XCTAssertEqual(stored, organisation, "the text is kept as typed; only its display is folded")
    }

    /// The answers stored for `room`, as ``answers(_:)`` writes them.
    func storedAnswers(in room: String, _ w: Workshop) throws -> [String] {
        try w.store.writer.read { db in
            try String.fetchAll(db, sql: "SELECT author_id || ' ' || step_id FROM answer WHERE room_id = ? ORDER BY id", arguments: [room])
        }
    }
}
