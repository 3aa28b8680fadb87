@testable import BotCore
@testable import Factory
import FabriqueTesting
import Foundation
import GRDB
import MatrixAdapter
import XCTest

/// User text stays one line wherever the bot's Markdown puts it (issue 21): display names, organisations,
/// comments and pebble titles full of line breaks, list markers, HTML and formula starts go through every
/// chat reply (as Markdown, plain text and the Matrix HTML), `!signatories`, `!report`, and every report
/// format; each is parsed back and compared with the same scenario played with harmless text.
final class UserTextLineTests: XCTestCase {
    /// Pieces hostile text is made of: line breaks of every kind, list and heading markers after them,
    /// HTML, Markdown, spreadsheet formula starts.
    static let fragments = [
        "Zx", "café", "\n", "\r\n", "\r", "\u{2028}", "\u{2029}", "\u{85}", "\u{0B}", "\n- ", "\n* ", "\n+ ", "\n1. ", "\n# ", "\n> ",
        "\n\n", "- ", "+ ", "1. ", "<b>", "</li><li>", "<script>alert(1)</script>", "&amp;", "*", "_", "`", "~~", "[x](https://e.org)",
        "=HYPERLINK(\"https://e.org\")", "=1+2", "+1", "-2", "@SUM(A1)", "\t", "  ", "|", ",", "\"", "'", "é\u{301}", "  \n  ",
    ]

    /// The people's texts of one scenario.
    struct Texts {
        var name: String
        var organisation: String
        var comment: String
        var pebble: String
        var carrier: String

        static let harmless = Texts(name: "Nina", organisation: "Org", comment: "Zc", pebble: "Zp", carrier: "Lou")
    }

    /// Pieces without a line break: a pebble's title and carrier are refused with one (`!pebble add` is one line).
    /// (`;` separates its parts: not in them either.)
    static let inlineFragments = fragments.filter { !$0.contains(where: \.isNewline) && !$0.contains(";") }

    static func hostile(_ token: String, lineBreaks: Bool = true, using random: inout SeededRandom) -> String {
        let pool = lineBreaks ? fragments : inlineFragments
        var parts = (0..<Int.random(in: 1...6, using: &random)).map { _ in pool.randomElement(using: &random)! }
        parts.insert(token, at: Int.random(in: 0...parts.count, using: &random))
        return parts.joined()
    }

    /// What the bot shows of `text` on one line: its lines, trimmed, without the empty ones, joined by
    /// ``Markdown/lineFold`` (written here independently of the code under test).
    static func oneLine(_ text: String) -> String {
        var lines: [String] = []
        var current = ""
        for ch in text {
            if ch.isNewline {
                lines.append(current)
                current = ""
            } else {
                current.append(ch)
            }
        }
        lines.append(current)
        return lines.map { $0.trimmingCharacters(in: CharacterSet(charactersIn: " \t")) }.filter { !$0.isEmpty }.joined(separator: " / ")
    }

    /// What one scenario produced: each turn's replies, and every report in every format.
    struct Outcome {
        var replies: [[OutgoingMessage]] = []
        var reports: [String: String] = [:]
        var stored: (organisation: String, comment: String, pebble: String, carrier: String) = ("", "", "", "")
    }

    /// bob (called `texts.name`) signs the Charter for `texts.organisation`, answers the inventory with a
    /// comment, adds a pebble; he asks for the signatories, alice for the inventory; then every report.
    func play(_ texts: Texts) throws -> Outcome {
        var bench = try FactoryBench()
        var outcome = Outcome()
        func say(_ text: String, from user: String) throws {
            bench.counter += 1
            let message = IncomingMessage(
                roomID: "room-1", senderID: "@\(user):example.org", senderName: user == "bob" ? texts.name : user, text: text,
                eventID: "$e\(bench.counter)", timestamp: bench.clock.now, roomKind: .group, senderIsFacilitator: user == "alice")
            outcome.replies.append(try bench.engine.handle(.message(message)))
        }
        try say("!territory set Diois", from: "alice")
        for line in ["!start ally", "1", "yes", "1", "yes", texts.organisation, "2", "yes"] { try say(line, from: "bob") }
        try say("!start inventory", from: "alice")
        try say("3 Zc " + texts.comment, from: "bob")
        try say("!pebble add Zp \(texts.pebble); Zq \(texts.carrier); 2026-04-01", from: "bob")
        try say("!signatories", from: "bob")
        try say("!report inventory", from: "alice")
        try say("!report pebbles", from: "alice")
        for kind in ReportKind.allCases {
            for format in ReportFormat.allCases {
                outcome.reports["\(kind).\(format)"] = try FactoryReports.render(
                    kind, format: format, territory: bench.territory("Diois"), store: bench.store, catalog: bench.engine.catalog,
                    language: .en,
                    now: bench.clock.now)
            }
        }
        outcome.stored = try bench.read { db in
            (
                try String.fetchOne(db, sql: "SELECT organisation FROM factory_signature") ?? "",
                try String.fetchOne(db, sql: "SELECT comment FROM answer WHERE step_id = 'metabolism'") ?? "",
                try String.fetchOne(db, sql: "SELECT title FROM factory_pebble") ?? "",
                try String.fetchOne(db, sql: "SELECT carrier FROM factory_pebble") ?? ""
            )
        }
        return outcome
    }

    /// A Markdown text's lines, each reduced to what starts it: the bot's layout without the words.
    static func skeleton(_ markdown: String) -> [String] {
        markdown.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            if line.isEmpty { return "blank" }
            if line.hasPrefix("- ") || line.hasPrefix("* ") || line.hasPrefix("+ ") { return "bullet" }
            if line.first == "#" { return "heading" }
            if line.first == ">" { return "quote" }
            if line.prefix(while: \.isNumber).count > 0, line.drop(while: \.isNumber).hasPrefix(". ") { return "ordered" }
            return "text"
        }
    }

    /// The tags of an HTML text, in order (`li`, `/li`, …): user text is escaped, so only the renderer's.
    static func tags(_ html: String) -> [String] {
        var found: [String] = []
        var rest = html[...]
        while let open = rest.firstIndex(of: "<") {
            rest = rest[rest.index(after: open)...]
            found.append(String(rest.prefix { $0.isLetter || $0.isNumber || $0 == "/" }))
        }
        return found
    }

    /// The words of a page's text, each element's text apart (the collector joins them without a space).
    static func pageWords(_ html: String) -> [String] {
        words(XMLCollector.parse(html.replacingOccurrences(of: "><", with: "> <")).text)
    }

    /// The words of `text` (letters and digits), to find them in a text whose spacing an HTML parser changed.
    static func words(_ text: String) -> [String] {
        text.split { !$0.isLetter && !$0.isNumber }.map(String.init)
    }

    static func containsInOrder(_ haystack: [String], _ needle: [String]) -> Bool {
        guard !needle.isEmpty else { return true }
        guard haystack.count >= needle.count else { return false }
        return (0...(haystack.count - needle.count)).contains { Array(haystack[$0..<($0 + needle.count)]) == needle }
    }

    /// By scalar: `"\r\n"` is one Character, which `hasPrefix("\r")` does not see.
    static func startsAFormula(_ text: String) -> Bool {
        text.unicodeScalars.first.map { "=+-@\t\r".unicodeScalars.contains($0) } ?? false
    }

    /// A cell a spreadsheet would run stays text; a Matrix user id, which cannot call anything, stays as it is.
    func testCSVCellsNeverStartAFormula() {
        XCTAssertEqual(ReportCSV.field(#"=HYPERLINK("https://e.org","x")"#), #""'=HYPERLINK(""https://e.org"",""x"")""#)
        XCTAssertEqual(ReportCSV.field("+1"), "'+1")
        XCTAssertEqual(ReportCSV.field("-2"), "'-2")
        XCTAssertEqual(ReportCSV.field("@SUM(A1)"), "'@SUM(A1)")
        XCTAssertEqual(ReportCSV.field("\tx"), "'\tx")
        XCTAssertEqual(ReportCSV.field("\r\nx"), "\"'\r\nx\"", "a carriage return first, and quoted: \\r\\n is one Character")
        XCTAssertEqual(ReportCSV.field("@bob:example.org"), "@bob:example.org")
        XCTAssertEqual(ReportCSV.field("@bob(1):example.org"), "'@bob(1):example.org")
        XCTAssertEqual(ReportCSV.field("2026-04-01"), "2026-04-01")
    }

    func testUserTextStaysOnOneLineInEveryReplyAndReport() throws {
        var random = SeededRandom()
        let reference = try play(.harmless)
        for round in 0..<6 {
            let texts = Texts(
                name: Self.hostile("Nina", using: &random), organisation: Self.hostile("Org", using: &random),
                comment: Self.hostile("Zc", using: &random), pebble: Self.hostile("Zp", lineBreaks: false, using: &random),
                carrier: Self.hostile("Lou", lineBreaks: false, using: &random))
            let context = "round \(round), \(random): \(texts)"
            let outcome = try play(texts)

            // Chat: the same turns, the same messages, laid out line for line as with harmless text.
            XCTAssertEqual(outcome.replies.map(\.count), reference.replies.map(\.count), context)
            for (turn, (replies, expected)) in zip(outcome.replies, reference.replies).enumerated() {
                for (reply, harmless) in zip(replies, expected) {
                    XCTAssertEqual(
                        Self.skeleton(reply.markdown), Self.skeleton(harmless.markdown), "turn \(turn): \(reply.markdown)\n\(context)")
                    XCTAssertEqual(
                        Self.tags(MarkdownHTML.render(reply.markdown)), Self.tags(MarkdownHTML.render(harmless.markdown)),
                        "turn \(turn), as Matrix shows it: \(MarkdownHTML.render(reply.markdown))\n\(context)")
                    XCTAssertEqual(
                        reply.plain.split(separator: "\n", omittingEmptySubsequences: false).count,
                        harmless.plain.split(separator: "\n", omittingEmptySubsequences: false).count, "turn \(turn): \(reply.plain)")
                }
            }
            let chat = outcome.replies.joined().map(\.plain).joined(separator: "\n")
            for text in [texts.name, outcome.stored.organisation, outcome.stored.pebble] {
                XCTAssertTrue(chat.contains(Self.oneLine(text)), "“\(Self.oneLine(text))” on one line in the chat:\n\(chat)\n\(context)")
            }

            // Markdown reports: line for line the harmless layout, each text on one line.
            for kind in ReportKind.allCases {
                let markdown = try XCTUnwrap(outcome.reports["\(kind).md"])
                XCTAssertEqual(
                    Self.skeleton(markdown), Self.skeleton(reference.reports["\(kind).md"]!), "\(kind).md:\n\(markdown)\n\(context)")
            }
            let inventoryMD = Markdown.plainText(outcome.reports["inventory.md"]!)
            XCTAssertTrue(inventoryMD.contains(Self.oneLine(texts.name)), context)
            XCTAssertTrue(inventoryMD.contains(Self.oneLine(outcome.stored.comment)), context)
            XCTAssertTrue(
                Markdown.plainText(outcome.reports["signatories.md"]!).contains(Self.oneLine(outcome.stored.organisation)), context)
            XCTAssertTrue(Markdown.plainText(outcome.reports["pebbles.md"]!).contains(Self.oneLine(outcome.stored.pebble)), context)

            // HTML reports: well-formed, the same elements as with harmless text, the words all there.
            for kind in ReportKind.allCases {
                let page = XMLCollector.parse(outcome.reports["\(kind).html"]!)
                XCTAssertNil(page.error, "\(kind).html\n\(context)")
                XCTAssertEqual(page.elements, XMLCollector.parse(reference.reports["\(kind).html"]!).elements, "\(kind).html\n\(context)")
            }
            let inventoryHTML = Self.pageWords(outcome.reports["inventory.html"]!)
            XCTAssertTrue(Self.containsInOrder(inventoryHTML, Self.words(outcome.stored.comment)), context)
            let signatoriesHTML = Self.pageWords(outcome.reports["signatories.html"]!)
            XCTAssertTrue(Self.containsInOrder(signatoriesHTML, Self.words(outcome.stored.organisation)), context)
            XCTAssertTrue(Self.containsInOrder(signatoriesHTML, Self.words(texts.name)), context)

            // CSV: the same rows and columns; every cell reads back as stored, a formula start behind a `'`.
            for kind in ReportKind.allCases {
                let rows = CSVReader.rows(outcome.reports["\(kind).csv"]!)
                let harmless = CSVReader.rows(reference.reports["\(kind).csv"]!)
                XCTAssertEqual(rows.map(\.count), harmless.map(\.count), "\(kind).csv\n\(context)")
                for cell in rows.joined() {
                    XCTAssertFalse(
                        Self.startsAFormula(cell) && !ReportCSV.isMatrixUserID(cell),
                        "a formula cell: \(cell)\n\(context)")
                }
            }
            func neutral(_ text: String) -> String { Self.startsAFormula(text) ? "'" + text : text }
            let signatures = CSVReader.rows(outcome.reports["signatories.csv"]!)
            XCTAssertEqual(signatures.dropFirst().map { $0[1] }, [neutral(texts.name)], context)
            XCTAssertEqual(signatures.dropFirst().map { $0[3] }, [neutral(outcome.stored.organisation)], context)
            let pebbles = CSVReader.rows(outcome.reports["pebbles.csv"]!)
            XCTAssertEqual(pebbles.dropFirst().map { $0[3] }, [neutral(outcome.stored.pebble)], context)
            XCTAssertEqual(pebbles.dropFirst().map { $0[4] }, [neutral(outcome.stored.carrier)], context)

            // JSON: the texts exactly as stored.
            let signatoriesJSON = try ReportJSON.decoder.decode(
                SignatoriesReport.self, from: Data(outcome.reports["signatories.json"]!.utf8))
            XCTAssertEqual(signatoriesJSON.signatures.map(\.signerName), [texts.name], context)
            XCTAssertEqual(signatoriesJSON.signatures.map(\.organisation), [outcome.stored.organisation], context)
            let pebblesJSON = try ReportJSON.decoder.decode(PebblesReport.self, from: Data(outcome.reports["pebbles.json"]!.utf8))
            XCTAssertEqual(pebblesJSON.pebbles.map(\.pebble.title), [outcome.stored.pebble], context)
        }
    }
}
