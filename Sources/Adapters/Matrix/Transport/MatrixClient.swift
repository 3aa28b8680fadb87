import BotCore
import Foundation
import Logging

/// An access token that never prints itself.
public struct AccessToken: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible {
    let value: String
    public init(_ value: String) { self.value = value }
    public var description: String { "<access token>" }
    public var debugDescription: String { "<access token>" }
}

/// The client-server API calls the adapter makes, over one ``HTTPClient``.
///
/// Each call takes a ``RetryPolicy``: the client waits out rate limits and backs off on transient
/// failures itself, and throws ``MatrixError`` once the policy gives up.
public final class MatrixClient: Sendable {
    public let homeserver: URL
    let http: any HTTPClient
    let token: AccessToken?
    let environment: RetryEnvironment
    let logger: Logger
    /// Seconds before a request is given up (a sync: its long poll plus half of this).
    let requestTimeout: TimeInterval

    public init(
        homeserver: URL, token: AccessToken?, http: any HTTPClient, environment: RetryEnvironment = .live, logger: Logger,
        requestTimeout: TimeInterval = 30
    ) {
        self.homeserver = homeserver
        self.token = token
        self.http = http
        self.environment = environment
        self.logger = logger
        self.requestTimeout = requestTimeout
    }

    /// The same server and transport with another token (after a password login).
    public func with(token: AccessToken) -> MatrixClient {
        MatrixClient(
            homeserver: homeserver, token: token, http: http, environment: environment, logger: logger, requestTimeout: requestTimeout)
    }

    // MARK: Requests

    /// Percent-encodes one path segment: room ids (`!a:b`), event ids (`$x`) and user ids stay one segment.
    static func segment(_ raw: String) -> String {
        // Bytes, then one String: appending scalar by scalar cost 1 % of a reply's CPU (perf).
        var out: [UInt8] = []
        out.reserveCapacity(raw.utf8.count + 8)
        let hex: StaticString = "0123456789ABCDEF"
        for byte in raw.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.append(byte)
            default:
                out.append(UInt8(ascii: "%"))
                out.append(hex.utf8Start[Int(byte >> 4)])
                out.append(hex.utf8Start[Int(byte & 0xF)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    func url(_ segments: [String], query: [(String, String)] = [], prefix: String = "/_matrix/client/v3") -> URL {
        var text = homeserver.absoluteString
        while text.hasSuffix("/") { text.removeLast() }
        text += prefix
        for s in segments { text += "/" + Self.segment(s) }
        if !query.isEmpty {
            text += "?" + query.map { "\(Self.segment($0.0))=\(Self.segment($0.1))" }.joined(separator: "&")
        }
        return URL(string: text)!
    }

    /// Sends one request with retries, and decodes the JSON answer.
    /// - Parameter raw: a body sent as it is, with its content type (a media upload), instead of `body`.
    @discardableResult
    func call(
        _ method: String, _ segments: [String], query: [(String, String)] = [], body: JSON? = nil,
        raw: (data: Data, contentType: String)? = nil, timeout: TimeInterval? = nil, policy: RetryPolicy,
        prefix: String = "/_matrix/client/v3"
    ) async throws -> JSON {
        var headers = ["Accept": "application/json"]
        if let token { headers["Authorization"] = "Bearer \(token.value)" }
        var data: Data?
        if let body {
            data = body.data()
            headers["Content-Type"] = "application/json"
        } else if let raw {
            data = raw.data
            headers["Content-Type"] = raw.contentType
        }
        let request = HTTPRequest(
            method: method, url: url(segments, query: query, prefix: prefix), headers: headers, body: data,
            timeout: timeout ?? requestTimeout)
        logger.trace("homeserver call", metadata: ["call": "\(method) \(segments.joined(separator: "/"))"])
        // Only when someone reads it (the scale benchmark): sync parse time and events per response.
        let measuresParse = logger.logLevel <= .debug && segments.first == "sync"
        var attempt = 0
        while true {
            let error: MatrixError
            do {
                let response = try await http.send(request)
                if (200..<300).contains(response.status) {
                    let parseStart = measuresParse ? ContinuousClock.now : nil
                    guard let json = JSON.parse(response.body) else {
                        throw MatrixError.malformedResponse("\(method) \(segments.first ?? ""): body is not JSON")
                    }
                    if let parseStart {
                        let elapsed = ContinuousClock.now - parseStart
                        logger.debug(
                            "response parsed",
                            metadata: [
                                "call": "\(method) \(segments.first ?? "")", "bytes": "\(response.body.count)",
                                "events": "\(Self.eventCount(json))", "parse_us": "\(elapsed / .microseconds(1))",
                            ])
                    }
                    return json
                }
                error = MatrixError.from(response)
            } catch let e as MatrixError {
                error = e
            } catch is CancellationError {
                throw CancellationError()
            } catch let transportError {
                if Task.isCancelled { throw CancellationError() }
                error = MatrixError.transport(Self.describe(transportError))
            }
            guard let wait = policy.delay(after: error, attempt: attempt, unit: environment.random()) else { throw error }
            logger.notice(
                "homeserver call failed, retrying",
                metadata: [
                    "call": "\(method) \(segments.first ?? "")", "error": "\(error)", "wait": "\(wait)", "attempt": "\(attempt + 1)",
                ])
            try await environment.sleep(wait)
            attempt += 1
        }
    }

    /// Events in a sync response: timelines, state and invites of every room.
    static func eventCount(_ sync: JSON) -> Int {
        var count = 0
        for (_, rooms) in sync["rooms"]?.object ?? [:] {
            for (_, room) in rooms.object ?? [:] {
                count += room["timeline"]?["events"]?.array?.count ?? 0
                count += room["state"]?["events"]?.array?.count ?? 0
                count += room["invite_state"]?["events"]?.array?.count ?? 0
            }
        }
        return count
    }

    /// A transport error in words, without the request (and so without any header).
    static func describe(_ error: any Error) -> String {
        if let curl = error as? CurlTransportError { return curl.description }
        if let url = error as? URLError {
            return "\(url.code) (URLError \(url.code.rawValue))"
        }
        let ns = error as NSError
        return "\(ns.domain) \(ns.code)"
    }

    // MARK: Endpoints

    /// `GET /versions` (no token needed).
    public func versions(policy: RetryPolicy = .once) async throws -> [String] {
        let json = try await call("GET", ["versions"], policy: policy, prefix: "/_matrix/client")
        return json["versions"]?.array?.compactMap(\.string) ?? []
    }

    public struct Identity: Sendable, Hashable {
        public var userID: String
        public var deviceID: String?
    }

    /// `GET /account/whoami`.
    public func whoami(policy: RetryPolicy = .delivery) async throws -> Identity {
        let json = try await call("GET", ["account", "whoami"], policy: policy)
        guard let user = json["user_id"]?.string else { throw MatrixError.malformedResponse("whoami without user_id") }
        return Identity(userID: user, deviceID: json["device_id"]?.string)
    }

    public struct Login: Sendable {
        public var token: AccessToken
        public var userID: String
        public var deviceID: String?
    }

    /// `POST /login` with a password; reuses `deviceID` so a restart does not create a new device.
    public func login(user: String, password: String, deviceID: String?, policy: RetryPolicy = .delivery) async throws -> Login {
        var body: [String: JSON] = [
            "type": "m.login.password",
            "identifier": ["type": "m.id.user", "user": .string(user)],
            "password": .string(password),
            "initial_device_display_name": "Fabrique",
        ]
        if let deviceID { body["device_id"] = .string(deviceID) }
        let json = try await call("POST", ["login"], body: .object(body), policy: policy)
        guard let token = json["access_token"]?.string, let userID = json["user_id"]?.string else {
            throw MatrixError.malformedResponse("login without access_token")
        }
        return Login(token: AccessToken(token), userID: userID, deviceID: json["device_id"]?.string)
    }

    /// `POST /user/{userId}/filter`: returns the filter id.
    public func createFilter(userID: String, filter: JSON, policy: RetryPolicy = .forever) async throws -> String {
        let json = try await call("POST", ["user", userID, "filter"], body: filter, policy: policy)
        guard let id = json["filter_id"]?.string else { throw MatrixError.malformedResponse("filter without filter_id") }
        return id
    }

    /// `GET /sync`, long-polling `timeout` milliseconds; the client waits half its request timeout (15 s) longer before giving up.
    public func sync(since: String?, filter: String?, timeout: Int, policy: RetryPolicy = .forever) async throws -> JSON {
        var query: [(String, String)] = [("timeout", String(timeout))]
        if let since { query.append(("since", since)) }
        if let filter { query.append(("filter", filter)) }
        return try await call("GET", ["sync"], query: query, timeout: Double(timeout) / 1000 + requestTimeout / 2, policy: policy)
    }

    /// `PUT /rooms/{roomId}/send/{eventType}/{txnId}`: returns the event id. Idempotent per txn id and device.
    public func send(roomID: String, type: String, txnID: String, content: JSON, policy: RetryPolicy = .delivery) async throws -> String {
        let json = try await call("PUT", ["rooms", roomID, "send", type, txnID], body: content, policy: policy)
        guard let id = json["event_id"]?.string else { throw MatrixError.malformedResponse("send without event_id") }
        return id
    }

    public func join(roomID: String, policy: RetryPolicy = .delivery) async throws {
        try await call("POST", ["join", roomID], body: [:], policy: policy)
    }

    public func leave(roomID: String, reason: String?, policy: RetryPolicy = .delivery) async throws {
        var body: [String: JSON] = [:]
        if let reason { body["reason"] = .string(reason) }
        try await call("POST", ["rooms", roomID, "leave"], body: .object(body), policy: policy)
    }

    public func typing(roomID: String, userID: String, typing: Bool, timeoutMS: Int = 10_000) async throws {
        var body: [String: JSON] = ["typing": .bool(typing)]
        if typing { body["timeout"] = .number(Double(timeoutMS)) }
        try await call("PUT", ["rooms", roomID, "typing", userID], body: .object(body), policy: .once)
    }

    public func receipt(roomID: String, eventID: String) async throws {
        try await call("POST", ["rooms", roomID, "receipt", "m.read", eventID], body: [:], policy: .once)
    }

    /// `GET /rooms/{roomId}/state/{type}/{stateKey}`; nil when the room has no such state (404).
    public func state(roomID: String, type: String, stateKey: String = "", policy: RetryPolicy = .delivery) async throws -> JSON? {
        do {
            var segments = ["rooms", roomID, "state", type]
            if !stateKey.isEmpty { segments.append(stateKey) }
            return try await call("GET", segments, policy: policy)
        } catch let error as MatrixError where error.errcode == "M_NOT_FOUND" {
            return nil
        }
    }

    /// `GET /rooms/{roomId}/state`: every current state event, whole (with its sender).
    public func fullState(roomID: String, policy: RetryPolicy = .delivery) async throws -> [JSON] {
        try await call("GET", ["rooms", roomID, "state"], policy: policy).array ?? []
    }

    /// `GET /rooms/{roomId}/joined_members`: user id → display name (nil when unset).
    public func joinedMembers(roomID: String, policy: RetryPolicy = .delivery) async throws -> [String: String?] {
        let json = try await call("GET", ["rooms", roomID, "joined_members"], policy: policy)
        var members: [String: String?] = [:]
        // `.some`: assigning a bare nil would drop a member who has no display name.
        for (user, info) in json["joined"]?.object ?? [:] { members[user] = .some(info["display_name"]?.string) }
        return members
    }

    /// `GET /rooms/{roomId}/event/{eventId}`.
    public func event(roomID: String, eventID: String, policy: RetryPolicy = .delivery) async throws -> JSON {
        try await call("GET", ["rooms", roomID, "event", eventID], policy: policy)
    }

    /// Which way `/messages` reads a room's timeline.
    public enum Direction: String, Sendable {
        case backwards = "b"
        case forwards = "f"
    }

    /// `GET /rooms/{roomId}/messages` from `from` towards `to`, page after page (100 events each, at most
    /// `maxPages`): the events in the order read, newest first when reading backwards.
    public func messages(
        roomID: String, _ direction: Direction, from: String, to: String?, filter: JSON?, maxPages: Int = 50, policy: RetryPolicy = .forever
    ) async throws -> [JSON] {
        var events: [JSON] = []
        var from = from
        for _ in 0..<maxPages {
            var query: [(String, String)] = [("from", from), ("dir", direction.rawValue), ("limit", "100")]
            if let to { query.append(("to", to)) }
            if let filter { query.append(("filter", filter.text())) }
            let page = try await call("GET", ["rooms", roomID, "messages"], query: query, policy: policy)
            let chunk = page["chunk"]?.array ?? []
            events += chunk
            guard let end = page["end"]?.string, !chunk.isEmpty, end != from else { break }
            from = end
        }
        return events
    }

    public func displayName(userID: String) async throws -> String? {
        do {
            return try await call("GET", ["profile", userID, "displayname"], policy: .delivery)["displayname"]?.string
        } catch let error as MatrixError where error.errcode == "M_NOT_FOUND" {
            return nil
        }
    }
}
