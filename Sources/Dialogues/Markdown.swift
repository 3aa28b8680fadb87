/// The chat Markdown the engine writes: `**bold**`, `*italic*`, `` `code` ``, `- ` and `1. ` lists,
/// `> ` quotes and `[text](url)` links. Anything a user typed is passed through ``escape(_:)`` first,
/// so it can never add formatting, links or HTML of its own.
public enum Markdown {
    static let special: Set<Character> = ["\\", "*", "_", "`", "[", "]", "<", ">", "#", "|", "~", "(", ")", "!"]

    /// Escapes `text` so that it renders literally, on one line: wherever the bot's Markdown puts user text
    /// (a list item, a sentence), a line break in it could otherwise start a line of its own, such as a
    /// forged list item. Each run of line breaks becomes ``lineFold``; a list marker the text starts with
    /// is escaped too.
    ///
    ///     Markdown.escape("a*b*") // a\*b\*
    ///     Markdown.escape("Ana\n- Mallory") // Ana / - Mallory
    ///     Markdown.escape("- Mallory")       // \- Mallory
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        var pendingBreak = false
        var afterFold = false
        var started = false
        for ch in text {
            if ch.isNewline {
                pendingBreak = true
                continue
            }
            if pendingBreak, !afterFold {
                while out.last == " " || out.last == "\t" { out.removeLast() }
                if !out.isEmpty {
                    out += lineFold
                    afterFold = true
                }
            }
            pendingBreak = false
            if afterFold, ch == " " || ch == "\t" { continue }
            afterFold = false
            if special.contains(ch) || (!started && listStarts.contains(ch)) { out.append("\\") }
            if ch != " ", ch != "\t" { started = true }
            out.append(ch)
        }
        escapeOrderedListMarker(&out)
        return out
    }

    /// What a line break in user text becomes in the bot's Markdown (see ``escape(_:)``).
    public static let lineFold = " / "

    static let listStarts: Set<Character> = ["-", "+"]

    /// `12. text` at the start would render as an ordered list item: the dot is escaped (`)` always is).
    static func escapeOrderedListMarker(_ out: inout String) {
        let indent = out.prefix { $0 == " " || $0 == "\t" }.count
        let digits = out.dropFirst(indent).prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty, digits.count <= 9, digits.endIndex < out.endIndex, out[digits.endIndex] == "." else { return }
        out.insert("\\", at: digits.endIndex)
    }

    /// The text a reader sees, without markup: emphasis markers dropped, escapes resolved,
    /// links shown as `text (url)`.
    public static func plainText(_ markdown: String) -> String {
        plainTextFast(markdown) ?? plainTextGeneral(markdown)
    }

    /// Without `_` or `[` (whose handling looks at neighbouring characters), removing the markers is a
    /// byte-level job: every reply is rendered to plain text, and grapheme-by-grapheme it was costly.
    static func plainTextFast(_ markdown: String) -> String? {
        let bytes = markdown.utf8
        guard !bytes.contains(where: { $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "[") }) else { return nil }
        guard bytes.contains(where: { $0 == UInt8(ascii: "\\") || $0 == UInt8(ascii: "*") || $0 == UInt8(ascii: "`") }) else {
            return markdown
        }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var escaped = false
        var previousDropped = false
        for byte in bytes {
            // A marker followed by a non-ASCII scalar may be one character with it (a combining mark):
            // leave such text to the general path.
            if previousDropped, byte >= 0x80 { return nil }
            previousDropped = false
            if escaped {
                // The escaped character is kept whole: its first byte here, continuation bytes below.
                out.append(byte)
                escaped = false
                continue
            }
            switch byte {
            case UInt8(ascii: "\\"): escaped = true
            case UInt8(ascii: "*"), UInt8(ascii: "`"): previousDropped = true
            default: out.append(byte)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func plainTextGeneral(_ markdown: String) -> String {
        var out = ""
        out.reserveCapacity(markdown.utf8.count)
        var chars = Array(markdown)[...]
        while let ch = chars.popFirst() {
            switch ch {
            case "\\":
                if let next = chars.popFirst() { out.append(next) }
            case "*", "`":
                continue
            case "_" where out.last.map({ !$0.isLetter && !$0.isNumber }) ?? true:
                // `_emphasis_` markers; an underscore inside a word stays.
                continue
            case "_" where chars.first.map({ !$0.isLetter && !$0.isNumber }) ?? true:
                continue
            case "[":
                if let close = chars.firstIndex(of: "]"), chars.index(after: close) < chars.endIndex,
                    chars[chars.index(after: close)] == "(",
                    let end = chars[close...].firstIndex(of: ")")
                {
                    let label = plainTextGeneral(String(chars[..<close]))
                    let url = String(chars[chars.index(close, offsetBy: 2)..<end])
                    out += label == url ? url : "\(label) (\(url))"
                    chars = chars[chars.index(after: end)...]
                } else {
                    out.append(ch)
                }
            default:
                out.append(ch)
            }
        }
        return out
    }
}
