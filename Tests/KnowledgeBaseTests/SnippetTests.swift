import Foundation
import Testing
@testable import KnowledgeBase

/// Snippets are shown in chat as Markdown: matched words in bold, everything else literal.
struct SnippetTests {
    /// True when every Markdown-special character is escaped, once `**word**` emphasis is taken out.
    static func isSafe(_ snippet: String) -> Bool {
        let withoutEmphasis = snippet.replacingOccurrences(
            of: #"\*\*[\p{L}\p{N}]+\*\*"#, with: "W", options: .regularExpression)
        var escaped = false
        for character in withoutEmphasis {
            if escaped {
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else if InlineMarkdown.special.contains(character) {
                return false
            }
        }
        return !escaped
    }

    @Test func emphasisesMatchesAndEscapesTheRest() throws {
        let index = try makeIndex()
        try index.addDocument(
            NewDocument(
                title: "Syntax", source: "t:syntax", language: "en",
                markdown: "Use C# and [links](http://example.org) with a_b, a*b, 3 * 4 < 5 | x ~ y! (see **important** `code`) #tag \\ end."
            ))
        let result = try #require(try index.search("links important", limit: 1).results.first)
        #expect(result.snippet.contains("**links**"))
        #expect(result.snippet.contains("**important**"))
        #expect(result.snippet.contains("C\\#"))
        #expect(result.snippet.contains("a\\_b"))
        #expect(result.snippet.contains("a\\*b"))
        #expect(!result.snippet.contains("\\*\\*important"))
        #expect(result.snippet.contains("3 \\* 4 \\< 5 \\| x \\~ y\\!"))
        #expect(result.snippet.contains("\\(see"))
        #expect(!result.snippet.contains("example.org"))
        #expect(Self.isSafe(result.snippet), "\(result.snippet)")
        #expect(!Self.isSafe("a_b"))
        #expect(result.text.contains("[links](http://example.org)"))
    }

    @Test func excerptIsCentredOnTheMatchesOfALongPassage() throws {
        let before = String(repeating: "Fields and meadows stretch along the river. ", count: 12)
        let after = String(repeating: "Villages gather around their market squares. ", count: 12)
        let text = before + "The orchard cooperative presses apples every autumn. " + after
        let snippet = Snippet.make(from: text, language: "en", stems: ["orchard", "cooper"])
        #expect(snippet.contains("**orchard** **cooperative**"))
        #expect(snippet.hasPrefix("… "))
        #expect(snippet.hasSuffix(" …"))
        #expect(snippet.count <= Snippet.targetLength + 40)
        #expect(Self.isSafe(snippet))
    }

    @Test(arguments: [
        "*emphasis* and __strong__", "> quoted\n> lines", "- item one\n- item two", "| a | b |\n|---|---|",
        "<b>html</b> & ~strike~", "![image](x.png) !important", "```\ncode (block)\n```", "\\* already escaped",
    ])
    func anyPassageGivesASafeSnippet(_ text: String) {
        let stems = Set(WordScanner.words(text))
        #expect(Self.isSafe(Snippet.make(from: text, language: "en", stems: stems)))
        #expect(Self.isSafe(Snippet.make(from: text, language: "en", stems: [])))
    }

    /// Only the words a question is about are highlighted: never its stop words, nor the words that only
    /// phrase it ("how long does it take", "combien de temps"), in either language.
    @Test(arguments: [
        (
            "How long does a transition take?", "A transition takes years, and a long one takes more.",
            "A **transition** takes years, and a long one takes more."
        ),
        (
            "Combien de temps dure une transition ?", "Une transition dure des années, combien qu'on le regrette.",
            "Une **transition** **dure** des années, combien qu'on le regrette."
        ),
    ])
    func highlightsOnlyMeaningfulWords(_ question: String, _ passage: String, _ expected: String) {
        let query = SearchQuery(question, thesaurus: .empty)
        let language = TextAnalysis.guessQuestionLanguage(question) ?? "en"
        #expect(Snippet.whole(passage, language: language, stems: query.highlightStems) == expected)
    }

    /// An unsure answer's line is the passage's sentence that holds most of the question's words, whole.
    @Test func theLineIsTheSentenceWithMostOfTheQuestion() {
        let query = SearchQuery("who plants the hedge in winter?", thesaurus: .empty)
        let line = Snippet.line(
            "Hedges shelter birds. Volunteers plant the hedge in winter, when the ground is soft. Nobody mows it.",
            language: "en", stems: query.highlightStems)
        #expect(line == "Volunteers **plant** the **hedge** in **winter**, when the ground is soft.")
    }
}
