import BotCore
import XCTest

/// The one escaping of HTML text, shared by the reports and the Matrix adapter's formatted bodies.
final class HTMLTextTests: XCTestCase {
    func testEscapesWhatHTMLTextAndAttributesNeed() {
        XCTAssertEqual(
            HTMLText.escape(#"<a href="x" title='y'>Tom & Jerry</a>"#),
            "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;Tom &amp; Jerry&lt;/a&gt;")
        XCTAssertEqual(HTMLText.escape("a\0b"), "a\u{FFFD}b", "NUL is not allowed in HTML")
        XCTAssertEqual(HTMLText.escape("é 🇫🇷 \n\t/"), "é 🇫🇷 \n\t/", "everything else is kept")
        XCTAssertEqual(HTMLText.escape("&amp;"), "&amp;amp;", "escaped once more: text is never taken for markup")
    }

    func testTheCharacterFormAppendsTheSameText() {
        let text = "<b>\"&'\0x"
        var out = "kept:"
        for character in text { HTMLText.escape(character, into: &out) }
        XCTAssertEqual(out, "kept:" + HTMLText.escape(text))
    }
}
