import BotCore
import Foundation
import Logging
import XCTest

@testable import MatrixAdapter

final class TransportTests: XCTestCase {
    let server = URL(string: "http://127.0.0.1:1")!

    func client(_ http: FakeHTTPClient, _ sleeps: SleepRecorder, logger: Logger? = nil) -> MatrixClient {
        MatrixClient(
            homeserver: server, token: AccessToken("syt_secret_token"), http: http, environment: sleeps.environment,
            logger: logger ?? LogCapture().logger)
    }

    func testRateLimitWaitsWhatTheServerAskedThenRetries() async throws {
        let http = FakeHTTPClient()
        http.on(
            "PUT", "/send/",
            .json(429, ["errcode": "M_LIMIT_EXCEEDED", "retry_after_ms": 1500]),
            .json(429, ["errcode": "M_LIMIT_EXCEEDED"], headers: ["retry-after": "3"]),
            .json(200, ["event_id": "$sent"]))
        let sleeps = SleepRecorder()
        let id = try await client(http, sleeps).send(roomID: "!r:s", type: "m.room.message", txnID: "t1", content: ["body": "hi"])
        XCTAssertEqual(id, "$sent")
        XCTAssertEqual(http.requests("PUT", "/send/").count, 3)
        XCTAssertEqual(sleeps.recorded, [.milliseconds(1550), .milliseconds(3050)])
        // The same transaction id every time: the server deduplicates.
        XCTAssertEqual(Set(http.requests("PUT", "/send/").map(\.url)).count, 1)
    }

    func testServerErrorsBackOffExponentiallyAndGiveUpPerPolicy() async throws {
        let http = FakeHTTPClient()
        http.on("PUT", "/send/", .json(502, [:]), .failure(.networkConnectionLost), .json(503, [:]), .json(500, [:]))
        let sleeps = SleepRecorder()
        do {
            _ = try await client(http, sleeps).send(roomID: "!r:s", type: "m.room.message", txnID: "t", content: [:])
            XCTFail("expected an error")
        } catch let error as MatrixError {
            XCTAssertEqual(error, .http(status: 500, errcode: nil, message: nil, retryAfter: nil))
        }
        XCTAssertEqual(http.requests.count, RetryPolicy.delivery.maxAttempts)
        // base 250 ms doubling, equal jitter with random 0.5 → 3/4 of each step.
        XCTAssertEqual(sleeps.recorded, [.milliseconds(187.5), .milliseconds(375), .milliseconds(750)])
    }

    func testBackoffIsCappedAndJittered() {
        let policy = RetryPolicy(base: .milliseconds(500), cap: .seconds(30))
        XCTAssertEqual(policy.backoff(afterAttempt: 0, unit: 0), .milliseconds(250))
        XCTAssertEqual(policy.backoff(afterAttempt: 0, unit: 1), .milliseconds(500))
        XCTAssertEqual(policy.backoff(afterAttempt: 20, unit: 0), .seconds(15))
        XCTAssertEqual(policy.backoff(afterAttempt: 1000, unit: 1), .seconds(30))
        let rateLimited = MatrixError.http(status: 429, errcode: "M_LIMIT_EXCEEDED", message: nil, retryAfter: .seconds(3600))
        XCTAssertEqual(policy.delay(after: rateLimited, attempt: 0, unit: 0), .seconds(120))
        XCTAssertNil(policy.delay(after: .http(status: 403, errcode: "M_FORBIDDEN", message: nil, retryAfter: nil), attempt: 0, unit: 0))
    }

    func testForbiddenAndUnknownTokenAreNotRetried() async throws {
        let http = FakeHTTPClient()
        http.on("PUT", "/send/", .json(403, ["errcode": "M_FORBIDDEN", "error": "not in room"]))
        http.on("GET", "/whoami", .json(401, ["errcode": "M_UNKNOWN_TOKEN", "error": "Invalid access token passed."]))
        let sleeps = SleepRecorder()
        let c = client(http, sleeps)
        do {
            _ = try await c.send(roomID: "!r:s", type: "m.room.message", txnID: "t", content: [:])
            XCTFail()
        } catch let error as MatrixError {
            XCTAssertEqual(MatrixAdapter.deliveryError(error), .permanent("HTTP 403 M_FORBIDDEN: not in room"))
        }
        do {
            _ = try await c.whoami()
            XCTFail()
        } catch let error as MatrixError {
            XCTAssertTrue(error.isUnknownToken)
            guard case .fatal(let text) = MatrixAdapter.deliveryError(error) else { return XCTFail() }
            XCTAssertTrue(text.contains("M_UNKNOWN_TOKEN"))
        }
        XCTAssertEqual(http.requests.count, 2)
        XCTAssertTrue(sleeps.recorded.isEmpty)
    }

    func testTokenTravelsInTheHeaderAndNeverInTheURLOrErrorsOrLogs() async throws {
        let http = FakeHTTPClient()
        http.on("GET", "/sync", .failure(.cannotConnectToHost), .json(500, ["error": "boom"]), .raw(200, "not json"))
        let logs = LogCapture()
        let sleeps = SleepRecorder()
        do {
            _ = try await client(http, sleeps, logger: logs.logger).sync(since: "s1", filter: "f", timeout: 30_000)
            XCTFail()
        } catch {
            XCTAssertFalse("\(error)".contains("syt_secret_token"))
            XCTAssertFalse(String(reflecting: error).contains("syt_secret_token"))
        }
        for request in http.requests {
            XCTAssertEqual(request.headers["Authorization"], "Bearer syt_secret_token")
            XCTAssertFalse(request.url.absoluteString.contains("syt_secret_token"))
            XCTAssertEqual(request.timeout, 45, "the client waits longer than the long poll")
        }
        XCTAssertFalse(logs.lines.isEmpty)
        XCTAssertFalse(logs.lines.joined().contains("syt_secret_token"))
        XCTAssertEqual("\(AccessToken("syt_secret_token"))", "<access token>")
    }

    func testPathSegmentsAreEncoded() {
        let c = MatrixClient(homeserver: URL(string: "http://h:8/")!, token: nil, http: FakeHTTPClient(), logger: LogCapture().logger)
        let url = c.url(["rooms", "!abc:h", "send", "m.room.message", "$x/y?z#w"])
        XCTAssertEqual(url.absoluteString, "http://h:8/_matrix/client/v3/rooms/%21abc%3Ah/send/m.room.message/%24x%2Fy%3Fz%23w")
    }

    func testTransactionIDsAreStableSafeAndDistinct() {
        let a = TransactionID.make(for: "$AbC/def:server.org#0")
        XCTAssertEqual(a, TransactionID.make(for: "$AbC/def:server.org#0"))
        XCTAssertNotEqual(a, TransactionID.make(for: "$AbC/def:server.org#1"))
        XCTAssertNotEqual(a, TransactionID.make(for: "$AbC/def:server.org#0", suffix: "/r1"))
        XCTAssertTrue(a.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }, a)
        XCTAssertLessThan(TransactionID.make(for: String(repeating: "é/", count: 5000)).count, 90)
        XCTAssertEqual(SHA256.hex(Array("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(SHA256.hex([]), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(
            SHA256.hex(Array(String(repeating: "a", count: 1000).utf8)),
            "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3")
    }

    func testLenientJSONKeepsBooleansAndNumbersApart() throws {
        let json = try XCTUnwrap(JSON.parse(Data(#"{"a":true,"b":1,"c":"x","d":[null,1.5],"e":{"f":false}}"#.utf8)))
        XCTAssertEqual(json["a"]?.bool, true)
        XCTAssertNil(json["a"]?.int)
        XCTAssertEqual(json["b"]?.int, 1)
        XCTAssertNil(json["b"]?.bool)
        XCTAssertEqual(json["d"]?.array?[1].number, 1.5)
        XCTAssertEqual(json["e"]?["f"]?.bool, false)
        XCTAssertNil(JSON.parse(Data("{".utf8)))
        XCTAssertEqual(String(decoding: (["x": 2, "a": "b"] as JSON).data(), as: UTF8.self), #"{"a":"b","x":2}"#)
    }
}

final class JSONParserTests: XCTestCase {
    func parse(_ text: String) -> JSON? { JSON.parse(Data(text.utf8)) }

    func testValuesEscapesAndNumbers() throws {
        let json = try XCTUnwrap(
            parse(
                #" { "a" : [1, -2, 3.5, 1e3, -0.25E-2, 12345678901234567890], "s": "q\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00", "t": true, "n": null, "e": {}, "l": [] } "#
            ))
        XCTAssertEqual(json["a"]?.array?.compactMap(\.number), [1, -2, 3.5, 1000, -0.0025, 12345678901234567168])
        XCTAssertEqual(json["s"]?.string, "q\"\\/\u{8}\u{c}\n\r\té😀")
        XCTAssertEqual(json["t"], .bool(true))
        XCTAssertEqual(json["n"], .null)
        XCTAssertEqual(json["e"], .object([:]))
        XCTAssertEqual(json["l"], .array([]))
    }

    func testLoneSurrogatesAndInvalidUTF8BecomeReplacementCharacters() throws {
        XCTAssertEqual(parse(#"["\ud800", "\udc00x", "\ud800\u0041"]"#), ["\u{FFFD}", "\u{FFFD}x", "\u{FFFD}A"])
        var bytes = Array(#"["a"#.utf8)
        bytes += [0xFF, 0xC3]
        bytes += Array(#""]"#.utf8)
        XCTAssertEqual(JSON.parse(Data(bytes))?.array?.first?.string, "a\u{FFFD}\u{FFFD}")
    }

    func testMalformedInputIsRejectedWithoutTrapping() {
        for bad in ["", "{", "[1,", #"{"a" 1}"#, "[1 2]", "tru", "nul", "-", #""\x""#, "\"abc", "[1]]", "{\"a\":1,}", "\"\u{1}\""] {
            XCTAssertNil(parse(bad), bad)
        }
        XCTAssertNil(parse(String(repeating: "[", count: 100_000)), "deep nesting is refused, not a stack overflow")
        XCTAssertNotNil(parse(String(repeating: "[", count: 200) + String(repeating: "]", count: 200)))
    }

    func testRoundTrip() throws {
        let value: JSON = ["body": "x\n\"y\"", "n": 3, "f": 1.5, "list": [true, .null, ["k": "v"]]]
        XCTAssertEqual(JSON.parse(value.data()), value)
        let awkward = JSON.string("a\u{1}\u{7F}\u{0}é😀\"\\\n\u{202E}")
        XCTAssertEqual(JSON.parse(awkward.data()), awkward)
        XCTAssertEqual(String(decoding: JSON.array([1.5, 1e300, -3]).data(), as: UTF8.self), "[1.5,1e+300,-3]")
    }
}
