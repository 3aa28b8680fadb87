/// The text analysis shared by the importer and the query builder: the index holds, for every passage,
/// the stems of its words, and a query is turned into stems the same way, so "Territoires" finds
/// "territoire" and "connecting" finds "connection".
enum TextAnalysis {
    /// Languages the knowledge base understands; anything else is stemmed as English.
    static let languages = ["fr", "en"]

    /// Stems `word` in place with the stemmer of `language`.
    @inline(__always)
    static func stem(_ word: inout [UInt8], language: String) {
        if language == "fr" { FrenchStemmer.stem(&word) } else { EnglishStemmer.stem(&word) }
    }

    /// Appends the space-separated index terms of `text` to `output`: folded words, stop words of the
    /// language left out, single letters left out, then stemmed.
    static func appendIndexTerms(of text: String, language: String, to output: inout [UInt8]) {
        let stopWords = language == "fr" ? StopWords.frenchTable : StopWords.englishTable
        WordScanner.forEachWord(in: text) { word, _ in
            if word.count == 1 && word[0] >= 0x61 { return }
            if stopWords.contains(word) { return }
            stem(&word, language: language)
            if !output.isEmpty { output.append(0x20) }
            output.append(contentsOf: word)
        }
    }

    static func indexTerms(of text: String, language: String) -> String {
        var output: [UInt8] = []
        appendIndexTerms(of: text, language: language, to: &output)
        return String(decoding: output, as: UTF8.self)
    }

    // MARK: Language detection

    private static let frenchOnly = StopWords.french.subtracting(StopWords.english)
    private static let englishOnly = StopWords.english.subtracting(StopWords.french)

    /// The language a chat question seems written in, or nil when it gives no clue ("star pebbles?").
    /// Public as ``KnowledgeIndex/guessLanguage(of:)``.
    /// Questions are short, so every accent and every stop word of one language only counts.
    static func guessQuestionLanguage(_ text: String) -> String? {
        var french = 0
        var english = 0
        WordScanner.forEachWord(in: String(decoding: text.utf8.prefix(2_000), as: UTF8.self)) { word, _ in
            if frenchOnly.contains(word) { french += 1 } else if englishOnly.contains(word) { english += 1 }
        }
        for scalar in text.unicodeScalars.prefix(2_000) where "éèêàçùâîôûœ".unicodeScalars.contains(scalar) {
            french += 1
        }
        if french == english { return nil }
        return french > english ? "fr" : "en"
    }

    /// "fr" or "en", by counting words that are stop words of one language only (and accents, which
    /// English text rarely has) in the first few thousand words.
    static func detectLanguage(_ text: String) -> String {
        var french = 0
        var english = 0
        WordScanner.forEachWord(in: String(decoding: text.utf8.prefix(20_000), as: UTF8.self)) { word, _ in
            if frenchOnly.contains(word) { french += 1 } else if englishOnly.contains(word) { english += 1 }
        }
        var accents = 0
        for scalar in text.unicodeScalars.prefix(20_000) where "éèêàçùâîôûœ".unicodeScalars.contains(scalar) {
            accents += 1
        }
        french += accents / 3
        return french > english ? "fr" : "en"
    }
}
