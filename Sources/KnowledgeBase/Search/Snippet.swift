/// A readable excerpt of a passage around the words a question matched, for a chat reply.
///
/// The excerpt is plain text made safe for Markdown: the matched words are emphasised as `**word**`,
/// and every other Markdown-special character of the passage is backslash-escaped, so "C# (draft)"
/// shows as typed instead of turning into a heading or a link.
enum Snippet {
    /// About how long an excerpt is, in bytes of UTF-8 (characters, for Latin text).
    static let targetLength = 300

    static func make(from markdown: String, language: String, stems: Set<String>) -> String {
        let flat = InlineMarkdown.plain(markdown).collapsingWhitespace
        let bytes = Array(flat.utf8)
        var words: [(range: Range<Int>, stem: String?)] = []
        bytes.withUnsafeBufferPointer { buffer in
            WordScanner.forEachWord(in: buffer) { word, range in
                TextAnalysis.stem(&word, language: language)
                let stem = String(decoding: word, as: UTF8.self)
                words.append((range, stems.contains(stem) ? stem : nil))
            }
        }
        guard !words.isEmpty else { return InlineMarkdown.escape(String(flat.prefix(targetLength))) }

        var first = 0
        var last = words.count - 1
        if bytes.count > targetLength {
            (first, last) = window(words, length: targetLength)
        }
        let start = first == 0 ? 0 : words[first].range.lowerBound
        let end = last == words.count - 1 ? bytes.count : words[last].range.upperBound
        var result = start > 0 ? "… " : ""
        var cursor = start
        for word in words[first...last] {
            result += InlineMarkdown.escape(String(decoding: bytes[cursor..<word.range.lowerBound], as: UTF8.self))
            let text = InlineMarkdown.escape(String(decoding: bytes[word.range], as: UTF8.self))
            result += word.stem == nil ? text : "**" + text + "**"
            cursor = word.range.upperBound
        }
        result += InlineMarkdown.escape(String(decoding: bytes[cursor..<end], as: UTF8.self))
        if end < bytes.count { result += " …" }
        return result
    }

    /// The span of words, at most `length` bytes long, holding the most distinct matched words; it starts
    /// a few words before the first of them so the excerpt does not open on the match itself.
    private static func window(_ words: [(range: Range<Int>, stem: String?)], length: Int) -> (Int, Int) {
        var best = (first: 0, last: 0, score: -1)
        for (index, word) in words.enumerated() where word.stem != nil || index == 0 {
            let first = max(0, index - 4)
            let limit = words[first].range.lowerBound + length
            var distinct = Set<String>()
            var last = first
            var cursor = first
            while cursor < words.count && words[cursor].range.upperBound <= limit {
                if let stem = words[cursor].stem { distinct.insert(stem) }
                last = cursor
                cursor += 1
            }
            if distinct.count > best.score { best = (first, last, distinct.count) }
        }
        // A window that reaches the end of the passage early takes the room left from the words before it,
        // so a match near the end still comes with its context.
        var first = best.first
        while first > 0, words[best.last].range.upperBound - words[first - 1].range.lowerBound <= length { first -= 1 }
        return (first, best.last)
    }
}
