import Foundation
import Yams

/// A document read from a file, before it is cut into passages.
struct ParsedDocument: Sendable {
    var title: String
    /// The language declared in the front matter, if any.
    var language: String?
    var tags: [String]
    var territory: String?
    var sections: [Section]

    /// The text under one heading, with the headings above it ("Scenarios", "Becoming an ally").
    struct Section: Sendable {
        var path: [String]
        var body: String
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
        case .unsupported(let kind): "unsupported file type \(kind) (expected .md, .markdown, .txt, .html or .htm)"
        }
    }
}

/// Reads Markdown with optional YAML front matter (`title`, `language`, `tags`, `territory`) into
/// sections, one per heading (ATX `#` and Setext underlines), ignoring headings inside fenced code.
enum MarkdownParser {
    /// - Parameters:
    ///   - fallbackTitle: the title when neither front matter nor a first-level heading gives one.
    ///   - headings: false for plain text, whose lines starting with "#" are not headings.
    /// - Throws: ``DocumentError/malformedFrontMatter(_:)`` when the front matter is not closed or not YAML.
    static func parse(_ text: String, fallbackTitle: String, headings: Bool = true) throws -> ParsedDocument {
        var lines = text.byteLines
        var document = ParsedDocument(title: "", language: nil, tags: [], territory: nil, sections: [])
        var declaredTitle: String?
        if let first = lines.first, first.trimmingWhitespace == "---" {
            guard let end = lines.dropFirst().firstIndex(where: { $0 == "---" || $0 == "..." }) else {
                throw DocumentError.malformedFrontMatter("the opening --- has no closing ---")
            }
            let yaml = lines[1..<end].joined(separator: "\n")
            let fields = try frontMatterFields(yaml)
            declaredTitle = fields.string("title")
            document.language = fields.string("language")?.lowercased()
            document.territory = fields.string("territory")
            document.tags = fields.strings("tags")
            lines.removeSubrange(0...end)
        }

        var stack: [(level: Int, text: String)] = []
        var body: [Substring] = []
        var fence: Substring?
        var firstHeadingTitle: String?

        func flush() {
            let text = body.joined(separator: "\n").trimmingWhitespace
            if !text.isEmpty { document.sections.append(.init(path: stack.map(\.text), body: String(text))) }
            body.removeAll()
        }
        func open(level: Int, _ raw: Substring) {
            flush()
            let text = String(InlineMarkdown.plain(String(raw)).trimmingWhitespace)
            if level == 1 && firstHeadingTitle == nil && document.sections.isEmpty { firstHeadingTitle = text }
            while let last = stack.last, last.level >= level { stack.removeLast() }
            stack.append((level, text))
        }

        var index = 0
        while index < lines.count {
            let line = lines[index]
            index += 1
            if !headings {
                body.append(line)
                continue
            }
            let trimmed = line.drop(while: { $0 == " " })
            if let marker = fence {
                body.append(line)
                if trimmed.hasPrefix(marker) { fence = nil }
                continue
            }
            if trimmed.hasPrefix("```") || trimmed.hasPrefix("~~~") {
                fence = trimmed.prefix(3)
                body.append(line)
                continue
            }
            if let (level, text) = atxHeading(trimmed), line.count - trimmed.count < 4 {
                open(level: level, text)
                continue
            }
            if index < lines.count, let level = setextLevel(lines[index]),
                !trimmed.isEmpty, body.last?.isBlank ?? true,
                !trimmed.hasPrefix("-"), !trimmed.hasPrefix("*"), !trimmed.hasPrefix(">")
            {
                open(level: level, trimmed)
                index += 1
                continue
            }
            body.append(line)
        }
        flush()

        let title = declaredTitle ?? firstHeadingTitle ?? fallbackTitle
        document.title = title
        // The title is shown beside every passage already; repeating it as the first heading of every
        // path would only lengthen "Becoming an ally › Informed signature".
        for index in document.sections.indices where document.sections[index].path.first == title {
            document.sections[index].path.removeFirst()
        }
        return document
    }

    private static func atxHeading(_ line: Substring) -> (Int, Substring)? {
        let hashes = line.prefix(while: { $0 == "#" }).count
        guard (1...6).contains(hashes) else { return nil }
        let rest = line.dropFirst(hashes)
        guard rest.isEmpty || rest.first == " " || rest.first == "\t" else { return nil }
        var text = rest.trimmingWhitespace
        // A closing sequence of #s is decoration: "## Title ##".
        let closing = text.reversed().prefix(while: { $0 == "#" }).count
        if closing > 0 && (closing == text.count || text.dropLast(closing).last == " ") {
            text = text.dropLast(closing)
        }
        return (hashes, text)
    }

    private static func setextLevel(_ line: Substring) -> Int? {
        guard let first = line.utf8.first(where: { $0 != 0x20 }), first == 0x3D || first == 0x2D else { return nil }
        let trimmed = line.trimmingWhitespace
        guard trimmed.utf8.count >= 3 else { return nil }
        if trimmed.allSatisfy({ $0 == "=" }) { return 1 }
        if trimmed.allSatisfy({ $0 == "-" }) { return 2 }
        return nil
    }

    private static func frontMatterFields(_ yaml: String) throws -> [String: Any] {
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
