import FabriqueTesting
import Foundation
import XCTest

@testable import BotCore

/// The hand-written coding of what every turn stores must read and write exactly what the `Codable`
/// conformances do: databases written before it (and by any tool using `Codable`) read back unchanged.
final class StoredCodingTests: XCTestCase {
    /// Seeded per test (see `SeededRandom`): a failure says which seed replays it.
    lazy var generator = SeededRandom(name)

    func text() -> String {
        let pieces = ["a", "é", "\"", "\\", "\n", "\u{0001}", "\u{7F}", "🇫🇷", "\u{202E}", " ", "{", "}", "[", "<b>", "\u{200B}", "😀"]
        return (0..<Int.random(in: 0...6, using: &generator)).map { _ in pieces.randomElement(using: &generator)! }.joined()
    }

    func value() -> AnswerValue {
        switch Int.random(in: 0..<7, using: &generator) {
        case 0: .text(text())
        case 1: .choice(text())
        case 2: .multi((0..<Int.random(in: 0...3, using: &generator)).map { _ in text() })
        case 3: .yesno(Bool.random(using: &generator))
        case 4: .scale(Int.random(in: -5...10, using: &generator))
        case 5: .number([0, -1.5, 1e-7, 3.0e12, 0.1, 1234.5678].randomElement(using: &generator)!)
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

    /// `mine` holds the JSON value `codable` holds, written compact with sorted keys: the bytes
    /// ``JSON/text()`` writes for that value.
    func assertShape(_ mine: String, _ codable: Data, file: StaticString = #filePath, line: UInt = #line) throws {
        let value = try XCTUnwrap(StoredCoding.parse(mine), "stored text that does not parse: \(mine)", file: file, line: line)
        XCTAssertEqual(JSON.parse(codable), value, "same JSON value as Codable", file: file, line: line)
        XCTAssertEqual(mine, value.text(), "compact, keys sorted", file: file, line: line)
    }

    func testSessionsMatchTheCodableShapeBothWays() throws {
        for _ in 0..<500 {
            let s = session()
            let codable = try JSONEncoder.sorted.encode(s)
            let mine = s.storedText
            try assertShape(mine, codable)
            XCTAssertEqual(try DialogueSession(stored: XCTUnwrap(JSON.parse(codable))), s, "reads what Codable wrote")
            XCTAssertEqual(try JSONDecoder.stored.decode(DialogueSession.self, from: Data(mine.utf8)), s, "Codable reads what it writes")
            XCTAssertEqual(try DialogueSession(stored: XCTUnwrap(StoredCoding.parse(mine))), s)
        }
    }

    func testAnswerValuesAndRepliesMatchTheCodableShape() throws {
        for _ in 0..<500 {
            let v = value()
            try assertShape(v.storedText, JSONEncoder.sorted.encode(v))
            XCTAssertEqual(AnswerValue(storedText: String(decoding: try JSONEncoder.sorted.encode(v), as: UTF8.self)), v)
            XCTAssertEqual(try JSONDecoder().decode(AnswerValue.self, from: Data(v.storedText.utf8)), v)

            let m = OutgoingMessage(
                id: text(), roomID: text(), markdown: "**\(text())**", plain: Bool.random(using: &generator) ? text() : nil,
                replyToEventID: Bool.random(using: &generator) ? text() : nil, threadID: Bool.random(using: &generator) ? text() : nil,
                choices: (0..<Int.random(in: 0...2, using: &generator)).map { _ in text() }, style: Bool.random(using: &generator) ? .notice : .message,
                mentions: (0..<Int.random(in: 0...1, using: &generator)).map { _ in text() })
            try assertShape(m.storedText, JSONEncoder.sorted.encode(m))
            XCTAssertEqual(Engine.decode(Engine.encode(m)), m)
            XCTAssertEqual(try JSONDecoder.stored.decode(OutgoingMessage.self, from: Data(Engine.encode(m).utf8)), m)
        }
    }

    /// Sessions saved by the first versions lack the fields added since: they take their empty value.
    func testOldSessionsReadWithDefaults() throws {
        let old = #"{"dialogueID":"inventory","startedAt":1790000000.5,"stepID":"q1","answers":{"role":{"choice":{"_0":"Élu"}}}}"#
        let s = try DialogueSession(stored: XCTUnwrap(StoredCoding.parse(old)))
        XCTAssertEqual(s, try JSONDecoder.stored.decode(DialogueSession.self, from: Data(old.utf8)))
        XCTAssertEqual(s.revision, "")
        XCTAssertEqual(s.phase, .answer)
        XCTAssertEqual(s.status, .active)
        XCTAssertEqual(s.updatedAt, s.startedAt)
        XCTAssertEqual(s.answers["role"], .choice("Élu"))
    }

    /// What `Codable` refuses, this refuses too: a session that does not read is treated as absent.
    func testMalformedStatesAreRefused() {
        for bad in [
            #"{"startedAt":1}"#, #"{"dialogueID":"d"}"#, #"{"dialogueID":"d","startedAt":1,"attempts":1.5}"#,
            #"{"dialogueID":"d","startedAt":1,"phase":"dancing"}"#, #"{"dialogueID":"d","startedAt":1,"answers":{"x":{"colour":{"_0":"red"}}}}"#,
            #"{"dialogueID":"d","startedAt":1,"history":[1]}"#, #"{"dialogueID":"d","startedAt":1,"answers":{"x":{"scale":{"_0":2.5}}}}"#,
            #"["dialogueID"]"#, "",
        ] {
            let mine = StoredCoding.parse(bad).flatMap { try? DialogueSession(stored: $0) }
            let codable = try? JSONDecoder.stored.decode(DialogueSession.self, from: Data(bad.utf8))
            XCTAssertNil(mine, bad)
            XCTAssertNil(codable, "Codable agrees: \(bad)")
        }
    }
}
