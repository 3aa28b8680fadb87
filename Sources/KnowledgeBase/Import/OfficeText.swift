import Foundation

#if canImport(FoundationXML)
import FoundationXML
#endif

/// The text of a Word (DOCX) or OpenDocument (ODT) file, read in-process: both are ZIP archives of XML, so
/// ``ZipArchive`` (zlib) unpacks the body and Foundation's XMLParser reads it, headings from the paragraph
/// styles (Word's "Heading 1", "Titre 1"…) or outline levels (OpenDocument's `text:h`).
///
/// Chosen over running pandoc by measurement (see BENCHMARKS.md, "Office documents"): 2 to 3 ms a document
/// against about 100 ms and 96 MB for a pandoc process, and no 170 MB converter to install. ZIPFoundation
/// would read the archive as well, but its manifest makes every clean build print a warning on Linux.
enum OfficeText {
    enum Problem: Error, CustomStringConvertible, Sendable, Equatable {
        case encrypted
        case notArchive(String)
        case missingPart(String)
        case tooLarge(String)
        case malformedXML(String)

        var description: String {
            switch self {
            case .encrypted: "the document is encrypted (password-protected); save an unprotected copy to import it"
            case .notArchive(let kind): "not a \(kind) document (damaged, or not a ZIP archive)"
            case .missingPart(let part): "damaged document: \(part) is missing or cannot be unpacked"
            case .tooLarge(let part): "\(part) is larger than \(OfficeText.maximumPartSize / 1_000_000) MB once unpacked"
            case .malformedXML(let detail): "damaged document: its XML cannot be read (\(detail))"
            }
        }
    }

    /// A part of the archive larger than this once unpacked is refused: a ZIP bomb costs nothing else.
    static let maximumPartSize = 64_000_000

    /// The document as Markdown (headings as `#`), and its declared title.
    static func read(file: String, bytes: [UInt8], kind: String) throws(Problem) -> (title: String?, markdown: String) {
        // An encrypted Office file is an OLE compound file, not a ZIP archive.
        if bytes.starts(with: [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) { throw .encrypted }
        let name = kind == "odt" ? "OpenDocument text" : "Word"
        guard bytes.starts(with: [0x50, 0x4B, 0x03, 0x04]) else { throw .notArchive(name) }
        let body: [UInt8]
        var meta: [UInt8]?
        do {
            let archive = try ZipArchive(bytes)
            let (bodyPart, metaPart) = kind == "odt" ? ("content.xml", "meta.xml") : ("word/document.xml", "docProps/core.xml")
            if kind == "odt", let manifest = try archive.contents(of: "META-INF/manifest.xml", limit: maximumPartSize),
                String(decoding: manifest, as: UTF8.self).contains("encryption-data")
            {
                throw Problem.encrypted
            }
            guard let found = try archive.contents(of: bodyPart, limit: maximumPartSize) else { throw Problem.missingPart(bodyPart) }
            body = found
            meta = try? archive.contents(of: metaPart, limit: maximumPartSize)
        } catch let problem as Problem {
            throw problem
        } catch let problem as ZipArchive.Problem {
            switch problem {
            case .notZip: throw .notArchive(name)
            case .damaged(let part): throw .missingPart(part)
            case .tooLarge(let part): throw .tooLarge(part)
            case .unsupported(let what): throw .notArchive("\(name) (\(what))")
            }
        } catch {
            throw .notArchive(name)
        }
        let reader = kind == "odt" ? BodyReader(flavour: .openDocument) : BodyReader(flavour: .word)
        let parser = XMLParser(data: Data(body))
        parser.delegate = reader
        parser.shouldResolveExternalEntities = false
        guard parser.parse() else {
            throw .malformedXML(parser.parserError.map { "\($0.localizedDescription)" } ?? "parse error")
        }
        var title: String?
        if let meta {
            let titleReader = TitleReader()
            let metaParser = XMLParser(data: Data(meta))
            metaParser.delegate = titleReader
            metaParser.shouldResolveExternalEntities = false
            if metaParser.parse(), !titleReader.title.trimmingWhitespace.isEmpty {
                title = String(titleReader.title.trimmingWhitespace)
            }
        }
        return (title ?? reader.titleParagraph, reader.markdown)
    }
}

/// Reads `word/document.xml` or `content.xml` into Markdown: one line per paragraph, `#` for headings,
/// `- ` for list items.
private final class BodyReader: NSObject, XMLParserDelegate {
    enum Flavour { case word, openDocument }

    let flavour: Flavour
    private var lines: [String] = []
    private var text = ""
    private var inText = false
    private var headingLevel: Int?
    private var isTitle = false
    private var listDepth = 0
    private var paragraphDepth = 0
    private(set) var titleParagraph: String?

    init(flavour: Flavour) {
        self.flavour = flavour
    }

    var markdown: String { lines.joined(separator: "\n\n") }

    func parser(
        _ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
        attributes: [String: String] = [:]
    ) {
        switch (flavour, name) {
        case (.word, "w:p"):
            paragraphDepth += 1
            text = ""
            headingLevel = nil
            isTitle = false
        case (.word, "w:pStyle"):
            let style = (attributes["w:val"] ?? "").lowercased().replacingOccurrences(of: " ", with: "")
            if style == "title" || style == "titre" {
                isTitle = true
            } else if let level = Self.headingLevel(ofStyle: style) {
                headingLevel = level
            } else if style.hasPrefix("list") {
                listDepth = max(listDepth, 1)
            }
        case (.word, "w:outlineLvl"):
            if let value = attributes["w:val"].flatMap(Int.init), value < 6 { headingLevel = value + 1 }
        case (.word, "w:numPr"):
            listDepth = max(listDepth, 1)
        case (.word, "w:t"):
            inText = true
        case (.word, "w:tab"):
            text += " "
        case (.word, "w:br"), (.word, "w:cr"):
            text += " "
        case (.openDocument, "text:h"):
            paragraphDepth += 1
            text = ""
            headingLevel = attributes["text:outline-level"].flatMap(Int.init).map { min(max($0, 1), 6) } ?? 1
        case (.openDocument, "text:p"):
            paragraphDepth += 1
            if paragraphDepth == 1 { text = "" }
            headingLevel = nil
            isTitle = attributes["text:style-name"]?.lowercased() == "title"
        case (.openDocument, "text:list"):
            listDepth += 1
        case (.openDocument, "text:s"):
            text += String(repeating: " ", count: attributes["text:c"].flatMap(Int.init).map { min($0, 8) } ?? 1)
        case (.openDocument, "text:tab"), (.openDocument, "text:line-break"):
            text += " "
        default:
            break
        }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        switch flavour {
        case .word: if inText { text += string }
        case .openDocument: if paragraphDepth > 0 { text += string }
        }
    }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        switch (flavour, name) {
        case (.word, "w:t"):
            inText = false
        case (.word, "w:p"):
            paragraphDepth -= 1
            finishParagraph()
            listDepth = 0
        case (.openDocument, "text:h"), (.openDocument, "text:p"):
            paragraphDepth -= 1
            if paragraphDepth == 0 { finishParagraph() }
        case (.openDocument, "text:list"):
            listDepth -= 1
        default:
            break
        }
    }

    private func finishParagraph() {
        let line = text.collapsingWhitespace.trimmingCharacters(in: .whitespaces)
        defer {
            text = ""
            headingLevel = nil
            isTitle = false
        }
        guard !line.isEmpty else { return }
        if isTitle {
            if titleParagraph == nil { titleParagraph = line }
            lines.append("# " + line)
        } else if let level = headingLevel {
            lines.append(String(repeating: "#", count: level) + " " + line)
        } else if listDepth > 0 {
            lines.append("- " + Self.literal(line))
        } else {
            lines.append(Self.literal(line))
        }
    }

    /// A line of body text that Markdown must not read as a heading, a list item or a quote.
    private static func literal(_ line: String) -> String {
        guard let first = line.first, "#>-+*".contains(first) else { return line }
        return "\\" + line
    }

    /// "heading1", "titre2", "berschrift3" (after folding) → 1, 2, 3.
    static func headingLevel(ofStyle style: String) -> Int? {
        for prefix in ["heading", "titre", "überschrift", "berschrift"] where style.hasPrefix(prefix) {
            if let level = Int(style.dropFirst(prefix.count)), (1...6).contains(level) { return level }
        }
        return nil
    }
}

/// Reads `dc:title` from `docProps/core.xml` or `meta.xml`.
private final class TitleReader: NSObject, XMLParserDelegate {
    private(set) var title = ""
    private var inTitle = false

    func parser(
        _ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
        attributes: [String: String] = [:]
    ) {
        if name == "dc:title" { inTitle = true }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        if inTitle { title += string }
    }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        if name == "dc:title" { inTitle = false }
    }
}
