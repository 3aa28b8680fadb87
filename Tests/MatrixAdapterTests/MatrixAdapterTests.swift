import BotCore
import Foundation
import XCTest

@testable import MatrixAdapter

/// The adapter end to end over a scripted homeserver: what it sends, what it yields, how it fails.
final class MatrixAdapterTests: XCTestCase {
    let bot = "@fab:s.org"

    func adapter(
        _ http: FakeHTTPClient, store: StateStore? = nil, token: String? = "tok", password: String? = nil, logs: LogCapture = LogCapture(),
        environment: RetryEnvironment = SleepRecorder().environment, offerReactions: Bool = false
    ) throws -> (MatrixAdapter, StateStore) {
        let store = try store ?? StateStore(path: nil)
        let configuration = MatrixConfiguration(
            homeserver: URL(string: "http://hs.test")!, userID: bot, accessToken: token.map(AccessToken.init), password: password,
            offerReactions: offerReactions, syncTimeoutMS: 10)
        return (MatrixAdapter(configuration: configuration, store: store, http: http, environment: environment, logger: logs.logger), store)
    }

    func serve(_ http: FakeHTTPClient) {
        http.on("GET", "/account/whoami", .json(200, ["user_id": .string(bot), "device_id": "DEV"]))
        http.on("GET", "/displayname", .json(200, ["displayname": "Fabrique"]))
        http.on("GET", "/account_data/m.direct", .json(404, ["errcode": "M_NOT_FOUND"]))
        http.on("POST", "/filter", .json(200, ["filter_id": "7"]))
    }

    func body(_ request: HTTPRequest) -> JSON { request.body.flatMap(JSON.parse) ?? .null }

    func testReplyContent() {
        let group = MatrixAdapter.content(
            for: OutgoingMessage(id: "$e#0", roomID: "!r", markdown: "**Hi** <b>", replyToEventID: "$e", choices: ["a", "b"]),
            roomKind: .group)
        XCTAssertEqual(group["msgtype"]?.string, "m.notice")
        XCTAssertEqual(group["body"]?.string, "Hi <b>")
        XCTAssertEqual(group["formatted_body"]?.string, "<strong>Hi</strong> &lt;b&gt;")
        XCTAssertEqual(group["format"]?.string, "org.matrix.custom.html")
        XCTAssertEqual(group["m.relates_to"]?["m.in_reply_to"]?["event_id"]?.string, "$e")
        XCTAssertEqual(group["m.mentions"], ["user_ids": []])
        XCTAssertEqual(group["org.fabrique.choices"]?.int, 2)
        XCTAssertNil(group["org.fabrique.anchor"], "no anchor unless the engine set one")
        let anchored = MatrixAdapter.content(
            for: OutgoingMessage(id: "$e#1", roomID: "!r", markdown: "Q?", anchor: "run-1/q1"), roomKind: .group)
        XCTAssertEqual(anchored["org.fabrique.anchor"]?.string, "run-1/q1")

        let direct = MatrixAdapter.content(
            for: OutgoingMessage(id: "$e#0", roomID: "!r", markdown: "x", replyToEventID: "$e", style: .message), roomKind: .direct)
        XCTAssertNil(direct["m.relates_to"], "no rich reply in a direct room")
        XCTAssertEqual(direct["msgtype"]?.string, "m.text")

        let thread = MatrixAdapter.content(
            for: OutgoingMessage(id: "$e#0", roomID: "!r", markdown: "x", replyToEventID: "$e", threadID: "$root", mentions: ["@ana:s"]),
            roomKind: .group)
        XCTAssertEqual(
            thread["m.relates_to"],
            ["rel_type": "m.thread", "event_id": "$root", "is_falling_back": false, "m.in_reply_to": ["event_id": "$e"]])
        XCTAssertEqual(thread["m.mentions"], ["user_ids": ["@ana:s"]])
        let threadOnly = MatrixAdapter.content(
            for: OutgoingMessage(id: "t#1", roomID: "!r", markdown: "x", threadID: "$root"), roomKind: .group)
        XCTAssertEqual(threadOnly["m.relates_to"]?["is_falling_back"]?.bool, true)
    }

    func testDeliverUsesAStableTransaction() async throws {
        let http = FakeHTTPClient()
        serve(http)
        http.on("PUT", "/send/m.room.message/", .json(502, [:]), .json(200, ["event_id": "$q"]))
        let (adapter, store) = try adapter(http)
        let question = OutgoingMessage(id: "$cause:s#1", roomID: "!r:s", markdown: "Pick", choices: ["a", "b", "c"], anchor: "run-1/q1")
        try await adapter.deliver(question)
        try await adapter.deliver(question)
        let sends = http.requests("PUT", "/send/")
        XCTAssertEqual(sends.count, 3)
        XCTAssertEqual(Set(sends.map(\.url.path)).count, 1, "retries and re-deliveries reuse one transaction id")
        XCTAssertTrue(sends[0].url.path.hasSuffix("/" + TransactionID.make(for: "$cause:s#1")))
        XCTAssertEqual(body(sends[2])["org.fabrique.anchor"]?.string, "run-1/q1")
        XCTAssertNil(try store.setting("matrix.question:!r:s"), "the adapter keeps no question of its own: the anchor is in the event")
    }

    /// Choices are seeded as reactions only where the engine asks (a room setting) and the configuration allows.
    func testReactionsAreSeededOnlyWhenTheMessageOffersThem() async throws {
        for (offers, allowed, expected) in [(true, true, 3), (false, true, 0), (true, false, 0)] {
            let http = FakeHTTPClient()
            serve(http)
            http.on("PUT", "/send/m.room.message/", .json(200, ["event_id": "$q"]))
            http.on("PUT", "/send/m.reaction/", .json(200, ["event_id": "$r"]))
            let (adapter, _) = try adapter(http, offerReactions: allowed)
            try await adapter.deliver(
                OutgoingMessage(
                    id: "$c#0", roomID: "!r:s", markdown: "Pick", choices: ["a", "b", "c"], anchor: "run-1/q1", offersReactions: offers))
            let seeded = http.requests("PUT", "/send/m.reaction/").map(body)
            XCTAssertEqual(seeded.count, expected, "offers \(offers), allowed \(allowed)")
            if expected > 0 {
                XCTAssertEqual(seeded.map { $0["m.relates_to"]?["key"]?.string }, ["1️⃣", "2️⃣", "3️⃣"])
                XCTAssertTrue(seeded.allSatisfy { $0["m.relates_to"]?["event_id"]?.string == "$q" })
            }
        }
    }

    /// Replies and reactions to an anchored question carry its anchor: from memory while the adapter
    /// runs, from the fetched event after a restart, and only when the bot sent that event.
    func testAnchorsOfRepliesAndReactionsSurviveARestart() async throws {
        let room = "!r:s.org"
        func event(_ id: String, from sender: String = "@ana:s.org", type: String = "m.room.message", _ content: JSON) -> JSON {
            ["event_id": .string(id), "sender": .string(sender), "type": .string(type), "origin_server_ts": 1, "content": content]
        }
        func reply(_ id: String, to target: String) -> JSON {
            event(id, ["msgtype": "m.text", "body": "2", "m.relates_to": ["m.in_reply_to": ["event_id": .string(target)]]])
        }
        func reaction(_ id: String, on target: String) -> JSON {
            event(
                id, from: "@bo:s.org", type: "m.reaction",
                ["m.relates_to": ["rel_type": "m.annotation", "event_id": .string(target), "key": "2️⃣"]])
        }
        func sync(_ next: String, _ events: [JSON]) -> FakeHTTPClient.Reply {
            .json(
                200,
                [
                    "next_batch": .string(next),
                    "rooms": ["join": [room: ["timeline": ["events": .array(events)], "summary": ["m.joined_member_count": 3]]]],
                ])
        }
        func run(_ adapter: MatrixAdapter) async -> [IncomingEvent] {
            var events: [IncomingEvent] = []
            do { for try await batch in adapter.inbound() { events += batch.events } } catch {}
            return events
        }
        func anchors(_ events: [IncomingEvent]) -> [String] {
            events.map { event in
                switch event {
                case .message(let m): "message \(m.anchor ?? "-")"
                case .reaction(let m): "reaction \(m.text) \(m.anchor ?? "-")"
                default: "\(event)"
                }
            }
        }

        let http = FakeHTTPClient()
        serve(http)
        http.on("PUT", "/send/m.room.message/", .json(200, ["event_id": "$question"]))
        http.on(
            "GET", "/sync", .json(200, ["next_batch": "s1"]), sync("s2", [reply("$a", to: "$question"), reaction("$b", on: "$question")]),
            .json(401, ["errcode": "M_UNKNOWN_TOKEN"]))
        let (first, store) = try adapter(http)
        try await first.connect()
        try await first.deliver(OutgoingMessage(id: "$start#1", roomID: room, markdown: "Pick", choices: ["a", "b"], anchor: "run-1/q1"))
        let handled = await run(first)
        XCTAssertEqual(anchors(handled), ["message run-1/q1", "reaction 2️⃣ run-1/q1"])
        XCTAssertTrue(http.requests("GET", "/event/").isEmpty, "known from the send: nothing to fetch")

        // A restart: the directory is empty, the events are fetched once each.
        let again = FakeHTTPClient()
        serve(again)
        try store.setCursor(AdapterCursor(name: "matrix.since", value: "s2"))
        let thread = event(
            "$c",
            [
                "msgtype": "m.text", "body": "3",
                "m.relates_to": [
                    "rel_type": "m.thread", "event_id": "$question", "is_falling_back": true, "m.in_reply_to": ["event_id": "$question"],
                ],
            ])
        again.on(
            "GET", "/sync",
            sync(
                "s3",
                [
                    reply("$d", to: "$question"), reaction("$e", on: "$question"), thread, reply("$f", to: "$forged"),
                    reaction("$g", on: "$forged"),
                ]), .json(401, ["errcode": "M_UNKNOWN_TOKEN"]))
        again.on(
            "GET", "/event/$question",
            .json(200, event("$question", from: bot, ["msgtype": "m.notice", "body": "Pick", "org.fabrique.anchor": "run-1/q1"])))
        again.on(
            "GET", "/event/$forged",
            .json(200, event("$forged", from: "@eve:s.org", ["msgtype": "m.text", "body": "Pick", "org.fabrique.anchor": "run-1/q1"])))
        let (restarted, _) = try adapter(again, store: store)
        let handledAfterRestart = await run(restarted)
        XCTAssertEqual(
            anchors(handledAfterRestart),
            [
                "message run-1/q1", "reaction 2️⃣ run-1/q1", "message run-1/q1", "message -",
            ], "a reaction on a person's message is dropped; an anchor in a person's event is not believed")
        XCTAssertEqual(again.requests("GET", "/event/").map(\.url.lastPathComponent).sorted(), ["$forged", "$question"])
    }

    func testDeliveryFailuresAreClassified() async throws {
        for (reply, expected) in [
            (FakeHTTPClient.Reply.json(403, ["errcode": "M_FORBIDDEN"]), "permanent"),
            (.json(401, ["errcode": "M_UNKNOWN_TOKEN"]), "fatal"),
            (.json(503, [:]), "transient"),
            (.failure(.cannotConnectToHost), "transient"),
            (.json(400, ["errcode": "M_TOO_LARGE"]), "permanent"),
        ] {
            let http = FakeHTTPClient()
            serve(http)
            http.on("PUT", "/send/", reply)
            let (adapter, _) = try adapter(http)
            do {
                try await adapter.deliver(OutgoingMessage(id: "x#0", roomID: "!r:s", markdown: "hi"))
                XCTFail("expected \(expected)")
            } catch let error as DeliveryError {
                switch (error, expected) {
                case (.permanent, "permanent"), (.fatal, "fatal"), (.transient, "transient"): break
                default: XCTFail("\(reply) gave \(error), expected \(expected)")
                }
                XCTAssertFalse("\(error)".contains("tok\""))
            }
        }
    }

    func testFirstStartSkipsHistoryThenYieldsNewEventsWithTheCursor() async throws {
        let http = FakeHTTPClient()
        serve(http)
        let old: JSON = [
            "event_id": "$old", "sender": "@ana:s.org", "type": "m.room.message", "content": ["msgtype": "m.text", "body": "!help"],
        ]
        let new: JSON = [
            "event_id": "$new", "sender": "@ana:s.org", "type": "m.room.message", "content": ["msgtype": "m.text", "body": "!help"],
        ]
        func sync(_ next: String, _ events: [JSON]) -> FakeHTTPClient.Reply {
            .json(
                200,
                [
                    "next_batch": .string(next),
                    "rooms": [
                        "join": [
                            "!r:s.org": [
                                "timeline": ["events": .array(events)], "summary": ["m.joined_member_count": 3],
                                "state": [
                                    "events": [["type": "m.room.power_levels", "state_key": "", "content": ["users": ["@ana:s.org": 100]]]]
                                ],
                            ]
                        ]
                    ],
                ])
        }
        http.on("GET", "/sync", sync("s1", [old]), sync("s2", [new]), .json(401, ["errcode": "M_UNKNOWN_TOKEN"]))
        let (adapter, store) = try adapter(http)
        var batches: [InboundBatch] = []
        do {
            for try await batch in adapter.inbound() { batches.append(batch) }
            XCTFail("a refused token ends the stream with an error")
        } catch let error as MatrixAdapterError {
            XCTAssertTrue("\(error)".contains("M_UNKNOWN_TOKEN"))
        }
        XCTAssertEqual(batches.map(\.events.count), [0, 1])
        XCTAssertEqual(batches.map { $0.cursor?.value }, ["s1", "s2"])
        XCTAssertEqual(batches[1].events.first?.eventID, "$new")
        guard case .message(let m)? = batches[1].events.first else { return XCTFail() }
        XCTAssertTrue(m.senderIsFacilitator)
        let syncs = http.requests("GET", "/sync")
        XCTAssertFalse(syncs[0].url.query?.contains("since") ?? true)
        XCTAssertTrue(syncs[1].url.query?.contains("since=s1") ?? false)
        XCTAssertTrue(syncs[1].url.query?.contains("filter=7") ?? false)
        XCTAssertTrue(syncs[1].url.query?.contains("timeout=10") ?? false)

        // A restart resumes from the stored cursor: no initial sync, nothing skipped.
        try store.setCursor(AdapterCursor(name: "matrix.since", value: "s2"))
        let again = FakeHTTPClient()
        serve(again)
        again.on("GET", "/sync", sync("s3", [new]), .json(401, ["errcode": "M_UNKNOWN_TOKEN"]))
        let (restarted, _) = try self.adapter(again, store: store)
        var resumed: [InboundBatch] = []
        do { for try await batch in restarted.inbound() { resumed.append(batch) } } catch {}
        XCTAssertEqual(resumed.map(\.events.count), [1])
        XCTAssertTrue(again.requests("GET", "/sync")[0].url.query?.contains("since=s2") ?? false)
    }

    /// The sync filter leaves the bot's own events out (one wake-up per reply, not two), so a room the
    /// bot has just joined shows the join in `state` and a timeline that may hold history. The adapter
    /// reads the room from the last cursor: only what follows the join is handled. When the join is not
    /// there (an old membership sent again), the timeline is read as usual.
    func testFreshJoinHandlesOnlyWhatFollowsTheJoin() async throws {
        func message(_ id: String, from sender: String = "@ana:s.org") -> JSON {
            [
                "event_id": .string(id), "sender": .string(sender), "type": "m.room.message",
                "content": ["msgtype": "m.text", "body": "!help"],
            ]
        }
        let join: JSON = [
            "event_id": "$join", "sender": .string(bot), "state_key": .string(bot), "type": "m.room.member",
            "content": ["membership": "join"], "unsigned": ["prev_content": ["membership": "invite"]],
        ]
        func room(_ id: String, timeline: [JSON]) -> JSON {
            [
                "timeline": ["events": .array(timeline), "limited": true, "prev_batch": "p0"], "summary": ["m.joined_member_count": 3],
                "state": ["events": [join, ["type": "m.room.power_levels", "state_key": "", "content": ["users": [:]]]]],
            ]
        }
        let http = FakeHTTPClient()
        serve(http)
        http.on(
            "GET", "/sync",
            .json(200, ["next_batch": "s1"]),
            .json(
                200,
                [
                    "next_batch": "s2",
                    "rooms": [
                        "join": [
                            "!new:s.org": room("!new:s.org", timeline: [message("$history"), message("$after")]),
                            "!old:s.org": room("!old:s.org", timeline: [message("$said")]),
                        ]
                    ],
                ]),
            .json(401, ["errcode": "M_UNKNOWN_TOKEN"]))
        http.on(
            "GET", "/rooms/!new:s.org/messages",
            .json(200, ["chunk": [message("$history"), join, message("$after"), message("$echo", from: bot)], "end": "e1"]),
            .json(200, ["chunk": [], "end": "e1"]))
        http.on(
            "GET", "/rooms/!old:s.org/messages", .json(200, ["chunk": [message("$said")], "end": "e2"]),
            .json(200, ["chunk": [], "end": "e2"]))
        let (adapter, _) = try adapter(http)
        var handled: [String] = []
        do { for try await batch in adapter.inbound() { handled += batch.events.map(\.eventID) } } catch {}
        XCTAssertEqual(handled.sorted(), ["$after", "$said"], "history before the join is not answered; nothing after it is lost")
        let forwards = http.requests("GET", "/messages").compactMap(\.url.query).filter { $0.contains("dir=f") }
        XCTAssertEqual(
            forwards.filter { $0.contains("from=s1") && $0.contains("to=s2") }.count, 2,
            "each room read from the last cursor to this response")
        let backwards = http.requests("GET", "/rooms/!old:s.org/messages").compactMap(\.url.query).filter { $0.contains("dir=b") }
        XCTAssertFalse(backwards.isEmpty, "a room whose join is old has its limited timeline filled as usual")
        XCTAssertTrue(
            http.requests("GET", "/rooms/!new:s.org/messages").allSatisfy { $0.url.query?.contains("dir=f") ?? false },
            "no history fill where the bot just joined")

        let filter = try XCTUnwrap(http.requests("POST", "/filter").first.map(body))
        XCTAssertEqual(filter["room"]?["timeline"]?["not_senders"], [.string(bot)], "the bot's own echoes do not wake the sync")
    }

    func testPasswordLoginIsStoredAndReusedWithTheSameDevice() async throws {
        let http = FakeHTTPClient()
        serve(http)
        http.on("POST", "/login", .json(200, ["access_token": "fresh-token", "user_id": .string(bot), "device_id": "DEV1"]))
        let store = try StateStore(path: nil)
        let logs = LogCapture()
        let (first, _) = try adapter(http, store: store, token: nil, password: "pw", logs: logs)
        try await first.connect()
        XCTAssertEqual(try store.setting("matrix.device_id"), "DEV1")
        XCTAssertEqual(http.requests("POST", "/login").count, 1)

        let (second, _) = try adapter(http, store: store, token: nil, password: "pw", logs: logs)
        try await second.connect()
        XCTAssertEqual(http.requests("POST", "/login").count, 1, "the stored token is reused: no new login, no new device")
        XCTAssertEqual(http.requests("GET", "/whoami").last?.headers["Authorization"], "Bearer fresh-token")

        // The stored token revoked: log in again, asking for the same device.
        let revoked = FakeHTTPClient()
        serve(revoked)
        revoked.on("GET", "/account/whoami", .json(401, ["errcode": "M_UNKNOWN_TOKEN"]), .json(200, ["user_id": .string(bot)]))
        revoked.on("POST", "/login", .json(200, ["access_token": "newer", "user_id": .string(bot), "device_id": "DEV1"]))
        let (third, _) = try adapter(revoked, store: store, token: nil, password: "pw", logs: logs)
        try await third.connect()
        XCTAssertEqual(body(revoked.requests("POST", "/login")[0])["device_id"]?.string, "DEV1")
        XCTAssertFalse(logs.lines.joined().contains("fresh-token"))
        XCTAssertFalse(logs.lines.joined().contains("newer"))
        XCTAssertFalse(logs.lines.joined().contains("\"pw\""))
    }

    func testEncryptionNoticeIsSaidOnceAcrossRestarts() async throws {
        let store = try StateStore(path: nil)
        var notices: [Int] = []
        for _ in 0..<2 {
            let http = FakeHTTPClient()
            serve(http)
            http.on(
                "GET", "/sync",
                .json(
                    200,
                    [
                        "next_batch": "s1",
                        "rooms": [
                            "join": [
                                "!e:s.org": [
                                    "state": [
                                        "events": [
                                            [
                                                "type": "m.room.encryption", "state_key": "",
                                                "content": ["algorithm": "m.megolm.v1.aes-sha2"],
                                            ]
                                        ]
                                    ],
                                    "timeline": [
                                        "events": [
                                            [
                                                "event_id": "$x", "sender": "@ana:s.org", "type": "m.room.encrypted",
                                                "content": ["ciphertext": "…"],
                                            ]
                                        ]
                                    ],
                                    "summary": ["m.joined_member_count": 3],
                                ]
                            ]
                        ],
                    ]), .json(401, ["errcode": "M_UNKNOWN_TOKEN"]))
            http.on("PUT", "/send/", .json(200, ["event_id": "$n"]))
            try store.setCursor(AdapterCursor(name: "matrix.since", value: "s0"))
            let (adapter, _) = try adapter(http, store: store)
            do { for try await _ in adapter.inbound() {} } catch {}
            notices.append(http.requests("PUT", "/send/").count)
        }
        XCTAssertEqual(notices, [1, 0])
        XCTAssertEqual(try store.setting("matrix.e2ee-notice:!e:s.org"), "1")
    }
}

extension MatrixAdapterTests {
    func testReadReceiptsAreCoalescedPerRoom() async throws {
        let http = FakeHTTPClient()
        serve(http)
        http.on("POST", "/receipt/", .json(200, [:]))
        // A real (short) wait, so the three acknowledgements land inside one coalescing window.
        let (adapter, _) = try adapter(
            http, environment: RetryEnvironment(sleep: { _ in try await Task.sleep(for: .milliseconds(200)) }, random: { 0.5 }))
        func message(_ id: String, _ room: String) -> IncomingEvent {
            .message(IncomingMessage(roomID: room, senderID: "@ana:s.org", text: "x", eventID: id, timestamp: Date()))
        }
        await adapter.acknowledge(message("$1", "!a:s"))
        await adapter.acknowledge(message("$2", "!a:s"))
        await adapter.acknowledge(message("$3", "!b:s"))
        for _ in 0..<200 where http.requests("POST", "/receipt/").count < 2 { try await Task.sleep(for: .milliseconds(10)) }
        try await Task.sleep(for: .milliseconds(50))
        let paths = http.requests("POST", "/receipt/").map(\.url.path).sorted()
        XCTAssertEqual(paths, ["/_matrix/client/v3/rooms/!a:s/receipt/m.read/$2", "/_matrix/client/v3/rooms/!b:s/receipt/m.read/$3"])
    }

    /// A slow command shows the bot typing; the notices go out in order, and a reply dropped for good
    /// (403) ends the typing instead of leaving it to the homeserver's timeout.
    func testTypingStartsForASlowCommandAndEndsWhenItsReplyIsDropped() async throws {
        let http = FakeHTTPClient()
        serve(http)
        let ask: JSON = [
            "event_id": "$ask", "sender": "@ana:s.org", "type": "m.room.message",
            "content": ["msgtype": "m.text", "body": "!ask what is a pebble"],
        ]
        http.on(
            "GET", "/sync",
            .json(200, ["next_batch": "s1"]),
            .json(
                200,
                [
                    "next_batch": "s2",
                    "rooms": ["join": ["!r:s.org": ["timeline": ["events": [ask]], "summary": ["m.joined_member_count": 3]]]],
                ]),
            .json(401, ["errcode": "M_UNKNOWN_TOKEN"]))
        http.on("PUT", "/typing/", .json(200, [:]))
        http.on("PUT", "/send/", .json(403, ["errcode": "M_FORBIDDEN"]))
        let (adapter, _) = try adapter(http)
        do { for try await _ in adapter.inbound() {} } catch {}
        do {
            try await adapter.deliver(OutgoingMessage(id: "$ask#0", roomID: "!r:s.org", markdown: "an answer"))
            XCTFail("a 403 is a permanent failure")
        } catch DeliveryError.permanent {}
        for _ in 0..<200 where http.requests("PUT", "/typing/").count < 2 { try await Task.sleep(for: .milliseconds(5)) }
        let typing = http.requests("PUT", "/typing/").map { body($0)["typing"]?.bool }
        XCTAssertEqual(typing, [true, false])
    }

    /// A slow command whose turn sends no reply leaves no stuck state: once the typing notice has timed
    /// out, the next slow command in that room shows the bot typing again.
    func testTypingShowsAgainOnceAStaleNoticeHasTimedOut() async throws {
        func ask(_ id: String) -> JSON {
            [
                "event_id": .string(id), "sender": "@ana:s.org", "type": "m.room.message",
                "content": ["msgtype": "m.text", "body": "!ask pebbles"],
            ]
        }
        func sync(_ next: String, _ events: [JSON]) -> FakeHTTPClient.Reply {
            .json(
                200,
                [
                    "next_batch": .string(next),
                    "rooms": ["join": ["!r:s.org": ["timeline": ["events": .array(events)], "summary": ["m.joined_member_count": 3]]]],
                ])
        }
        for (timeout, expected) in [(Duration.zero, 2), (.seconds(60), 1)] {
            let store = try StateStore(path: nil)
            var configuration = MatrixConfiguration(
                homeserver: URL(string: "http://hs.test")!, userID: bot, accessToken: AccessToken("tok"), offerReactions: false,
                syncTimeoutMS: 10)
            configuration.typingTimeout = timeout
            let scripted = FakeHTTPClient()
            serve(scripted)
            scripted.on(
                "GET", "/sync", .json(200, ["next_batch": "s1"]), sync("s2", [ask("$a")]), sync("s3", [ask("$b")]),
                .json(401, ["errcode": "M_UNKNOWN_TOKEN"]))
            scripted.on("PUT", "/typing/", .json(200, [:]))
            let adapter = MatrixAdapter(
                configuration: configuration, store: store, http: scripted, environment: SleepRecorder().environment,
                logger: LogCapture().logger)
            do { for try await _ in adapter.inbound() {} } catch {}
            for _ in 0..<200 where scripted.requests("PUT", "/typing/").count < expected { try await Task.sleep(for: .milliseconds(5)) }
            try await Task.sleep(for: .milliseconds(20))
            XCTAssertEqual(scripted.requests("PUT", "/typing/").count, expected, "typing timeout \(timeout)")
        }
    }

}
