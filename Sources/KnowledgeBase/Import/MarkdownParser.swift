import Foundation
import Yams

/// A document read from a file, before it is cut into passages.
struct ParsedDocument: Sendable {
    var title: String
    /// The language declared in the front matter, if any.
    var language: String?
    var tags: [String]
    var territory: String?
    /// Where the document can be read in full (front matter `url`, or the address it was fetched from).
    var url: String?
    var sections: [Section]

    /// The text under one heading, with the headings above it ("Scenarios", "Becoming an ally").
    struct Section: Sendable {
        var path: [String]
        var body: String
        /// The page the section starts on, for documents that have pages (PDF).
        var page: Int?

        init(path: [String], body: String, page: Int? = nil) {
            self.path = path
            self.body = body
            self.page = page
        }
    }
}

/// Why a file could not be read as a document. The message names the problem in words a person can fix.
enum DocumentError: Error, CustomStringConvertible, Sendable {
    case notText(String)
    case malformedFrontMatter(String)
    case empty
    case unsupported(String)

    var description: String {
        switch self {
        case .notText(let reason): "not a text file (\(reason))"
        case .malformedFrontMatter(let reason): "malformed front matter: \(reason)"
        case .empty: "no text to index"
        case .unsupported(let kind): "unsupported file type \(kind) (expected .md, .markdown, .txt, .html, .htm, .pdf, .docx or .odt)"
        }
    }
}

/// Reads Markdown with optional YAML front matter (`title`, `language`, `tags`, `territory`, `url`) into
/// sections, one per heading (ATX `#` and Setext underlines), ignoring headings inside fenced code.
enum MarkdownParser {
    /// - Parameters:
    ///   - fallbackTitle: the title when neither front matter nor a first-level heading gives one.
    ///   - headings: false for plain text, whose lines starting with "#" are not headings.
    /// - Throws: ``DocumentError/malformedFrontMatter(_:)`` when the front matter is not closed or not YAML.
    static func parse(_ text: String, fallbackTitle: String, headings: Bool = true) throws -> ParsedDocument {
        // Lines are byte ranges of one copy of the text: an import parses every document, and a String or
        // Substring per line cost more than the rest of the parsing.
        let bytes = Array(text.utf8)
        var lines: [Range<Int>] = []
        var lineStart = 0
        for index in 0..<bytes.count where bytes[index] == 0x0A {
            lines.append(lineStart..<(index > lineStart && bytes[index - 1] == 0x0D ? index - 1 : index))
            lineStart = index + 1
        }
        lines.append(lineStart..<bytes.count)
        func string(_ range: Range<Int>) -> String { String(decoding: bytes[range], as: UTF8.self) }
        func trimmed(_ range: Range<Int>) -> Range<Int> {
            var lower = range.lowerBound
            var upper = range.upperBound
            while lower < upper && isASCIIWhitespace(bytes[lower]) { lower += 1 }
            while upper > lower && isASCIIWhitespace(bytes[upper - 1]) { upper -= 1 }
            return lower..<upper
        }
        func starts(_ range: Range<Int>, with prefix: [UInt8]) -> Bool {
            range.count >= prefix.count && bytes[range.lowerBound..<(range.lowerBound + prefix.count)].elementsEqual(prefix)
        }

        var document = ParsedDocument(title: "", language: nil, tags: [], territory: nil, url: nil, sections: [])
        var declaredTitle: String?
        var firstLine = 0
        if string(trimmed(lines[0])) == "---" {
            guard let end = lines.indices.dropFirst().first(where: { string(lines[$0]) == "---" || string(lines[$0]) == "..." })
            else {
                throw DocumentError.malformedFrontMatter("the opening --- has no closing ---")
            }
            let yaml = end > 1 ? string(lines[1].lowerBound..<lines[end - 1].upperBound) : ""
            let fields = try frontMatterFields(yaml)
            declaredTitle = fields.string("title")
            document.language = fields.string("language")?.lowercased()
            document.territory = fields.string("territory")
            document.tags = fields.strings("tags")
            document.url = fields.string("url").flatMap { $0.hasPrefix("https://") || $0.hasPrefix("http://") ? $0 : nil }
            firstLine = end + 1
        }

        var stack: [(level: Int, text: String)] = []
        var firstHeadingTitle: String?
        var bodyStart = firstLine < lines.count ? lines[firstLine].lowerBound : bytes.count

        func flush(upTo end: Int) {
            let body = trimmed(bodyStart..<max(bodyStart, end))
            if !body.isEmpty { document.sections.append(.init(path: stack.map(\.text), body: string(body))) }
        }
        func open(level: Int, _ raw: String) {
            let text = String(InlineMarkdown.plain(raw).trimmingWhitespace)
            if level == 1 && firstHeadingTitle == nil && document.sections.isEmpty { firstHeadingTitle = text }
            while let last = stack.last, last.level >= level { stack.removeLast() }
            stack.append((level, text))
        }

        let backticks: [UInt8] = Array("```".utf8)
        let tildes: [UInt8] = Array("~~~".utf8)
        var fence: [UInt8]?
        var previousBlank = true
        var index = firstLine
        while headings && index < lines.count {
            let line = lines[index]
            let nextStart = index + 1 < lines.count ? lines[index + 1].lowerBound : bytes.count
            index += 1
            var contentStart = line.lowerBound
            while contentStart < line.upperBound && bytes[contentStart] == 0x20 { contentStart += 1 }
            let content = contentStart..<line.upperBound
            if let marker = fence {
                if starts(content, with: marker) { fence = nil }
                previousBlank = false
                continue
            }
            if starts(content, with: backticks) || starts(content, with: tildes) {
                fence = Array(bytes[content.lowerBound..<(content.lowerBound + 3)])
                previousBlank = false
                continue
            }
            if contentStart - line.lowerBound < 4, let (level, text) = atxHeading(bytes, content) {
                flush(upTo: line.lowerBound)
                open(level: level, string(text))
                bodyStart = nextStart
                previousBlank = true
                continue
            }
            let isBlank = trimmed(content).isEmpty
            if !isBlank && previousBlank && index < lines.count, let level = setextLevel(bytes, trimmed(lines[index])),
                !"-*>".utf8.contains(bytes[content.lowerBound])
            {
                flush(upTo: line.lowerBound)
                open(level: level, string(trimmed(content)))
                bodyStart = index + 1 < lines.count ? lines[index + 1].lowerBound : bytes.count
                index += 1
                previousBlank = true
                continue
            }
            previousBlank = isBlank
        }
        flush(upTo: bytes.count)

        let title = declaredTitle ?? firstHeadingTitle ?? fallbackTitle
        document.title = title
        // The title is shown beside every passage already; repeating it as the first heading of every
        // path would only lengthen "Becoming an ally › Informed signature".
        for index in document.sections.indices where document.sections[index].path.first == title {
            document.sections[index].path.removeFirst()
        }
        return document
    }

    /// "## Title ##" → (2, "Title"); nil when the line is not an ATX heading.
    private static func atxHeading(_ bytes: [UInt8], _ line: Range<Int>) -> (Int, Range<Int>)? {
        var cursor = line.lowerBound
        while cursor < line.upperBound && bytes[cursor] == 0x23 { cursor += 1 }
        let level = cursor - line.lowerBound
        guard (1...6).contains(level) else { return nil }
        guard cursor == line.upperBound || bytes[cursor] == 0x20 || bytes[cursor] == 0x09 else { return nil }
        var lower = cursor
        var upper = line.upperBound
        while lower < upper && isASCIIWhitespace(bytes[lower]) { lower += 1 }
        while upper > lower && isASCIIWhitespace(bytes[upper - 1]) { upper -= 1 }
        // A closing sequence of #s is decoration.
        var closing = upper
        while closing > lower && bytes[closing - 1] == 0x23 { closing -= 1 }
        if closing < upper && (closing == lower || bytes[closing - 1] == 0x20) {
            upper = closing
            while upper > lower && isASCIIWhitespace(bytes[upper - 1]) { upper -= 1 }
        }
        return (level, lower..<upper)
    }

    private static func setextLevel(_ bytes: [UInt8], _ line: Range<Int>) -> Int? {
        guard line.count >= 3 else { return nil }
        let first = bytes[line.lowerBound]
        guard first == 0x3D || first == 0x2D, bytes[line].allSatisfy({ $0 == first }) else { return nil }
        return first == 0x3D ? 1 : 2
    }

    private static func frontMatterFields(_ yaml: String) throws -> [String: Any] {
        if let simple = simpleFields(yaml) { return simple }
        let loaded: Any?
        do {
            loaded = try Yams.load(yaml: yaml)
        } catch let error as YamlError {
            throw DocumentError.malformedFrontMatter("\(error)".split(separator: "\n").first.map(String.init) ?? "not YAML")
        } catch {
            throw DocumentError.malformedFrontMatter("not YAML")
        }
        guard let loaded else { return [:] }
        guard let fields = loaded as? [String: Any] else {
            throw DocumentError.malformedFrontMatter("expected key: value pairs")
        }
        return fields
    }
}

extension MarkdownParser {
    /// Reads the front matter almost every document has, `key: value` lines whose values are plain or
    /// quoted scalars or `[flow, lists]`, without the YAML parser, which costs more than indexing a small
    /// document. Anything else returns nil and goes to Yams.
    static func simpleFields(_ yaml: String) -> [String: Any]? {
        var fields: [String: Any] = [:]
        for line in yaml.byteLines {
            let text = line.trimmingWhitespace
            if text.isEmpty { continue }
            guard line.utf8.first != 0x20, line.utf8.first != 0x09,
                let colon = text.firstIndex(of: ":"), colon != text.startIndex
            else { return nil }
            let key = String(text[..<colon])
            guard key.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }) else { return nil }
            let value = text[text.index(after: colon)...].trimmingWhitespace
            if value.isEmpty { return nil }
            if value.first == "[" {
                guard value.last == "]" else { return nil }
                var items: [String] = []
                for item in value.dropFirst().dropLast().split(separator: ",") {
                    guard let scalar = simpleScalar(item.trimmingWhitespace) else { return nil }
                    items.append(scalar)
                }
                fields[key] = items
            } else {
                guard let scalar = simpleScalar(value) else { return nil }
                fields[key] = scalar
            }
        }
        return fields
    }

    /// A quoted or plain scalar without YAML's special forms, else nil.
    private static func simpleScalar(_ text: Substring) -> String? {
        guard let first = text.first else { return nil }
        if first == "\"" || first == "'" {
            guard text.count >= 2, text.last == first else { return nil }
            let inner = text.dropFirst().dropLast()
            if first == "'" { return inner.contains("'") ? nil : String(inner) }
            return inner.contains("\\") || inner.contains("\"") ? nil : String(inner)
        }
        if "{}[]&*!|>%@`#,".contains(first) || text.contains(": ") || text.contains(" #") { return nil }
        return String(text)
    }
}

extension [String: Any] {
    fileprivate func string(_ key: String) -> String? {
        switch self[key] {
        case let value as String: value.isEmpty ? nil : value
        case let value as Int: String(value)
        case let value as Double: String(value)
        default: nil
        }
    }

    fileprivate func strings(_ key: String) -> [String] {
        switch self[key] {
        case let values as [Any]: values.compactMap { $0 as? String ?? ($0 as? Int).map(String.init) }
        case let value as String: value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        default: []
        }
    }
}
