import Foundation
import GRDB
import Testing
@testable import KnowledgeBase

/// Importing files: what is indexed, what is skipped and why, and what a re-import changes.
struct ImportTests {
    static let english = """
        ---
        title: Hedge planting
        language: en
        tags: [biodiversity, hedges]
        ---

        # Hedge planting

        ## Choosing species

        Plant hawthorn, hazel and field maple: local species feed birds and insects through the year. Mix at least five species, so that a disease or a pest never takes the whole hedge at once, and the hedge flowers from spring to autumn.

        ### Timing

        Plant bare-root hedging between November and March, when the ground is neither frozen nor waterlogged. Water the young plants during their first summer and mulch them well.
        """

    @Test func importsFoldersAndSkipsWhatItCannotRead() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        try folder.write("hedges.md", Self.english)
        try folder.write("notes/velo.txt", "Le vélo partagé permet aux habitants de la commune de se déplacer sans voiture.")
        try folder.write(
            "page.html",
            "<html><head><title>Rain gardens</title><script>var x = 'raingardenscript';</script></head><body><h2>Soil</h2><p>A rain garden soaks up storm water &amp; rooftop runoff.</p></body></html>"
        )
        try folder.write("broken.md", "---\ntitle: [unclosed\n---\n\nbrokenfrontmatterword")
        try folder.write("unclosed.md", "---\ntitle: Never closed\n\nunclosedfrontmatterword")
        try Data([0x23, 0x20, 0x41, 0x00, 0x01, 0x02]).write(to: folder.url.appendingPathComponent("binary.md"))
        try Data([0x48, 0x69, 0x20, 0xC3, 0x28, 0x20, 0x6E]).write(to: folder.url.appendingPathComponent("latin1.txt"))
        try folder.write("image.png", "not imported: unknown extension")
        try folder.write(".hidden.md", "hiddenfileword")

        let index = try makeIndex()
        let report = try index.importPaths([folder.url.path])
        #expect(report.added == 3)
        let skipped = Dictionary(uniqueKeysWithValues: report.skipped.map { (($0.path as NSString).lastPathComponent, $0.reason) })
        #expect(Set(skipped.keys) == ["broken.md", "unclosed.md", "binary.md", "latin1.txt"])
        #expect(skipped["binary.md"]?.contains("binary") == true)
        #expect(skipped["latin1.txt"]?.contains("UTF-8") == true)
        #expect(skipped["broken.md"]?.contains("front matter") == true)
        #expect(skipped["unclosed.md"]?.contains("closing") == true)
        for word in ["brokenfrontmatterword", "unclosedfrontmatterword", "hiddenfileword", "raingardenscript"] {
            #expect(try index.search(word, limit: 1).results.isEmpty, "\(word)")
        }

        let hedge = try #require(try index.search("can I plant hedging in November?", limit: 1).results.first)
        #expect(hedge.document == "Hedge planting")
        #expect(hedge.heading == "Choosing species › Timing")
        #expect(hedge.language == "en")
        let velo = try #require(try index.search("vélos partagés", limit: 1).results.first)
        #expect(velo.language == "fr")
        #expect(velo.document == "velo")
        let rain = try #require(try index.search("storm water", limit: 1).results.first)
        #expect(rain.document == "Rain gardens")
        #expect(rain.heading == "Soil")
        #expect(rain.text.contains("storm water & rooftop"))
    }

    @Test func reimportUpdatesOnlyWhatChangedAndRemovesWhatIsGone() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        try folder.write("a.md", "# Alpha\n\nThe alpha document talks about orchards.")
        try folder.write("b.md", "# Beta\n\nThe beta document talks about beehives.")
        let cPath = try folder.write("c.md", "# Gamma\n\nThe gamma document talks about ponds.")
        let index = try makeIndex()
        let first = try index.importPaths([folder.url.path])
        #expect((first.added, first.updated, first.unchanged, first.removed) == (3, 0, 0, 0))

        let again = try index.importPaths([folder.url.path])
        #expect((again.added, again.updated, again.unchanged, again.removed) == (0, 0, 3, 0))

        try folder.write("a.md", "# Alpha\n\nThe alpha document now talks about vineyards.")
        try FileManager.default.removeItem(atPath: cPath)
        let edited = try index.importPaths([folder.url.path])
        #expect((edited.added, edited.updated, edited.unchanged, edited.removed) == (0, 1, 1, 1))
        #expect(try index.search("orchards", limit: 3).results.isEmpty)
        #expect(try index.search("vineyards", limit: 3).results.first?.document == "Alpha")
        #expect(try index.search("ponds", limit: 3).results.isEmpty)
        let stats = try index.stats()
        #expect(stats.documents == 2)
        #expect(stats.passages == 2)
        // The FTS index holds exactly the passages left: no orphan rows after update and delete.
        let terms = try index.writer.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM kb_passage_terms") }
        #expect(terms == 2)
    }

    @Test func aFileNamedButGoneIsRemoved() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let path = try folder.write("single.md", "# Single\n\nA lonely document about wetlands.")
        let index = try makeIndex()
        #expect(try index.importPaths([path]).added == 1)
        try FileManager.default.removeItem(atPath: path)
        let report = try index.importPaths([path])
        #expect(report.removed == 1)
        #expect(try index.isEmpty())
        #expect(try index.importPaths([path]).skipped.first?.reason == "no such file or folder")
    }

    @Test func aFailingWriteLeavesNoHalfDocument() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        var long = "# Poisoned\n\n"
        for number in 1...5 { long += "## Part \(number)\n\n" + String(repeating: "meadow grasses grow tall. ", count: 12) + "\n\n" }
        long += "## Last\n\nPOISON " + String(repeating: "meadow flowers bloom. ", count: 12)
        try folder.write("poisoned.md", long)
        let queue = try DatabaseQueue()
        let index = try KnowledgeIndex(writer: queue)
        try queue.write { db in
            try db.execute(
                sql: """
                    CREATE TRIGGER poison BEFORE INSERT ON kb_passage WHEN NEW.text LIKE '%POISON%'
                    BEGIN SELECT RAISE(ABORT, 'poisoned passage'); END
                    """)
        }
        #expect(throws: DatabaseError.self) { try index.importPaths([folder.url.path]) }
        #expect(try index.isEmpty())
        #expect(try index.stats().passages == 0)
        #expect(try index.search("meadow", limit: 3).results.isEmpty)
    }

    @Test func sharedExperiencesAreSearchableInTheSameTransaction() throws {
        let queue = try DatabaseQueue()
        let index = try KnowledgeIndex(writer: queue)
        let found = try queue.write { db in
            try index.addDocument(
                db,
                NewDocument(
                    title: "Notre marché paysan", source: "share:42", language: "fr", territory: "Loos-en-Gohelle",
                    tags: ["alimentation"], markdown: "Chaque samedi, les producteurs locaux vendent leurs légumes sur la place."))
            return try index.search(db, "producteurs locaux", limit: 1)
        }
        let result = try #require(found.results.first)
        #expect(result.territory == "Loos-en-Gohelle")
        #expect(result.source == "share:42")
        #expect(try index.topics(language: "fr") == ["Notre marché paysan"])
        #expect(try index.stats().sharedByTerritories == 1)
        #expect(try index.remove(source: "share:42"))
        #expect(try !index.remove(source: "share:42"))
        #expect(throws: KnowledgeError.self) {
            try index.addDocument(NewDocument(title: "Empty", source: "share:43", language: "fr", markdown: "  \n "))
        }
    }

    @Test func headingPathsAndTitles() throws {
        let parsed = try MarkdownParser.parse(Self.english, fallbackTitle: "fallback")
        #expect(parsed.title == "Hedge planting")
        #expect(parsed.language == "en")
        #expect(parsed.tags == ["biodiversity", "hedges"])
        #expect(parsed.sections.map(\.path) == [["Choosing species"], ["Choosing species", "Timing"]])

        let setext = try MarkdownParser.parse(
            "Main title\n==========\n\nIntro text.\n\nSection\n-------\n\nBody.\n\n```\n# not a heading\n```", fallbackTitle: "x")
        #expect(setext.title == "Main title")
        #expect(setext.sections.map(\.path) == [[], ["Section"]])
        #expect(setext.sections[1].body.contains("# not a heading"))

        let untitled = try MarkdownParser.parse("Just text.", fallbackTitle: "my file")
        #expect(untitled.title == "my file")
    }

    @Test func simpleFrontMatterSkipsTheYAMLParserButNotItsMeaning() throws {
        let simple = MarkdownParser.simpleFields("title: \"Scénario 1 : devenir allié\"\nlanguage: fr\ntags: [a, 'b c', \"d\"]\nyear: 2020")
        #expect(simple?["title"] as? String == "Scénario 1 : devenir allié")
        #expect(simple?["tags"] as? [String] == ["a", "b c", "d"])
        #expect(simple?["year"] as? String == "2020")
        for complex in ["tags:\n  - a\n  - b", "title: a: b", "title: &anchor x", "text: |\n  block", "title: \"esc\\\"aped\""] {
            #expect(MarkdownParser.simpleFields(complex) == nil, "\(complex)")
        }
        // Either way, the parsed document is the same.
        let parsed = try MarkdownParser.parse("---\ntitle: x\ntags:\n  - one\n  - two\n---\nBody.", fallbackTitle: "f")
        #expect(parsed.tags == ["one", "two"])
        #expect(parsed.title == "x")
    }

    @Test func longSectionsAreSplitAndShortOnesMerged() {
        let splitter = PassageSplitter()
        let paragraph = String(repeating: "Territories learn from each other. ", count: 10)
        let long = ParsedDocument.Section(path: ["Long"], body: (1...8).map { _ in paragraph }.joined(separator: "\n\n"))
        let passages = splitter.passages(of: [long])
        #expect(passages.count > 1)
        #expect(passages.allSatisfy { $0.text.utf8.count <= splitter.maximumLength })
        #expect(passages.allSatisfy { $0.heading == "Long" })
        let giant = ParsedDocument.Section(path: [], body: String(repeating: "word ", count: 1_000))
        #expect(splitter.passages(of: [giant]).allSatisfy { $0.text.utf8.count <= splitter.maximumLength })

        let short = [
            ParsedDocument.Section(path: ["A"], body: "One line."),
            ParsedDocument.Section(path: ["A", "B"], body: "Another line."),
            ParsedDocument.Section(path: ["C"], body: paragraph),
        ]
        let merged = splitter.passages(of: short)
        #expect(merged.count == 2)
        #expect(merged[0].heading == "A")
        #expect(merged[0].text.contains("Another line."))
        #expect(merged[0].headingWords.contains("B"))
    }
}
