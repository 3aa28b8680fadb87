import BotCore
import Foundation
import Logging
import XCTest

@testable import MatrixAdapter

/// ``CurlHTTPClient`` against a real HTTP/1.1 server on 127.0.0.1 (Python's `http.server`, started and
/// stopped by pid for each test). No assertion depends on how long anything takes.
final class CurlHTTPClientTests: XCTestCase {
    private var servers: [Process] = []
    private var port = 0
    let secret = "syt_c2VjcmV0_TokenThatMustNeverShow"

    override func setUpWithError() throws {
        port = try startServer()
    }

    override func tearDown() {
        // SIGKILL: a child of the test runner may inherit a mask that blocks SIGTERM.
        for server in servers where server.isRunning {
            kill(server.processIdentifier, SIGKILL)
            server.waitUntilExit()
        }
        servers = []
    }

    /// Starts the test server (with TLS when given a certificate and its key); returns its port.
    func startServer(_ arguments: [String] = []) throws -> Int {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", Self.serverScript] + arguments
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        servers.append(process)
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { throw XCTSkip("the test HTTP server did not start (python3 missing?)") }
            line += chunk
        }
        let port = Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        XCTAssertGreaterThan(port, 0)
        return port
    }

    func url(_ path: String) -> URL { URL(string: "http://127.0.0.1:\(port)\(path)")! }

    func json(_ response: HTTPResponse) throws -> JSON {
        try XCTUnwrap(JSON.parse(response.body), "not JSON: \(String(decoding: response.body, as: UTF8.self))")
    }

    // MARK: Connections

    func testSequentialRequestsReuseOneKeepAliveConnection() async throws {
        let client = CurlHTTPClient()
        var peers: [Int] = []
        for method in ["GET", "PUT", "POST", "GET"] {
            let body = method == "GET" ? nil : Data(#"{"n":1}"#.utf8)
            let response = try await client.send(
                HTTPRequest(method: method, url: url("/echo"), headers: ["Content-Type": "application/json"], body: body))
            XCTAssertEqual(response.status, 200)
            let echo = try json(response)
            XCTAssertEqual(echo["method"]?.string, method)
            XCTAssertEqual(echo["body"]?.string, body.map { String(decoding: $0, as: UTF8.self) } ?? "")
            peers.append(try XCTUnwrap(echo["peer"]?.int))
        }
        XCTAssertEqual(Set(peers).count, 1, "one client port for every request: \(peers)")
    }

    func testParallelRequestsRunTogetherWhileALongPollWaits() async throws {
        let client = CurlHTTPClient()
        let together = url("/together/3/a")
        // The server holds each of these until three have arrived (or gives up with 504 after 20 s):
        // they succeed only if the client runs them at the same time.
        async let a = client.send(HTTPRequest(method: "GET", url: together))
        async let b = client.send(HTTPRequest(method: "PUT", url: together, body: Data("x".utf8)))
        // A request sent while those wait still gets through at once.
        let echo = try await client.send(HTTPRequest(method: "GET", url: url("/echo")))
        XCTAssertEqual(echo.status, 200)
        async let c = client.send(HTTPRequest(method: "POST", url: together, body: Data("y".utf8)))
        let statuses = try await [a.status, b.status, c.status]
        XCTAssertEqual(statuses, [200, 200, 200])
    }

    func testUploadsAndDownloadsWholeBodies() async throws {
        let client = CurlHTTPClient()
        // Big enough that libcurl would otherwise wait for a `100 Continue` the server never sends.
        let upload = Data((0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        let echoed = try json(
            await client.send(
                HTTPRequest(method: "POST", url: url("/echo"), headers: ["Content-Type": "application/octet-stream"], body: upload)))
        XCTAssertEqual(echoed["length"]?.int, upload.count)
        XCTAssertEqual(echoed["sum"]?.int, upload.reduce(0) { $0 + Int($1) })
        XCTAssertNil(echoed["headers"]?["expect"])
        let download = try await client.send(HTTPRequest(method: "GET", url: url("/bytes/2000000")))
        XCTAssertEqual(download.status, 200)
        XCTAssertEqual(download.body.count, 2_000_000)
        XCTAssertEqual(download.headers["content-type"], "application/octet-stream")
        XCTAssertEqual(download.body.prefix(4), Data([0, 1, 2, 3]))
    }

    func testATaskThatPrefersTheTransportThreadResumesThere() async throws {
        let client = CurlHTTPClient()
        let echo = url("/echo")
        XCTAssertFalse(client.isTransportThread)
        let onTransport = try await client.runOnTransportThread {
            var answers: [Bool] = []
            for _ in 0..<3 {
                _ = try await client.send(HTTPRequest(method: "GET", url: echo))
                answers.append(client.isTransportThread)
            }
            return answers
        }
        XCTAssertEqual(onTransport, [true, true, true])
        // Without the preference, a request resumes its task elsewhere.
        _ = try await client.send(HTTPRequest(method: "GET", url: echo))
        XCTAssertFalse(client.isTransportThread)
    }

    // MARK: Responses

    func testA5xxIsAResponseNotAnError() async throws {
        let response = try await CurlHTTPClient().send(HTTPRequest(method: "PUT", url: url("/status/503"), body: Data("{}".utf8)))
        XCTAssertEqual(response.status, 503)
        XCTAssertEqual(response.headers["retry-after"], "7")
        XCTAssertEqual(try json(response)["errcode"]?.string, "M_UNKNOWN")
    }

    func testRedirectsAreNotFollowedForPostButAreForGet() async throws {
        let client = CurlHTTPClient()
        let post = try await client.send(HTTPRequest(method: "POST", url: url("/redirect"), body: Data("{}".utf8)))
        XCTAssertEqual(post.status, 302)
        XCTAssertEqual(post.headers["location"], "/echo")
        let put = try await client.send(HTTPRequest(method: "PUT", url: url("/redirect"), body: Data("{}".utf8)))
        XCTAssertEqual(put.status, 302)
        let get = try await client.send(HTTPRequest(method: "GET", url: url("/redirect")))
        XCTAssertEqual(get.status, 200)
        XCTAssertEqual(try json(get)["path"]?.string, "/echo")
        XCTAssertEqual(try json(get)["method"]?.string, "GET")
    }

    // MARK: Failures

    func testATimeoutIsATransportError() async throws {
        do {
            _ = try await CurlHTTPClient().send(HTTPRequest(method: "GET", url: url("/hang"), timeout: 0.3))
            XCTFail("expected a timeout")
        } catch let error as CurlTransportError {
            XCTAssertTrue(error.isTimeout, "\(error)")
            // Through the Matrix client, a timeout is transient: retried per policy.
            XCTAssertTrue(MatrixError.transport(MatrixClient.describe(error)).isTransient)
        }
    }

    func testCancellingTheTaskAbortsTheTransfer() async throws {
        let client = CurlHTTPClient()
        let hang = url("/hang")
        let task = Task { try await client.send(HTTPRequest(method: "GET", url: hang, timeout: 60)) }
        // Cancel once the server holds the request, so the transfer is cancelled in flight.
        for _ in 0..<500 {
            let seen = try json(await client.send(HTTPRequest(method: "GET", url: url("/count/hang"))))
            if seen["count"]?.int == 1 { break }
            try await Task.sleep(for: .milliseconds(10))
        }
        task.cancel()
        do {
            _ = try await task.value
            XCTFail("expected CancellationError")
        } catch is CancellationError {}
        // The client goes on working.
        let after = try await client.send(HTTPRequest(method: "GET", url: url("/echo")))
        XCTAssertEqual(after.status, 200)
    }

    func testACancelledTaskSendsNothing() async throws {
        let client = CurlHTTPClient()
        let hang = url("/hang")
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await client.send(HTTPRequest(method: "GET", url: hang))
        }
        do {
            _ = try await task.value
            XCTFail("expected CancellationError")
        } catch is CancellationError {}
        let seen = try json(await client.send(HTTPRequest(method: "GET", url: url("/count/hang"))))
        XCTAssertEqual(seen["count"]?.int, 0)
    }

    func testTLSPeersAreVerified() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("curl-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let cert = folder.appendingPathComponent("cert.pem").path, key = folder.appendingPathComponent("key.pem").path
        let openssl = Process()
        openssl.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        openssl.arguments = [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1",
            "-subj", "/CN=127.0.0.1",
        ]
        openssl.standardError = FileHandle.nullDevice
        try openssl.run()
        openssl.waitUntilExit()
        guard openssl.terminationStatus == 0 else { throw XCTSkip("openssl could not make a certificate") }
        let tlsPort = try startServer([cert, key])
        let request = HTTPRequest(
            method: "GET", url: URL(string: "https://127.0.0.1:\(tlsPort)/echo")!, headers: ["Authorization": "Bearer \(secret)"])
        do {
            _ = try await CurlHTTPClient().send(request)
            XCTFail("a self-signed certificate was accepted")
        } catch let error as CurlTransportError {
            XCTAssertEqual(error.code, 60, "\(error)")  // CURLE_PEER_FAILED_VERIFICATION
            XCTAssertFalse("\(error)".contains(secret))
        }
    }

    // MARK: The access token

    func testTheTokenIsNeverInAnErrorOrInTheVerboseLog() async throws {
        let logs = LogCapture()
        let client = CurlHTTPClient(trace: logs.logger)
        let headers = ["Authorization": "Bearer \(secret)", "Content-Type": "application/json"]
        // Bodies (a login carries the password) never reach the log either.
        let body = Data(#"{"password":"\#(secret)"}"#.utf8)
        let ok = try await client.send(
            HTTPRequest(method: "POST", url: url("/echo?access_token=\(secret)&x=1"), headers: headers, body: body))
        XCTAssertEqual(ok.status, 200)
        let refused = URL(string: "http://127.0.0.1:1/_matrix/client/v3/sync?access_token=\(secret)")!
        do {
            _ = try await client.send(HTTPRequest(method: "GET", url: refused, headers: headers))
            XCTFail("expected a refused connection")
        } catch let error as CurlTransportError {
            XCTAssertFalse("\(error)".contains(secret))
            XCTAssertFalse(String(reflecting: error).contains(secret))
        }
        do {
            _ = try await client.send(HTTPRequest(method: "GET", url: url("/hang"), headers: headers, timeout: 0.2))
            XCTFail("expected a timeout")
        } catch let error as CurlTransportError {
            XCTAssertFalse(String(reflecting: error).contains(secret))
        }
        // Through the Matrix client, with its own logs.
        let matrix = MatrixClient(
            homeserver: URL(string: "http://127.0.0.1:1")!, token: AccessToken(secret), http: client,
            environment: SleepRecorder().environment, logger: logs.logger)
        do {
            _ = try await matrix.whoami(policy: RetryPolicy(maxAttempts: 2))
            XCTFail("expected an error")
        } catch let error as MatrixError {
            XCTAssertFalse("\(error)".contains(secret))
        }
        let lines = logs.lines
        XCTAssertTrue(lines.contains { $0.contains("curl > Authorization: <redacted>") }, lines.joined(separator: "\n"))
        XCTAssertTrue(lines.contains { $0.contains("access_token=<redacted>&x=1") }, lines.joined(separator: "\n"))
        XCTAssertTrue(lines.contains { $0.contains("curl < HTTP/1.1 200") }, lines.joined(separator: "\n"))
        XCTAssertEqual(lines.filter { $0.contains(secret) || $0.contains("c2VjcmV0") }, [])
    }

    func testRedactionKeepsEverythingElse() {
        XCTAssertEqual(CurlTransfer.redacted("authorization: Bearer abc"), "authorization: <redacted>")
        XCTAssertEqual(CurlTransfer.redacted("Cookie: a=b"), "Cookie: <redacted>")
        XCTAssertEqual(
            CurlTransfer.redacted("GET /sync?ACCESS_TOKEN=abc&since=s1&access_token=def HTTP/1.1"),
            "GET /sync?ACCESS_TOKEN=<redacted>&since=s1&access_token=<redacted> HTTP/1.1")
        XCTAssertEqual(CurlTransfer.redacted("Content-Type: application/json"), "Content-Type: application/json")
    }

    /// The server (TLS when given a certificate and its key): `/echo` (what it got, and the client's port), `/status/N`, `/redirect` (302 to
    /// `/echo`), `/bytes/N`, `/together/N/KEY` (held until N requests with that key arrived), `/hang`
    /// (answers after 60 s) and `/count/hang` (how many `/hang` arrived).
    static let serverScript = #"""
        import http.server, json, sys, threading, time
        cond = threading.Condition()
        counts = {}
        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            def log_message(self, *args): pass
            def reply(self, status, obj=None, headers=(), raw=None, ctype="application/json"):
                body = raw if raw is not None else json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                for name, value in headers: self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)
            def handle_any(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                path = self.path.split("?")[0]
                parts = path.strip("/").split("/")
                with cond:
                    counts[path] = counts.get(path, 0) + 1
                    cond.notify_all()
                if parts[0] == "echo":
                    self.reply(200, {"method": self.command, "path": self.path, "peer": self.client_address[1],
                        "body": body.decode("utf-8", "replace") if length < 1000 else "", "length": len(body),
                        "sum": sum(body), "headers": {k.lower(): v for k, v in self.headers.items()}})
                elif parts[0] == "status":
                    self.reply(int(parts[1]), {"errcode": "M_UNKNOWN", "error": "as asked"}, [("Retry-After", "7")])
                elif parts[0] == "redirect":
                    self.reply(302, raw=b"", headers=[("Location", "/echo")])
                elif parts[0] == "bytes":
                    self.reply(200, raw=bytes(i % 256 for i in range(int(parts[1]))), ctype="application/octet-stream")
                elif parts[0] == "together":
                    with cond:
                        ok = cond.wait_for(lambda: counts.get(path, 0) >= int(parts[1]), timeout=20)
                    self.reply(200 if ok else 504, {"together": ok})
                elif parts[0] == "hang":
                    time.sleep(60)
                    self.reply(200, {})
                elif parts[0] == "count":
                    with cond:
                        self.reply(200, {"count": counts.get("/" + "/".join(parts[1:]), 0)})
                else:
                    self.reply(404, {"errcode": "M_UNRECOGNIZED"})
            do_GET = do_POST = do_PUT = do_DELETE = handle_any
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        if len(sys.argv) == 3:
            import ssl
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(sys.argv[1], sys.argv[2])
            server.socket = context.wrap_socket(server.socket, server_side=True)
        print(server.server_address[1], flush=True)
        server.serve_forever()
        """#
}
