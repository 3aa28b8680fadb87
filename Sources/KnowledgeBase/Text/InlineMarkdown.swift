/// The two conversions between passage text and what a chat shows: Markdown source to plain words,
/// and plain words to Markdown that renders them literally.
public enum InlineMarkdown {
    /// Characters with a meaning in Markdown that a snippet must show as themselves.
    static let special: Set<Character> = ["\\", "*", "_", "`", "[", "]", "<", ">", "#", "|", "~", "(", ")", "!"]

    /// Backslash-escapes every Markdown-special character, so "a_b (c)" renders as typed.
    ///
    ///     InlineMarkdown.escape("C# [draft]") // "C\\# \\[draft\\]"
    public static func escape(_ text: String) -> String {
        var result = ""
        result.reserveCapacity(text.utf8.count + 8)
        for character in text {
            if special.contains(character) { result.append("\\") }
            result.append(character)
        }
        return result
    }

    /// The words of a Markdown passage without its markup: links keep their text, emphasis markers,
    /// code ticks, heading hashes and quote markers go; list items keep a leading "- ".
    static func plain(_ markdown: String) -> String {
        var lines: [String] = []
        for rawLine in markdown.byteLines {
            var line = rawLine.drop(while: { $0 == " " || $0 == "\t" })
            while line.first == ">" { line = line.dropFirst().drop(while: { $0 == " " }) }
            if line.first == "#" {
                let hashes = line.prefix(while: { $0 == "#" }).count
                if hashes <= 6, line.dropFirst(hashes).first == " " { line = line.dropFirst(hashes + 1) }
            }
            if let first = line.first, first == "*" || first == "+", line.dropFirst().first == " " {
                line = "- " + line.dropFirst(2)
            }
            lines.append(inline(line))
        }
        return lines.joined(separator: "\n")
    }

    /// Characters that can start inline markup; a line without any is already plain.
    private static let markupBytes: Set<UInt8> = Set("\\![`*_~".utf8)

    private static func inline(_ line: Substring) -> String {
        if !line.utf8.contains(where: { markupBytes.contains($0) }) { return String(line) }
        let characters = Array(line)
        var result = ""
        result.reserveCapacity(characters.count)
        var index = 0
        func isWordCharacter(_ offset: Int) -> Bool {
            offset >= 0 && offset < characters.count && (characters[offset].isLetter || characters[offset].isNumber)
        }
        while index < characters.count {
            let character = characters[index]
            switch character {
            case "\\" where index + 1 < characters.count && special.contains(characters[index + 1]):
                result.append(characters[index + 1])
                index += 2
                continue
            case "!" where index + 1 < characters.count && characters[index + 1] == "[":
                index += 1
                continue
            case "[":
                // [text](url) keeps "text"; a lone bracket stays.
                if let close = characters[index...].firstIndex(of: "]"), close + 1 < characters.count,
                    characters[close + 1] == "(", let end = characters[(close + 1)...].firstIndex(of: ")")
                {
                    result.append(contentsOf: inline(Substring(String(characters[(index + 1)..<close]))))
                    index = end + 1
                    continue
                }
            case "`":
                index += 1
                continue
            case "*", "_", "~":
                // Emphasis markers open or close a word; "snake_case", "a*b" and "2 * 3" keep theirs, and
                // the snippet escapes them.
                let before = isWordCharacter(index - 1)
                var run = index
                while run < characters.count && characters[run] == character { run += 1 }
                let after = isWordCharacter(run)
                if before != after {
                    index = run
                    continue
                }
            default:
                break
            }
            result.append(character)
            index += 1
        }
        return result
    }
}
