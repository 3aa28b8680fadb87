import Foundation
import GRDB
import Testing
@testable import KnowledgeBase

/// Whatever a person types, the query builder produces valid FTS5 and the search does not throw.
struct QueryBuilderTests {
    static let tenKilobytes: String = {
        let words = [
            "the", "star", "guides", "territories", "through", "their", "transition", "while", "citizens", "share",
            "experience", "AND", "OR", "NOT", "NEAR(", "\"", "*", "-", ":", "(", ")", "^", "{", "}", "😀",
        ]
        var text = ""
        var index = 0
        while text.utf8.count < 10_240 {
            text += words[(index * 7) % words.count] + " "
            index += 1
        }
        return text
    }()

    static let hostile: [String] = [
        "\"", "\"\"", "\"unterminated star", "star\"", "AND", "OR", "NOT", "star AND pebbles", "star OR", "NOT star",
        "*", "star*", "*star", "NEAR(", "NEAR(star pebbles, 3)", "NEAR", "-", "-star", "star -pebbles", ":", "title:star",
        "body : star", "(", ")", "((()))", "(star", "^star", "{title heading}: star", "+star", "star + pebbles",
        "🎉🌍", "🎉 star 🌍", "\u{0}\u{1}\u{7}\u{1B}[31m", "star\u{0}pebbles", "'; DROP TABLE kb_document; --",
        "\\", "\\\"star\\\"", "étoile\"", "星 étoile", "\u{301}\u{301}", "\u{200F}\u{202E}star", "\n\t\r",
        String(repeating: "a", count: 10_000), String(repeating: "star ", count: 2_000), tenKilobytes,
        "AND OR NOT NEAR", "\"star\" AND \"pebbles\"", "star NEAR/3 pebbles", "kb_passage_terms MATCH 'x'", "",
        "   ", "?", "!!!", "hello", "x", "%", "_", "[star]", "<script>alert(1)</script>",
    ]

    static func corpus() throws -> KnowledgeIndex {
        let index = try makeIndex()
        try index.addDocument(
            NewDocument(
                title: "The star and the pebbles", source: "test:star", language: "en",
                markdown: "## Star\n\nThe star guides the territory towards its transition; the white pebbles mark the first steps."))
        try index.addDocument(
            NewDocument(
                title: "L'étoile", source: "test:etoile", language: "fr",
                markdown: "## Étoile\n\nL'étoile guide le territoire ; les cailloux blancs sont les premiers pas."))
        return index
    }

    @Test(arguments: hostile)
    func hostileInputNeverFails(_ input: String) throws {
        let index = try Self.corpus()
        let response = try index.search(input, limit: 3)
        #expect(response.results.count <= 3)
        #expect(response.query == input)
        let json = try JSONEncoder().encode(response)
        #expect(try JSONDecoder().decode(SearchResponse.self, from: json) == response)
    }

    @Test(arguments: hostile)
    func expressionIsOnlyQuotedWords(_ input: String) throws {
        let query = SearchQuery(input, thesaurus: .empty)
        guard let expression = query.expression else {
            #expect(query.concepts.isEmpty)
            return
        }
        // "word" OR "word word" OR ...: nothing FTS5 could read as an operator.
        for part in expression.components(separatedBy: " OR ") {
            #expect(part.count >= 3 && part.first == "\"" && part.last == "\"", "\(part)")
            let inner = part.dropFirst().dropLast()
            #expect(inner.allSatisfy { $0.isLetter || $0.isNumber || $0 == " " }, "\(part)")
        }
        #expect(query.concepts.count <= SearchQuery.maximumConcepts)
    }

    @Test func operatorsAreReadAsWords() throws {
        let index = try Self.corpus()
        let response = try index.search("star AND pebbles NEAR( -", limit: 3)
        #expect(response.results.first?.document == "The star and the pebbles")
        // The same words with FTS5 syntax given straight to SQLite fail: the builder is what saves us.
        let queue = try DatabaseQueue()
        try queue.write { db in
            try db.execute(sql: "CREATE VIRTUAL TABLE t USING fts5(x)")
            #expect(throws: DatabaseError.self) {
                try Row.fetchAll(db, sql: "SELECT * FROM t WHERE t MATCH ?", arguments: ["star AND pebbles NEAR( -"])
            }
        }
    }

    @Test func tenKilobytesOfTextStillFindsItsTopic() throws {
        let index = try Self.corpus()
        let response = try index.search(Self.tenKilobytes, limit: 3)
        #expect(response.results.first?.document == "The star and the pebbles")
    }

    @Test func stopWordsOnlyMeansNoSearch() throws {
        let index = try Self.corpus()
        let response = try index.search("what is the, and how?", limit: 3)
        #expect(response.results.isEmpty)
        #expect(!response.confident)
    }

    @Test func bothStemsOfEachWordAreSearched() {
        let query = SearchQuery("pebbles cailloux", thesaurus: .empty)
        #expect(query.concepts.count == 2)
        #expect(query.stems.contains("pebbl"))
        #expect(query.stems.contains("caillou"))
    }

    @Test func synonymsJoinTheirGroup() {
        let thesaurus = Thesaurus(groups: [["town", "commune", "local authority"], ["firm", "company"]])
        let query = SearchQuery("Which towns?", thesaurus: thesaurus)
        #expect(query.concepts.count == 1)
        let phrases = Set(query.concepts[0].phrases.map { $0.joined(separator: " ") })
        #expect(phrases.contains("commun"))
        #expect(phrases.contains("local author"))
        let phraseQuery = SearchQuery("a local authority", thesaurus: thesaurus)
        #expect(phraseQuery.concepts.count == 1)
        #expect(phraseQuery.stems.contains("town"))
    }
}
