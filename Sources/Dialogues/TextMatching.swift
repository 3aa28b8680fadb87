import Foundation

/// How free chat text is compared with words a dialogue expects: case, accents and surrounding
/// punctuation do not matter ("Oui !" matches "oui", "Répéter" matches "repeter").
public enum TextMatching {
    /// Lower-cased, accents removed, trimmed of whitespace and trailing punctuation, inner spaces collapsed.
    public static func fold(_ text: String) -> String {
        foldASCII(text) ?? foldUnicode(text)
    }

    static let trimmed = CharacterSet.punctuationCharacters.union(.symbols).union(.whitespaces)

    /// The general case, through Foundation's folding.
    static func foldUnicode(_ text: String) -> String {
        let folded = text.folding(options: [.caseInsensitive, .diacriticInsensitive, .widthInsensitive], locale: nil)
            .lowercased()
        let collapsed = folded.split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
        let trimmed = collapsed.trimmingCharacters(in: Self.trimmed)
        // "?" alone is a word too (it asks for help): keep the text when trimming would leave nothing.
        return trimmed.isEmpty ? collapsed : trimmed
    }

    /// The same for ASCII text (most chat answers: "2", "yes", "skip"), byte by byte: Foundation's
    /// folding cost more than the rest of the dialogue step. Nil when `text` is not all ASCII.
    static func foldASCII(_ text: String) -> String? {
        let utf8 = text.utf8
        guard utf8.allSatisfy({ $0 < 0x80 }) else { return nil }
        func isSpace(_ b: UInt8) -> Bool { b == 0x20 || (0x09...0x0D).contains(b) }
        // Every printable ASCII character that is neither a letter nor a digit is punctuation or a symbol.
        func isTrimmed(_ b: UInt8) -> Bool {
            (0x21...0x7E).contains(b) && !(0x30...0x39).contains(b) && !(0x41...0x5A).contains(b) && !(0x61...0x7A).contains(b)
        }
        var collapsed: [UInt8] = []
        collapsed.reserveCapacity(utf8.count)
        var pendingSpace = false
        for byte in utf8 {
            if isSpace(byte) {
                pendingSpace = !collapsed.isEmpty
                continue
            }
            if pendingSpace { collapsed.append(0x20) }
            pendingSpace = false
            collapsed.append((0x41...0x5A).contains(byte) ? byte + 0x20 : byte)
        }
        var start = collapsed.startIndex, end = collapsed.endIndex
        while start < end, isTrimmed(collapsed[start]) || collapsed[start] == 0x20 { start += 1 }
        while end > start, isTrimmed(collapsed[end - 1]) || collapsed[end - 1] == 0x20 { end -= 1 }
        // "?" alone is a word too (it asks for help): keep the text when trimming would leave nothing.
        return String(decoding: start < end ? collapsed[start..<end] : collapsed[...], as: UTF8.self)
    }

    /// Edit distance counting a swap of two neighbours as one edit ("stauts" is 1 from "status"),
    /// for "did you mean" suggestions.
    public static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var table = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { table[i][0] = i }
        for j in 0...b.count { table[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                var best = Swift.min(table[i - 1][j] + 1, table[i][j - 1] + 1)
                best = Swift.min(best, table[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    best = Swift.min(best, table[i - 2][j - 2] + 1)
                }
                table[i][j] = best
            }
        }
        return table[a.count][b.count]
    }

    /// The closest candidate within a small edit distance, if any.
    public static func suggestion(for word: String, among candidates: some Sequence<String>) -> String? {
        let limit = max(2, word.count / 3)
        var best: (word: String, distance: Int)?
        for candidate in candidates {
            let d = distance(word, candidate)
            guard d <= limit else { continue }
            if let current = best, current.distance < d || (current.distance == d && current.word <= candidate) { continue }
            best = (candidate, d)
        }
        return best?.word
    }
}
