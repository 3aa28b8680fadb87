/// A readable excerpt of a passage around the words a question matched, for a chat reply.
///
/// The excerpt is plain text made safe for Markdown: the matched words are emphasised as `**word**`,
/// and every other Markdown-special character of the passage is backslash-escaped, so "C# (draft)"
/// shows as typed instead of turning into a heading or a link.
enum Snippet {
    /// About how long an excerpt is, in bytes of UTF-8 (characters, for Latin text).
    static let targetLength = 300

    static func make(from markdown: String, language: String, stems: Set<String>, length targetLength: Int = targetLength) -> String {
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

    /// The whole passage as a chat answer: every line kept (paragraphs, list items), inline markup
    /// reduced to its words, Markdown-special characters escaped, the question's words in bold.
    static func whole(_ markdown: String, language: String, stems: Set<String>) -> String {
        var lines: [String] = []
        var blank = false
        for line in InlineMarkdown.plain(markdown).split(separator: "\n", omittingEmptySubsequences: false) {
            let text = String(line).collapsingWhitespace
            if text.isEmpty {
                blank = !lines.isEmpty
                continue
            }
            if blank { lines.append("") }
            blank = false
            // A list marker stays a list marker; the rest of the line is escaped.
            if text.hasPrefix("- ") {
                lines.append("- " + highlighted(String(text.dropFirst(2)), language: language, stems: stems))
            } else {
                lines.append(highlighted(text, language: language, stems: stems))
            }
        }
        return lines.joined(separator: "\n")
    }

    /// The sentence of the passage that holds most of the question's distinct words, whole, on one line;
    /// a sentence longer than `maximumLength` is cut around its matches like a snippet.
    static func line(_ markdown: String, language: String, stems: Set<String>, maximumLength: Int = 240) -> String {
        var best = (sentence: "", matched: -1)
        for line in InlineMarkdown.plain(markdown).split(separator: "\n") {
            var text = String(line).collapsingWhitespace
            if text.hasPrefix("- ") { text.removeFirst(2) }
            for sentence in sentences(of: text) {
                var distinct = Set<String>()
                WordScanner.forEachWord(in: sentence) { word, _ in
                    TextAnalysis.stem(&word, language: language)
                    let stem = String(decoding: word, as: UTF8.self)
                    if stems.contains(stem) { distinct.insert(stem) }
                }
                if distinct.count > best.matched { best = (sentence, distinct.count) }
            }
        }
        if best.sentence.utf8.count > maximumLength {
            return make(from: best.sentence, language: language, stems: stems, length: maximumLength)
        }
        return highlighted(best.sentence, language: language, stems: stems)
    }

    /// `text` split after ".", "?" or "!" followed by a space; a sentence keeps its punctuation.
    static func sentences(of text: String) -> [String] {
        var sentences: [String] = []
        var current = ""
        var previous: Character?
        for character in text {
            if character == " ", let end = previous, ".?!".contains(end), !current.isEmpty {
                sentences.append(current)
                current = ""
                previous = character
                continue
            }
            current.append(character)
            previous = character
        }
        if !current.trimmingWhitespace.isEmpty { sentences.append(current) }
        return sentences
    }

    /// Plain text escaped for Markdown, the words whose stem is in `stems` in bold.
    static func highlighted(_ text: String, language: String, stems: Set<String>) -> String {
        let bytes = Array(text.utf8)
        var result = ""
        var cursor = 0
        bytes.withUnsafeBufferPointer { buffer in
            WordScanner.forEachWord(in: buffer) { word, range in
                TextAnalysis.stem(&word, language: language)
                guard stems.contains(String(decoding: word, as: UTF8.self)) else { return }
                result += InlineMarkdown.escape(String(decoding: bytes[cursor..<range.lowerBound], as: UTF8.self))
                result += "**" + InlineMarkdown.escape(String(decoding: bytes[range], as: UTF8.self)) + "**"
                cursor = range.upperBound
            }
        }
        result += InlineMarkdown.escape(String(decoding: bytes[cursor...], as: UTF8.self))
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
