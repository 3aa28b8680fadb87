import BotCore
import Foundation
import Synchronization
import XCTest

@testable import StdioAdapter

/// `/reply N TEXT` and `/react N KEY`: what a reply or a reaction to the bot's N-th latest question is
/// on Matrix, so golden transcripts can pin which question an answer lands on.
final class ReplyAndReactTests: XCTestCase {
    /// What the bench printed (its notes, and the bot's messages).
    final class Output: Sendable {
        let text = Mutex("")
        func withLock<T>(_ body: (inout String) -> T) -> T { text.withLock { body(&$0) } }
    }

    let output = Output()

    func bench(facilitators: Set<String>? = nil) -> StdioAdapter {
        var options = StdioAdapter.Options()
        options.user = "alice"
        options.room = "room-1"
        options.inputID = "in"
        options.facilitators = facilitators
        return StdioAdapter(options: options, readLine: { nil }, write: { [output] text in output.withLock { $0 += text } })
    }

    /// Questions asked in room-1 (q1, then q2), a statement between them, and one in room-2.
    func askQuestions(_ adapter: StdioAdapter) async throws {
        try await adapter.deliver(
            OutgoingMessage(id: "$1#0", roomID: "room-1", markdown: "Question 1?", choices: ["a", "b"], anchor: "run-1/q1"))
        try await adapter.deliver(OutgoingMessage(id: "$1#1", roomID: "room-1", markdown: "Noted."))
        try await adapter.deliver(OutgoingMessage(id: "$2#0", roomID: "room-2", markdown: "Other room?", anchor: "run-2/q1"))
        try await adapter.deliver(OutgoingMessage(id: "$3#0", roomID: "room-1", markdown: "Question 2?", anchor: "run-1/q2"))
        // Delivered again after a crash: still one question.
        try await adapter.deliver(OutgoingMessage(id: "$3#0", roomID: "room-1", markdown: "Question 2?", anchor: "run-1/q2"))
        output.withLock { $0 = "" }
    }

    func testReplyAndReactAfterASpeakerPrefix() async throws {
        let adapter = bench(facilitators: ["alice"])
        try await askQuestions(adapter)
        guard case .message(let reply)? = adapter.interpret("bob@room-1> /reply 2 3 it's patchy", lineNumber: 7) else {
            return XCTFail("a /reply is a message")
        }
        XCTAssertEqual(reply.text, "3 it's patchy")
        XCTAssertEqual(reply.anchor, "run-1/q1", "2 = the question before the latest")
        XCTAssertEqual(reply.replyToEventID, "$1#0")
        XCTAssertTrue(reply.repliesToBot)
        XCTAssertEqual(reply.senderID, "bob")
        XCTAssertEqual(reply.roomID, "room-1")
        XCTAssertEqual(reply.eventID, "in:7")
        XCTAssertEqual(reply.roomKind, .group)
        XCTAssertFalse(reply.senderIsFacilitator)

        guard case .reaction(let reaction)? = adapter.interpret("alice@room-1> /react 1 2️⃣", lineNumber: 8) else {
            return XCTFail("a /react is a reaction")
        }
        XCTAssertEqual(reaction.text, "2️⃣")
        XCTAssertEqual(reaction.anchor, "run-1/q2")
        XCTAssertEqual(reaction.senderID, "alice")
        XCTAssertTrue(reaction.senderIsFacilitator)
        XCTAssertEqual(reaction.eventID, "in:8")

        guard case .reaction(let other)? = adapter.interpret("bob@room-2> /react 1 👍", lineNumber: 9) else { return XCTFail() }
        XCTAssertEqual(other.anchor, "run-2/q1", "each room has its own questions")
        XCTAssertEqual(output.withLock { $0 }, "", "nothing printed")

        guard case .message(let text)? = adapter.interpret("bob@room-1> /replying to myself", lineNumber: 10) else { return XCTFail() }
        XCTAssertNil(text.anchor, "only /reply and /react are read after a prefix")
        XCTAssertEqual(text.text, "/replying to myself")
    }

    func testBareReplyAndReactSpeakAsTheCurrentPersonInTheCurrentRoom() async throws {
        let adapter = bench()
        try await askQuestions(adapter)
        XCTAssertNil(adapter.interpret("/as carol", lineNumber: 1))
        guard case .message(let reply)? = adapter.interpret("/reply 1   yes, mostly  ", lineNumber: 2) else { return XCTFail() }
        XCTAssertEqual(reply.senderID, "carol")
        XCTAssertEqual(reply.roomID, "room-1")
        XCTAssertEqual(reply.text, "yes, mostly")
        XCTAssertEqual(reply.anchor, "run-1/q2")
        guard case .reaction(let reaction)? = adapter.interpret("/react 2 2", lineNumber: 3) else { return XCTFail() }
        XCTAssertEqual(reaction.text, "2")
        XCTAssertEqual(reaction.anchor, "run-1/q1")
        XCTAssertNil(adapter.interpret("/in room-2", lineNumber: 4))
        guard case .message(let there)? = adapter.interpret("/reply 1 4", lineNumber: 5) else { return XCTFail() }
        XCTAssertEqual(there.roomID, "room-2")
        XCTAssertEqual(there.anchor, "run-2/q1")
    }

    /// An N with no question behind it, or a line missing its text, is a bench note and sends nothing.
    func testABadNumberIsANoteAndSendsNothing() async throws {
        let adapter = bench()
        try await askQuestions(adapter)
        let lines = [
            "/reply 3 yes", "bob@room-1> /react 3 1️⃣", "carol@room-9> /reply 1 hi", "/reply 0 yes", "/reply -1 yes", "/reply x yes",
            "/reply 1", "/react 1", "/react", "bob@room-1> /reply 1  ",
        ]
        for (number, line) in lines.enumerated() {
            XCTAssertNil(adapter.interpret(line, lineNumber: number + 1), line)
        }
        let notes = Transcript.lines(of: output.withLock { $0 })
        XCTAssertEqual(notes.count, lines.count, notes.joined(separator: "\n"))
        XCTAssertTrue(notes.allSatisfy { $0.hasPrefix("· ") })
        XCTAssertEqual(notes[0], "· /reply 3: no question 3 in room-1 (2 asked there so far)")
        XCTAssertEqual(notes[2], "· /reply 1: no question 1 in room-9 (0 asked there so far)")
        XCTAssertTrue(notes[3].hasPrefix("· usage: /reply N TEXT"), notes[3])
        XCTAssertTrue(notes[7].hasPrefix("· usage: /react N KEY"), notes[7])
    }

    func testHelpListsReplyAndReact() {
        let adapter = bench()
        XCTAssertNil(adapter.interpret("/help", lineNumber: 1))
        let help = output.withLock { $0 }
        XCTAssertTrue(help.contains("/reply N TEXT") && help.contains("/react N KEY"), help)
    }
}
