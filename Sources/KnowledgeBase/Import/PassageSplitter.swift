import Foundation

/// A piece of a document small enough to answer a question with.
struct Passage: Sendable, Equatable {
    /// Display heading path, "Becoming an ally › Informed signature"; empty for text before any heading.
    var heading: String
    /// Every heading whose text the passage holds (more than one when short sections were merged).
    var headingWords: String
    /// The Markdown source of the passage.
    var text: String
    /// The page the passage starts on, for documents that have pages.
    var page: Int? = nil
}

/// Cuts sections into passages of a useful size: a long section is split between paragraphs (a huge
/// paragraph between sentences), a short section is merged with the subsections under it so that a
/// two-line introduction does not become a passage too thin to rank or to read.
struct PassageSplitter: Sendable {
    /// Upper bound in UTF-8 bytes; a passage exceeds it only when a single word does.
    var maximumLength = 1_200
    /// Sections shorter than this are merged with the subsection that follows when both fit together.
    var minimumLength = 200

    static let headingSeparator = " › "

    func passages(of sections: [ParsedDocument.Section]) -> [Passage] {
        var passages: [Passage] = []
        var pending: (passage: Passage, path: [String])?
        for section in sections {
            let heading = section.path.joined(separator: Self.headingSeparator)
            for chunk in chunks(of: section.body) {
                var passage = Passage(heading: heading, headingWords: heading, text: chunk, page: section.page)
                if let (previous, path) = pending {
                    pending = nil
                    // A short introduction merges with the subsection that follows it, never with a
                    // sibling section: the merged passage keeps the introduction's heading path.
                    // Nor across a page break: a passage's page is where all of it can be read.
                    let isBelow = section.path.count >= path.count && Array(section.path.prefix(path.count)) == path
                    if isBelow && section.page == previous.page
                        && previous.text.utf8.count + chunk.utf8.count + heading.utf8.count + 2 <= maximumLength
                    {
                        var merged = previous
                        if section.path == path {
                            merged.text += "\n\n" + chunk
                        } else {
                            merged.text += "\n\n" + (section.path.last ?? "") + "\n\n" + chunk
                            merged.headingWords += " " + heading
                        }
                        passage = merged
                        if merged.text.utf8.count < minimumLength {
                            pending = (merged, path)
                            continue
                        }
                        passages.append(merged)
                        continue
                    }
                    passages.append(previous)
                }
                if passage.text.utf8.count < minimumLength {
                    pending = (passage, section.path)
                } else {
                    passages.append(passage)
                }
            }
        }
        if let pending { passages.append(pending.passage) }
        return passages
    }

    /// The body cut between paragraphs into pieces of at most `maximumLength` bytes.
    func chunks(of body: String) -> [String] {
        guard body.utf8.count > maximumLength else { return [body] }
        let bytes = Array(body.utf8)
        var chunks: [String] = []
        var current: Range<Int>?
        // Pieces are contiguous ranges of the body, so a chunk is the span from its first piece to its last.
        func add(_ piece: Range<Int>) {
            if let span = current, piece.upperBound - span.lowerBound <= maximumLength {
                current = span.lowerBound..<piece.upperBound
            } else {
                if let span = current { chunks.append(String(decoding: bytes[span], as: UTF8.self)) }
                current = piece
            }
        }
        for paragraph in paragraphs(bytes) {
            if paragraph.count <= maximumLength {
                add(paragraph)
            } else {
                for piece in pieces(bytes, paragraph) { add(piece) }
            }
        }
        if let span = current { chunks.append(String(decoding: bytes[span], as: UTF8.self)) }
        return chunks
    }

    /// Ranges of the text between blank lines, without surrounding whitespace.
    private func paragraphs(_ bytes: [UInt8]) -> [Range<Int>] {
        var paragraphs: [Range<Int>] = []
        var start: Int?
        var lastContent = 0
        var lineBlank = true
        for index in 0...bytes.count {
            if index == bytes.count || bytes[index] == 0x0A {
                if lineBlank, let first = start {
                    paragraphs.append(first..<lastContent)
                    start = nil
                }
                lineBlank = true
                continue
            }
            if !isASCIIWhitespace(bytes[index]) {
                if start == nil { start = index }
                lineBlank = false
                lastContent = index + 1
            }
        }
        if let first = start { paragraphs.append(first..<lastContent) }
        return paragraphs
    }

    /// A paragraph longer than a passage, cut after sentence ends, or between words when a sentence
    /// alone is too long.
    private func pieces(_ bytes: [UInt8], _ paragraph: Range<Int>) -> [Range<Int>] {
        var pieces: [Range<Int>] = []
        var start = paragraph.lowerBound
        var lastBreak: Int?  // end of the last sentence (or word) that fits
        var lastSpace: Int?
        var index = paragraph.lowerBound
        while index < paragraph.upperBound {
            let byte = bytes[index]
            if isASCIIWhitespace(byte) && index > start {
                let previous = bytes[index - 1]
                if previous == 0x2E || previous == 0x3F || previous == 0x21 { lastBreak = index }
                lastSpace = index
            }
            if index - start >= maximumLength {
                var cut = lastBreak ?? lastSpace ?? index
                // A word longer than a passage is cut between characters, never inside one.
                while cut < paragraph.upperBound && bytes[cut] & 0xC0 == 0x80 { cut += 1 }
                pieces.append(start..<cut)
                var next = cut
                while next < paragraph.upperBound && isASCIIWhitespace(bytes[next]) { next += 1 }
                start = next
                index = next
                lastBreak = nil
                lastSpace = nil
                continue
            }
            index += 1
        }
        if start < paragraph.upperBound { pieces.append(start..<paragraph.upperBound) }
        return pieces
    }
}
