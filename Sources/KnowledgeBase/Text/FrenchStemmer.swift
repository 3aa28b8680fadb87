/// A light French stemmer in the spirit of Snowball's: removes the plural, then the longest known
/// inflectional or derivational suffix, so "accompagner", "accompagné", "accompagnement" and
/// "accompagnées" all become "accompagn".
///
/// It works on folded words (no accents: the scanner has already turned "é" into "e"), which is why
/// the suffix list is written without accents. It removes at most one suffix and always keeps a stem
/// of three or four letters: an over-eager stemmer merges unrelated words, an under-eager one only
/// misses a few matches.
enum FrenchStemmer {
    private struct Rule {
        let suffix: [UInt8]
        let replacement: [UInt8]
        /// The shortest stem the rule may leave: derivational suffixes keep four letters so that
        /// "nation" or "relation" are not cut down to nothing.
        let minimumStem: Int
    }

    private static let rules: [Rule] = {
        let derivational = [
            "issement", "ablement", "iquement", "atrice", "ateur", "ation", "ement", "ment", "ance", "ence",
            "ique", "isme", "iste", "able", "ible", "euse", "ante", "ite", "ive", "ant", "eux", "if",
        ]
        let inflectional = [
            "eraient", "erions", "erais", "erait", "erons", "eront", "issant", "issent", "issait", "issez",
            "aient", "erez", "iere", "eras", "era", "ier", "ait", "ee", "er", "ez", "ir", "e",
        ]
        var rules = derivational.map { Rule(suffix: Array($0.utf8), replacement: [], minimumStem: 4) }
        rules += inflectional.map { Rule(suffix: Array($0.utf8), replacement: [], minimumStem: 3) }
        // "-ie" keeps four letters: "allié" must not become "all", the stem of "aller".
        rules.append(Rule(suffix: Array("ie".utf8), replacement: [], minimumStem: 4))
        // Feminine forms that double their consonant: "sectorielle" → "sectoriel", "européenne" → "europeen".
        rules.append(Rule(suffix: Array("elle".utf8), replacement: Array("el".utf8), minimumStem: 3))
        rules.append(Rule(suffix: Array("enne".utf8), replacement: Array("en".utf8), minimumStem: 3))
        return rules.sorted { $0.suffix.count > $1.suffix.count }
    }()

    static func stem(_ word: inout [UInt8]) {
        guard word.count > 3, word.allSatisfy({ $0 >= 0x61 && $0 <= 0x7A }) else { return }
        removePlural(&word)
        for rule in rules where word.count - rule.suffix.count >= rule.minimumStem && word.ends(with: rule.suffix) {
            let stemEnd = word.count - rule.suffix.count
            guard word[..<stemEnd].contains(where: isVowel) else { continue }
            word.removeLast(rule.suffix.count)
            word.append(contentsOf: rule.replacement)
            return
        }
    }

    /// Convenience for tests and queries.
    static func stem(_ word: String) -> String {
        var bytes = Array(word.utf8)
        stem(&bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// "territoriaux" → "territorial", "cailloux" → "caillou", "territoires" → "territoire"; keeps "ss".
    private static func removePlural(_ word: inout [UInt8]) {
        let count = word.count
        let s = UInt8(ascii: "s"), x = UInt8(ascii: "x"), u = UInt8(ascii: "u"), a = UInt8(ascii: "a")
        if count >= 5 && word[count - 1] == x && word[count - 2] == u && word[count - 3] == a {
            word.removeLast(3)
            word.append(contentsOf: [a, UInt8(ascii: "l")])
        } else if word[count - 1] == x && word[count - 2] == u {
            word.removeLast()
        } else if word[count - 1] == s && word[count - 2] != s {
            word.removeLast()
        }
    }

    private static func isVowel(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a"), UInt8(ascii: "e"), UInt8(ascii: "i"), UInt8(ascii: "o"), UInt8(ascii: "u"),
            UInt8(ascii: "y"):
            true
        default: false
        }
    }
}

extension Array where Element == UInt8 {
    @inline(__always)
    func ends(with suffix: [UInt8]) -> Bool {
        guard suffix.count <= count else { return false }
        let offset = count - suffix.count
        for index in 0..<suffix.count where self[offset + index] != suffix[index] { return false }
        return true
    }
}
