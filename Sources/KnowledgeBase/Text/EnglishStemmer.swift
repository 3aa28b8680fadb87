/// Martin Porter's English stemmer (1980), the algorithm Snowball's English stemmer grew from, so that
/// "connected", "connecting" and "connections" all become "connect".
///
/// Works in place on a folded ASCII word; a word with digits or non-ASCII letters is left as it is.
/// The same function runs at import time and at query time, which is all that matters for matching:
/// stems are index keys, not words a person reads.
struct EnglishStemmer {
    private var b: [UInt8]
    /// Index of the last letter of the word as it is being cut.
    private var k: Int
    /// Index of the last letter of the stem before the suffix just matched by `ends`.
    private var j = 0

    static func stem(_ word: inout [UInt8]) {
        guard word.count > 2, word.allSatisfy({ $0 >= 0x61 && $0 <= 0x7A }) else { return }
        // Move the buffer into the stemmer and back, so that stemming allocates nothing.
        var buffer: [UInt8] = []
        swap(&buffer, &word)
        var stemmer = EnglishStemmer(b: buffer, k: buffer.count - 1)
        buffer = []
        stemmer.run()
        swap(&stemmer.b, &word)
        word.removeLast(word.count - stemmer.k - 1)
    }

    /// Convenience for tests and queries.
    static func stem(_ word: String) -> String {
        var bytes = Array(word.utf8)
        stem(&bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    private init(b: [UInt8], k: Int) {
        self.b = b
        self.k = k
    }

    private mutating func run() {
        step1ab()
        if k > 0 {
            step1c()
            step2()
            step3()
            step4()
            step5()
        }
    }

    // MARK: Measures

    private func isConsonant(_ i: Int) -> Bool {
        switch b[i] {
        case UInt8(ascii: "a"), UInt8(ascii: "e"), UInt8(ascii: "i"), UInt8(ascii: "o"), UInt8(ascii: "u"): false
        case UInt8(ascii: "y"): i == 0 ? true : !isConsonant(i - 1)
        default: true
        }
    }

    /// The number of vowel-consonant sequences in b[0...j].
    private func measure() -> Int {
        var n = 0
        var i = 0
        while true {
            if i > j { return n }
            if !isConsonant(i) { break }
            i += 1
        }
        i += 1
        while true {
            while true {
                if i > j { return n }
                if isConsonant(i) { break }
                i += 1
            }
            i += 1
            n += 1
            while true {
                if i > j { return n }
                if !isConsonant(i) { break }
                i += 1
            }
            i += 1
        }
    }

    private func vowelInStem() -> Bool {
        guard j >= 0 else { return false }
        for i in 0...j where !isConsonant(i) { return true }
        return false
    }

    private func doubleConsonant(_ i: Int) -> Bool {
        guard i >= 1, b[i] == b[i - 1] else { return false }
        return isConsonant(i)
    }

    /// consonant-vowel-consonant ending at i, the last not w, x or y: "hop" but not "snow".
    private func cvc(_ i: Int) -> Bool {
        guard i >= 2, isConsonant(i), !isConsonant(i - 1), isConsonant(i - 2) else { return false }
        let c = b[i]
        return c != UInt8(ascii: "w") && c != UInt8(ascii: "x") && c != UInt8(ascii: "y")
    }

    private mutating func ends(_ suffix: StaticString) -> Bool {
        let length = suffix.utf8CodeUnitCount
        guard length <= k + 1 else { return false }
        let start = k - length + 1
        let matches = suffix.withUTF8Buffer { s in
            for offset in 0..<length where b[start + offset] != s[offset] { return false }
            return true
        }
        guard matches else { return false }
        j = k - length
        return true
    }

    private mutating func setTo(_ replacement: StaticString) {
        let length = replacement.utf8CodeUnitCount
        replacement.withUTF8Buffer { s in
            for offset in 0..<length {
                let index = j + 1 + offset
                if index < b.count { b[index] = s[offset] } else { b.append(s[offset]) }
            }
        }
        k = j + length
    }

    private mutating func replaceIfMeasured(_ replacement: StaticString) {
        if measure() > 0 { setTo(replacement) }
    }

    // MARK: Steps

    private mutating func step1ab() {
        if b[k] == UInt8(ascii: "s") {
            if ends("sses") {
                k -= 2
            } else if ends("ies") {
                setTo("i")
            } else if b[k - 1] != UInt8(ascii: "s") {
                k -= 1
            }
        }
        if ends("eed") {
            if measure() > 0 { k -= 1 }
        } else if (ends("ed") || ends("ing")) && vowelInStem() {
            k = j
            if ends("at") {
                setTo("ate")
            } else if ends("bl") {
                setTo("ble")
            } else if ends("iz") {
                setTo("ize")
            } else if doubleConsonant(k) {
                k -= 1
                let c = b[k]
                if c == UInt8(ascii: "l") || c == UInt8(ascii: "s") || c == UInt8(ascii: "z") { k += 1 }
            } else if measure() == 1 && cvc(k) {
                setTo("e")
            }
        }
    }

    private mutating func step1c() {
        if ends("y") && vowelInStem() { b[k] = UInt8(ascii: "i") }
    }

    private mutating func step2() {
        guard k >= 1 else { return }
        switch b[k - 1] {
        case UInt8(ascii: "a"):
            if ends("ational") { replaceIfMeasured("ate") } else if ends("tional") { replaceIfMeasured("tion") }
        case UInt8(ascii: "c"):
            if ends("enci") { replaceIfMeasured("ence") } else if ends("anci") { replaceIfMeasured("ance") }
        case UInt8(ascii: "e"):
            if ends("izer") { replaceIfMeasured("ize") }
        case UInt8(ascii: "l"):
            if ends("bli") {
                replaceIfMeasured("ble")
            } else if ends("alli") {
                replaceIfMeasured("al")
            } else if ends("entli") {
                replaceIfMeasured("ent")
            } else if ends("eli") {
                replaceIfMeasured("e")
            } else if ends("ousli") {
                replaceIfMeasured("ous")
            }
        case UInt8(ascii: "o"):
            if ends("ization") {
                replaceIfMeasured("ize")
            } else if ends("ation") {
                replaceIfMeasured("ate")
            } else if ends("ator") {
                replaceIfMeasured("ate")
            }
        case UInt8(ascii: "s"):
            if ends("alism") {
                replaceIfMeasured("al")
            } else if ends("iveness") {
                replaceIfMeasured("ive")
            } else if ends("fulness") {
                replaceIfMeasured("ful")
            } else if ends("ousness") {
                replaceIfMeasured("ous")
            }
        case UInt8(ascii: "t"):
            if ends("aliti") {
                replaceIfMeasured("al")
            } else if ends("iviti") {
                replaceIfMeasured("ive")
            } else if ends("biliti") {
                replaceIfMeasured("ble")
            }
        case UInt8(ascii: "g"):
            if ends("logi") { replaceIfMeasured("log") }
        default:
            break
        }
    }

    private mutating func step3() {
        switch b[k] {
        case UInt8(ascii: "e"):
            if ends("icate") {
                replaceIfMeasured("ic")
            } else if ends("ative") {
                replaceIfMeasured("")
            } else if ends("alize") {
                replaceIfMeasured("al")
            }
        case UInt8(ascii: "i"):
            if ends("iciti") { replaceIfMeasured("ic") }
        case UInt8(ascii: "l"):
            if ends("ical") { replaceIfMeasured("ic") } else if ends("ful") { replaceIfMeasured("") }
        case UInt8(ascii: "s"):
            if ends("ness") { replaceIfMeasured("") }
        default:
            break
        }
    }

    private mutating func step4() {
        guard k >= 1 else { return }
        let matched: Bool
        switch b[k - 1] {
        case UInt8(ascii: "a"): matched = ends("al")
        case UInt8(ascii: "c"): matched = ends("ance") || ends("ence")
        case UInt8(ascii: "e"): matched = ends("er")
        case UInt8(ascii: "i"): matched = ends("ic")
        case UInt8(ascii: "l"): matched = ends("able") || ends("ible")
        case UInt8(ascii: "n"): matched = ends("ant") || ends("ement") || ends("ment") || ends("ent")
        case UInt8(ascii: "o"):
            matched = (ends("ion") && j >= 0 && (b[j] == UInt8(ascii: "s") || b[j] == UInt8(ascii: "t"))) || ends("ou")
        case UInt8(ascii: "s"): matched = ends("ism")
        case UInt8(ascii: "t"): matched = ends("ate") || ends("iti")
        case UInt8(ascii: "u"): matched = ends("ous")
        case UInt8(ascii: "v"): matched = ends("ive")
        case UInt8(ascii: "z"): matched = ends("ize")
        default: matched = false
        }
        if matched && measure() > 1 { k = j }
    }

    private mutating func step5() {
        j = k
        if b[k] == UInt8(ascii: "e") {
            let m = measure()
            if m > 1 || (m == 1 && !cvc(k - 1)) { k -= 1 }
        }
        if b[k] == UInt8(ascii: "l") && doubleConsonant(k) && measure() > 1 { k -= 1 }
    }
}
