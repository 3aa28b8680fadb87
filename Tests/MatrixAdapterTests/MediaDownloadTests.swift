import BotCore
import FabriqueJSON
import Foundation
import XCTest

@testable import MatrixAdapter

/// Files shared in rooms: an `m.file` becomes a message carrying the file (an encrypted room's key sealed
/// in it), and the adapter downloads it through authenticated media, falls back to the older media API,
/// refuses what is too large, and decrypts an encrypted file only when its hash matches.
final class MediaDownloadTests: XCTestCase {
    typealias F = SyncFixture

    func adapter(_ http: FakeHTTPClient) -> MatrixAdapter {
        let configuration = MatrixConfiguration(
            homeserver: URL(string: "http://hs.test")!, userID: F.bot, accessToken: AccessToken("tok"), syncTimeoutMS: 10)
        return MatrixAdapter(
            configuration: configuration, store: try! StateStore(path: nil), http: http, environment: SleepRecorder().environment,
            logger: LogCapture().logger)
    }

    func shared(_ events: [JSON]) -> [IncomingMessage] {
        var translator = SyncTranslator(bot: BotIdentity(userID: F.bot, displayName: "Fabrique"), policy: MatrixPolicy())
        return translator.translate(F.sync(timeline: events, state: [F.powerLevels]), initial: false).events.compactMap {
            if case .message(let m) = $0 { m } else { nil }
        }
    }

    func testAnMFileBecomesASharedFileAndAnEncryptedOneKeepsItsKeySealed() throws {
        let attachment = try EncryptedAttachment.encrypt(Data("# Notes".utf8))
        let messages = shared([
            F.message(
                "$f", from: "@bo:s.org", "plan fabrique.pdf",
                extra: [
                    "filename": "plan fabrique.pdf", "url": "mxc://s.org/abc", "info": ["mimetype": "application/pdf", "size": 1234],
                ], msgtype: "m.file"),
            F.message("$e", from: "@bo:s.org", "notes.md", extra: ["file": attachment.file(url: "mxc://s.org/enc")], msgtype: "m.file"),
            F.message("$bad", from: "@bo:s.org", "nowhere.md", msgtype: "m.file"),
            F.message("$img", from: "@bo:s.org", "cat.png", extra: ["url": "mxc://s.org/cat"], msgtype: "m.image"),
        ])
        XCTAssertEqual(messages.map(\.eventID), ["$f", "$e"], "a file without an address is not one; images are not files to add")
        XCTAssertEqual(
            messages[0].file,
            SharedFile(fileName: "plan fabrique.pdf", mimeType: "application/pdf", size: 1234, location: "mxc://s.org/abc"))
        XCTAssertEqual(messages[0].text, "plan fabrique.pdf")
        XCTAssertFalse(messages[0].mentionsBot, "a file's name never addresses the bot, even one that names it")
        let sealed = try XCTUnwrap(messages[1].file?.sealed.flatMap { JSON.parse(Data($0.utf8)) })
        XCTAssertEqual(messages[1].file?.location, "mxc://s.org/enc")
        XCTAssertEqual(sealed["url"]?.string, "mxc://s.org/enc")
        XCTAssertEqual(sealed["key"]?["k"]?.string, attachment.file(url: "mxc://s.org/enc")["key"]?["k"]?.string)
    }

    func testADownloadUsesAuthenticatedMediaThenTheOlderAPI() async throws {
        let http = FakeHTTPClient()
        http.on("GET", "/_matrix/client/v1/media/download/s.org/abc", .bytes(200, Data("hello".utf8)))
        let bytes = try await adapter(http).fetch(SharedFile(fileName: "a.md", location: "mxc://s.org/abc"), limit: 100)
        XCTAssertEqual(bytes, Data("hello".utf8))
        let request = try XCTUnwrap(http.requests.first)
        XCTAssertEqual(request.headers["Authorization"], "Bearer tok")
        XCTAssertEqual(request.maximumBodySize, 100, "the transport stops past the limit")

        let old = FakeHTTPClient()
        old.on("GET", "/_matrix/client/v1/media/download", .json(404, ["errcode": "M_UNRECOGNIZED"]))
        old.on("GET", "/_matrix/media/v3/download/s.org/abc", .bytes(200, Data("old".utf8)))
        let fallback = try await adapter(old).fetch(SharedFile(fileName: "a.md", location: "mxc://s.org/abc"), limit: 100)
        XCTAssertEqual(fallback, Data("old".utf8))
        XCTAssertEqual(
            old.requests.map(\.url.path), ["/_matrix/client/v1/media/download/s.org/abc", "/_matrix/media/v3/download/s.org/abc"])
    }

    func testFailuresAreToldApart() async throws {
        func failure(_ reply: FakeHTTPClient.Reply, location: String = "mxc://s.org/abc") async -> FileFetchError? {
            let http = FakeHTTPClient()
            http.on("GET", "/media/", reply)
            do {
                _ = try await adapter(http).fetch(SharedFile(fileName: "a.md", location: location), limit: 10)
                return nil
            } catch {
                return error
            }
        }
        let missing = await failure(.json(404, ["errcode": "M_NOT_FOUND"]))
        XCTAssertEqual(missing, .notFound)
        let tooLarge = await failure(.bytes(200, Data(repeating: 1, count: 11)))
        XCTAssertEqual(tooLarge, .tooLarge(size: 11, limit: 10))
        let refused = await failure(.json(413, ["errcode": "M_TOO_LARGE"]))
        XCTAssertEqual(refused, .tooLarge(size: nil, limit: 10))
        let down = await failure(.json(502, [:]))
        XCTAssertEqual(down, .unavailable("HTTP 502"))
        let badAddress = await failure(.bytes(200, Data()), location: "https://elsewhere/x")
        XCTAssertEqual(badAddress, .notFound, "only mxc:// addresses are fetched")
    }

    func testAnEncryptedFileIsDecryptedOnlyWhenItsHashMatches() async throws {
        let plain = Data("# Planting a hedge\n\nBetween November and March.".utf8)
        let attachment = try EncryptedAttachment.encrypt(plain)
        let sealed = String(decoding: attachment.file(url: "mxc://s.org/enc").data(), as: UTF8.self)
        let http = FakeHTTPClient()
        http.on("GET", "/_matrix/client/v1/media/download/s.org/enc", .bytes(200, attachment.ciphertext))
        let file = SharedFile(fileName: "hedge.md", location: "mxc://s.org/enc", sealed: sealed)
        let decrypted = try await adapter(http).fetch(file, limit: 1_000)
        XCTAssertEqual(decrypted, plain)

        var tampered = attachment.ciphertext
        tampered[0] ^= 1
        let forged = FakeHTTPClient()
        forged.on("GET", "/_matrix/client/v1/media/download/s.org/enc", .bytes(200, tampered))
        do {
            _ = try await adapter(forged).fetch(file, limit: 1_000)
            XCTFail("a ciphertext whose hash does not match is never decrypted")
        } catch {
            XCTAssertEqual(error, .undecryptable("its hash or its key does not match"))
        }
    }
}
