// The peer baseline of echo_bot.py in Swift: log in with a password, long-poll /sync, join the rooms
// it is invited to, and answer every text message from someone else (sent after start) with a notice
// replying to it. One long-lived ephemeral URLSession, async/await, JSONSerialization. Its sync leaves
// out its own events (as Fabrique's does), so a reply costs two requests: the floor of the stack.
//
//     swift-echo HOMESERVER USER_ID PASSWORD

import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

typealias JSON = [String: Any]

struct MatrixError: Error, CustomStringConvertible {
    let description: String
}

/// RFC 3986 unreserved characters: everything else in a path segment or query value is percent-encoded.
let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

func encoded(_ component: String) -> String {
    component.addingPercentEncoding(withAllowedCharacters: unreserved) ?? component
}

final class Client {
    let homeserver: String
    let session: URLSession
    var token: String?

    init(homeserver: String) {
        self.homeserver = homeserver.hasSuffix("/") ? String(homeserver.dropLast()) : homeserver
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpCookieStorage = nil
        // Not only storage: with any other policy FoundationNetworking parses every response header
        // line for cookies (7 % of the samples in a perf profile of this bot).
        configuration.httpCookieAcceptPolicy = .never
        configuration.httpShouldSetCookies = false
        configuration.urlCache = nil
        configuration.urlCredentialStorage = nil
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        configuration.timeoutIntervalForRequest = 90  // above the 30 s long poll
        session = URLSession(configuration: configuration)
    }

    /// One request; a 429 is waited out and retried, any other non-2xx status is an error.
    func call(_ method: String, _ path: String, query: [(String, String)] = [], body: JSON? = nil) async throws -> JSON {
        var address = homeserver + path
        if !query.isEmpty {
            address += "?" + query.map { "\(encoded($0.0))=\(encoded($0.1))" }.joined(separator: "&")
        }
        guard let url = URL(string: address) else { throw MatrixError(description: "bad URL \(address)") }
        var request = URLRequest(url: url)
        request.httpMethod = method
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        if let body {
            request.httpBody = try JSONSerialization.data(withJSONObject: body)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        while true {
            let (data, response) = try await session.data(for: request)
            let status = (response as? HTTPURLResponse)?.statusCode ?? 0
            let object = (try? JSONSerialization.jsonObject(with: data)) as? JSON ?? [:]
            if status == 429 {
                let wait = (object["retry_after_ms"] as? Int) ?? 500
                try await Task.sleep(nanoseconds: UInt64(wait) * 1_000_000)
                continue
            }
            guard (200..<300).contains(status) else {
                throw MatrixError(description: "\(method) \(path): \(status) \(String(decoding: data, as: UTF8.self))")
            }
            return object
        }
    }
}

@main
struct EchoBot {
    static func main() async {
        let arguments = CommandLine.arguments
        guard arguments.count >= 4 else {
            FileHandle.standardError.write(Data("usage: swift-echo HOMESERVER USER_ID PASSWORD\n".utf8))
            exit(2)
        }
        do {
            try await run(homeserver: arguments[1], user: arguments[2], password: arguments[3])
        } catch {
            FileHandle.standardError.write(Data("swift-echo: \(error)\n".utf8))
            exit(1)
        }
    }

    static func run(homeserver: String, user: String, password: String) async throws {
        let client = Client(homeserver: homeserver)
        let login = try await client.call("POST", "/_matrix/client/v3/login", body: [
            "type": "m.login.password",
            "identifier": ["type": "m.id.user", "user": user],
            "password": password,
        ])
        guard let token = login["access_token"] as? String else { throw MatrixError(description: "login: no access_token") }
        client.token = token
        let me = login["user_id"] as? String ?? user
        let startedMs = Int(Date().timeIntervalSince1970 * 1000)

        // Its own replies need not wake the long poll: with this filter a reply costs the fewest requests
        // a Matrix bot can make, one /sync that brings the message and one PUT that answers it.
        let filter = try JSONSerialization.data(withJSONObject: ["room": ["timeline": ["not_senders": [me]]]])
        var since: String?
        while true {
            var query = [("timeout", "30000"), ("filter", String(decoding: filter, as: UTF8.self))]
            if let since { query.append(("since", since)) }
            let sync: JSON
            do {
                sync = try await client.call("GET", "/_matrix/client/v3/sync", query: query)
            } catch {
                FileHandle.standardError.write(Data("swift-echo: sync: \(error)\n".utf8))
                try await Task.sleep(nanoseconds: 1_000_000_000)
                continue
            }
            if let next = sync["next_batch"] as? String { since = next }
            let rooms = sync["rooms"] as? JSON ?? [:]

            for room in (rooms["invite"] as? JSON ?? [:]).keys {
                do {
                    _ = try await client.call("POST", "/_matrix/client/v3/join/\(encoded(room))", body: [:])
                } catch {
                    FileHandle.standardError.write(Data("swift-echo: join \(room): \(error)\n".utf8))
                }
            }

            for (room, value) in rooms["join"] as? JSON ?? [:] {
                let timeline = (value as? JSON)?["timeline"] as? JSON
                for case let event as JSON in timeline?["events"] as? [Any] ?? [] {
                    guard event["type"] as? String == "m.room.message",
                          let sender = event["sender"] as? String, sender != me,
                          let timestamp = event["origin_server_ts"] as? Int, timestamp >= startedMs,
                          let eventID = event["event_id"] as? String,
                          let content = event["content"] as? JSON,
                          content["msgtype"] as? String == "m.text",
                          let body = content["body"] as? String
                    else { continue }
                    let reply: JSON = [
                        "msgtype": "m.notice",
                        "body": body,
                        "m.relates_to": ["m.in_reply_to": ["event_id": eventID]],
                        "m.mentions": [String: Any](),
                    ]
                    let txn = UUID().uuidString
                    do {
                        _ = try await client.call(
                            "PUT", "/_matrix/client/v3/rooms/\(encoded(room))/send/m.room.message/\(encoded(txn))", body: reply)
                    } catch {
                        FileHandle.standardError.write(Data("swift-echo: send in \(room): \(error)\n".utf8))
                    }
                }
            }
        }
    }
}
