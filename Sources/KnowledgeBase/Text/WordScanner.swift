import Foundation

/// Splits text into words folded for search: lower case, without diacritics, ligatures spelled out
/// ("Œuvre" → "oeuvre", "Élu" → "elu", "straße" → "strasse").
///
/// A word is a run of letters and digits; everything else (spaces, punctuation, apostrophes, hyphens,
/// emoji, control characters) separates words, so "l'accompagnement" gives "l" and "accompagnement".
/// Works on UTF-8 bytes with an ASCII fast path, because the importer runs it over every passage.
enum WordScanner {
    /// Calls `body` once per word with the folded word (a reused buffer the callee may modify) and the
    /// byte range of the word in `text`'s UTF-8 view.
    static func forEachWord(in text: String, _ body: (inout [UInt8], Range<Int>) -> Void) {
        var text = text
        text.withUTF8 { bytes in
            forEachWord(in: bytes, body)
        }
    }

    static func forEachWord(in bytes: UnsafeBufferPointer<UInt8>, _ body: (inout [UInt8], Range<Int>) -> Void) {
        var word: [UInt8] = []
        word.reserveCapacity(32)
        var start = -1
        var index = 0
        let count = bytes.count
        let table = asciiFold  // read the global once, not once per byte
        while index < count {
            let byte = bytes[index]
            if byte < 0x80 {
                // Runs of ASCII letters and digits are copied at once, folded in place.
                var end = index
                while end < count && bytes[end] < 0x80 && table[Int(bytes[end])] != 0 { end += 1 }
                if end > index {
                    if start < 0 { start = index }
                    let first = word.count
                    word.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[index..<end]))
                    for position in first..<word.count where word[position] &- 0x41 < 26 { word[position] |= 0x20 }
                    index = end
                    continue
                }
                if start >= 0 {
                    body(&word, start..<index)
                    word.removeAll(keepingCapacity: true)
                    start = -1
                }
                index += 1
                continue
            }
            let (scalar, length) = decode(bytes, at: index)
            switch fold(scalar) {
            case .separator:
                if start >= 0 {
                    body(&word, start..<index)
                    word.removeAll(keepingCapacity: true)
                    start = -1
                }
            case .mark:
                break
            case .letters(let replacement):
                if start < 0 { start = index }
                word.append(contentsOf: replacement)
            }
            index += length
        }
        if start >= 0 { body(&word, start..<count) }
    }

    /// Folded words of `text`, as strings; for queries and tests, where speed matters less.
    static func words(_ text: String) -> [String] {
        var result: [String] = []
        forEachWord(in: text) { word, _ in result.append(String(decoding: word, as: UTF8.self)) }
        return result
    }

    // MARK: Folding

    enum Folded: Sendable {
        case separator
        /// A combining mark: part of the word it follows, but dropped ("e" + U+0301 folds to "e").
        case mark
        case letters([UInt8])
    }

    /// Lower-case ASCII letter or digit for each ASCII byte, 0 for a separator.
    private static let asciiFold: [UInt8] = (0..<128).map { byte -> UInt8 in
        switch byte {
        case 0x30...0x39, 0x61...0x7A: UInt8(byte)
        case 0x41...0x5A: UInt8(byte + 0x20)
        default: 0
        }
    }

    /// Precomputed folding for U+0080..<U+3000 (Latin, Greek, Cyrillic, Hebrew, Arabic... and
    /// general punctuation), where almost every non-ASCII character of our texts falls.
    private static let tableLimit: UInt32 = 0x3000
    private static let table: [Folded] = (UInt32(0x80)..<tableLimit).map { value in
        guard let scalar = Unicode.Scalar(value) else { return .separator }
        return computeFold(scalar)
    }

    static func fold(_ scalar: Unicode.Scalar) -> Folded {
        if scalar.value < 0x80 {
            let folded = asciiFold[Int(scalar.value)]
            return folded == 0 ? .separator : .letters([folded])
        }
        if scalar.value < tableLimit { return table[Int(scalar.value - 0x80)] }
        return computeFold(scalar)
    }

    private static func computeFold(_ scalar: Unicode.Scalar) -> Folded {
        let properties = scalar.properties
        switch properties.generalCategory {
        case .nonspacingMark, .enclosingMark:
            return .mark
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
            .decimalNumber, .letterNumber, .otherNumber, .spacingMark:
            break
        default:
            return .separator
        }
        switch scalar {
        case "œ", "Œ": return .letters(Array("oe".utf8))
        case "æ", "Æ": return .letters(Array("ae".utf8))
        case "ß", "ẞ": return .letters(Array("ss".utf8))
        case "ø", "Ø": return .letters(Array("o".utf8))
        case "đ", "Đ": return .letters(Array("d".utf8))
        case "ł", "Ł": return .letters(Array("l".utf8))
        case "þ", "Þ": return .letters(Array("th".utf8))
        case "ı": return .letters(Array("i".utf8))
        default: break
        }
        let lower = properties.lowercaseMapping
        var bytes: [UInt8] = []
        // Canonical decomposition separates base letters from their accents, which we then drop.
        for part in lower.decomposedStringWithCanonicalMapping.unicodeScalars {
            let category = part.properties.generalCategory
            if category == .nonspacingMark || category == .enclosingMark { continue }
            bytes.append(contentsOf: String(part).utf8)
        }
        return bytes.isEmpty ? .mark : .letters(bytes)
    }

    /// Decodes the scalar starting at `index`; an invalid sequence reads as one separator byte.
    @inline(__always)
    private static func decode(_ bytes: UnsafeBufferPointer<UInt8>, at index: Int) -> (Unicode.Scalar, Int) {
        let lead = bytes[index]
        let count = bytes.count
        var value: UInt32
        var length: Int
        if lead & 0xE0 == 0xC0 {
            value = UInt32(lead & 0x1F); length = 2
        } else if lead & 0xF0 == 0xE0 {
            value = UInt32(lead & 0x0F); length = 3
        } else if lead & 0xF8 == 0xF0 {
            value = UInt32(lead & 0x07); length = 4
        } else {
            return (" ", 1)
        }
        guard index + length <= count else { return (" ", 1) }
        for offset in 1..<length {
            let next = bytes[index + offset]
            guard next & 0xC0 == 0x80 else { return (" ", 1) }
            value = (value << 6) | UInt32(next & 0x3F)
        }
        return (Unicode.Scalar(value) ?? " ", length)
    }
}
