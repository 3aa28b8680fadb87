import BotCore
import Foundation
import XCTest

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

@testable import MatrixAdapter

/// The Synapse the integration tests talk to, from the variables `scripts/synapse/start` writes to DIR/env.
///
/// Without `FABRIQUE_TEST_HOMESERVER` the tests are skipped with a visible message, unless
/// `FABRIQUE_REQUIRE_SYNAPSE=1`, which turns the skip into a failure (the README's test command sets it).
struct TestHomeserver: Sendable {
    var url: URL
    var sharedSecret: String
    /// The folder `scripts/synapse/start` was given, to stop and restart this server.
    var directory: String?
    var scripts: String?

    static func require(ratelimited: Bool = false, file: StaticString = #filePath, line: UInt = #line) throws -> TestHomeserver {
        let env = ProcessInfo.processInfo.environment
        let prefix = ratelimited ? "FABRIQUE_TEST_RL" : "FABRIQUE_TEST"
        guard let server = env["\(prefix)_HOMESERVER"], !server.isEmpty, let url = URL(string: server),
            let secret = env["\(prefix)_SHARED_SECRET"], !secret.isEmpty
        else {
            let message = """
                \(prefix)_HOMESERVER is not set: Matrix integration tests skipped. Run them against a real Synapse with
                scripts/synapse/test (or: scripts/synapse/start DIR; set -a; . DIR/env; swift test --filter MatrixAdapterTests)
                """
            if env["FABRIQUE_REQUIRE_SYNAPSE"] == "1" {
                XCTFail("FABRIQUE_REQUIRE_SYNAPSE=1 but " + message, file: file, line: line)
                throw XCTSkip("failed: no homeserver")
            }
            print("warning: " + message)
            throw XCTSkip(message)
        }
        return TestHomeserver(
            url: url, sharedSecret: secret, directory: env["\(prefix)_SYNAPSE_DIR"], scripts: env["FABRIQUE_TEST_SYNAPSE_SCRIPTS"])
    }

    var serverName: String { "fabrique.test" }

    /// The rate-limited server: the one the environment names, else one started for this test with
    /// `scripts/synapse/start DIR --config-variant ratelimited` (stop it with ``control(_:)``).
    static func requireRatelimited() async throws -> (server: TestHomeserver, startedHere: Bool) {
        let env = ProcessInfo.processInfo.environment
        if env["FABRIQUE_TEST_RL_HOMESERVER"] != nil { return (try require(ratelimited: true), false) }
        let main = try require()
        guard let scripts = main.scripts else { return (try require(ratelimited: true), false) }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fabrique-synapse-rl-\(UUID().uuidString.prefix(8))")
            .path
        guard try await Self.runScript("\(scripts)/start", [directory, "--config-variant", "ratelimited"]) == 0 else {
            throw TestFailure("could not start the rate-limited Synapse")
        }
        var values: [String: String] = [:]
        for line in try String(contentsOfFile: "\(directory)/env", encoding: .utf8).split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1).map(String.init)
            if parts.count == 2 { values[parts[0]] = parts[1] }
        }
        guard let url = values["FABRIQUE_TEST_RL_HOMESERVER"].flatMap(URL.init(string:)),
            let secret = values["FABRIQUE_TEST_RL_SHARED_SECRET"]
        else {
            throw TestFailure("the rate-limited Synapse wrote no env")
        }
        return (TestHomeserver(url: url, sharedSecret: secret, directory: directory, scripts: scripts), true)
    }

    /// Registers a user through the shared-secret admin API and logs it in.
    func register(_ localpart: String, admin: Bool = false) async throws -> TestUser {
        let bare = TestUser(server: self, userID: "", token: nil)
        let nonce = try await bare.request("GET", "/_synapse/admin/v1/register")["nonce"]?.string ?? ""
        let password = "pw-\(localpart)"
        let macInput = [nonce, localpart, password, admin ? "admin" : "notadmin"].joined(separator: "\0")
        let mac = HMACSHA1.hex(key: Array(sharedSecret.utf8), message: Array(macInput.utf8))
        let body: JSON = [
            "nonce": .string(nonce), "username": .string(localpart), "password": .string(password), "admin": .bool(admin),
            "mac": .string(mac),
        ]
        let json = try await bare.request("POST", "/_synapse/admin/v1/register", body: body)
        guard let token = json["access_token"]?.string, let user = json["user_id"]?.string else {
            throw TestFailure("registration of \(localpart) failed: \(json)")
        }
        return TestUser(server: self, userID: user, token: token, password: password)
    }

    /// Runs `scripts/synapse/stop` or `start` on this server's folder.
    func control(_ verb: String) async throws {
        guard let directory, let scripts else { throw XCTSkip("FABRIQUE_TEST_SYNAPSE_DIR/SCRIPTS not set: cannot restart Synapse") }
        let status = try await Self.runScript("\(scripts)/\(verb)", [directory])
        guard status == 0 else { throw TestFailure("scripts/synapse/\(verb) failed (\(status))") }
    }

    /// Runs a script to its end, with `posix_spawn` and `waitpid`. Not `Process`: on Linux it learns of
    /// the child's end through a pipe that the Synapse the script leaves running inherits, so it would
    /// wait for Synapse too. Waits by sleeping the task, never by blocking the thread.
    static func runScript(_ path: String, _ arguments: [String], timeout: TimeInterval = 180) async throws -> Int32 {
        let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
        defer { for arg in argv { free(arg) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, path, nil, nil, argv, environ)
        guard rc == 0 else { throw TestFailure("cannot run \(path): error \(rc)") }
        let deadline = Date().addingTimeInterval(timeout)
        var status: Int32 = 0
        while waitpid(pid, &status, WNOHANG) == 0 {
            guard Date() < deadline else {
                kill(pid, SIGKILL)
                _ = waitpid(pid, &status, 0)
                throw TestFailure("\(path) still running after \(Int(timeout)) s")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        return status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A person on the homeserver, speaking the client-server API directly.
struct TestUser: Sendable {
    let server: TestHomeserver
    let userID: String
    let token: String?
    var password: String = ""

    private static let session: URLSession = {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 30
        return URLSession(configuration: configuration)
    }()

    @discardableResult
    func request(_ method: String, _ path: String, query: [(String, String)] = [], body: JSON? = nil) async throws -> JSON {
        var text = server.url.absoluteString.trimmingCharacters(in: CharacterSet(charactersIn: "/")) + path
        if !query.isEmpty { text += "?" + query.map { "\($0.0)=\(MatrixClient.segment($0.1))" }.joined(separator: "&") }
        var request = URLRequest(url: URL(string: text)!)
        request.httpMethod = method
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        if let body {
            request.httpBody = body.data()
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        for _ in 0..<60 {
            let (data, response) = try await Self.session.data(for: request)
            let status = (response as? HTTPURLResponse)?.statusCode ?? 0
            let json = JSON.parse(data) ?? .null
            if status == 429 {
                // The people in the tests wait out rate limits too (the 429 server limits everyone).
                try await Task.sleep(for: .milliseconds(json["retry_after_ms"]?.int ?? 1000))
                continue
            }
            guard (200..<300).contains(status) else { throw TestFailure("\(method) \(path) → \(status) \(json)") }
            return json
        }
        throw TestFailure("\(method) \(path): still rate limited after 60 tries")
    }

    static func seg(_ s: String) -> String { MatrixClient.segment(s) }

    func createRoom(name: String, invite: [String] = [], direct: Bool = false, initialState: [JSON] = []) async throws -> String {
        var body: [String: JSON] = [
            "name": .string(name), "preset": direct ? "trusted_private_chat" : "private_chat",
            "invite": .array(invite.map(JSON.string)), "is_direct": .bool(direct),
        ]
        if !initialState.isEmpty { body["initial_state"] = .array(initialState) }
        let json = try await request("POST", "/_matrix/client/v3/createRoom", body: .object(body))
        guard let room = json["room_id"]?.string else { throw TestFailure("createRoom: \(json)") }
        return room
    }

    func invite(_ user: String, to room: String) async throws {
        try await request("POST", "/_matrix/client/v3/rooms/\(Self.seg(room))/invite", body: ["user_id": .string(user)])
    }

    func join(_ room: String) async throws {
        try await request("POST", "/_matrix/client/v3/join/\(Self.seg(room))", body: [:])
    }

    func leave(_ room: String) async throws {
        try await request("POST", "/_matrix/client/v3/rooms/\(Self.seg(room))/leave", body: [:])
    }

    func setPowerLevel(_ level: Int, for user: String, in room: String) async throws {
        var content = try await request("GET", "/_matrix/client/v3/rooms/\(Self.seg(room))/state/m.room.power_levels")
        guard case .object(var object) = content, case .object(var users)? = object["users"] else { throw TestFailure("no power levels") }
        users[user] = .number(Double(level))
        object["users"] = .object(users)
        content = .object(object)
        try await request("PUT", "/_matrix/client/v3/rooms/\(Self.seg(room))/state/m.room.power_levels", body: content)
    }

    /// Sends an event and returns its id.
    @discardableResult
    func send(_ room: String, type: String = "m.room.message", _ content: JSON) async throws -> String {
        let txn = UUID().uuidString
        let json = try await request("PUT", "/_matrix/client/v3/rooms/\(Self.seg(room))/send/\(type)/\(txn)", body: content)
        guard let id = json["event_id"]?.string else { throw TestFailure("send: \(json)") }
        return id
    }

    @discardableResult
    func say(_ room: String, _ text: String, thread: String? = nil, replyTo: String? = nil, mentions: [String] = []) async throws -> String
    {
        var content: [String: JSON] = [
            "msgtype": "m.text", "body": .string(text), "m.mentions": ["user_ids": .array(mentions.map(JSON.string))],
        ]
        if let thread {
            content["m.relates_to"] = [
                "rel_type": "m.thread", "event_id": .string(thread), "is_falling_back": true,
                "m.in_reply_to": ["event_id": .string(replyTo ?? thread)],
            ]
        } else if let replyTo {
            content["m.relates_to"] = ["m.in_reply_to": ["event_id": .string(replyTo)]]
        }
        return try await send(room, .object(content))
    }

    @discardableResult
    func react(_ room: String, to event: String, _ key: String) async throws -> String {
        try await send(
            room, type: "m.reaction", ["m.relates_to": ["rel_type": "m.annotation", "event_id": .string(event), "key": .string(key)]])
    }

    @discardableResult
    func edit(_ room: String, _ event: String, to text: String) async throws -> String {
        try await send(
            room,
            [
                "msgtype": "m.text", "body": .string("* \(text)"), "m.new_content": ["msgtype": "m.text", "body": .string(text)],
                "m.relates_to": ["rel_type": "m.replace", "event_id": .string(event)],
            ])
    }

    @discardableResult
    func redact(_ room: String, _ event: String) async throws -> String {
        let json = try await request(
            "PUT", "/_matrix/client/v3/rooms/\(Self.seg(room))/redact/\(Self.seg(event))/\(UUID().uuidString)", body: [:])
        return json["event_id"]?.string ?? ""
    }

    /// The room's timeline, oldest first (up to 1000 events).
    func history(_ room: String) async throws -> [JSON] {
        let json = try await request(
            "GET", "/_matrix/client/v3/rooms/\(Self.seg(room))/messages", query: [("dir", "b"), ("limit", "1000")])
        return (json["chunk"]?.array ?? []).reversed()
    }

    func membership(of user: String, in room: String) async throws -> String? {
        let json = try? await request("GET", "/_matrix/client/v3/rooms/\(Self.seg(room))/state/m.room.member/\(Self.seg(user))")
        return json?["membership"]?.string
    }
}

/// The bot's messages in a room's history, with what the tests look at.
struct BotMessage {
    var eventID: String
    var body: String
    var html: String?
    var msgtype: String?
    var replyTo: String?
    var thread: String?
    var hasMentions: Bool
    var content: JSON

    init?(_ event: JSON, bot: String) {
        guard event["sender"]?.string == bot, event["type"]?.string == "m.room.message", let id = event["event_id"]?.string,
            let content = event["content"], let body = content["body"]?.string
        else { return nil }
        eventID = id
        self.body = body
        html = content["formatted_body"]?.string
        msgtype = content["msgtype"]?.string
        replyTo = content["m.relates_to"]?["m.in_reply_to"]?["event_id"]?.string
        thread = content["m.relates_to"]?["rel_type"]?.string == "m.thread" ? content["m.relates_to"]?["event_id"]?.string : nil
        hasMentions = content["m.mentions"]?.object != nil
        self.content = content
    }
}

/// HMAC-SHA1, for Synapse's shared-secret registration (test-only; SHA-1 is what that API uses).
enum HMACSHA1 {
    static func sha1(_ message: [UInt8]) -> [UInt8] {
        var h: [UInt32] = [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0]
        var data = message
        let bits = UInt64(message.count) * 8
        data.append(0x80)
        while data.count % 64 != 56 { data.append(0) }
        for i in (0..<8).reversed() { data.append(UInt8(truncatingIfNeeded: bits >> (UInt64(i) * 8))) }
        func rotl(_ x: UInt32, _ n: UInt32) -> UInt32 { (x << n) | (x >> (32 - n)) }
        for chunk in stride(from: 0, to: data.count, by: 64) {
            var w = [UInt32](repeating: 0, count: 80)
            for i in 0..<16 {
                let b = chunk + i * 4
                w[i] = UInt32(data[b]) << 24 | UInt32(data[b + 1]) << 16 | UInt32(data[b + 2]) << 8 | UInt32(data[b + 3])
            }
            for i in 16..<80 { w[i] = rotl(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1) }
            var (a, b, c, d, e) = (h[0], h[1], h[2], h[3], h[4])
            for i in 0..<80 {
                let (f, k): (UInt32, UInt32) =
                    switch i {
                    case 0..<20: ((b & c) | (~b & d), 0x5A827999)
                    case 20..<40: (b ^ c ^ d, 0x6ED9EBA1)
                    case 40..<60: ((b & c) | (b & d) | (c & d), 0x8F1BBCDC)
                    default: (b ^ c ^ d, 0xCA62C1D6)
                    }
                let t = rotl(a, 5) &+ f &+ e &+ k &+ w[i]
                (e, d, c, b, a) = (d, c, rotl(b, 30), a, t)
            }
            h[0] &+= a; h[1] &+= b; h[2] &+= c; h[3] &+= d; h[4] &+= e
        }
        return h.flatMap { v in (0..<4).map { UInt8(truncatingIfNeeded: v >> (24 - UInt32($0) * 8)) } }
    }

    static func hex(key: [UInt8], message: [UInt8]) -> String {
        var k = key.count > 64 ? sha1(key) : key
        k += [UInt8](repeating: 0, count: 64 - k.count)
        let inner = sha1(k.map { $0 ^ 0x36 } + message)
        let outer = sha1(k.map { $0 ^ 0x5c } + inner)
        return outer.map { String(format: "%02x", $0) }.joined()
    }
}
