import FabriqueTesting
import XCTest

@testable import Dialogues

/// The ASCII fast path of `TextMatching.fold` must say exactly what Foundation's folding says.
final class TextMatchingTests: XCTestCase {
    func testASCIIFastPathAgreesWithFoundationsFolding() {
        var generator = SeededRandom()
        let alphabet = Array("aZ09 \t\n\r\u{0B}\u{0C}!?.,;:'\"-_()[]{}<>=+*/\\|^~`@#$%&\u{01}\u{1F}\u{7F}xYq")
        var samples = [
            "", " ", "?", "  ?  ", "Oui !", "SKIP", "  Back  to   start ", "...", "!!!", "2", " 1, 2 ", "learn more", "a\r\nb", "\u{7F}x",
        ]
        for _ in 0..<20_000 {
            samples.append(String((0..<Int.random(in: 0...12, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! }))
        }
        for text in samples {
            XCTAssertEqual(TextMatching.foldASCII(text), TextMatching.foldUnicode(text), "\(text.debugDescription)")
        }
    }

    func testNonASCIITakesTheGeneralPath() {
        XCTAssertNil(TextMatching.foldASCII("Répéter"))
        XCTAssertEqual(TextMatching.fold("  Répéter ! "), "repeter")
        XCTAssertEqual(TextMatching.fold("ＳＫＩＰ"), "skip")
    }
}

/// The byte-level path of `Markdown.plainText` must give what the general one gives.
final class MarkdownPlainTextTests: XCTestCase {
    func testFastPathAgreesWithTheGeneralOne() {
        var generator = SeededRandom()
        let alphabet: [String] = [
            "a", "Z", "1", " ", "*", "**", "`", "\\", "\\\\", "é", "e\u{301}", "*\u{301}", "`\u{301}", "🇫🇷", "\r\n", "\n", "(", ")", "]",
            "#", "—",
        ]
        var samples = ["", "**Title**", "a \\* b", "trailing \\", "`code`", "\\*\u{301}", "no markers at all"]
        for _ in 0..<20_000 {
            samples.append((0..<Int.random(in: 0...10, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! }.joined())
        }
        var fast = 0
        for text in samples {
            if let quick = Markdown.plainTextFast(text) {
                fast += 1
                XCTAssertEqual(quick, Markdown.plainTextGeneral(text), "\(text.debugDescription)")
            }
        }
        XCTAssertGreaterThan(fast, samples.count / 2, "most samples take the fast path")
        XCTAssertNil(Markdown.plainTextFast("_emphasis_"))
        XCTAssertNil(Markdown.plainTextFast("[a](b)"))
    }
}
