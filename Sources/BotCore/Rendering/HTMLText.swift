/// Text escaped for HTML element content and attribute values: the one definition of what HTML text
/// needs, for the reports' pages and the Matrix adapter's formatted bodies alike.
///
///     HTMLText.escape("<b>Tom & \"Jerry\"</b>") // &lt;b&gt;Tom &amp; &quot;Jerry&quot;&lt;/b&gt;
public enum HTMLText {
    /// `text` with `& < > " '` escaped and NUL replaced by U+FFFD.
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text { escape(character, into: &out) }
        return out
    }

    /// Appends `character` to `out`, escaped as ``escape(_:)`` escapes it: for renderers that write
    /// their HTML a character at a time.
    @inlinable
    public static func escape(_ character: Character, into out: inout String) {
        switch character {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&#39;"
        case "\0": out += "\u{FFFD}"
        default: out.append(character)
        }
    }
}
