import BotCore
import FabriqueTesting
import Foundation
import XCTest

@testable import MatrixAdapter

/// Builds sync responses the way Synapse shapes them.
enum SyncFixture {
    static let bot = "@fab:s.org"
    static let room = "!group:s.org"

    static func message(_ id: String, from sender: String, _ body: String, extra: [String: JSON] = [:], msgtype: String = "m.text") -> JSON
    {
        var content: [String: JSON] = ["msgtype": .string(msgtype), "body": .string(body)]
        for (k, v) in extra { content[k] = v }
        return [
            "event_id": .string(id), "sender": .string(sender), "type": "m.room.message", "origin_server_ts": 1_700_000_000_000,
            "content": .object(content),
        ]
    }

    static func state(_ type: String, key: String = "", from sender: String = "@ana:s.org", _ content: JSON, prev: JSON? = nil) -> JSON {
        var event: [String: JSON] = [
            "event_id": .string("$state-\(type)-\(key)"), "sender": .string(sender), "type": .string(type), "state_key": .string(key),
            "content": content, "origin_server_ts": 1,
        ]
        if let prev { event["unsigned"] = ["prev_content": prev] }
        return .object(event)
    }

    static func sync(room: String = room, timeline: [JSON], state: [JSON] = [], members: Int? = 3, limited: Bool = false) -> JSON {
        var joined: [String: JSON] = [
            "timeline": ["events": .array(timeline), "limited": .bool(limited)], "state": ["events": .array(state)],
        ]
        if let members { joined["summary"] = ["m.joined_member_count": .number(Double(members))] }
        return ["next_batch": "s2", "rooms": ["join": .object([room: .object(joined)])]]
    }

    static let powerLevels = state(
        "m.room.power_levels", ["users": ["@ana:s.org": 100, "@bo:s.org": 50, "@cy:s.org": "20"], "users_default": 0])
}

final class SyncTranslatorTests: XCTestCase {
    typealias F = SyncFixture

    func translator(policy: MatrixPolicy = MatrixPolicy()) -> SyncTranslator {
        SyncTranslator(bot: BotIdentity(userID: F.bot, displayName: "Fabrique"), policy: policy)
    }

    func messages(_ t: SyncTranslation) -> [IncomingMessage] {
        t.events.compactMap { if case .message(let m) = $0 { m } else { nil } }
    }

    func testPlainMessageCarriesSenderRoomAndFacilitatorRole() {
        var t = translator()
        let result = t.translate(
            F.sync(
                timeline: [
                    F.message("$1", from: "@ana:s.org", "hello"), F.message("$2", from: "@bo:s.org", "hi"),
                    F.message("$3", from: "@cy:s.org", "yo"),
                ], state: [F.powerLevels, F.state("m.room.member", key: "@ana:s.org", ["membership": "join", "displayname": "Ana B."])]),
            initial: false)
        let m = messages(result)
        XCTAssertEqual(m.map(\.eventID), ["$1", "$2", "$3"])
        XCTAssertEqual(m.map(\.senderIsFacilitator), [true, true, false])
        XCTAssertEqual(m[0].senderName, "Ana B.")
        XCTAssertEqual(m[1].senderName, "bo")
        XCTAssertEqual(m[0].roomKind, .group)
        XCTAssertEqual(m[0].timestamp, Date(timeIntervalSince1970: 1_700_000_000))
        XCTAssertFalse(m[0].mentionsBot)
    }

    /// The room's name comes from its state (`m.room.name`), and follows a rename in the timeline.
    func testMessagesCarryTheRoomsName() {
        var t = translator()
        let first = messages(
            t.translate(
                F.sync(
                    timeline: [F.message("$1", from: "@ana:s.org", "hello")],
                    state: [F.powerLevels, F.state("m.room.name", key: "", ["name": " Atelier Drôme "])]), initial: false))
        XCTAssertEqual(first.first?.roomName, "Atelier Drôme")
        let renamed = messages(
            t.translate(
                F.sync(timeline: [F.state("m.room.name", key: "", ["name": "Atelier du Diois"]), F.message("$2", from: "@ana:s.org", "hi")]
                ),
                initial: false))
        XCTAssertEqual(renamed.first?.roomName, "Atelier du Diois")
        XCTAssertTrue(MatrixAdapter.eventTypes.contains("m.room.name"), "the sync filter lets the name through")
    }

    /// The members a message lists (what `!send` reaches): unknown until the adapter read the room's joined
    /// members; then the bot left out, and kept up to date by joins and leaves in the timeline.
    func testMessagesListTheRoomsMembersWithoutTheBot() {
        var t = translator()
        let before = messages(t.translate(F.sync(timeline: [F.message("$1", from: "@ana:s.org", "hi")]), initial: false))
        XCTAssertNil(before.first?.roomMembers, "not read yet: unknown, never guessed")
        t.directory.rooms[F.room, default: RoomInfo()].members = [F.bot, "@ana:s.org", "@bo:s.org"]
        t.directory.rooms[F.room, default: RoomInfo()].displayNames["@bo:s.org"] = "Bo V."
        let after = messages(
            t.translate(
                F.sync(timeline: [
                    F.state("m.room.member", key: "@cy:s.org", from: "@cy:s.org", ["membership": "join"]),
                    F.state("m.room.member", key: "@ana:s.org", from: "@ana:s.org", ["membership": "leave"]),
                    F.message("$2", from: "@bo:s.org", "hello"),
                ]), initial: false))
        XCTAssertEqual(after.first?.roomMembers, [RoomMember(id: "@bo:s.org", name: "Bo V."), RoomMember(id: "@cy:s.org", name: "cy")])
    }

    func testFacilitatorThresholdAndAllowList() {
        var t = translator(policy: MatrixPolicy(facilitatorPowerLevel: 100, facilitators: ["@cy:s.org"]))
        let m = messages(
            t.translate(
                F.sync(
                    timeline: [
                        F.message("$1", from: "@ana:s.org", "a"), F.message("$2", from: "@bo:s.org", "b"),
                        F.message("$3", from: "@cy:s.org", "c"),
                    ], state: [F.powerLevels]), initial: false))
        XCTAssertEqual(m.map(\.senderIsFacilitator), [true, false, true])
    }

    /// From room version 12 the creators outrank every level and are absent from `m.room.power_levels`.
    func testRoomCreatorsFacilitateFromRoomVersion12() {
        let levels = F.state("m.room.power_levels", ["users": [F.bot: 50], "users_default": 0])
        func facilitators(version: String, additional: [JSON] = []) -> [Bool] {
            var t = translator()
            let create = F.state(
                "m.room.create", from: "@ana:s.org", ["room_version": .string(version), "additional_creators": .array(additional)])
            return messages(
                t.translate(
                    F.sync(
                        timeline: [
                            F.message("$1", from: "@ana:s.org", "a"), F.message("$2", from: "@bo:s.org", "b"),
                        ], state: [create, levels]), initial: false)
            ).map(\.senderIsFacilitator)
        }
        XCTAssertEqual(facilitators(version: "12"), [true, false])
        XCTAssertEqual(facilitators(version: "12", additional: ["@bo:s.org"]), [true, true])
        XCTAssertEqual(facilitators(version: "11"), [false, false], "before version 12 the power levels decide")
        XCTAssertTrue(RoomCreators.creatorsArePrivileged("org.matrix.hydra.11"))
    }

    func testMentionsThroughMentionsFieldUserIDAndDisplayName() {
        var t = translator()
        let m = messages(
            t.translate(
                F.sync(timeline: [
                    F.message("$1", from: "@ana:s.org", "hey", extra: ["m.mentions": ["user_ids": [.string(F.bot)]]]),
                    F.message("$2", from: "@ana:s.org", "ask @fab:s.org please"),
                    F.message("$3", from: "@ana:s.org", "fabrique: help"),
                    F.message("$4", from: "@ana:s.org", "fabriques are nice"),
                    F.message("$5", from: "@ana:s.org", "hey", extra: ["m.mentions": ["user_ids": ["@bo:s.org"]]]),
                ]), initial: false))
        XCTAssertEqual(m.map(\.mentionsBot), [true, true, true, false, false])
    }

    func testOwnMessagesAndOtherBotsNoticesAreIgnoredButRepliesToTheBotAreSeen() {
        var t = translator()
        let result = t.translate(
            F.sync(timeline: [
                F.message("$bot1", from: F.bot, "Question?"),
                F.message("$n", from: "@otherbot:s.org", "beep", msgtype: "m.notice"),
                F.message("$img", from: "@ana:s.org", "cat.png", msgtype: "m.image"),
                F.message(
                    "$r", from: "@ana:s.org", "> <@fab:s.org> Question?\n\nyes",
                    extra: ["m.relates_to": ["m.in_reply_to": ["event_id": "$bot1"]]]),
            ]), initial: false)
        let m = messages(result)
        XCTAssertEqual(m.map(\.eventID), ["$r"])
        XCTAssertTrue(m[0].repliesToBot)
        XCTAssertEqual(m[0].replyToEventID, "$bot1")
        XCTAssertEqual(m[0].text, "yes", "the legacy reply fallback is stripped")
    }

    func testThreadReplies() {
        var t = translator()
        let m = messages(
            t.translate(
                F.sync(timeline: [
                    F.message(
                        "$t1", from: "@ana:s.org", "in thread",
                        extra: [
                            "m.relates_to": [
                                "rel_type": "m.thread", "event_id": "$root", "is_falling_back": true,
                                "m.in_reply_to": ["event_id": "$last"],
                            ]
                        ]),
                    F.message(
                        "$t2", from: "@ana:s.org", "reply in thread",
                        extra: [
                            "m.relates_to": [
                                "rel_type": "m.thread", "event_id": "$root", "is_falling_back": false, "m.in_reply_to": ["event_id": "$q"],
                            ]
                        ]),
                ]), initial: false))
        XCTAssertEqual(m.map(\.threadID), ["$root", "$root"])
        XCTAssertEqual(m.map(\.replyToEventID), [nil, "$q"])
    }

    func testEditsAndRedactions() {
        var t = translator()
        let result = t.translate(
            F.sync(timeline: [
                F.message(
                    "$e", from: "@ana:s.org", "* 4",
                    extra: [
                        "m.new_content": ["msgtype": "m.text", "body": "4"],
                        "m.relates_to": ["rel_type": "m.replace", "event_id": "$orig"],
                    ]),
                [
                    "event_id": "$red", "sender": "@ana:s.org", "type": "m.room.redaction", "redacts": "$orig", "content": [:],
                    "origin_server_ts": 5,
                ],
                [
                    "event_id": "$red11", "sender": "@ana:s.org", "type": "m.room.redaction", "content": ["redacts": "$other"],
                    "origin_server_ts": 5,
                ],
            ]), initial: false)
        XCTAssertEqual(result.events.count, 3)
        guard case .edit(let original, let message) = result.events[0] else { return XCTFail("\(result.events[0])") }
        XCTAssertEqual(original, "$orig")
        XCTAssertEqual(message.text, "4")
        XCTAssertEqual(message.eventID, "$e")
        XCTAssertEqual(
            result.events[1],
            .redaction(
                redacted: "$orig", roomID: F.room, senderID: "@ana:s.org", eventID: "$red", timestamp: Date(timeIntervalSince1970: 0.005)))
        guard case .redaction(let redacted, _, _, _, _, _) = result.events[2] else { return XCTFail() }
        XCTAssertEqual(redacted, "$other", "room version 11 puts `redacts` in the content")
    }

    /// A redaction says whether its sender may remove other people's events in the room: the room's
    /// `redact` level (50 unless set), creators from room version 12 always; the engine decides what it allows.
    func testARedactionSaysWhetherItsSenderModerates() {
        func moderators(redact: JSON?) -> [String: Bool] {
            var t = translator()
            var levels: [String: JSON] = ["users": ["@ana:s.org": 100, "@bo:s.org": 50, "@cy:s.org": 20], "users_default": 0]
            if let redact { levels["redact"] = redact }
            let senders = ["@ana:s.org", "@bo:s.org", "@cy:s.org", "@eve:s.org"]
            let result = t.translate(
                F.sync(
                    timeline: senders.enumerated().map { n, sender in
                        [
                            "event_id": .string("$r\(n)"), "sender": .string(sender), "type": "m.room.redaction", "redacts": "$x",
                            "content": [:],
                        ]
                    }, state: [F.state("m.room.power_levels", .object(levels))]), initial: false)
            var found: [String: Bool] = [:]
            for event in result.events {
                guard case .redaction(_, _, let sender, _, _, let byModerator) = event else { continue }
                found[sender] = byModerator
            }
            return found
        }
        XCTAssertEqual(moderators(redact: nil), ["@ana:s.org": true, "@bo:s.org": true, "@cy:s.org": false, "@eve:s.org": false])
        XCTAssertEqual(moderators(redact: 20), ["@ana:s.org": true, "@bo:s.org": true, "@cy:s.org": true, "@eve:s.org": false])
        XCTAssertEqual(moderators(redact: 100), ["@ana:s.org": true, "@bo:s.org": false, "@cy:s.org": false, "@eve:s.org": false])
    }

    /// A rich reply to the bot's question, or a reply in the thread that hangs from it, carries the
    /// question's anchor; a reply to someone else's message carries none.
    func testRepliesToABotQuestionCarryItsAnchor() {
        var t = translator()
        let result = t.translate(
            F.sync(
                timeline: [
                    F.message("$q", from: F.bot, "Question 1?", extra: [SyncTranslator.anchorKey: "run-1/q1"]),
                    F.message("$q2", from: F.bot, "Question 2?", extra: [SyncTranslator.anchorKey: "run-1/q2"]),
                    F.message("$said", from: F.bot, "Thanks.", extra: [:]),
                    F.message("$bo", from: "@bo:s.org", "I'll send the figures tonight"),
                    F.message(
                        "$reply", from: "@ana:s.org", "> <@fab:s.org> Question 1?\n\n2 it's patchy",
                        extra: ["m.relates_to": ["m.in_reply_to": ["event_id": "$q"]]]),
                    F.message(
                        "$thread", from: "@cy:s.org", "3",
                        extra: [
                            "m.relates_to": [
                                "rel_type": "m.thread", "event_id": "$q", "is_falling_back": true, "m.in_reply_to": ["event_id": "$q"],
                            ]
                        ]),
                    F.message(
                        "$inThread", from: "@cy:s.org", "no, 2",
                        extra: [
                            "m.relates_to": [
                                "rel_type": "m.thread", "event_id": "$q", "is_falling_back": false,
                                "m.in_reply_to": ["event_id": "$thread"],
                            ]
                        ]),
                    F.message(
                        "$late", from: "@ana:s.org", "4",
                        extra: [
                            "m.relates_to": [
                                "rel_type": "m.thread", "event_id": "$bo", "is_falling_back": false, "m.in_reply_to": ["event_id": "$q2"],
                            ]
                        ]),
                    F.message("$side", from: "@ana:s.org", "ok", extra: ["m.relates_to": ["m.in_reply_to": ["event_id": "$bo"]]]),
                    F.message(
                        "$sideThread", from: "@ana:s.org", "ok",
                        extra: [
                            "m.relates_to": [
                                "rel_type": "m.thread", "event_id": "$bo", "is_falling_back": true, "m.in_reply_to": ["event_id": "$bo"],
                            ]
                        ]),
                    F.message(
                        "$thanks", from: "@ana:s.org", "you're welcome", extra: ["m.relates_to": ["m.in_reply_to": ["event_id": "$said"]]]),
                    F.message("$plain", from: "@ana:s.org", "2"),
                ], state: [F.powerLevels]), initial: false)
        let m = messages(result)
        XCTAssertEqual(m.map(\.eventID), ["$bo", "$reply", "$thread", "$inThread", "$late", "$side", "$sideThread", "$thanks", "$plain"])
        XCTAssertEqual(m.map(\.anchor), [nil, "run-1/q1", "run-1/q1", "run-1/q1", "run-1/q2", nil, nil, nil, nil])
        XCTAssertEqual(m[1].text, "2 it's patchy")
        XCTAssertTrue(m[1].repliesToBot)
        XCTAssertEqual(m[1].replyToEventID, "$q")
        XCTAssertNil(m[1].threadID)
        XCTAssertEqual(m[2].threadID, "$q", "a thread reply keeps its thread")
        XCTAssertNil(m[2].replyToEventID, "a thread's falling-back reply is not a reply")
        XCTAssertEqual(m[3].replyToEventID, "$thread", "a reply to a person inside the question's thread: the thread's anchor")
        XCTAssertEqual(m[4].threadID, "$bo", "a rich reply to a question wins over the thread it is said in")
        XCTAssertTrue(m[7].repliesToBot, "a reply to the bot's message without an anchor replies to the bot, and answers nothing")
    }

    /// `org.fabrique.anchor` in a person's event is a forgery: never handed to the engine, whether the
    /// event comes through sync or is fetched by the adapter (`remember(sender:of:content:)`).
    func testAnAnchorInAPersonsEventIsNeverTrusted() {
        var t = translator()
        let forged: JSON = [SyncTranslator.anchorKey: "run-1/q1", "msgtype": "m.text", "body": "fake"]
        t.remember(sender: "@eve:s.org", of: "$fetched", content: forged)
        t.remember(sender: F.bot, of: "$fetchedQ", content: ["msgtype": "m.notice", "body": "Q?", SyncTranslator.anchorKey: "run-1/q3"])
        XCTAssertNil(t.directory.anchors["$fetched"])
        XCTAssertEqual(t.directory.anchors["$fetchedQ"], "run-1/q3")
        let result = t.translate(
            F.sync(timeline: [
                F.message("$forged", from: "@eve:s.org", "fake question", extra: [SyncTranslator.anchorKey: "run-1/q1"]),
                F.message("$r1", from: "@ana:s.org", "2", extra: ["m.relates_to": ["m.in_reply_to": ["event_id": "$forged"]]]),
                F.message(
                    "$r2", from: "@ana:s.org", "2",
                    extra: [
                        "m.relates_to": [
                            "rel_type": "m.thread", "event_id": "$forged", "is_falling_back": true,
                            "m.in_reply_to": ["event_id": "$forged"],
                        ]
                    ]),
                F.message("$r3", from: "@ana:s.org", "2", extra: ["m.relates_to": ["m.in_reply_to": ["event_id": "$fetched"]]]),
                F.message("$r4", from: "@ana:s.org", "2", extra: ["m.relates_to": ["m.in_reply_to": ["event_id": "$fetchedQ"]]]),
                F.message("$own", from: "@ana:s.org", "2", extra: [SyncTranslator.anchorKey: "run-1/q1"]),
                reaction("$x", on: "$forged", "2️⃣"),
            ]), initial: false)
        XCTAssertEqual(messages(result).map(\.anchor), [nil, nil, nil, nil, "run-1/q3", nil])
        XCTAssertEqual(messages(result).map(\.repliesToBot), [false, false, false, false, true, false])
        XCTAssertEqual(result.events.count, 6, "a reaction on a person's message is not for the bot")
    }

    func reaction(_ id: String, from sender: String = "@bo:s.org", on target: String, _ key: String) -> JSON {
        [
            "event_id": .string(id), "sender": .string(sender), "type": "m.reaction", "origin_server_ts": 1,
            "content": ["m.relates_to": ["rel_type": "m.annotation", "event_id": .string(target), "key": .string(key)]],
        ]
    }

    /// A reaction on one of the bot's messages is a `.reaction` with its key and the message's anchor and
    /// thread, never a message; reactions on anyone else's message, or by the bot, are left alone.
    func testReactionsOnTheBotsMessagesAreReactionsWithTheirAnchor() {
        var t = translator()
        t.directory.remember(sender: F.bot, of: "$q1", anchor: "run-1/q1", threadID: "$th")
        t.directory.remember(sender: F.bot, of: "$notice", anchor: nil)
        let result = t.translate(
            F.sync(
                timeline: [
                    F.message("$q2", from: F.bot, "Question 2?", extra: [SyncTranslator.anchorKey: "run-1/q2"]),
                    F.message("$ana", from: "@ana:s.org", "I think so"),
                    reaction("$a", on: "$q2", "2️⃣"), reaction("$b", from: "@ana:s.org", on: "$q1", "3\u{20E3}"),
                    reaction("$c", on: "$q1", "👍"),
                    reaction("$d", on: "$notice", "🎉"), reaction("$e", on: "$ana", "1️⃣"), reaction("$f", on: "$unknown", "1️⃣"),
                    reaction("$g", from: F.bot, on: "$q2", "1️⃣"),
                ], state: [F.powerLevels]), initial: false)
        XCTAssertEqual(messages(result).map(\.eventID), ["$ana"], "no reaction becomes a message")
        let reactions = result.events.compactMap { if case .reaction(let m) = $0 { m } else { nil } }
        XCTAssertEqual(reactions.map(\.eventID), ["$a", "$b", "$c", "$d"])
        XCTAssertEqual(reactions.map(\.text), ["2️⃣", "3\u{20E3}", "👍", "🎉"], "the key as it came: what it means is the engine's call")
        XCTAssertEqual(reactions.map(\.anchor), ["run-1/q2", "run-1/q1", "run-1/q1", nil])
        XCTAssertEqual(reactions.map(\.threadID), [nil, "$th", "$th", nil], "a reaction belongs to its message's thread")
        XCTAssertEqual(reactions.map(\.replyToEventID), ["$q2", "$q1", "$q1", "$notice"])
        XCTAssertEqual(reactions.map(\.senderIsFacilitator), [true, true, true, true])
        XCTAssertEqual(reactions[1].senderName, "ana")
        XCTAssertTrue(reactions.allSatisfy { $0.repliesToBot && !$0.mentionsBot && $0.roomKind == .group && $0.roomID == F.room })
    }

    /// An edit is an `.edit` and a reaction a `.reaction`, even on an anchored question: neither is a message.
    func testNeitherAnEditNorAReactionIsAMessage() {
        var t = translator()
        t.directory.remember(sender: F.bot, of: "$q", anchor: "run-1/q1")
        let result = t.translate(
            F.sync(timeline: [
                F.message("$r", from: "@ana:s.org", "3", extra: ["m.relates_to": ["m.in_reply_to": ["event_id": "$q"]]]),
                F.message(
                    "$e", from: "@ana:s.org", "* 2",
                    extra: [
                        "m.new_content": ["msgtype": "m.text", "body": "2"], "m.relates_to": ["rel_type": "m.replace", "event_id": "$r"],
                    ]),
                reaction("$x", from: "@ana:s.org", on: "$q", "2️⃣"),
            ]), initial: false)
        XCTAssertEqual(result.events.count, 3)
        guard case .message(let reply) = result.events[0] else { return XCTFail("\(result.events[0])") }
        XCTAssertEqual(reply.anchor, "run-1/q1")
        guard case .edit(let original, let edit) = result.events[1] else { return XCTFail("\(result.events[1])") }
        XCTAssertEqual(original, "$r")
        XCTAssertEqual(edit.text, "2")
        guard case .reaction(let reaction) = result.events[2] else { return XCTFail("\(result.events[2])") }
        XCTAssertEqual(reaction.anchor, "run-1/q1")
    }

    /// What the adapter fetches when it does not know it: a reply's target, a thread's root (not the
    /// falling-back reply), the message reacted on; nothing for an edit.
    func testLookedUpEvents() {
        XCTAssertEqual(
            SyncTranslator.lookedUpEvents(
                of: F.message("$1", from: "@ana:s.org", "x", extra: ["m.relates_to": ["m.in_reply_to": ["event_id": "$q"]]])), ["$q"])
        XCTAssertEqual(
            SyncTranslator.lookedUpEvents(
                of: F.message(
                    "$2", from: "@ana:s.org", "x",
                    extra: [
                        "m.relates_to": [
                            "rel_type": "m.thread", "event_id": "$root", "is_falling_back": true, "m.in_reply_to": ["event_id": "$last"],
                        ]
                    ])), ["$root"])
        XCTAssertEqual(
            SyncTranslator.lookedUpEvents(
                of: F.message(
                    "$3", from: "@ana:s.org", "x",
                    extra: [
                        "m.relates_to": [
                            "rel_type": "m.thread", "event_id": "$root", "is_falling_back": false, "m.in_reply_to": ["event_id": "$q"],
                        ]
                    ])), ["$root", "$q"])
        XCTAssertEqual(SyncTranslator.lookedUpEvents(of: reaction("$4", on: "$q", "1️⃣")), ["$q"])
        XCTAssertEqual(
            SyncTranslator.lookedUpEvents(
                of: F.message("$5", from: "@ana:s.org", "* x", extra: ["m.relates_to": ["rel_type": "m.replace", "event_id": "$q"]])), [])
        XCTAssertEqual(SyncTranslator.lookedUpEvents(of: F.message("$6", from: "@ana:s.org", "x")), [])
    }

    func testMalformedEventsAreSkippedAndReportedNeverFatal() {
        var t = translator()
        let result = t.translate(
            F.sync(
                timeline: [
                    "not an object", ["sender": "@ana:s.org", "type": "m.room.message"],
                    ["event_id": "$x", "type": "m.room.message", "content": ["body": "no sender"]],
                    ["event_id": "$y", "sender": "@ana:s.org", "type": "m.room.message", "content": ["msgtype": "m.text", "body": 42]],
                    ["event_id": "$z", "sender": "@ana:s.org", "type": "m.room.message", "content": "string content"],
                    ["event_id": "$w", "sender": 7, "type": "m.room.message", "content": [:]],
                    ["event_id": "$v", "sender": "@ana:s.org", "type": "m.reaction", "content": ["m.relates_to": "x"]],
                    ["event_id": "$u", "sender": "@ana:s.org", "type": "m.room.redaction", "content": [:]],
                    [
                        "event_id": "$t", "sender": "@ana:s.org", "type": "m.room.message",
                        "content": ["msgtype": "m.text", "body": "x", "m.relates_to": ["rel_type": "m.replace"]],
                    ],
                    F.message("$ok", from: "@ana:s.org", "still here", extra: ["m.mentions": "wrong type"]),
                    F.message("$redacted", from: "@ana:s.org", "").replacing(content: [:]),
                ], state: [["type": "m.room.power_levels", "state_key": "", "content": ["users": "nope"]]]), initial: false)
        XCTAssertEqual(messages(result).map(\.eventID), ["$ok"])
        XCTAssertEqual(result.malformed.count, 9)
    }

    func testHugeAndOddValuesDoNotTrap() {
        var t = translator()
        let big = String(repeating: "x", count: 200_000)
        let result = t.translate(
            F.sync(
                timeline: [
                    [
                        "event_id": "$1", "sender": "@ana:s.org", "type": "m.room.message", "origin_server_ts": 1e300,
                        "content": ["msgtype": "m.text", "body": .string(big)],
                    ],
                    [
                        "event_id": "$2", "sender": "@ana:s.org", "type": "m.room.message", "origin_server_ts": -1,
                        "content": ["msgtype": "m.text", "body": "\u{202E}\u{0}"],
                    ],
                ], state: [F.state("m.room.power_levels", ["users": ["@ana:s.org": 1e300], "users_default": -1e300])]), initial: false)
        XCTAssertEqual(messages(result).count, 2)
    }

    func testFirstStartAbsorbsStateButAnswersNoHistory() {
        var t = translator()
        let result = t.translate(
            F.sync(timeline: [F.message("$old", from: "@ana:s.org", "!start demo")], state: [F.powerLevels]), initial: true)
        XCTAssertTrue(result.events.isEmpty)
        XCTAssertEqual(t.directory.rooms[F.room]?.powerLevels?.level(of: "@bo:s.org"), 50)
    }

    func testEventsBeforeTheBotJoinedAreHistory() {
        var t = translator()
        let joinEvent = F.state("m.room.member", key: F.bot, from: F.bot, ["membership": "join"], prev: ["membership": "invite"])
        let rename = F.state(
            "m.room.member", key: F.bot, from: F.bot, ["membership": "join", "displayname": "Fab"], prev: ["membership": "join"])
        let m = messages(
            t.translate(
                F.sync(timeline: [
                    F.message("$before", from: "@ana:s.org", "old"), joinEvent, F.message("$after", from: "@ana:s.org", "new"),
                    rename, F.message("$later", from: "@ana:s.org", "newer"),
                ]), initial: false))
        XCTAssertEqual(m.map(\.eventID), ["$after", "$later"])
    }

    /// With the bot's own events filtered out, a fresh join shows in `state`; the adapter then passes
    /// the events after the join, which replace the timeline. The timeline's state events still count.
    func testFreshJoinInStateTakesTheEventsAfterItAndKeepsTheTimelinesState() {
        var t = translator()
        let joinEvent = F.state("m.room.member", key: F.bot, from: F.bot, ["membership": "join"], prev: ["membership": "invite"])
        let encryption = F.state("m.room.encryption", key: "", from: "@ana:s.org", ["algorithm": "m.megolm.v1.aes-sha2"])
        let sync = F.sync(timeline: [encryption, F.message("$before", from: "@ana:s.org", "old")], state: [joinEvent])
        let translation = t.translate(sync, initial: false, afterJoin: [F.room: [F.message("$after", from: "@ana:s.org", "new")]])
        XCTAssertEqual(messages(translation).map(\.eventID), ["$after"])
        XCTAssertTrue(translation.actions.contains(.encryptionNotice(roomID: F.room)), "the timeline's m.room.encryption is applied")
        var u = translator()
        XCTAssertEqual(
            messages(u.translate(sync, initial: false)).map(\.eventID), ["$before"],
            "without afterJoin the adapter found the join older: read as usual")
    }

    /// Direct means the bot and one person, nobody else joined or invited: neither an invite's
    /// `is_direct` nor an `m.direct` list makes a room of four direct.
    func testDirectRoomsAreTwoMembersWhateverTheInviteSays() {
        func kind(members: Int?, invited: Int? = nil, extra: (inout [String: JSON]) -> Void = { _ in }) -> RoomKind? {
            var t = translator()
            var sync = F.sync(timeline: [F.message("$1", from: "@ana:s.org", "hi")], members: members).object!
            if let invited, case .object(var rooms)? = sync["rooms"], case .object(var join)? = rooms["join"],
                case .object(var room)? = join[F.room]
            {
                var summary = room["summary"]?.object ?? [:]
                summary["m.invited_member_count"] = .number(Double(invited))
                room["summary"] = .object(summary)
                join[F.room] = .object(room)
                rooms["join"] = .object(join)
                sync["rooms"] = .object(rooms)
            }
            extra(&sync)
            return messages(t.translate(.object(sync), initial: false)).first?.roomKind
        }
        XCTAssertEqual(kind(members: 2), .direct)
        XCTAssertEqual(kind(members: 2, invited: 1), .group, "a third person is on the way")
        XCTAssertEqual(kind(members: 3), .group)
        XCTAssertEqual(kind(members: nil), .group, "unknown: not direct")
        XCTAssertEqual(
            kind(members: 4) { sync in
                sync["account_data"] = ["events": [["type": "m.direct", "content": ["@ana:s.org": [.string(F.room)]]]]]
            }, .group, "m.direct says nothing about who is in the room")
        var t = translator()
        let invited = t.translate(
            F.sync(
                timeline: [
                    F.state("m.room.member", key: F.bot, from: "@ana:s.org", ["membership": "join", "is_direct": true]),
                    F.message("$2", from: "@bo:s.org", "hi"),
                ], members: 4), initial: false)
        XCTAssertEqual(messages(invited).map(\.roomKind), [.group], "an is_direct invite into a room of four")
    }

    func testInvitesFromAllowedPeopleAreJoinedOthersDeclined() {
        func invite(_ room: String, from inviter: String, direct: Bool = false) -> (String, JSON) {
            (
                room,
                [
                    "invite_state": [
                        "events": [
                            [
                                "type": "m.room.member", "state_key": .string(F.bot), "sender": .string(inviter),
                                "content": ["membership": "invite", "is_direct": .bool(direct)],
                            ]
                        ]
                    ]
                ]
            )
        }
        let invites = JSON.object(
            Dictionary(uniqueKeysWithValues: [
                invite("!a:s.org", from: "@ana:s.org", direct: true), invite("!b:s.org", from: "@eve:evil.org"),
                invite("!c:s.org", from: "@zed:friends.org"),
            ]))
        var t = translator()
        XCTAssertEqual(
            t.translate(["next_batch": "x", "rooms": ["invite": invites]], initial: true).actions,
            [
                .join(roomID: "!a:s.org", inviter: "@ana:s.org"), .reject(roomID: "!b:s.org", inviter: "@eve:evil.org"),
                .reject(roomID: "!c:s.org", inviter: "@zed:friends.org"),
            ])
        var u = translator(policy: MatrixPolicy(inviteAllowList: ["friends.org", "@eve:evil.org"]))
        XCTAssertEqual(
            u.translate(["next_batch": "x", "rooms": ["invite": invites]], initial: false).actions,
            [
                .reject(roomID: "!a:s.org", inviter: "@ana:s.org"), .join(roomID: "!b:s.org", inviter: "@eve:evil.org"),
                .join(roomID: "!c:s.org", inviter: "@zed:friends.org"),
            ])
    }

    func testLeavesWhenLastMemberAndWarnsOnceAboutEncryption() {
        var t = translator()
        let alone = t.translate(
            F.sync(timeline: [F.state("m.room.member", key: "@ana:s.org", ["membership": "leave"])], members: 1), initial: false)
        XCTAssertEqual(alone.actions, [.leaveEmpty(roomID: F.room)])
        var u = translator()
        let encrypted = u.translate(
            F.sync(
                timeline: [
                    [
                        "event_id": "$enc", "sender": "@ana:s.org", "type": "m.room.encrypted",
                        "content": ["algorithm": "m.megolm.v1.aes-sha2", "ciphertext": "..."],
                    ]
                ], state: [F.state("m.room.encryption", ["algorithm": "m.megolm.v1.aes-sha2"])]), initial: false)
        XCTAssertEqual(encrypted.actions, [.encryptionNotice(roomID: F.room)])
        XCTAssertTrue(encrypted.events.isEmpty)
    }

    func testGapEventsComeFirst() {
        var t = translator()
        let m = messages(
            t.translate(
                F.sync(timeline: [F.message("$3", from: "@ana:s.org", "c")], limited: true), initial: false,
                gaps: [F.room: [F.message("$1", from: "@ana:s.org", "a"), F.message("$2", from: "@bo:s.org", "b")]]))
        XCTAssertEqual(m.map(\.eventID), ["$1", "$2", "$3"])
    }
}

extension JSON {
    func replacing(content: JSON) -> JSON {
        guard case .object(var o) = self else { return self }
        o["content"] = content
        return .object(o)
    }
}

/// Malformed and mutated sync bodies through the parser and the translator: never a crash.
final class MalformedSyncTests: XCTestCase {
    func testMutatedSyncBodiesNeverTrap() {
        typealias F = SyncFixture
        let valid = F.sync(
            timeline: [
                F.message("$1", from: "@ana:s.org", "hello **world**", extra: ["m.mentions": ["user_ids": [.string(F.bot)]]]),
                F.message(
                    "$2", from: "@bo:s.org", "* 3",
                    extra: [
                        "m.new_content": ["msgtype": "m.text", "body": "3"], "m.relates_to": ["rel_type": "m.replace", "event_id": "$1"],
                    ]),
                [
                    "event_id": "$3", "sender": "@bo:s.org", "type": "m.reaction",
                    "content": ["m.relates_to": ["rel_type": "m.annotation", "event_id": "$q", "key": "2️⃣"]],
                ],
                ["event_id": "$4", "sender": "@bo:s.org", "type": "m.room.redaction", "redacts": "$2", "content": [:]],
            ], state: [SyncFixture.powerLevels]
        ).data()
        var random = SeededRandom()
        func next() -> UInt64 { random.next() }
        let interesting: [UInt8] = Array("{}[]\":,\\0123456789.-eEtfn \u{0}".utf8) + [0xFF, 0xC3, 0xED, 0xA0]
        var parsed = 0
        let start = ContinuousClock.now
        for _ in 0..<20_000 {
            var bytes = Array(valid)
            for _ in 0..<(1 + Int(next() % 6)) {
                let position = Int(next() % UInt64(bytes.count))
                switch next() % 3 {
                case 0: bytes[position] = interesting[Int(next() % UInt64(interesting.count))]
                case 1: bytes.remove(at: position)
                default: bytes.insert(interesting[Int(next() % UInt64(interesting.count))], at: position)
                }
            }
            guard let json = JSON.parse(Data(bytes)) else { continue }
            parsed += 1
            var translator = SyncTranslator(bot: BotIdentity(userID: F.bot, displayName: "Fabrique"), policy: MatrixPolicy())
            translator.directory.remember(sender: F.bot, of: "$q", anchor: "run-1/q1", threadID: "$th")
            _ = translator.translate(json, initial: false)
        }
        XCTAssertGreaterThan(parsed, 100, "some mutations stay valid JSON and reach the translator")
        XCTAssertLessThan(ContinuousClock.now - start, .seconds(20))
    }
}
