import Testing
@testable import KnowledgeBase

/// Stemmers are index keys: words of one family must share a stem, unrelated words must not.
struct StemmerTests {
    @Test(arguments: [
        ["connect", "connected", "connecting", "connection", "connections"],
        ["territory", "territories"],
        ["municipality", "municipalities"],
        ["policy", "policies"],
        ["strategy", "strategies"],
        ["contract", "contracts", "contracting"],
        ["learn", "learning", "learned", "learns"],
        ["share", "shared", "sharing", "shares"],
        ["train", "training", "trained", "trains"],
        ["ecological", "ecology"],
        ["capitalisation", "capitalise", "capitalised"],
        ["generalization", "generalizations", "general", "generate"],
        ["hope", "hopeful", "hopefulness", "hoped"],
    ])
    func englishFamiliesShareAStem(_ family: [String]) {
        let stems = Set(family.map(EnglishStemmer.stem))
        #expect(stems.count == 1, "\(family) → \(stems)")
    }

    @Test(arguments: [
        ("caresses", "caress"), ("ponies", "poni"), ("cats", "cat"), ("feed", "feed"), ("agreed", "agre"),
        ("plastered", "plaster"), ("motoring", "motor"), ("sing", "sing"), ("hopping", "hop"), ("falling", "fall"),
        ("hissing", "hiss"), ("happy", "happi"), ("oscillators", "oscil"), ("university", "univers"),
        ("adjustable", "adjust"), ("allowance", "allow"), ("effective", "effect"),
    ])
    func englishMatchesPorter(_ word: String, _ stem: String) {
        #expect(EnglishStemmer.stem(word) == stem)
    }

    @Test(arguments: [
        ["accompagner", "accompagné", "accompagnée", "accompagnées", "accompagnement", "accompagnements"],
        ["territoire", "territoires"],
        ["territorial", "territoriale", "territoriaux", "territoriales"],
        ["politique", "politiques"],
        ["stratégie", "stratégies", "stratégique"],
        ["écologie", "écologique", "écologiques"],
        ["capitalisation", "capitaliser", "capitalisé", "capitalisées"],
        ["communauté", "communautés"],
        ["transition", "transitions"],
        ["caillou", "cailloux"],
        ["développement", "développer", "développé", "développements"],
        ["formation", "former", "formé", "formations"],
        ["participation", "participer", "participant", "participants"],
        ["sectoriel", "sectorielle", "sectorielles", "sectoriels"],
        ["européen", "européenne", "européens"],
        ["gouvernance", "gouverner", "gouverné"],
    ])
    func frenchFamiliesShareAStem(_ family: [String]) {
        let stems = Set(family.map { FrenchStemmer.stem(WordScanner.words($0).joined()) })
        #expect(stems.count == 1, "\(family) → \(stems)")
    }

    @Test(arguments: [
        ("commune", "communication"), ("politique", "police"), ("transition", "transport"), ("nation", "national"),
        ("relation", "relais"), ("étoile", "état"), ("allié", "aller"),
    ])
    func frenchKeepsUnrelatedWordsApart(_ first: String, _ second: String) {
        let stem = { (word: String) in FrenchStemmer.stem(WordScanner.words(word).joined()) }
        #expect(stem(first) != stem(second))
    }

    @Test(arguments: [("policy", "police"), ("ally", "all"), ("state", "station"), ("town", "tower")])
    func englishKeepsUnrelatedWordsApart(_ first: String, _ second: String) {
        #expect(EnglishStemmer.stem(first) != EnglishStemmer.stem(second))
    }

    @Test func shortWordsAndNonLettersAreLeftAlone() {
        #expect(FrenchStemmer.stem("eau") == "eau")
        #expect(EnglishStemmer.stem("as") == "as")
        #expect(EnglishStemmer.stem("2020s") == "2020s")
        #expect(FrenchStemmer.stem("covid19") == "covid19")
    }

    @Test func foldingRemovesCaseAccentsAndLigatures() {
        #expect(WordScanner.words("Œuvre ÉLU Straße naïve Ça") == ["oeuvre", "elu", "strasse", "naive", "ca"])
        #expect(WordScanner.words("e\u{301}cole") == ["ecole"])
        #expect(WordScanner.words("l'accompagnement, d’un territoire") == ["l", "accompagnement", "d", "un", "territoire"])
        #expect(WordScanner.words("🎉 co-construction\u{0}2020 😀") == ["co", "construction", "2020"])
        #expect(WordScanner.words("Москва 東京") == ["москва", "東京"])
    }

    @Test func stopWordTablesHoldExactlyTheLists() {
        for (list, table) in [(StopWords.french, StopWords.frenchTable), (StopWords.english, StopWords.englishTable)] {
            #expect(list.allSatisfy(table.contains))
            for word in ["territoire", "territory", "star", "étoile", "", "thee", "lesx", "x"] {
                let bytes = Array(word.utf8)
                #expect(table.contains(bytes) == list.contains(bytes), "\(word)")
            }
        }
    }

    @Test func languageDetection() {
        #expect(TextAnalysis.detectLanguage("Comment le territoire peut-il devenir un allié de la Fabrique ?") == "fr")
        #expect(TextAnalysis.detectLanguage("How can the territory become an ally of the Factory?") == "en")
        #expect(TextAnalysis.detectLanguage("Les élus et les services travaillent ensemble.") == "fr")
        #expect(TextAnalysis.detectLanguage("The elected officials and the services work together.") == "en")
    }
}
