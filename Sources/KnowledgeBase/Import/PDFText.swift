import Foundation

/// The text of a PDF document, page by page, through poppler's `pdfinfo` and `pdftotext` (Debian package
/// poppler-utils), so that every passage knows the page it starts on and an answer can say "page 12".
enum PDFText {
    static let pdftotext = ExternalTool(name: "pdftotext", package: "poppler-utils")
    static let pdfinfo = ExternalTool(name: "pdfinfo", package: "poppler-utils")

    /// Why a PDF cannot be imported, in words a person can act on.
    enum Problem: Error, CustomStringConvertible, Sendable, Equatable {
        case toolMissing
        case notPDF
        case encrypted
        case corrupt(String)
        case imageOnly
        case timedOut

        var description: String {
            switch self {
            case .toolMissing: "PDF import needs pdftotext and pdfinfo (Debian package poppler-utils: run scripts/system-packages)"
            case .notPDF: "not a PDF file (it does not start with %PDF-)"
            case .encrypted: "the PDF is encrypted (password-protected); save an unprotected copy to import it"
            case .corrupt(let detail): "the PDF is damaged and cannot be read (\(detail))"
            case .imageOnly: "the PDF has no text layer (scanned pages?); run it through OCR first"
            case .timedOut: "reading the PDF took too long; it may be damaged"
            }
        }
    }

    /// The document's declared title, if any, and its sections: one per page with text, numbered from 1.
    static func read(file: String, bytes: [UInt8]) throws(Problem) -> (title: String?, sections: [ParsedDocument.Section]) {
        guard bytes.prefix(1_024).starts(with: Array("%PDF-".utf8)) || containsHeader(bytes) else { throw .notPDF }
        let info: ExternalTool.Output
        let text: ExternalTool.Output
        do {
            info = try pdfinfo.run(["-enc", "UTF-8", file])
            if info.status != 0 { throw classify(info) }
            text = try pdftotext.run(["-enc", "UTF-8", "-eol", "unix", file, "-"])
            if text.status != 0 { throw classify(text) }
        } catch let failure as ExternalTool.Failure {
            switch failure {
            case .missing: throw .toolMissing
            case .timedOut: throw .timedOut
            case .cannotStart(let reason): throw .corrupt(reason)
            }
        } catch let problem as Problem {
            throw problem
        } catch {
            throw .corrupt("\(error)")
        }
        var title: String?
        for line in String(decoding: info.standardOutput, as: UTF8.self).split(separator: "\n") where line.hasPrefix("Title:") {
            let value = line.dropFirst("Title:".count).trimmingWhitespace
            if !value.isEmpty { title = String(value) }
        }
        let pages = String(decoding: text.standardOutput, as: UTF8.self).split(separator: "\u{0C}", omittingEmptySubsequences: false)
        let sections = sections(ofPages: pages.map(String.init))
        guard !sections.isEmpty else { throw .imageOnly }
        return (title, sections)
    }

    /// Some PDF writers put a few bytes before the header; readers accept it within the first kilobyte.
    private static func containsHeader(_ bytes: [UInt8]) -> Bool {
        let header = Array("%PDF-".utf8)
        let head = Array(bytes.prefix(1_024))
        guard head.count >= header.count else { return false }
        return (0...(head.count - header.count)).contains { head[$0..<($0 + header.count)].elementsEqual(header) }
    }

    private static func classify(_ output: ExternalTool.Output) -> Problem {
        let errors = output.errors.lowercased()
        if errors.contains("password") || errors.contains("encrypt") { return .encrypted }
        return .corrupt(output.errors.isEmpty ? "exit status \(output.status)" : output.errors)
    }

    /// Pages as sections, their hard-wrapped lines joined into paragraphs. A sentence that runs over a page
    /// break is completed on the page where it starts, so that no passage starts or stops mid-sentence.
    static func sections(ofPages pages: [String]) -> [ParsedDocument.Section] {
        var paged = pages.map(paragraphs(of:))
        for index in paged.indices.dropLast() {
            guard let last = paged[index].last, !endsSentence(last), let next = paged[index + 1].first else { continue }
            let cut = firstSentenceEnd(in: next)
            paged[index][paged[index].count - 1] = last + " " + next[..<cut].trimmingCharacters(in: .whitespaces)
            let rest = next[cut...].trimmingCharacters(in: .whitespaces)
            if rest.isEmpty { paged[index + 1].removeFirst() } else { paged[index + 1][0] = rest }
        }
        return paged.enumerated().compactMap { index, paragraphs in
            paragraphs.isEmpty ? nil : ParsedDocument.Section(path: [], body: paragraphs.joined(separator: "\n\n"), page: index + 1)
        }
    }

    /// Paragraphs are separated by blank lines; the lines inside one are joined, and a word hyphenated at
    /// the end of a line is put back together ("trans-" + "ition").
    private static func paragraphs(of page: String) -> [String] {
        var paragraphs: [String] = []
        var current = ""
        for rawLine in page.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty {
                if !current.isEmpty { paragraphs.append(current) }
                current = ""
                continue
            }
            if current.isEmpty {
                current = line
            } else if current.hasSuffix("-"), let first = line.first, first.isLowercase {
                current.removeLast()
                current += line
            } else {
                current += " " + line
            }
        }
        if !current.isEmpty { paragraphs.append(current) }
        return paragraphs
    }

    private static func endsSentence(_ text: String) -> Bool {
        guard let last = text.last(where: { !$0.isWhitespace && $0 != "\"" && $0 != "»" && $0 != ")" }) else { return true }
        return ".?!:;…".contains(last)
    }

    /// Where the first sentence of `text` ends: after its first ". ", "? " or "! ", else at its end.
    private static func firstSentenceEnd(in text: String) -> String.Index {
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(after: index)
            if ".?!".contains(text[index]), next == text.endIndex || text[next] == " " { return next }
            index = next
        }
        return text.endIndex
    }
}
