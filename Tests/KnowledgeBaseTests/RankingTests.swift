import Foundation
import GRDB
import Testing
@testable import KnowledgeBase

/// Ranking on a small corpus whose right answers are known.
struct RankingTests {
    static let filler = "people often meet on market day to talk about news weather prices and family matters"

    static func corpus() throws -> KnowledgeIndex {
        let index = try makeIndex()
        let documents: [NewDocument] = [
            NewDocument(
                title: "Composting at home", source: "t:compost", language: "en",
                markdown: "## Bins\n\nA compost bin turns kitchen peelings and garden waste into soil in a few months."),
            NewDocument(
                title: "Cycle lanes", source: "t:cycle", language: "en",
                markdown: "## Safer streets\n\nProtected cycle lanes make cycling to school and to work safer for everyone."),
            NewDocument(
                title: "Solar roofs", source: "t:solar", language: "en",
                markdown: "## Schools\n\nSolar panels on school roofs produce renewable electricity and teach pupils about energy."),
            NewDocument(
                title: "Le compostage partagé", source: "t:compost-fr", language: "fr",
                markdown:
                    "## Composteurs de quartier\n\nLes habitants déposent leurs épluchures dans des composteurs partagés au pied des immeubles."
            ),
            NewDocument(
                title: "Les pistes cyclables", source: "t:velo-fr", language: "fr",
                markdown: "## Des rues plus sûres\n\nLes pistes cyclables protégées rendent le vélo plus sûr pour aller à l'école."),
        ]
        for document in documents { try index.addDocument(document) }
        return index
    }

    @Test(arguments: [
        ("How do I compost kitchen waste?", "Composting at home"),
        ("are protected cycle lanes safer", "Cycle lanes"),
        ("solar panels for schools", "Solar roofs"),
        ("où déposer mes épluchures ?", "Le compostage partagé"),
        ("les pistes cyclables sont-elles sûres", "Les pistes cyclables"),
        ("ÉPLUCHURES", "Le compostage partagé"),
        ("epluchures", "Le compostage partagé"),
        ("renewable electricity", "Solar roofs"),
    ])
    func findsTheKnownAnswer(_ question: String, _ expected: String) throws {
        let response = try Self.corpus().search(question, limit: 3)
        #expect(response.results.first?.document == expected)
    }

    @Test func wordsCloseTogetherRankHigher() throws {
        let index = try makeIndex()
        // Same words, same counts, same length: only the distance between "solar" and "cooperative" differs.
        try index.addDocument(
            NewDocument(
                title: "First", source: "t:far", language: "en",
                markdown: "solar \(Self.filler) cooperative \(Self.filler)"))
        try index.addDocument(
            NewDocument(
                title: "Second", source: "t:near", language: "en",
                markdown: "solar cooperative \(Self.filler) \(Self.filler)"))
        let response = try index.search("solar cooperative", limit: 2)
        #expect(response.results.map(\.source) == ["t:near", "t:far"])
        #expect(response.results[0].score > response.results[1].score)
    }

    @Test func headingsWeighMoreThanBody() throws {
        let index = try makeIndex()
        try index.addDocument(
            NewDocument(title: "One", source: "t:body", language: "en", markdown: "## Notes\n\nwaste \(Self.filler)"))
        try index.addDocument(
            NewDocument(title: "Two", source: "t:heading", language: "en", markdown: "## Waste\n\nnotes \(Self.filler)"))
        let response = try index.search("waste", limit: 2)
        #expect(response.results.map(\.source) == ["t:heading", "t:body"])
    }

    @Test func titlesWeighMoreThanBody() throws {
        let index = try makeIndex()
        try index.addDocument(
            NewDocument(title: "Notes", source: "t:body", language: "en", markdown: "## About\n\nhedges \(Self.filler)"))
        try index.addDocument(
            NewDocument(title: "Hedges", source: "t:title", language: "en", markdown: "## About\n\nnotes \(Self.filler)"))
        let response = try index.search("hedges", limit: 2)
        #expect(response.results.map(\.source) == ["t:title", "t:body"])
    }

    @Test func bestPassageOfEachDocumentComesFirst() throws {
        let index = try makeIndex()
        let strong = (1...3).map { "## Part \($0)\n\ncompost compost compost \(Self.filler) \(Self.filler) \(Self.filler)" }.joined(
            separator: "\n\n")
        try index.addDocument(NewDocument(title: "Many", source: "t:many", language: "en", markdown: strong))
        try index.addDocument(
            NewDocument(title: "Once", source: "t:once", language: "en", markdown: "compost \(Self.filler) \(Self.filler)"))
        let response = try index.search("compost", limit: 4)
        #expect(response.results.map(\.source) == ["t:many", "t:once", "t:many", "t:many"])
    }

    @Test func pagesFollowEachOther() throws {
        let index = try makeIndex()
        for number in 1...6 {
            try index.addDocument(
                NewDocument(
                    title: "Doc \(number)", source: "t:\(number)", language: "en",
                    markdown: String(repeating: "hedgerow ", count: number) + Self.filler))
        }
        let all = try index.search("hedgerow", limit: 6).results.map(\.source)
        let first = try index.search("hedgerow", limit: 3).results.map(\.source)
        let second = try index.search("hedgerow", limit: 3, offset: 3).results.map(\.source)
        #expect(all.count == 6)
        #expect(first + second == all)
        #expect(try index.search("hedgerow", limit: 3, offset: 6).results.isEmpty)
    }

    @Test func synonymsFromTheFileWidenTheSearch() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        try folder.write("doc.md", "# Towns\n\nSmall towns can share a car pool between neighbours.")
        let index = try makeIndex()
        _ = try index.importPaths([folder.url.path])
        #expect(try index.search("communes", limit: 3).results.isEmpty)
        try folder.write("synonyms.yaml", "groups:\n  - [town, commune, ville]\n")
        let report = try index.importPaths([folder.url.path])
        #expect(report.synonymsUpdated)
        #expect(try index.search("communes", limit: 3).results.first?.document == "Towns")
        #expect(try index.stats().synonymGroups == 1)
        #expect(try !index.importPaths([folder.url.path]).synonymsUpdated)
    }

    @Test func preferredLanguageComesFirst() throws {
        let index = try Self.corpus()
        let english = try index.search("compost composteurs", limit: 1, language: "en")
        let french = try index.search("compost composteurs", limit: 1, language: "fr")
        #expect(english.results.first?.language == "en")
        #expect(french.results.first?.language == "fr")
    }

    @Test func scoresDescendWithinEachRound() throws {
        let response = try Self.corpus().search("compost school cycling", limit: 5)
        #expect(response.results.count >= 3)
        let scores = response.results.map(\.score)
        #expect(scores == scores.sorted(by: >))
    }
}
