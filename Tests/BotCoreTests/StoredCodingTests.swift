import FabriqueTesting
import Foundation
import XCTest

@testable import BotCore

/// What every turn stores, byte for byte: the dialogue session, each answer's value and each reply in the
/// outbox. The expected texts below are the rows databases already hold; a change to one of them is a
/// change of the stored format, and the rows written before it must still read back.
final class StoredCodingTests: XCTestCase {
    // MARK: The stored bytes

    /// Every member set, with text that needs escaping: compact, keys sorted at every level, dates as
    /// seconds since 1970, whole numbers without a fraction.
    func testAFullSessionIsStoredAsThisText() throws {
        var s = DialogueSession(dialogueID: "inventory", revision: "r1a2", now: Date(timeIntervalSince1970: 1_790_000_000.125))
        s.stepID = "role"
        s.phase = .comment
        s.attempts = 2
        s.status = .paused
        s.answers = [
            "name": .text("Ann \"A\" \\ é\n\u{1}🇫🇷"), "role": .choice("elu"), "tools": .multi(["a", "b"]), "ok": .yesno(true),
            "level": .scale(3), "budget": .number(1234.5), "ideas": .list([]),
        ]
        s.authors = ["name": "@ann:x", "role": "@bob:x"]
        s.answerCounts = ["q_name": 1, "q_role": 12]
        s.discussed = ["q_name"]
        s.history = ["q_name", "q_role"]
        s.listDraft = ["one", "two"]
        s.listDraftFor = "q_ideas"
        s.returnTo = "summary"
        s.commentFor = "role"
        s.commentBy = "@bob:x"
        s.pendingComments = ["@cy:x": "q_role"]
        s.updatedAt = Date(timeIntervalSince1970: 1_790_000_060)
        let stored = #"""
            {"answerCounts":{"q_name":1,"q_role":12},"answers":{"budget":{"number":{"_0":1234.5}},"ideas":{"list":{"_0":[]}},\#
            "level":{"scale":{"_0":3}},"name":{"text":{"_0":"Ann \"A\" \\ é\n\u0001🇫🇷"}},"ok":{"yesno":{"_0":true}},\#
            "role":{"choice":{"_0":"elu"}},"tools":{"multi":{"_0":["a","b"]}}},"attempts":2,"authors":{"name":"@ann:x","role":"@bob:x"},\#
            "commentBy":"@bob:x","commentFor":"role","dialogueID":"inventory","discussed":["q_name"],"history":["q_name","q_role"],\#
            "listDraft":["one","two"],"listDraftFor":"q_ideas","pendingComments":{"@cy:x":"q_role"},"phase":"comment",\#
            "returnTo":"summary","revision":"r1a2","startedAt":1790000000.125,"status":"paused","stepID":"role","updatedAt":1790000060}
            """#
        XCTAssertEqual(s.storedText, stored)
        XCTAssertEqual(try DialogueSession(stored: XCTUnwrap(StoredCoding.parse(stored))), s)
    }

    /// A fresh session: the optional members are left out, the empty collections are written.
    func testAFreshSessionIsStoredAsThisText() throws {
        let s = DialogueSession(dialogueID: "d", revision: "", now: Date(timeIntervalSince1970: 1_780_000_000))
        let stored = #"""
            {"answerCounts":{},"answers":{},"attempts":0,"authors":{},"dialogueID":"d","discussed":[],"history":[],"listDraft":[],\#
            "pendingComments":{},"phase":"answer","revision":"","startedAt":1780000000,"status":"active","updatedAt":1780000000}
            """#
        XCTAssertEqual(s.storedText, stored)
        XCTAssertEqual(try DialogueSession(stored: XCTUnwrap(StoredCoding.parse(stored))), s)
    }

    /// `{"case":{"_0":payload}}`, each kind of answer; control characters are escaped, `/` and non-ASCII are not.
    func testAnswerValuesAreStoredAsThisText() {
        let expected: [(AnswerValue, String)] = [
            (.text("a\"b\\c\n\t\u{7F}/"), #"{"text":{"_0":"a\"b\\c\n\t\u007f/"}}"#),
            (.choice("Élu"), #"{"choice":{"_0":"Élu"}}"#),
            (.multi([]), #"{"multi":{"_0":[]}}"#),
            (.multi(["x", "y"]), #"{"multi":{"_0":["x","y"]}}"#),
            (.yesno(false), #"{"yesno":{"_0":false}}"#),
            (.scale(-2), #"{"scale":{"_0":-2}}"#),
            (.number(3), #"{"number":{"_0":3}}"#),
            (.number(-1.5), #"{"number":{"_0":-1.5}}"#),
            (.number(1e-7), #"{"number":{"_0":1e-07}}"#),
            (.number(3.0e12), #"{"number":{"_0":3000000000000}}"#),
            (.number(0.1), #"{"number":{"_0":0.1}}"#),
            (.list(["<b>"]), #"{"list":{"_0":["<b>"]}}"#),
        ]
        for (value, stored) in expected {
            XCTAssertEqual(value.storedText, stored)
            XCTAssertEqual(AnswerValue(storedText: stored), value, stored)
        }
    }

    /// A reply stores only what it cannot derive: no `plain` when it is the Markdown's own, no empty
    /// `choices` or `mentions`, no nil ids.
    func testRepliesAreStoredAsThisText() {
        let plain = OutgoingMessage(id: "e1#0", roomID: "!r:x", markdown: "**Hi** there")
        XCTAssertEqual(plain.storedText, #"{"id":"e1#0","markdown":"**Hi** there","roomID":"!r:x","style":"notice"}"#)

        let full = OutgoingMessage(
            id: "e2#1", roomID: "!r:x", markdown: "Pick:\n1. *red*", plain: "Pick red", replyToEventID: "e2", threadID: "$t",
            choices: ["Red", "Blue \"b\""], style: .message, mentions: ["@ann:x"])
        XCTAssertEqual(
            full.storedText,
            #"""
            {"choices":["Red","Blue \"b\""],"id":"e2#1","markdown":"Pick:\n1. *red*","mentions":["@ann:x"],"plain":"Pick red",\#
            "replyToEventID":"e2","roomID":"!r:x","style":"message","threadID":"$t"}
            """#)
        for message in [plain, full] {
            XCTAssertEqual(Engine.encode(message), message.storedText, "the outbox writes the stored text")
            XCTAssertEqual(Engine.decode(message.storedText), message)
        }
    }

    // MARK: Round trips

    /// Seeded per test (see `SeededRandom`): a failure says which seed replays it.
    lazy var generator = SeededRandom(name)

    func text() -> String {
        let pieces = ["a", "é", "\"", "\\", "/", "\n", "\u{0001}", "\u{7F}", "🇫🇷", "\u{202E}", " ", "{", "}", "[", "<b>", "\u{200B}", "😀"]
        return (0..<Int.random(in: 0...6, using: &generator)).map { _ in pieces.randomElement(using: &generator)! }.joined()
    }

    func value() -> AnswerValue {
        switch Int.random(in: 0..<7, using: &generator) {
        case 0: .text(text())
        case 1: .choice(text())
        case 2: .multi((0..<Int.random(in: 0...3, using: &generator)).map { _ in text() })
        case 3: .yesno(Bool.random(using: &generator))
        case 4: .scale(Int.random(in: -5...10, using: &generator))
        case 5: .number([0, -1.5, 1e-7, 3.0e12, 0.1, 1234.5678, -0.0, 1e300].randomElement(using: &generator)!)
        default: .list((0..<Int.random(in: 0...3, using: &generator)).map { _ in text() })
        }
    }

    func session() -> DialogueSession {
        let now = Date(timeIntervalSince1970: Double.random(in: 1.6e9...1.9e9, using: &generator).rounded() / 1000 * 1000 + 0.125)
        var s = DialogueSession(dialogueID: text(), revision: text(), now: now)
        func maybe() -> String? { Bool.random(using: &generator) ? text() : nil }
        s.stepID = maybe()
        s.phase = [.answer, .comment, .choosingChange].randomElement(using: &generator)!
        s.attempts = Int.random(in: 0...3, using: &generator)
        s.status = [.active, .paused, .ended].randomElement(using: &generator)!
        for _ in 0..<Int.random(in: 0...4, using: &generator) {
            let key = text()
            s.answers[key] = value()
            s.authors[key] = text()
            s.answerCounts[key] = Int.random(in: 1...5, using: &generator)
        }
        s.discussed = (0..<Int.random(in: 0...2, using: &generator)).map { _ in text() }
        s.history = (0..<Int.random(in: 0...4, using: &generator)).map { _ in text() }
        s.listDraft = (0..<Int.random(in: 0...2, using: &generator)).map { _ in text() }
        s.listDraftFor = maybe()
        s.returnTo = maybe()
        s.commentFor = maybe()
        s.commentBy = maybe()
        if Bool.random(using: &generator) { s.pendingComments[text()] = text() }
        s.updatedAt = now.addingTimeInterval(Double(Int.random(in: 0...100_000, using: &generator)) / 8)
        return s
    }

    /// `stored` is compact JSON with its keys sorted: the bytes ``JSON/text()`` writes for its own value.
    func assertCanonical(_ stored: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let value = try XCTUnwrap(StoredCoding.parse(stored), "stored text that does not parse: \(stored)", file: file, line: line)
        XCTAssertEqual(stored, value.text(), "compact, keys sorted", file: file, line: line)
    }

    func testSessionsReadBackWhatTheyStore() throws {
        for _ in 0..<500 {
            let s = session()
            try assertCanonical(s.storedText)
            XCTAssertEqual(try DialogueSession(stored: XCTUnwrap(StoredCoding.parse(s.storedText))), s)
        }
    }

    func testAnswerValuesAndRepliesReadBackWhatTheyStore() throws {
        for _ in 0..<500 {
            let v = value()
            try assertCanonical(v.storedText)
            XCTAssertEqual(AnswerValue(storedText: v.storedText), v)

            let m = OutgoingMessage(
                id: text(), roomID: text(), markdown: "**\(text())**", plain: Bool.random(using: &generator) ? text() : nil,
                replyToEventID: Bool.random(using: &generator) ? text() : nil, threadID: Bool.random(using: &generator) ? text() : nil,
                choices: (0..<Int.random(in: 0...2, using: &generator)).map { _ in text() },
                style: Bool.random(using: &generator) ? .notice : .message,
                mentions: (0..<Int.random(in: 0...1, using: &generator)).map { _ in text() })
            try assertCanonical(m.storedText)
            XCTAssertEqual(Engine.decode(Engine.encode(m)), m)
        }
    }

    // MARK: Old rows

    /// Sessions saved by the first versions lack the fields added since: they take their empty value.
    func testOldSessionsReadWithDefaults() throws {
        let old = #"{"dialogueID":"inventory","startedAt":1790000000.5,"stepID":"q1","answers":{"role":{"choice":{"_0":"Élu"}}}}"#
        let s = try DialogueSession(stored: XCTUnwrap(StoredCoding.parse(old)))
        XCTAssertEqual(s.dialogueID, "inventory")
        XCTAssertEqual(s.startedAt, Date(timeIntervalSince1970: 1_790_000_000.5))
        XCTAssertEqual(s.stepID, "q1")
        XCTAssertEqual(s.answers, ["role": .choice("Élu")])
        XCTAssertEqual(s.revision, "")
        XCTAssertEqual(s.phase, .answer)
        XCTAssertEqual(s.attempts, 0)
        XCTAssertEqual(s.status, .active)
        XCTAssertEqual(s.authors, [:])
        XCTAssertEqual(s.answerCounts, [:])
        XCTAssertEqual(s.history, [])
        XCTAssertEqual(s.pendingComments, [:])
        XCTAssertNil(s.listDraftFor)
        XCTAssertEqual(s.updatedAt, s.startedAt)
    }

    /// `null` where a member is optional reads as absent.
    func testNullOptionalMembersReadAsAbsent() throws {
        let row = #"{"dialogueID":"d","startedAt":1,"stepID":null,"revision":null,"phase":null,"attempts":null,"updatedAt":null}"#
        let s = try DialogueSession(stored: XCTUnwrap(StoredCoding.parse(row)))
        XCTAssertEqual(s, DialogueSession(dialogueID: "d", revision: "", now: Date(timeIntervalSince1970: 1)))

        let reply = #"{"id":"e#0","roomID":"r","markdown":"*hi*","plain":null,"threadID":null,"style":null}"#
        XCTAssertEqual(Engine.decode(reply), OutgoingMessage(id: "e#0", roomID: "r", markdown: "*hi*"))
    }

    /// Replies stored before `style`, `choices` and `mentions` existed.
    func testOldRepliesReadWithDefaults() throws {
        let reply = try XCTUnwrap(Engine.decode(#"{"id":"e#0","markdown":"**Hi**","roomID":"!r:x"}"#))
        XCTAssertEqual(reply.style, .notice)
        XCTAssertEqual(reply.choices, [])
        XCTAssertEqual(reply.mentions, [])
        XCTAssertEqual(reply.plain, "Hi", "derived from the Markdown")
        XCTAssertNil(reply.replyToEventID)
        XCTAssertNil(reply.threadID)
    }

    /// A row that is not what its reader expects is refused as a whole: a session that does not read is
    /// treated as absent, an answer value or reply that does not read is skipped.
    func testMalformedRowsAreRefused() {
        for bad in [
            #"{"startedAt":1}"#, #"{"dialogueID":"d"}"#, #"{"dialogueID":"d","startedAt":1,"attempts":1.5}"#,
            #"{"dialogueID":"d","startedAt":1,"phase":"dancing"}"#,
            #"{"dialogueID":"d","startedAt":1,"answers":{"x":{"colour":{"_0":"red"}}}}"#,
            #"{"dialogueID":"d","startedAt":1,"history":[1]}"#, #"{"dialogueID":"d","startedAt":1,"answers":{"x":{"scale":{"_0":2.5}}}}"#,
            #"{"dialogueID":"d","startedAt":1,"history":null}"#, #"{"dialogueID":"d","startedAt":1,"stepID":7}"#,
            #"["dialogueID"]"#, "",
        ] {
            XCTAssertNil(StoredCoding.parse(bad).flatMap { try? DialogueSession(stored: $0) }, bad)
        }
        for bad in [
            #"{"text":{"_0":1}}"#, #"{"text":"a"}"#, #"{"text":{"_0":"a"},"choice":{"_0":"b"}}"#, #"{"multi":{"_0":["a",2]}}"#, "text",
        ] {
            XCTAssertNil(AnswerValue(storedText: bad), bad)
        }
        for bad in [
            #"{"id":"e#0","roomID":"r"}"#, #"{"id":"e#0","roomID":"r","markdown":"m","style":"shout"}"#,
            #"{"id":"e#0","roomID":"r","markdown":"m","choices":"a"}"#,
        ] {
            XCTAssertNil(Engine.decode(bad), bad)
        }
    }
}
