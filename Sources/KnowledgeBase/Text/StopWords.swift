/// Words too common to tell passages apart, per language, folded (no accents), plus the words people
/// wrap a chat question in ("hello", "please", "tell me", "comment", "bonjour").
///
/// They are left out of the index and out of queries, so "what is the star?" searches for "star" alone.
enum StopWords {
    static let french: Set<[UInt8]> = set(
        """
        a ai aie aient ait alors as au aucun aussi autre autres aux avaient avais avait avant avec avez aviez avoir
        beaucoup bien
        avons ayant bon bonjour c ca car ce ceci cela celle celles celui ces cet cette ceux chaque chez ci comme
        comment d dans de des deux dire dit doit donc dont du elle elles en encore entre es est et etaient etais
        etait etant ete etes etre eu eux faire fais fait faut font ici il ils j je jusqu l la le les leur leurs lui
        m ma mais me meme merci mes moi moins mon n ne ni nos notre nous on ont ou par parce pas peu peut peuvent
        peux plus pour pourquoi pouvez pouvons qu quand que quel quelle quelles quels qui quoi s sa salut sans se
        sera seront ses si sil soit son sont sous suis sur svp t ta te tes toi ton tous tout toute toutes tres tu
        un une vers voici voila vont vos votre vous y
        """)

    static let english: Set<[UInt8]> = set(
        """
        a about above after again against all also am an and any are aren as at be because been before being
        below between both but by can cannot could couldn did didn do does doesn doing don down during each else
        explain few for from further get give had has have having he hello her here hers herself hey hi him
        himself his how i if in into is isn it its itself just know let like me more most much my myself need no
        nor not now of off on once only or other our ours ourselves out over own please s same she should so
        some such t tell than thank thanks that the their theirs them themselves then there these they this those
        through to too under until up us very want was we were what when where which while who whom why will
        with would you your yours yourself yourselves
        """)

    /// The same lists as open-addressing tables keyed by an FNV hash: the importer checks every word of
    /// every passage, and hashing an array with the standard Hasher cost more than stemming it.
    static let frenchTable = WordTable(french)
    static let englishTable = WordTable(english)

    /// A word that is a stop word in either language: queries may be written in either.
    static func isStopWord(_ word: [UInt8]) -> Bool {
        french.contains(word) || english.contains(word)
    }

    /// Words that phrase a question without saying what it is about ("how long does it take", "combien de
    /// temps faut-il"): searched, because a passage may use them too, but never highlighted in an answer,
    /// where "takes" in bold says nothing. Folded, both languages.
    static let questionPhrasing: Set<[UInt8]> = set(
        """
        take takes took taken taking long mean means meant meaning happen happens make makes made get gets got go
        goes going say says said thing things something anything exactly really actually possible
        combien quoi prend prendre prennent signifie signifient veut veulent chose choses vraiment exactement
        possible ca
        """)

    static func isStopWord(_ word: [UInt8], language: String) -> Bool {
        language == "fr" ? french.contains(word) : english.contains(word)
    }

    private static func set(_ words: String) -> Set<[UInt8]> {
        Set(words.split(whereSeparator: { $0 == " " || $0 == "\n" }).map { Array($0.utf8) })
    }
}

/// A fixed set of short words, looked up without allocating or using the standard Hasher.
struct WordTable: Sendable {
    private let slots: [[UInt8]?]
    private let mask: Int

    init(_ words: Set<[UInt8]>) {
        var size = 64
        while size < words.count * 4 { size *= 2 }
        var slots = [[UInt8]?](repeating: nil, count: size)
        for word in words {
            var slot = Int(truncatingIfNeeded: Self.hash(word)) & (size - 1)
            while slots[slot] != nil { slot = (slot + 1) & (size - 1) }
            slots[slot] = word
        }
        self.slots = slots
        mask = size - 1
    }

    @inline(__always)
    static func hash(_ word: [UInt8]) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in word { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return hash
    }

    func contains(_ word: [UInt8]) -> Bool {
        var slot = Int(truncatingIfNeeded: Self.hash(word)) & mask
        while let candidate = slots[slot] {
            if candidate == word { return true }
            slot = (slot + 1) & mask
        }
        return false
    }
}
