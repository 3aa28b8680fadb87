import BotCore
import Foundation
import GRDB
import XCTest

@testable import MatrixAdapter

/// The encryption state against the sync token, over a scripted homeserver with people on ``OlmMachine``s
/// of their own: what a sync response changes commits with its `next_batch` or not at all, and a restart
/// asks `/keys/changes` instead of querying every member's devices again.
final class EncryptedSyncTests: XCTestCase {
    let bot = "@fab:s.org", room = "!secret:s.org"
    let pickleKey = "a pickle key for the sync tests"

    struct Person {
        let machine: OlmMachine
        var userID: String { machine.userID }
    }

    func person(_ userID: String, _ deviceID: String) throws -> Person {
        let store = try StateStore(path: nil)
        return Person(
            machine: try OlmMachine(
                userID: userID, deviceID: deviceID, pickleKey: PickleKey("peer"), store: try CryptoStore(writer: store.writer),
                logger: LogCapture().logger))
    }

    func adapter(_ http: FakeHTTPClient, store: StateStore, logs: LogCapture = LogCapture()) -> MatrixAdapter {
        var configuration = MatrixConfiguration(
            homeserver: URL(string: "http://hs.test")!, userID: bot, accessToken: AccessToken("tok"), syncTimeoutMS: 10)
        configuration.pickleKey = pickleKey
        return MatrixAdapter(
            configuration: configuration, store: store, http: http, environment: SleepRecorder().environment, logger: logs.logger)
    }

    func serve(_ http: FakeHTTPClient) {
        http.on("GET", "/account/whoami", .json(200, ["user_id": .string(bot), "device_id": "DEV"]))
        http.on("GET", "/displayname", .json(200, ["displayname": "Fabrique"]))
        http.on("GET", "/account_data/m.direct", .json(404, ["errcode": "M_NOT_FOUND"]))
        http.on("POST", "/filter", .json(200, ["filter_id": "7"]))
        http.on("POST", "/keys/upload", .json(200, ["one_time_key_counts": ["signed_curve25519": 50]]))
        http.on("POST", "/keys/device_signing/upload", .json(200, [:]))
        http.on("POST", "/keys/signatures/upload", .json(200, ["failures": [:]]))
        http.on("PUT", "/sendToDevice/", .json(200, [:]))
        http.on("GET", "/state/m.room.encryption", .json(200, ["algorithm": "m.megolm.v1.aes-sha2"]))
    }

    func body(_ request: HTTPRequest) -> JSON { request.body.flatMap(JSON.parse) ?? .null }

    /// The bot's device keys and one of its one-time keys, as its first `/keys/upload` published them.
    func botKeys(_ http: FakeHTTPClient) throws -> (device: JSON, oneTimeKey: (String, JSON)) {
        let upload = body(try XCTUnwrap(http.requests("POST", "/keys/upload").first))
        return (try XCTUnwrap(upload["device_keys"]), try XCTUnwrap(upload["one_time_keys"]?.object?.first))
    }

    /// The engine's part, without an engine: the batch's events are left aside, its cursor and the
    /// adapter's writes committed in one transaction, and the batch reported handled.
    func commit(_ batch: InboundBatch, _ store: StateStore) throws {
        try store.setCursor(batch.cursor, withCursor: batch.withCursor)
        batch.handled?()
    }

    func count(_ store: StateStore, _ sql: String) throws -> Int {
        try store.writer.read { db in try Int.fetchOne(db, sql: sql) ?? 0 }
    }

    func texts(_ batch: InboundBatch) -> [String] {
        batch.events.compactMap { if case .message(let message) = $0 { message.eventID + " " + message.text } else { nil } }
    }

    /// A room key whose message came first: the bot keeps the message, and decrypts it when the key comes.
    /// The key's results (its Megolm session, the kept message handed out) commit with the sync token of the
    /// response that carried it, in the engine's transaction, never before: a crash before that commit reads
    /// the response again and hands the message out again. Committed on their own, as before, the key would
    /// be stored and the kept message gone with the crash, and the message never answered.
    func testARoomKeyCommitsWithItsSyncTokenSoACrashBeforeLosesNeitherTheKeyNorTheMessageItOpens() async throws {
        let store = try StateStore(path: nil)
        let ana = try person("@ana:s.org", "ANA")
        let http = FakeHTTPClient()
        serve(http)
        let first = adapter(http, store: store)
        try await first.connect()

        // Ana's client: the bot's device from /keys/query, one of its one-time keys claimed, her room key for
        // the bot, then her message, which reaches the bot before the key.
        let (deviceKeys, (keyID, oneTimeKey)) = try botKeys(http)
        ana.machine.receiveKeysQuery(["device_keys": .object([bot: ["DEV": deviceKeys]])], users: [bot])
        let target = try XCTUnwrap(ana.machine.targetDevices(of: [bot]).first)
        ana.machine.receiveKeysClaim(["one_time_keys": .object([bot: ["DEV": .object([keyID: oneTimeKey])]])], for: [target])
        _ = try ana.machine.outboundSession(roomID: room, targets: [target], rotation: .init())
        let (messages, _) = try ana.machine.roomKeyMessages(roomID: room, targets: [target])
        let content = try ana.machine.encrypt(roomID: room, type: "m.room.message", content: ["msgtype": "m.text", "body": "!help"])
        let early: JSON = [
            "event_id": "$early", "sender": .string(ana.userID), "type": "m.room.encrypted", "origin_server_ts": 1, "content": content,
        ]
        let toDevice: JSON = ["type": "m.room.encrypted", "sender": .string(ana.userID), "content": try XCTUnwrap(messages[bot]?["DEV"])]
        let withMessage: JSON = [
            "next_batch": "s2",
            "rooms": ["join": .object([room: ["timeline": ["events": [early]], "summary": ["m.joined_member_count": 2]]])],
        ]
        let withKey: JSON = ["next_batch": "s3", "to_device": ["events": [toDevice]]]
        http.on("GET", "/sync", .json(200, ["next_batch": "s1"]), .json(200, withMessage), .json(200, withKey))

        var crashed: InboundBatch?
        for try await batch in first.inbound() {
            guard batch.cursor?.value != "s3" else {
                crashed = batch
                break  // killed before the engine's commit
            }
            try commit(batch, store)
        }
        // While the key was missing, the bot asked Ana's device for it, once.
        let requests = http.requests("PUT", "/sendToDevice/m.room_key_request/").map { body($0)["messages"]?[ana.userID]?["ANA"] }
        XCTAssertEqual(requests.count, 1)
        XCTAssertEqual(requests.first??["action"], "request")
        XCTAssertEqual(requests.first??["body"]?["session_id"], content["session_id"])
        XCTAssertEqual(requests.first??["body"]?["room_id"]?.string, room)
        let lost = try XCTUnwrap(crashed)
        XCTAssertEqual(texts(lost), ["$early !help"], "the key opened the kept message")
        XCTAssertNotNil(lost.withCursor, "the key's results ride on the engine's commit")
        XCTAssertEqual(try store.cursor(named: "matrix.since"), "s2")
        XCTAssertEqual(
            try count(store, "SELECT count(*) FROM crypto_inbound_group WHERE sender_user = '@ana:s.org'"), 0,
            "nothing of the key was stored before the engine's commit")
        XCTAssertEqual(
            try count(store, "SELECT count(*) FROM crypto_undecrypted WHERE event_id = '$early'"), 1, "the message is still kept")
        XCTAssertEqual(try count(store, "SELECT count(*) FROM crypto_to_device_seen"), 0)

        // The restart reads the same response again: the key is taken in as if for the first time, and the
        // message handed out again; this time the engine commits.
        let again = FakeHTTPClient()
        serve(again)
        again.on("GET", "/sync", .json(200, withKey), .json(401, ["errcode": "M_UNKNOWN_TOKEN"]))
        let restarted = adapter(again, store: store)
        var handled: [String] = []
        do {
            for try await batch in restarted.inbound() {
                handled += texts(batch)
                try commit(batch, store)
            }
        } catch {}
        XCTAssertEqual(handled, ["$early !help"])
        XCTAssertTrue(again.requests("GET", "/sync").first?.url.query?.contains("since=s2") ?? false)
        XCTAssertEqual(try store.cursor(named: "matrix.since"), "s3")
        XCTAssertEqual(try count(store, "SELECT count(*) FROM crypto_inbound_group WHERE sender_user = '@ana:s.org'"), 1)
        XCTAssertEqual(try count(store, "SELECT count(*) FROM crypto_undecrypted"), 0, "handed out, with the token")
        XCTAssertEqual(try count(store, "SELECT count(*) FROM crypto_to_device_seen"), 1, "handled once")
        XCTAssertEqual(try count(store, "SELECT count(*) FROM crypto_device_lists WHERE since = 's3'"), 1)
    }

    /// After a restart the bot asks `/keys/changes` from the token its device lists were known up to, and
    /// queries again only the users listed as changed and those already marked outdated; the ones who left
    /// are forgotten. Without a stored token, every member is queried again.
    func testARestartAsksKeysChangesAndQueriesOnlyTheUsersWhoseDevicesChanged() async throws {
        let store = try StateStore(path: nil)
        let people = try [person("@ana:s.org", "ANA"), person("@bo:s.org", "BO"), person("@cy:s.org", "CY"), person("@dee:s.org", "DEE")]
        func members(_ users: [String]) -> FakeHTTPClient.Reply {
            .json(200, ["joined": .object(Dictionary(uniqueKeysWithValues: ([bot] + users).map { ($0, JSON.object([:])) }))])
        }
        func routes(_ http: FakeHTTPClient, members users: [String]) throws {
            serve(http)
            // The bot's own user: no other device.
            var devices: [String: JSON] = [bot: [:]], claimed: [String: JSON] = [:]
            for person in people {
                devices[person.userID] = .object([person.machine.deviceID: try person.machine.deviceKeys()])
                let upload = try XCTUnwrap(try person.machine.keysToUpload(oneTimeKeyCount: 0, hasUnusedFallbackKey: nil))
                try person.machine.keysUploaded(upload)
                let (id, key) = try XCTUnwrap(upload["one_time_keys"]?.object?.first)
                claimed[person.userID] = .object([person.machine.deviceID: .object([id: key])])
            }
            http.on("POST", "/keys/query", .json(200, ["device_keys": .object(devices)]))
            http.on("POST", "/keys/claim", .json(200, ["one_time_keys": .object(claimed)]))
            http.on("GET", "/joined_members", members(users))
            http.on("PUT", "/send/m.room.encrypted/", .json(200, ["event_id": "$sent"]))
        }
        func queried(_ http: FakeHTTPClient) -> [Set<String>] {
            http.requests("POST", "/keys/query").map { Set(body($0)["device_keys"]?.object?.keys.map { $0 } ?? []) }
        }
        func run(_ adapter: MatrixAdapter) async {
            do { for try await batch in adapter.inbound() { try commit(batch, store) } } catch {}
        }

        // First run: the bot writes in the room (every member's devices queried), then a sync says Bo's
        // devices changed, which the bot has not looked at again when it stops.
        let http = FakeHTTPClient()
        try routes(http, members: ["@ana:s.org", "@bo:s.org", "@cy:s.org", "@dee:s.org"])
        http.on(
            "GET", "/sync", .json(200, ["next_batch": "s1"]), .json(200, ["next_batch": "s2", "device_lists": ["changed": ["@bo:s.org"]]]),
            .json(401, ["errcode": "M_UNKNOWN_TOKEN"]))
        let first = adapter(http, store: store)
        try await first.connect()
        try await first.deliver(OutgoingMessage(id: "$a#0", roomID: room, markdown: "hello"))
        XCTAssertEqual(queried(http), [[bot, "@ana:s.org", "@bo:s.org", "@cy:s.org", "@dee:s.org"]])
        await run(first)
        XCTAssertEqual(try store.cursor(named: "matrix.since"), "s2")
        // Later responses held nothing for encryption: the cursor moved on without the device-list token.
        try store.setCursor(AdapterCursor(name: "matrix.since", value: "s5"))

        // The restart: Ana added a device meanwhile, Cy left every encrypted room the bot shares.
        let again = FakeHTTPClient()
        try routes(again, members: ["@ana:s.org", "@bo:s.org", "@dee:s.org"])
        again.on("GET", "/keys/changes", .json(200, ["changed": ["@ana:s.org"], "left": ["@cy:s.org"]]))
        again.on("GET", "/sync", .json(401, ["errcode": "M_UNKNOWN_TOKEN"]))
        let logs = LogCapture()
        let restarted = adapter(again, store: store, logs: logs)
        await run(restarted)
        let changes = try XCTUnwrap(again.requests("GET", "/keys/changes").first, logs.lines.joined(separator: "\n"))
        XCTAssertEqual(changes.url.query, "from=s2&to=s5")
        try await restarted.deliver(OutgoingMessage(id: "$b#0", roomID: room, markdown: "hello again"))
        XCTAssertEqual(queried(again), [["@ana:s.org", "@bo:s.org"]], "Dee's devices did not change: not queried again")
        let shared = again.requests("PUT", "/sendToDevice/m.room.encrypted/").map {
            Set(body($0)["messages"]?.object?.keys.map { $0 } ?? [])
        }
        XCTAssertEqual(shared, [["@ana:s.org", "@bo:s.org", "@dee:s.org"]], "Cy left: a new session, which she does not get")
        XCTAssertEqual(try count(store, "SELECT count(*) FROM crypto_device WHERE user_id = '@cy:s.org'"), 0)

        // Without a stored token (a store from before, or no sync handled yet), every member is queried again.
        try await store.writer.write { db in try db.execute(sql: "DELETE FROM crypto_device_lists") }
        let third = FakeHTTPClient()
        try routes(third, members: ["@ana:s.org", "@bo:s.org", "@dee:s.org"])
        third.on("GET", "/sync", .json(401, ["errcode": "M_UNKNOWN_TOKEN"]))
        let fallback = adapter(third, store: store)
        await run(fallback)
        try await fallback.deliver(OutgoingMessage(id: "$c#0", roomID: room, markdown: "and again"))
        XCTAssertTrue(third.requests("GET", "/keys/changes").isEmpty)
        XCTAssertEqual(queried(third), [[bot, "@ana:s.org", "@bo:s.org", "@dee:s.org"]])
    }
}
