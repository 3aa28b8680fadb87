import BotCore
import Foundation
import Synchronization
import XCTest

@testable import StdioAdapter

/// `/swap FILE NEW` and `/remove FILE` change the bench's working copy of the dialogues, never the author's
/// files, then say `!reload`; room members as the terminal lists them (whom `!send` reaches).
final class BenchFileTests: XCTestCase {
    /// What the bench printed (its notes).
    final class Output: Sendable {
        let text = Mutex("")
        func withLock<T>(_ body: (inout String) -> T) -> T { text.withLock { body(&$0) } }
    }

    let output = Output()

    func bench(_ configure: (inout StdioAdapter.Options) -> Void = { _ in }) -> StdioAdapter {
        var options = StdioAdapter.Options()
        options.user = "alice"
        options.room = "room-1"
        options.inputID = "in"
        configure(&options)
        return StdioAdapter(options: options, readLine: { nil }, write: { [output] text in output.withLock { $0 += text } })
    }

    func testSwapAndRemoveChangeTheWorkingCopyThenReload() throws {
        let original = FileManager.default.temporaryDirectory.appendingPathComponent("fabrique-bench-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: original, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: original) }
        try "v1".write(to: original.appendingPathComponent("a.yaml"), atomically: true, encoding: .utf8)
        try "v2".write(to: original.appendingPathComponent("a-v2.txt"), atomically: true, encoding: .utf8)
        let copy = try StdioAdapter.workingCopy(of: [original.path])
        defer { try? FileManager.default.removeItem(atPath: copy) }
        let adapter = bench {
            $0.dialogueFolder = copy
            $0.fixturesFolder = original.path
            $0.commandPrefix = "?"
        }

        guard case .message(let reload)? = adapter.interpret("bob@room-1> /swap a.yaml a-v2.txt", lineNumber: 3) else {
            return XCTFail("a swap says reload")
        }
        XCTAssertEqual(reload.text, "?reload")
        XCTAssertEqual(reload.senderID, "bob")
        XCTAssertEqual(try String(contentsOfFile: copy + "/a.yaml", encoding: .utf8), "v2")
        XCTAssertEqual(try String(contentsOf: original.appendingPathComponent("a.yaml"), encoding: .utf8), "v1", "the author's file")

        guard case .message? = adapter.interpret("/remove a.yaml", lineNumber: 4) else { return XCTFail("a removal says reload") }
        XCTAssertFalse(FileManager.default.fileExists(atPath: copy + "/a.yaml"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: original.appendingPathComponent("a.yaml").path))

        XCTAssertNil(adapter.interpret("/swap ../a.yaml a-v2.txt", lineNumber: 5), "never outside the working copy")
        XCTAssertNil(adapter.interpret("/swap a.yaml missing.yaml", lineNumber: 6))
        let notes = output.withLock { $0 }
        XCTAssertTrue(notes.contains("· usage: /swap FILE NEW"), notes)
        XCTAssertTrue(notes.contains("· /swap a.yaml missing.yaml: "), notes)
    }

    func testWithoutAWorkingCopyTheBenchChangesNoFile() {
        XCTAssertNil(bench().interpret("/swap a.yaml b.yaml", lineNumber: 1))
        XCTAssertEqual(
            output.withLock { $0 },
            "· /swap needs a dialogue folder the bench may change (a transcript's `#! dialogues:`, or chat --bench-files)\n")
    }

    func testAGroupRoomListsTheBenchMembersAndWhoSpokeThere() {
        let adapter = bench { $0.members = ["alice", "bob"] }
        _ = adapter.interpret("carol@room-1> hello", lineNumber: 1)
        guard case .message(let m)? = adapter.interpret("dave@room-2> hi", lineNumber: 2),
            case .message(let again)? = adapter.interpret("alice@room-1> !send checkin", lineNumber: 3),
            case .message(let direct)? = adapter.interpret("erin@dm-erin> hi", lineNumber: 4)
        else { return XCTFail("messages") }
        XCTAssertEqual(m.roomMembers?.map(\.id), ["alice", "bob", "dave"], "carol spoke in room-1 only")
        XCTAssertEqual(again.roomMembers?.map(\.id), ["alice", "bob", "carol"])
        XCTAssertEqual(direct.roomMembers?.map(\.id), ["erin"])
    }
}
