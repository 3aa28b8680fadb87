import BotCore
import Foundation
import Logging

@testable import MatrixAdapter

/// A scripted homeserver: each route answers its queued responses in turn (the last one repeats),
/// and every request is recorded so tests can assert on what the adapter sent.
final class FakeHTTPClient: HTTPClient, @unchecked Sendable {
    enum Reply {
        case json(Int, JSON, headers: [String: String] = [:])
        case raw(Int, String)
        case bytes(Int, Data)
        case failure(URLError.Code)
    }

    private struct Route {
        var method: String
        var path: String
        var replies: [Reply]
    }

    private let lock = NSLock()
    private var routes: [Route] = []
    private var recorded: [HTTPRequest] = []

    /// Answers requests whose method matches and whose path contains `path`; later routes win.
    func on(_ method: String, _ path: String, _ replies: Reply...) {
        lock.withLock { routes.insert(Route(method: method, path: path, replies: replies), at: 0) }
    }

    var requests: [HTTPRequest] { lock.withLock { recorded } }

    func requests(_ method: String, _ path: String) -> [HTTPRequest] {
        requests.filter { $0.method == method && $0.url.path.contains(path) }
    }

    func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        let reply: Reply? = lock.withLock {
            recorded.append(request)
            let path = request.url.path
            guard let index = routes.firstIndex(where: { $0.method == request.method && path.contains($0.path) }) else { return nil }
            let reply = routes[index].replies[0]
            if routes[index].replies.count > 1 { routes[index].replies.removeFirst() }
            return reply
        }
        switch reply {
        case .json(let status, let json, let headers)?:
            return HTTPResponse(status: status, headers: headers, body: json.data())
        case .raw(let status, let body)?:
            return HTTPResponse(status: status, body: Data(body.utf8))
        case .bytes(let status, let body)?:
            return HTTPResponse(status: status, body: body)
        case .failure(let code)?:
            throw URLError(code)
        case nil:
            return HTTPResponse(status: 404, body: (["errcode": "M_UNRECOGNIZED", "error": "no route in the fake"] as JSON).data())
        }
    }
}

/// Records the waits a retry loop asked for, without waiting.
final class SleepRecorder: @unchecked Sendable {
    private let lock = NSLock()
    private var waits: [Duration] = []
    var recorded: [Duration] { lock.withLock { waits } }

    var environment: RetryEnvironment {
        RetryEnvironment(sleep: { [self] d in lock.withLock { waits.append(d) } }, random: { 0.5 })
    }
}

/// A logger that keeps every line, to check what (never) gets logged.
final class LogCapture: LogHandler, @unchecked Sendable {
    private let lock = NSLock()
    private var storage: [String] = []
    var lines: [String] { lock.withLock { storage } }
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let meta = (event.metadata ?? [:]).map { "\($0)=\($1)" }.sorted().joined(separator: " ")
        lock.withLock { storage.append("\(event.level) \(event.message) \(meta)") }
    }

    var logger: Logger { Logger(label: "test") { _ in self } }
}
