import Testing
@testable import KnowledgeBase

/// The starter knowledge base answers the obvious question about each scenario, in both languages,
/// confidently and from the right document, and says it does not know when asked something else.
struct StarterKnowledgeTests {
    @Test(arguments: [
        ("What does the Factory offer?", "What the Factory offers territories"),
        ("How do we become an ally?", "Scenario 1: becoming an ally"),
        (
            "How do we make an inventory of our territory's situation and potential?",
            "Scenario 2: an inventory of the territory's situation and potential"
        ),
        ("What are the star and the white pebbles?", "Scenario 3: first steps, the star and the white pebbles"),
        ("How do we go from sectoral policies to an overall strategy?", "Scenario 4: from sectoral policies to an overall strategy"),
        ("What are ecological development contracts?", "Scenario 5: ecological development contracts"),
        ("What is a pilot group of territories?", "Scenario 6: a national pilot group of territories, a learning community"),
        ("What is a resource person?", "Resource persons and accumulated experience"),
        ("Why capitalise experience?", "Capitalisation of experience"),
        ("Que propose la Fabrique ?", "Ce que la Fabrique propose aux territoires"),
        ("Comment devenir allié ?", "Scénario 1 : devenir allié"),
        (
            "Comment dresser un état des lieux du territoire ?",
            "Scénario 2 : un état des lieux de la situation et du potentiel du territoire"
        ),
        ("C'est quoi l'étoile et les cailloux blancs ?", "Scénario 3 : les premiers pas, l'étoile et les cailloux blancs"),
        (
            "Comment passer des politiques sectorielles à une stratégie d'ensemble ?",
            "Scénario 4 : des politiques sectorielles à une stratégie d'ensemble"
        ),
        ("Qu'est-ce qu'un contrat de développement écologique ?", "Scénario 5 : les contrats de développement écologique"),
        (
            "Qu'est-ce qu'un groupe pilote de territoires ?",
            "Scénario 6 : un groupe pilote national de territoires, une communauté apprenante"
        ),
        ("Qu'est-ce qu'une personne ressource ?", "Personnes ressources et expérience accumulée"),
        ("Pourquoi capitaliser les expériences ?", "Capitalisation des expériences"),
    ])
    func answersTheObviousQuestion(_ question: String, _ document: String) throws {
        let response = try starterIndex.get().search(question, limit: 3)
        #expect(response.confident)
        #expect(response.results.first?.document == document)
        #expect(response.results.first?.snippet.contains("**") == true)
    }

    /// Within the right page, the passage that speaks of the question's words in its text comes first, not a
    /// short one that only shares the page's title.
    @Test(arguments: [
        ("What is the star?", "The steps of a change strategy", "star"),
        ("Qu'est-ce que l'étoile ?", "Les étapes d'une stratégie de changement", "étoile"),
    ])
    func picksThePassageThatSpeaksOfIt(_ question: String, _ heading: String, _ word: String) throws {
        let best = try #require(try starterIndex.get().search(question, limit: 1).results.first)
        #expect(best.heading == heading)
        #expect(best.text.lowercased().contains(word))
    }

    @Test(arguments: [
        "What is the weather tomorrow?", "How do I bake sourdough bread?", "Quelle heure est-il ?",
        "Comment faire une pâte à crêpes ?", "Who won the football match?", "bonjour",
    ])
    func saysItDoesNotKnow(_ question: String) throws {
        #expect(try !starterIndex.get().search(question, limit: 3).confident)
    }

    @Test func everyScenarioIsATopicInBothLanguages() throws {
        let index = try starterIndex.get()
        let english = try index.topics(language: "en")
        let french = try index.topics(language: "fr")
        for number in 1...6 {
            #expect(english.contains { $0.hasPrefix("Scenario \(number):") })
            #expect(french.contains { $0.hasPrefix("Scénario \(number) :") })
        }
    }

    @Test func inventoryHasAboutTwentyQuestionsEachSayingWhy() throws {
        for (file, marker) in [
            ("en/territory-inventory.md", "Why it matters:"), ("fr/etat-des-lieux-du-territoire.md", "Pourquoi c'est important :"),
        ] {
            let text = try String(contentsOf: repositoryRoot.appendingPathComponent("knowledge/" + file), encoding: .utf8)
            let count = text.components(separatedBy: marker).count - 1
            #expect(count >= 19, "\(file): \(count)")
        }
    }
}
