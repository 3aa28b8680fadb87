import Foundation

/// A piece of a document small enough to answer a question with.
struct Passage: Sendable, Equatable {
    /// Display heading path, "Becoming an ally › Informed signature"; empty for text before any heading.
    var heading: String
    /// Every heading whose text the passage holds (more than one when short sections were merged).
    var headingWords: String
    /// The Markdown source of the passage.
    var text: String
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
                var passage = Passage(heading: heading, headingWords: heading, text: chunk)
                if let (previous, path) = pending {
                    pending = nil
                    // A short introduction merges with the subsection that follows it, never with a
                    // sibling section: the merged passage keeps the introduction's heading path.
                    let isBelow = section.path.count >= path.count && Array(section.path.prefix(path.count)) == path
                    if isBelow && previous.text.utf8.count + chunk.utf8.count + heading.utf8.count + 2 <= maximumLength {
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
        var chunks: [String] = []
        var current = ""
        func add(_ piece: String, separator: String) {
            if current.isEmpty {
                current = piece
            } else if current.utf8.count + separator.utf8.count + piece.utf8.count <= maximumLength {
                current += separator + piece
            } else {
                chunks.append(current)
                current = piece
            }
        }
        for paragraph in paragraphs(of: body) {
            if paragraph.utf8.count <= maximumLength {
                add(paragraph, separator: "\n\n")
            } else {
                for piece in pieces(of: paragraph) { add(piece, separator: " ") }
            }
        }
        if !current.isEmpty { chunks.append(current) }
        return chunks
    }

    private func paragraphs(of body: String) -> [String] {
        var paragraphs: [String] = []
        var current: [Substring] = []
        for line in body.byteLines {
            if line.isBlank {
                if !current.isEmpty { paragraphs.append(current.joined(separator: "\n")) }
                current.removeAll()
            } else {
                current.append(line)
            }
        }
        if !current.isEmpty { paragraphs.append(current.joined(separator: "\n")) }
        return paragraphs
    }

    /// A paragraph longer than a passage, cut after sentence ends, or between words when a sentence
    /// alone is too long.
    private func pieces(of paragraph: String) -> [String] {
        var pieces: [String] = []
        var current = ""
        var sentence = ""
        func flushSentence() {
            let trimmed = String(sentence.trimmingWhitespace)
            sentence = ""
            guard !trimmed.isEmpty else { return }
            if current.utf8.count + trimmed.utf8.count + 1 <= maximumLength {
                current += current.isEmpty ? trimmed : " " + trimmed
                return
            }
            if !current.isEmpty { pieces.append(current) }
            current = ""
            if trimmed.utf8.count <= maximumLength {
                current = trimmed
                return
            }
            for word in trimmed.split(whereSeparator: \.isWhitespace) {
                if !current.isEmpty && current.utf8.count + word.utf8.count + 1 > maximumLength {
                    pieces.append(current)
                    current = ""
                }
                current += current.isEmpty ? String(word) : " " + word
            }
        }
        var previous: Character = " "
        for character in paragraph {
            if character.isWhitespace && (previous == "." || previous == "?" || previous == "!") {
                flushSentence()
            }
            sentence.append(character)
            previous = character
        }
        flushSentence()
        if !current.isEmpty { pieces.append(current) }
        return pieces
    }
}
