import FabriqueTesting
import Foundation
import XCTest

@testable import StdioAdapter

/// The terminal's fast paths for ASCII lines must say what the general paths say.
final class TerminalLineTests: XCTestCase {
    /// Foundation's trimming is skipped for lines that begin and end with a visible ASCII character; on
    /// every line the result must be Foundation's (whose whitespace set on Linux holds more than spaces
    /// and tabs: U+200B, and CR in some positions).
    func testFastPathAgreesWithFoundation() {
        var generator = SeededRandom()
        let alphabet: [String] = [
            "a", "Z", "1", "/", "#", ">", "@", " ", "\t", "\r", "\u{0B}", "\u{A0}", "\u{200B}", "\u{3000}",
            "é", "e\u{301}", "\u{301}", "🇫🇷", "~", "!", "\u{7F}", "\u{01}",
        ]
        var samples = ["", " ", "/quit", " /quit ", "/quit\r", "a\r", "\u{200B}a", "a\u{200B}", "alice@dm-a> 2", "!start demo", "x"]
        for _ in 0..<20_000 {
            samples.append((0..<Int.random(in: 0...8, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! }.joined())
        }
        var fast = 0
        for line in samples {
            if let first = line.utf8.first, let last = line.utf8.last, (0x21...0x7E).contains(first), (0x21...0x7E).contains(last) {
                fast += 1
            }
            XCTAssertEqual(StdioAdapter.trimmed(line), line.trimmingCharacters(in: .whitespaces), "\(line.debugDescription)")
        }
        XCTAssertGreaterThan(fast, 1_000, "the samples must exercise the fast path")
    }

    /// `NAME@ROOM> text` read byte by byte on ASCII lines, by characters on the others: the same reading.
    func testSpeakerPrefixFastPathAgreesWithTheCharacterPath() {
        var generator = SeededRandom()
        let alphabet: [String] = [
            "a", "B", "7", "-", "_", ".", "@", ">", " ", "> ", "@dm-a> ", "\r", "\n", "\r\n", "é", "\u{301}", "🇫🇷", "!", "/",
        ]
        var samples = [
            "alice@dm-alice> 2", "alice@room-1>  yes", "@room> x", "alice@> x", "a@b>x", "a@b> ", "a@b@c> x", "a@b> c> d",
            "a@b> \u{301}x", "a@b>\r\n x", String(repeating: "a", count: 65) + "@r> x", String(repeating: "a", count: 64) + "@r> x",
        ]
        for _ in 0..<20_000 {
            samples.append((0..<Int.random(in: 0...8, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! }.joined())
        }
        var read = 0
        for line in samples {
            let fast = StdioAdapter.speaker(in: line), general = StdioAdapter.speakerGeneral(in: line)
            XCTAssertEqual(fast?.user, general?.user, line.debugDescription)
            XCTAssertEqual(fast?.room, general?.room, line.debugDescription)
            XCTAssertEqual(fast?.text, general?.text, line.debugDescription)
            if general != nil { read += 1 }
        }
        XCTAssertGreaterThan(read, 200, "the samples must hold speaker prefixes")
        XCTAssertEqual(StdioAdapter.speaker(in: "alice@dm-alice> 2")?.text, "2")
        XCTAssertNil(StdioAdapter.speaker(in: String(repeating: "a", count: 65) + "@r> x"), "names are at most 64 characters")
    }
}
