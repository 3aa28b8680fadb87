import BotCore

/// Renders the engine's chat Markdown (see ``Markdown``) as the small HTML subset Matrix clients show
/// (a message's `formatted_body`, `org.matrix.custom.html`).
///
/// Safe by construction: every character of text is HTML-escaped (``HTMLText``), only `http`, `https` and `mailto`
/// links become anchors, and no input can produce a tag other than `strong em code a ul ol li
/// blockquote p br`. Backslash escapes are honoured everywhere, code spans included, as in
/// ``Markdown/plainText(_:)``. Runs in time linear in the input: every delimiter finds its closer
/// through tables computed once per line, so a line of 10,000 `[` renders at once.
///
///     MarkdownHTML.render("**Hi** <you>") // <strong>Hi</strong> &lt;you&gt;
public enum MarkdownHTML {
    public static func render(_ markdown: String) -> String {
        let lines = markdown.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            line.last == "\r" ? Array(line.dropLast()) : Array(line)
        }
        var out = ""
        out.reserveCapacity(markdown.utf8.count + markdown.utf8.count / 4)
        renderBlocks(lines[...], allowQuotes: true, into: &out)
        return out
    }

    // MARK: Blocks

    private enum BlockKind: Equatable {
        case blank, paragraph, bullet, ordered, quote
    }

    private static func kind(of line: [Character], allowQuotes: Bool) -> BlockKind {
        if line.allSatisfy({ $0 == " " || $0 == "\t" }) { return .blank }
        if line.count >= 2, line[0] == "-", line[1] == " " { return .bullet }
        if orderedMarker(line) != nil { return .ordered }
        if allowQuotes, line.first == ">" { return .quote }
        return .paragraph
    }

    /// For `12. text`, the number and the index where the text starts.
    private static func orderedMarker(_ line: [Character]) -> (number: Int, body: Int)? {
        var i = 0
        var n = 0
        while i < line.count, i < 9, let d = line[i].wholeNumberValue, line[i].isASCII {
            n = n * 10 + d
            i += 1
        }
        guard i > 0, i + 1 < line.count, line[i] == ".", line[i + 1] == " " else { return nil }
        return (n, i + 2)
    }

    private static func renderBlocks(_ lines: ArraySlice<[Character]>, allowQuotes: Bool, into out: inout String) {
        // Group consecutive lines of one kind; a lone paragraph is written without <p> so short
        // replies stay short.
        var groups: [(BlockKind, ArraySlice<[Character]>)] = []
        var start = lines.startIndex
        while start < lines.endIndex {
            let k = kind(of: lines[start], allowQuotes: allowQuotes)
            var end = start + 1
            while end < lines.endIndex, kind(of: lines[end], allowQuotes: allowQuotes) == k { end += 1 }
            if k != .blank { groups.append((k, lines[start..<end])) }
            start = end
        }
        let bare = groups.count == 1 && groups[0].0 == .paragraph
        for (k, group) in groups {
            switch k {
            case .blank:
                break
            case .paragraph:
                if !bare { out += "<p>" }
                for (n, line) in group.enumerated() {
                    if n > 0 { out += "<br>" }
                    renderInline(line[...], into: &out)
                }
                if !bare { out += "</p>" }
            case .bullet:
                out += "<ul>"
                for line in group {
                    out += "<li>"
                    renderInline(line[2...], into: &out)
                    out += "</li>"
                }
                out += "</ul>"
            case .ordered:
                let first = orderedMarker(group[group.startIndex])?.number ?? 1
                out += first == 1 ? "<ol>" : "<ol start=\"\(first)\">"
                for line in group {
                    let body = orderedMarker(line)?.body ?? 0
                    out += "<li>"
                    renderInline(line[body...], into: &out)
                    out += "</li>"
                }
                out += "</ol>"
            case .quote:
                out += "<blockquote>"
                let inner = group.map { line -> [Character] in
                    var rest = line.dropFirst()
                    if rest.first == " " { rest = rest.dropFirst() }
                    return Array(rest)
                }
                // One level only: a `>` inside a quote is text, which keeps nesting (and recursion) bounded.
                renderBlocks(inner[...], allowQuotes: false, into: &out)
                out += "</blockquote>"
            }
        }
    }

    // MARK: Inline

    /// Where each kind of closer can next be found, for one line.
    private struct Closers {
        /// `next[k][i]`: the smallest index ≥ i where a closer of kind k starts, or `count`.
        var nextBold: [Int]
        var nextStar: [Int]
        var nextUnderscore: [Int]
        var nextBacktick: [Int]
        var nextBracket: [Int]
        var nextParen: [Int]
        var nextSpace: [Int]
    }

    private static func closers(_ s: ArraySlice<Character>, escaped: [Bool]) -> Closers {
        let n = s.count
        let base = s.startIndex
        func at(_ i: Int) -> Character? { i >= 0 && i < n ? s[base + i] : nil }
        func plain(_ i: Int, _ c: Character) -> Bool { at(i) == c && !escaped[i] }
        func isWordChar(_ c: Character?) -> Bool { c.map { $0.isLetter || $0.isNumber } ?? false }
        func isSpace(_ c: Character?) -> Bool { c.map { $0.isWhitespace } ?? true }

        var c = Closers(
            nextBold: .init(repeating: n, count: n + 1), nextStar: .init(repeating: n, count: n + 1),
            nextUnderscore: .init(repeating: n, count: n + 1), nextBacktick: .init(repeating: n, count: n + 1),
            nextBracket: .init(repeating: n, count: n + 1), nextParen: .init(repeating: n, count: n + 1),
            nextSpace: .init(repeating: n, count: n + 1))
        var i = n - 1
        while i >= 0 {
            c.nextBold[i] = c.nextBold[i + 1]
            c.nextStar[i] = c.nextStar[i + 1]
            c.nextUnderscore[i] = c.nextUnderscore[i + 1]
            c.nextBacktick[i] = c.nextBacktick[i + 1]
            c.nextBracket[i] = c.nextBracket[i + 1]
            c.nextParen[i] = c.nextParen[i + 1]
            c.nextSpace[i] = c.nextSpace[i + 1]
            let prev = at(i - 1)
            if plain(i, "*"), plain(i + 1, "*"), !isSpace(prev) { c.nextBold[i] = i }
            if plain(i, "*"), !plain(i + 1, "*"), !(i > 0 && plain(i - 1, "*")), !isSpace(prev) { c.nextStar[i] = i }
            if plain(i, "_"), !isSpace(prev), !isWordChar(at(i + 1)) { c.nextUnderscore[i] = i }
            if plain(i, "`") { c.nextBacktick[i] = i }
            if plain(i, "]") { c.nextBracket[i] = i }
            if plain(i, ")") { c.nextParen[i] = i }
            if at(i)?.isWhitespace == true { c.nextSpace[i] = i }
            i -= 1
        }
        return c
    }

    private static func renderInline(_ line: ArraySlice<Character>, into out: inout String) {
        // escaped[i]: character i is preceded by an escaping backslash (and so is literal text).
        let s = Array(line)
        var escaped = [Bool](repeating: false, count: s.count + 1)
        var i = 0
        while i < s.count {
            if s[i] == "\\", i + 1 < s.count {
                escaped[i + 1] = true
                i += 2
            } else {
                i += 1
            }
        }
        let c = closers(s[...], escaped: escaped)
        var context = InlineContext(s: s, escaped: escaped, closers: c)
        context.render(0, s.count, depth: 0, into: &out)
    }

    private struct InlineContext {
        let s: [Character]
        let escaped: [Bool]
        let closers: Closers

        func isPlain(_ i: Int, _ ch: Character) -> Bool { i < s.count && s[i] == ch && !escaped[i] }
        func opens(_ i: Int) -> Bool { i < s.count && !s[i].isWhitespace }

        /// Renders s[from..<to]. Each construct's content is a sub-range rendered once by a deeper
        /// call, and depth is capped, so the total work stays linear.
        mutating func render(_ from: Int, _ to: Int, depth: Int, into out: inout String) {
            var i = from
            while i < to {
                let ch = s[i]
                if ch == "\\", i + 1 < to, escaped[i + 1] {
                    // The backslash itself is not shown; the escaped character is written as text below.
                    i += 1
                    escape(s[i], into: &out)
                    i += 1
                    continue
                }
                if depth < 6, !escaped[i], let next = construct(at: i, to: to, depth: depth, into: &out) {
                    i = next
                    continue
                }
                escape(ch, into: &out)
                i += 1
            }
        }

        /// Writes the construct starting at `i` and returns the index after it, or nil when there is none.
        mutating func construct(at i: Int, to: Int, depth: Int, into out: inout String) -> Int? {
            switch s[i] {
            case "`":
                let close = closers.nextBacktick[i + 1]
                guard close < to, close > i + 1 else { return nil }
                out += "<code>"
                var k = i + 1
                while k < close {
                    if s[k] == "\\", k + 1 < close, escaped[k + 1] { k += 1 }
                    escape(s[k], into: &out)
                    k += 1
                }
                out += "</code>"
                return close + 1
            case "*" where isPlain(i + 1, "*"):
                guard opens(i + 2) else { return nil }
                let close = closers.nextBold[i + 2]
                guard close + 1 < to, close > i + 2 else { return nil }
                out += "<strong>"
                render(i + 2, close, depth: depth + 1, into: &out)
                out += "</strong>"
                return close + 2
            case "*":
                guard opens(i + 1) else { return nil }
                let close = closers.nextStar[i + 1]
                guard close < to, close > i + 1 else { return nil }
                out += "<em>"
                render(i + 1, close, depth: depth + 1, into: &out)
                out += "</em>"
                return close + 1
            case "_":
                let before = i > 0 ? s[i - 1] : " "
                guard !(before.isLetter || before.isNumber), opens(i + 1) else { return nil }
                let close = closers.nextUnderscore[i + 1]
                guard close < to, close > i + 1 else { return nil }
                out += "<em>"
                render(i + 1, close, depth: depth + 1, into: &out)
                out += "</em>"
                return close + 1
            case "[":
                let closeBracket = closers.nextBracket[i + 1]
                guard closeBracket > i + 1, closeBracket + 1 < to, isPlain(closeBracket + 1, "(") else { return nil }
                let urlStart = closeBracket + 2
                let closeParen = closers.nextParen[urlStart]
                guard closeParen < to, closeParen > urlStart, closers.nextSpace[urlStart] >= closeParen else { return nil }
                var url = ""
                var k = urlStart
                while k < closeParen {
                    if s[k] == "\\", k + 1 < closeParen, escaped[k + 1] { k += 1 }
                    url.append(s[k])
                    k += 1
                }
                guard MarkdownHTML.isSafeLink(url) else { return nil }
                out += "<a href=\""
                for ch in url { escape(ch, into: &out) }
                out += "\">"
                render(i + 1, closeBracket, depth: depth + 1, into: &out)
                out += "</a>"
                return closeParen + 1
            default:
                return nil
            }
        }

        func escape(_ ch: Character, into out: inout String) {
            HTMLText.escape(ch, into: &out)
        }
    }

    static func isSafeLink(_ url: String) -> Bool {
        let lower = url.lowercased()
        for scheme in ["https://", "http://", "mailto:"] where lower.hasPrefix(scheme) {
            return lower.count > scheme.count
        }
        return false
    }
}
