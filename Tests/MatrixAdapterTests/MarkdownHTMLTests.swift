import BotCore
import MatrixAdapter
import XCTest

final class MarkdownHTMLTests: XCTestCase {
    func testInlineFormatting() {
        XCTAssertEqual(
            MarkdownHTML.render("**bold** and *it* and _it_ and `co*de*`"),
            "<strong>bold</strong> and <em>it</em> and <em>it</em> and <code>co*de*</code>")
        XCTAssertEqual(MarkdownHTML.render("**a *b* c**"), "<strong>a <em>b</em> c</strong>")
    }

    func testEveryTextCharacterIsEscaped() {
        XCTAssertEqual(
            MarkdownHTML.render("<script>alert('x') & \"y\"</script>"),
            "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;")
        XCTAssertEqual(MarkdownHTML.render("**<b>**"), "<strong>&lt;b&gt;</strong>")
        XCTAssertEqual(MarkdownHTML.render("`<i>`"), "<code>&lt;i&gt;</code>")
    }

    func testEscapedUserTextRendersLiterally() {
        let hostile = "**x** [a](https://e.com) `c` <img src=x> _u_ \\ > q"
        let html = MarkdownHTML.render("Said: " + Markdown.escape(hostile))
        XCTAssertFalse(html.contains("<strong>"))
        XCTAssertFalse(html.contains("<a "))
        XCTAssertFalse(html.contains("<code>"))
        XCTAssertFalse(html.contains("<em>"))
        XCTAssertFalse(html.contains("<img"))
        XCTAssertEqual(html, "Said: **x** [a](https://e.com) `c` &lt;img src=x&gt; _u_ \\ &gt; q")
    }

    func testLinksOnlyForSafeSchemes() {
        XCTAssertEqual(
            MarkdownHTML.render("[site](https://ex.org/a?b=1&c=\"2\")"),
            "<a href=\"https://ex.org/a?b=1&amp;c=&quot;2&quot;\">site</a>")
        XCTAssertEqual(MarkdownHTML.render("[mail](mailto:a@b.c)"), "<a href=\"mailto:a@b.c\">mail</a>")
        XCTAssertEqual(MarkdownHTML.render("[x](javascript:alert(1))"), "[x](javascript:alert(1))")
        XCTAssertEqual(MarkdownHTML.render("[x](data:text/html,hi)"), "[x](data:text/html,hi)")
        XCTAssertEqual(MarkdownHTML.render("[x](https://a b)"), "[x](https://a b)")
        XCTAssertEqual(MarkdownHTML.render("[**b**](http://e.org)"), "<a href=\"http://e.org\"><strong>b</strong></a>")
    }

    func testBlocks() {
        XCTAssertEqual(MarkdownHTML.render("Pick:\n1. red\n2. blue"), "<p>Pick:</p><ol><li>red</li><li>blue</li></ol>")
        XCTAssertEqual(MarkdownHTML.render("- a\n- *b*"), "<ul><li>a</li><li><em>b</em></li></ul>")
        XCTAssertEqual(MarkdownHTML.render("> quoted\n> more\nafter"), "<blockquote>quoted<br>more</blockquote><p>after</p>")
        XCTAssertEqual(MarkdownHTML.render("one\ntwo"), "one<br>two")
        XCTAssertEqual(MarkdownHTML.render("one\n\ntwo"), "<p>one</p><p>two</p>")
        XCTAssertEqual(MarkdownHTML.render("3. c\n4. d"), "<ol start=\"3\"><li>c</li><li>d</li></ol>")
    }

    func testBackslashEscapes() {
        XCTAssertEqual(MarkdownHTML.render("\\*not\\*"), "*not*")
        XCTAssertEqual(MarkdownHTML.render("\\- not a list"), "- not a list")
        XCTAssertEqual(MarkdownHTML.render("\\> not a quote"), "&gt; not a quote")
        XCTAssertEqual(MarkdownHTML.render("a\\\\b"), "a\\b")
        XCTAssertEqual(MarkdownHTML.render("`a\\`b`"), "<code>a`b</code>")
    }

    func testUnderscoreInsideWordsIsText() {
        XCTAssertEqual(MarkdownHTML.render("snake_case_name"), "snake_case_name")
    }

    func testUnclosedDelimitersAreText() {
        XCTAssertEqual(MarkdownHTML.render("**open"), "**open")
        XCTAssertEqual(MarkdownHTML.render("a * b * c"), "a * b * c")
        XCTAssertEqual(MarkdownHTML.render("[no link"), "[no link")
    }

    func testMarkdownBombsRenderInLinearTime() {
        for bomb in [
            String(repeating: "[", count: 10_000), String(repeating: "[a](", count: 5_000),
            String(repeating: "*", count: 10_000), String(repeating: "**a", count: 5_000),
            String(repeating: "_", count: 10_000), String(repeating: "`", count: 10_000),
            String(repeating: "> ", count: 5_000), String(repeating: "[](", count: 5_000),
            String(repeating: "\\", count: 10_001),
        ] {
            let start = ContinuousClock.now
            let html = MarkdownHTML.render(bomb)
            let elapsed = ContinuousClock.now - start
            XCTAssertLessThan(elapsed, .milliseconds(500), "\(bomb.prefix(8))… took \(elapsed)")
            XCTAssertFalse(html.contains("<script"))
        }
    }

    func testOutputTagsAreFromTheAllowList() {
        let inputs = ["<a href=x>", "**[x](http://a)**", "> - 1. `x`", "*_**`[`]*_**", "1. **a\n2. b**"]
        let allowed: Set<String> = ["strong", "em", "code", "a", "ul", "ol", "li", "blockquote", "p", "br"]
        for input in inputs {
            let html = MarkdownHTML.render(input)
            var rest = html[...]
            while let open = rest.firstIndex(of: "<") {
                let name = rest[rest.index(after: open)...].prefix { $0.isLetter || $0 == "/" }.trimmingCharacters(
                    in: CharacterSet(charactersIn: "/"))
                XCTAssertTrue(allowed.contains(name), "\(input) → \(html)")
                rest = rest[rest.index(after: open)...]
            }
        }
    }
}
