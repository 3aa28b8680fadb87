import Foundation
import XCTest

@testable import StdioAdapter

/// The terminal skips Foundation's trimming for lines that begin and end with a visible ASCII character;
/// on every line it must give what Foundation gives (whose whitespace set on Linux holds more than
/// spaces and tabs: U+200B, and CR in some positions).
final class LineTrimmingTests: XCTestCase {
    func testFastPathAgreesWithFoundation() {
        var generator = SystemRandomNumberGenerator()
        let alphabet: [String] = ["a", "Z", "1", "/", "#", ">", "@", " ", "\t", "\r", "\u{0B}", "\u{A0}", "\u{200B}", "\u{3000}",
                                  "é", "e\u{301}", "\u{301}", "🇫🇷", "~", "!", "\u{7F}", "\u{01}"]
        var samples = ["", " ", "/quit", " /quit ", "/quit\r", "a\r", "\u{200B}a", "a\u{200B}", "alice@dm-a> 2", "!start demo", "x"]
        for _ in 0..<20_000 {
            samples.append((0..<Int.random(in: 0...8, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! }.joined())
        }
        var fast = 0
        for line in samples {
            if let first = line.utf8.first, let last = line.utf8.last, (0x21...0x7E).contains(first), (0x21...0x7E).contains(last) { fast += 1 }
            XCTAssertEqual(StdioAdapter.trimmed(line), line.trimmingCharacters(in: .whitespaces), "\(line.debugDescription)")
        }
        XCTAssertGreaterThan(fast, 1_000, "the samples must exercise the fast path")
    }
}
