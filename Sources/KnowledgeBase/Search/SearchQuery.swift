import Foundation

/// A chat question turned into what the index understands: a list of concepts (a significant word with
/// its synonyms), each a set of stem phrases, and the FTS5 MATCH expression that finds them.
///
/// The expression is built only from our own tokens, each quoted, joined with OR: whatever the person
/// typed (quotes, `AND`, `NEAR(`, `*`, `-`, `:`, emoji, control characters), it cannot be FTS5 syntax.
///
///     SearchQuery("Qu'est-ce que l'étoile ?", thesaurus: .empty).expression // "\"etoil\""
struct SearchQuery: Sendable {
    struct Word: Sendable, Equatable {
        var french: String
        var english: String
        /// False for words that only phrase the question ("take", "combien"): see ``StopWords/questionPhrasing``.
        var meaningful = true
    }

    /// One thing the question asks about: any of its phrases (stems, one per word) matches it.
    struct Concept: Sendable, Equatable {
        var phrases: [[String]]
    }

    /// Beyond this many concepts a "question" is a pasted text; its first concepts are enough to find
    /// the passages it is about, and the MATCH stays fast.
    static let maximumConcepts = 32

    var concepts: [Concept] = []
    /// Nil when the question has no significant word ("hello?", "!!!", an emoji).
    var expression: String?
    /// Every stem of every phrase, to find the matched words of a passage.
    var stems: Set<String> = []
    /// The stems an answer highlights: those of the question's meaningful words and of their synonyms,
    /// never of stop words or of the words that only phrase the question.
    var highlightStems: Set<String> = []

    init(_ text: String, thesaurus: Thesaurus) {
        let words = Self.significantWords(of: text)
        var seen = Set<[[String]]>()
        var position = 0
        while position < words.count && concepts.count < Self.maximumConcepts {
            var phrases: [[String]]
            var meaningful = true
            if let (group, length) = thesaurus.match(words, at: position) {
                phrases = []
                for entry in thesaurus.entries(inGroup: group) {
                    for phrase in [entry.french, entry.english] where !phrases.contains(phrase) {
                        phrases.append(phrase)
                    }
                }
                position += length
            } else {
                let word = words[position]
                phrases = word.french == word.english ? [[word.french]] : [[word.french], [word.english]]
                meaningful = word.meaningful
                position += 1
            }
            guard seen.insert(phrases.sorted { $0.lexicographicallyPrecedes($1) }).inserted else { continue }
            if meaningful { for phrase in phrases { highlightStems.formUnion(phrase) } }
            concepts.append(Concept(phrases: phrases))
        }
        var quoted: [String] = []
        var unique = Set<[String]>()
        for concept in concepts {
            for phrase in concept.phrases where unique.insert(phrase).inserted {
                stems.formUnion(phrase)
                quoted.append("\"" + phrase.joined(separator: " ").replacingOccurrences(of: "\"", with: "\"\"") + "\"")
            }
        }
        expression = quoted.isEmpty ? nil : quoted.joined(separator: " OR ")
    }

    /// The words of `text` that carry meaning, each with its French and English stem: stop words of
    /// both languages and single letters are dropped, because a question's language is a guess.
    static func significantWords(of text: String) -> [Word] {
        var words: [Word] = []
        WordScanner.forEachWord(in: text) { word, _ in
            if word.count == 1 && word[0] >= 0x61 { return }
            if StopWords.isStopWord(word) { return }
            let meaningful = !StopWords.questionPhrasing.contains(word)
            var french = word
            FrenchStemmer.stem(&french)
            EnglishStemmer.stem(&word)
            words.append(
                Word(
                    french: String(decoding: french, as: UTF8.self), english: String(decoding: word, as: UTF8.self),
                    meaningful: meaningful))
        }
        return words
    }
}
