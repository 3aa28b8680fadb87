import BotCore
import Foundation
import XCTest

@testable import MatrixAdapter

/// Files: uploaded to the media repository, then posted as `m.file` / `m.image` pointing to them.
final class MediaUploadTests: XCTestCase {
    let bot = "@fabrique:hs.test"

    func adapter(_ http: FakeHTTPClient) -> MatrixAdapter {
        let configuration = MatrixConfiguration(
            homeserver: URL(string: "http://hs.test")!, userID: bot, accessToken: AccessToken("tok"), syncTimeoutMS: 10)
        return MatrixAdapter(
            configuration: configuration, store: try! StateStore(path: nil), http: http, environment: SleepRecorder().environment,
            logger: LogCapture().logger)
    }

    func serve(_ http: FakeHTTPClient, limit: Int? = 50_000_000) {
        http.on("GET", "/account/whoami", .json(200, ["user_id": .string(bot), "device_id": "DEV"]))
        http.on("GET", "/displayname", .json(200, ["displayname": "Fabrique"]))
        http.on("GET", "/account_data/m.direct", .json(404, ["errcode": "M_NOT_FOUND"]))
        http.on("GET", "/_matrix/client/v1/media/config", .json(200, limit.map { ["m.upload.size": .number(Double($0))] } ?? [:]))
        http.on("PUT", "/send/m.room.message/", .json(200, ["event_id": "$file"]))
    }

    func message(_ file: Attachment) -> OutgoingMessage {
        OutgoingMessage(id: "$ask#1", roomID: "!r:hs.test", markdown: file.fileName, replyToEventID: "$ask", attachment: file)
    }

    func testAnImageIsUploadedThenPostedWithItsSizeAndType() async throws {
        let http = FakeHTTPClient()
        serve(http)
        http.on("POST", "/_matrix/media/v3/upload", .json(200, ["content_uri": "mxc://hs.test/abc"]))
        let png = Data([0x89, 0x50, 0x4E, 0x47] + Array(repeating: 7, count: 96))
        try await adapter(http).deliver(
            message(Attachment(fileName: "profile-drome.png", mimeType: "image/png", data: png, width: 680, height: 534)))

        let upload = try XCTUnwrap(http.requests("POST", "/_matrix/media/v3/upload").first)
        XCTAssertEqual(upload.body, png, "the bytes as they are")
        XCTAssertEqual(upload.headers["Content-Type"], "image/png")
        XCTAssertEqual(upload.url.query, "filename=profile-drome.png")
        let sent = try XCTUnwrap(http.requests("PUT", "/send/m.room.message/").first.flatMap { $0.body.flatMap(JSON.parse) })
        XCTAssertEqual(sent["msgtype"]?.string, "m.image")
        XCTAssertEqual(sent["url"]?.string, "mxc://hs.test/abc")
        XCTAssertEqual(sent["body"]?.string, "profile-drome.png")
        XCTAssertEqual(sent["filename"]?.string, "profile-drome.png")
        XCTAssertEqual(sent["info"]?["mimetype"]?.string, "image/png")
        XCTAssertEqual(sent["info"]?["size"]?.number, 100)
        XCTAssertEqual(sent["info"]?["w"]?.number, 680)
        XCTAssertEqual(sent["info"]?["h"]?.number, 534)
        XCTAssertEqual(sent["m.relates_to"]?["m.in_reply_to"]?["event_id"]?.string, "$ask", "a rich reply to the request, like text")
    }

    /// In an encrypted room the file goes up encrypted (`EncryptedFile`), and its key only inside the
    /// Megolm-encrypted event.
    func testInAnEncryptedRoomTheFileIsUploadedEncryptedAndItsKeyTravelsInsideTheEvent() async throws {
        let http = FakeHTTPClient()
        serve(http)
        http.on("POST", "/keys/upload", .json(200, ["one_time_key_counts": ["signed_curve25519": 50]]))
        http.on("POST", "/keys/device_signing/upload", .json(200, [:]))
        http.on("POST", "/keys/signatures/upload", .json(200, ["failures": [:]]))
        http.on("GET", "/state/m.room.encryption", .json(200, ["algorithm": "m.megolm.v1.aes-sha2"]))
        http.on("GET", "/joined_members", .json(200, ["joined": .object([bot: [:]])]))
        http.on("POST", "/keys/query", .json(200, ["device_keys": [:]]))
        http.on("POST", "/_matrix/media/v3/upload", .json(200, ["content_uri": "mxc://hs.test/sealed"]))
        http.on("PUT", "/send/m.room.encrypted/", .json(200, ["event_id": "$file"]))
        var configuration = MatrixConfiguration(
            homeserver: URL(string: "http://hs.test")!, userID: bot, accessToken: AccessToken("tok"), syncTimeoutMS: 10)
        configuration.pickleKey = "test pickle key"
        let adapter = MatrixAdapter(
            configuration: configuration, store: try StateStore(path: nil), http: http, environment: SleepRecorder().environment,
            logger: LogCapture().logger)
        let csv = Data("territory,answers\r\nDrôme,20\r\n".utf8)
        try await adapter.connect()
        try await adapter.deliver(message(Attachment(fileName: "inventory.csv", mimeType: "text/csv", data: csv)))

        let upload = try XCTUnwrap(http.requests("POST", "/_matrix/media/v3/upload").first)
        XCTAssertNotEqual(upload.body, csv, "never the report in clear")
        XCTAssertEqual(upload.headers["Content-Type"], "application/octet-stream")
        XCTAssertTrue(http.requests("PUT", "/send/m.room.message/").isEmpty, "nothing sent in clear")
        let sent = try XCTUnwrap(http.requests("PUT", "/send/m.room.encrypted/").first.flatMap { $0.body.flatMap(JSON.parse) })
        XCTAssertNil(sent["file"])
        XCTAssertNil(sent["url"])
        let event: JSON = ["event_id": "$file", "sender": .string(bot), "type": "m.room.encrypted", "content": sent]
        let opened = await adapter.decrypted(event, roomID: "!r:hs.test", keep: false)
        XCTAssertEqual(opened["type"]?.string, "m.room.message")
        let file = try XCTUnwrap(opened["content"]?["file"])
        XCTAssertEqual(file["url"]?.string, "mxc://hs.test/sealed")
        XCTAssertEqual(opened["content"]?["msgtype"]?.string, "m.file")
        XCTAssertEqual(EncryptedAttachment.decrypt(try XCTUnwrap(upload.body), file: file), csv)
    }

    func testAFileIsPostedAsAFileWithoutPixelSize() async throws {
        let http = FakeHTTPClient()
        serve(http)
        http.on("POST", "/_matrix/media/v3/upload", .json(200, ["content_uri": "mxc://hs.test/csv"]))
        try await adapter(http).deliver(
            message(Attachment(fileName: "inventory.csv", mimeType: "text/csv; charset=utf-8", data: Data("a,b\r\n".utf8))))
        let sent = try XCTUnwrap(http.requests("PUT", "/send/m.room.message/").first.flatMap { $0.body.flatMap(JSON.parse) })
        XCTAssertEqual(sent["msgtype"]?.string, "m.file")
        XCTAssertEqual(sent["info"]?["mimetype"]?.string, "text/csv; charset=utf-8")
        XCTAssertNil(sent["info"]?["w"])
    }

    func testAFileOverTheServersLimitIsNotUploaded() async throws {
        let http = FakeHTTPClient()
        serve(http, limit: 10)
        let adapter = adapter(http)
        do {
            try await adapter.deliver(message(Attachment(fileName: "big.html", mimeType: "text/html", data: Data(count: 11))))
            XCTFail("expected fileTooLarge")
        } catch let error as DeliveryError {
            XCTAssertEqual(error, .fileTooLarge(size: 11, limit: 10))
        }
        XCTAssertEqual(http.requests("POST", "/upload").count, 0)
        XCTAssertEqual(http.requests("PUT", "/send/").count, 0)
        // The limit is asked once per run.
        try? await adapter.deliver(message(Attachment(fileName: "big.html", mimeType: "text/html", data: Data(count: 11))))
        XCTAssertEqual(http.requests("GET", "/media/config").count, 1)
    }

    func testA413FromTheServerIsTooLargeEvenWithoutAStatedLimit() async throws {
        let http = FakeHTTPClient()
        serve(http, limit: nil)
        http.on("POST", "/_matrix/media/v3/upload", .json(413, ["errcode": "M_TOO_LARGE", "error": "Upload request body is too large"]))
        do {
            try await adapter(http).deliver(message(Attachment(fileName: "a.png", mimeType: "image/png", data: Data(count: 5))))
            XCTFail("expected fileTooLarge")
        } catch let error as DeliveryError {
            XCTAssertEqual(error, .fileTooLarge(size: 5, limit: nil))
        }
        XCTAssertEqual(http.requests("PUT", "/send/").count, 0)
    }

    func testAFailingUploadIsTransientAndThePostWaitsForIt() async throws {
        let http = FakeHTTPClient()
        serve(http)
        http.on("POST", "/_matrix/media/v3/upload", .json(502, [:]))
        do {
            try await adapter(http).deliver(message(Attachment(fileName: "a.csv", mimeType: "text/csv", data: Data("x".utf8))))
            XCTFail("expected a transient failure")
        } catch let error as DeliveryError {
            guard case .transient = error else { return XCTFail("\(error)") }
        }
        XCTAssertEqual(http.requests("POST", "/upload").count, RetryPolicy.delivery.maxAttempts, "the client's own quick tries")
        XCTAssertEqual(http.requests("PUT", "/send/").count, 0, "no event points to a file that is not there")
    }
}
