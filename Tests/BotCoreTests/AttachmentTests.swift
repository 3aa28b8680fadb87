@testable import BotCore
import FabriqueTesting
import Foundation
import GRDB
import XCTest

/// An extension command that sends a file: what a report does, without the Factory.
private struct FileSender: EngineExtension {
    static let bytes = Data((0..<3000).map { UInt8($0 % 251) })

    var commands: [ExtensionCommand] {
        [
            ExtensionCommand("file") { _, message, scope in
                scope.reply("here it comes", to: message)
                scope.send(
                    Attachment(fileName: "chart.png", mimeType: "image/png", data: Self.bytes, width: 640, height: 480),
                    caption: "chart.png", to: message)
                scope.reply("and that was it", to: message)
            }
        ]
    }
}

final class AttachmentTests: XCTestCase {
    func testAFileIsAMessageOfItsOwnKeptWholeInTheOutbox() throws {
        var bench = try TestBench(extensions: [FileSender()])
        let replies = try bench.engine.handle(.message(bench.message("!file", id: "f")))
        // In a group room text replies join, but never a file: text, file, text.
        XCTAssertEqual(replies.map(\.id), ["f#0", "f#1", "f#2"])
        XCTAssertNil(replies[0].attachment)
        XCTAssertEqual(replies[1].attachment?.data, FileSender.bytes)
        XCTAssertNil(replies[2].attachment)
        // What a crash before delivery leaves in the outbox is the same file, byte for byte, with its size.
        let stored = try bench.engine.pendingOutbox()
        XCTAssertEqual(stored, replies)
        XCTAssertEqual(stored[1].attachment?.width, 640)
        XCTAssertEqual(stored[1].attachment?.height, 480)
        XCTAssertEqual(stored[1].attachment?.mimeType, "image/png")
        XCTAssertEqual(stored[1].attachment?.isImage, true)
    }

    func testAFileTooLargeForTheTransportBecomesANoticeThatSaysWhy() async throws {
        var bench = try TestBench(extensions: [FileSender()])
        let adapter = FakeAdapter([InboundBatch(events: [.message(bench.message("!file", id: "f"))])])
        adapter.failures.withLock { $0 = ["f#1": [.fileTooLarge(size: 2_500_000, limit: 1_000_000)]] }
        try await EngineRunner(engine: bench.engine, adapter: adapter, logger: .init(label: "test")).run()
        let delivered = adapter.delivered.withLock { $0 }
        XCTAssertEqual(delivered.map(\.id), ["f#0", "f#1/unsent#0", "f#2"], "the notice takes the file's place, in order")
        XCTAssertTrue(delivered[1].plain.contains("chart.png"), delivered[1].plain)
        XCTAssertTrue(delivered[1].plain.contains("2.5 MB"), delivered[1].plain)
        XCTAssertTrue(delivered[1].plain.contains("at most 1 MB"), delivered[1].plain)
        XCTAssertEqual(try bench.engine.pendingOutbox(), [], "neither the file nor its notice is tried again")
    }

    func testAFileThatKeepsFailingIsRetriedThenGivenUpWithANotice() async throws {
        var bench = try TestBench(extensions: [FileSender()])
        let adapter = FakeAdapter([InboundBatch(events: [.message(bench.message("!file", kind: .direct, id: "f"))])])
        adapter.failures.withLock { $0 = ["f#1": Array(repeating: DeliveryError.transient("HTTP 502"), count: 3)] }
        let runner = EngineRunner(
            engine: bench.engine, adapter: adapter, logger: .init(label: "test"), retryDelays: [.milliseconds(1)], fileAttempts: 3)
        try await runner.run()
        XCTAssertEqual(bench.scheduler.now, .milliseconds(2), "two waits: three tries in all")
        let delivered = adapter.delivered.withLock { $0 }
        XCTAssertEqual(delivered.map(\.id), ["f#0", "f#1/unsent#0", "f#2"])
        XCTAssertTrue(delivered[1].plain.contains("after several tries (HTTP 502)"), delivered[1].plain)
        XCTAssertEqual(try bench.engine.pendingOutbox(), [])
    }

    func testAFileThatFailsLessThanTheLimitStillGoesOut() async throws {
        var bench = try TestBench(extensions: [FileSender()])
        let adapter = FakeAdapter([InboundBatch(events: [.message(bench.message("!file", kind: .direct, id: "f"))])])
        adapter.failures.withLock { $0 = ["f#1": [.transient("HTTP 502"), .transient("timeout")]] }
        let runner = EngineRunner(
            engine: bench.engine, adapter: adapter, logger: .init(label: "test"), retryDelays: [.milliseconds(1)], fileAttempts: 3)
        try await runner.run()
        XCTAssertEqual(adapter.delivered.withLock { $0.map(\.id) }, ["f#0", "f#1", "f#2"])
    }

    func testTheNoticeSpeaksTheRoomsLanguage() throws {
        var bench = try TestBench(extensions: [FileSender()])
        try bench.engine.handle(.message(bench.message("!lang room fr")))
        let file = try XCTUnwrap(try bench.engine.handle(.message(bench.message("!file", id: "f"))).first { $0.attachment != nil })
        let notice = try bench.engine.fileNotSent(file, .tooLarge(size: 1_234_567, limit: 500_000))
        XCTAssertEqual(notice.count, 1)
        XCTAssertTrue(notice[0].plain.contains("1,2 Mo"), notice[0].plain)
        XCTAssertTrue(notice[0].plain.contains("500 ko"), notice[0].plain)
        XCTAssertFalse(try bench.engine.pendingOutbox().contains { $0.id == file.id }, "the file is done with")
        XCTAssertTrue(try bench.engine.pendingOutbox().contains { $0.id == notice[0].id }, "its notice is queued, crash-safe")
    }

    func testSizesReadAsPeopleWriteThem() {
        XCTAssertEqual(Engine.byteCount(840, .en), "840 bytes")
        XCTAssertEqual(Engine.byteCount(84_000, .en), "84 KB")
        XCTAssertEqual(Engine.byteCount(2_500_000, .en), "2.5 MB")
        XCTAssertEqual(Engine.byteCount(2_500_000, .fr), "2,5 Mo")
        XCTAssertEqual(Engine.byteCount(50_000_000, .en), "50 MB")
    }
}
