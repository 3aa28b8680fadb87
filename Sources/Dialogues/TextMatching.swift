import Foundation

/// How free chat text is compared with words a dialogue expects: case, accents and surrounding
/// punctuation do not matter ("Oui !" matches "oui", "Répéter" matches "repeter").
public enum TextMatching {
    /// Lower-cased, accents removed, trimmed of whitespace and trailing punctuation, inner spaces collapsed.
    public static func fold(_ text: String) -> String {
        let folded = text.folding(options: [.caseInsensitive, .diacriticInsensitive, .widthInsensitive], locale: nil)
            .lowercased()
        let collapsed = folded.split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
        let trimmed = collapsed.trimmingCharacters(in: .punctuationCharacters.union(.symbols).union(.whitespaces))
        // "?" alone is a word too (it asks for help): keep the text when trimming would leave nothing.
        return trimmed.isEmpty ? collapsed : trimmed
    }

    /// Levenshtein distance, for "did you mean" suggestions.
    public static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
                let insertionOrDeletion = Swift.min(previous[j], current[j - 1]) + 1
                current[j] = Swift.min(substitution, insertionOrDeletion)
            }
            swap(&previous, &current)
        }
        return previous[b.count]
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
