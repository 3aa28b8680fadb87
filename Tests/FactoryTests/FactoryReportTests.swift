@testable import BotCore
@testable import Factory
import FabriqueTesting
import Foundation
import GRDB
import KnowledgeBase
import XCTest

#if canImport(FoundationXML)
import FoundationXML
#endif

/// An engine on the shipped dialogues, with a knowledge base, rooms bound to territories and a hand-moved clock.
struct FactoryBench {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    let engine: Engine
    let store: StateStore
    let knowledge: KnowledgeIndex
    let clock: ManualClock
    var counter = 0

    /// Starts on 2026-03-02 09:00 UTC.
    /// - Parameter more: dialogue folders beside the shipped ones, relative to the repository.
    init(more: [String] = []) throws {
        let (catalog, diagnostics) = DialogueCatalog.load(
            paths: ([Self.root.appendingPathComponent("dialogues").path] + more.map { Self.root.appendingPathComponent($0).path }),
            vocabulary: [FactoryExtension()].vocabulary)
        XCTAssertFalse(diagnostics.hasErrors, diagnostics.map(\.description).joined(separator: "\n"))
        store = try StateStore(path: nil)
        knowledge = try KnowledgeIndex(writer: store.writer)
        clock = ManualClock(ISO8601DateFormatter().date(from: "2026-03-02T09:00:00Z")!)
        engine = try TestBench.makeEngine(
            store: store, catalog: catalog, knowledge: knowledge, extensions: [FactoryExtension()], configuration: EngineConfiguration(),
            clock: clock.source)
    }

    /// Says `text` as `user` in `room` and returns the plain replies. Only `alice` is a facilitator.
    @discardableResult
    /// The text replies (files left out: ``send(_:from:in:kind:)`` has them).
    mutating func say(_ text: String, from user: String = "alice", in room: String = "room-1") throws -> [String] {
        // A group room gets one message per turn: its parts, as they were said, are what tests read.
        try send(text, from: user, in: room).filter { $0.attachment == nil }.flatMap { $0.plain.components(separatedBy: "\n\n") }
    }

    /// Every reply, files included.
    mutating func send(
        _ text: String, from user: String = "alice", in room: String = "room-1", kind: RoomKind = .group
    ) throws
        -> [OutgoingMessage]
    {
        counter += 1
        let message = IncomingMessage(
            roomID: room, senderID: "@\(user):example.org", senderName: user, text: text, eventID: "$e\(counter)",
            timestamp: clock.now, roomKind: kind, senderIsFacilitator: user == "alice")
        return try engine.handle(.message(message))
    }

    /// Plays `user: text` lines in one room.
    mutating func play(_ lines: [(String, String)], in room: String) throws {
        for (user, text) in lines { try say(text, from: user, in: room) }
    }

    mutating func bind(_ room: String, to territory: String) throws {
        let reply = try say("!territory set \(territory)", in: room)
        XCTAssertEqual(reply.count, 1)
    }

    /// Two rooms, two territories, one inventory each, with known answers.
    ///
    /// Diois: question 1 — bob 3 (with a comment full of special characters), carol 1; question 2 — bob 4,
    /// marked discussed. Pays Basque: question 1 — dan 2; question 2 — eve 2, dan 3.
    static let tricky = #"<b>"Flows", measured</b> & *mapped*, line one"#

    mutating func twoInventories() throws {
        try bind("diois", to: "Diois")
        try bind("basque", to: "Pays Basque")
        try play(
            [
                ("alice", "!start inventory"),
                ("bob", "3 " + Self.tricky),
                ("carol", "1"), ("carol", "no"),
                ("alice", "next"),
                ("bob", "4"),
                ("alice", "discussed"),
                ("alice", "stop"),
            ], in: "diois")
        clock.advance(by: 3600)
        try play(
            [
                ("alice", "!start inventory"),
                ("dan", "2"),
                ("alice", "next"),
                ("eve", "Beginnings"),
                ("dan", "3, A few shared projects"),
                ("alice", "stop"),
            ], in: "basque")
    }

    func read<T>(_ body: (Database) throws -> T) throws -> T { try store.writer.read(body) }
}

/// Reads RFC 4180 CSV back: quoted fields, doubled quotes, commas and line breaks inside quotes.
enum CSVReader {
    static func rows(_ text: String) -> [[String]] {
        var rows: [[String]] = []
        var row: [String] = []
        var field = ""
        var quoted = false
        var chars = Array(text)[...]
        while let ch = chars.popFirst() {
            if quoted {
                if ch == "\"" {
                    if chars.first == "\"" {
                        field.append("\"")
                        chars = chars.dropFirst()
                    } else {
                        quoted = false
                    }
                } else {
                    field.append(ch)
                }
                continue
            }
            switch ch {
            case "\"": quoted = true
            case ",":
                row.append(field)
                field = ""
            case "\r\n", "\n":
                row.append(field)
                rows.append(row)
                row = []
                field = ""
            default: field.append(ch)
            }
        }
        if !field.isEmpty || !row.isEmpty { rows.append(row + [field]) }
        return rows
    }
}

/// Parses XML and remembers element names, attributes and text.
final class XMLCollector: NSObject, XMLParserDelegate {
    var elements: [String] = []
    var attributes: [[String: String]] = []
    var text = ""
    var error: (any Error)?

    static func parse(_ markup: String) -> XMLCollector {
        let collector = XMLCollector()
        let parser = XMLParser(data: Data(markup.utf8))
        parser.delegate = collector
        if !parser.parse() { collector.error = parser.parserError ?? NSError(domain: "xml", code: 1) }
        return collector
    }

    func parser(
        _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?,
        attributes attributeDict: [String: String] = [:]
    ) {
        elements.append(elementName)
        attributes.append(attributeDict)
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }

    func count(_ name: String) -> Int { elements.filter { $0 == name }.count }
}

final class FactoryReportTests: XCTestCase {
    func inventory(_ bench: FactoryBench, _ territory: String, _ language: Language = .en) throws -> InventoryReport {
        try bench.read { db in
            try FactoryReports.inventory(
                db, territory: Territory.existing(territory, db), catalog: bench.engine.catalog, language: language, now: bench.clock.now)
        }
    }

    func render(
        _ bench: FactoryBench, _ kind: ReportKind, _ format: ReportFormat, _ territory: String, _ language: Language = .en
    ) throws -> String {
        try FactoryReports.render(
            kind, format: format, territory: bench.territory(territory), store: bench.store, catalog: bench.engine.catalog,
            language: language,
            now: bench.clock.now)
    }

    func testInventoryReportKeepsEachTerritorysAnswersWithAuthorsAndSpread() throws {
        var bench = try FactoryBench()
        try bench.twoInventories()
        let diois = try inventory(bench, "Diois")
        XCTAssertEqual(diois.questions.count, 20, "every question of the checklist is in the report")
        XCTAssertEqual(diois.questions.map(\.number), Array(1...20))
        XCTAssertEqual(diois.questions[0].id, "metabolism")
        XCTAssertEqual(diois.questions[0].title, "Metabolism")
        XCTAssertEqual(diois.questions[0].answers.map(\.author), ["bob", "carol"])
        XCTAssertEqual(diois.questions[0].answers.map(\.value), [3, 1])
        XCTAssertEqual(diois.questions[0].answers.map(\.label), ["Under way", "Not yet"])
        XCTAssertEqual(diois.questions[0].answers[0].comment, FactoryBench.tricky)
        XCTAssertNil(diois.questions[0].answers[1].comment, "“no” is not a comment")
        XCTAssertEqual(diois.questions[0].spread, InventoryReport.Spread(count: 2, min: 1, max: 3, mean: 2, distribution: [1, 0, 1, 0]))
        XCTAssertFalse(diois.questions[0].discussed)
        XCTAssertTrue(diois.questions[1].discussed)
        XCTAssertEqual(diois.questions[1].answers.map(\.value), [4])
        XCTAssertNil(diois.questions[2].spread)
        XCTAssertEqual(diois.respondents, ["@bob:example.org (bob)", "@carol:example.org (carol)"], "by id, the name beside it")
        XCTAssertEqual(diois.answerCount, 3)

        let basque = try inventory(bench, "Pays Basque", .fr)
        XCTAssertEqual(basque.questions[0].answers.map(\.author), ["dan"])
        XCTAssertEqual(basque.questions[1].answers.map(\.author), ["eve", "dan"])
        XCTAssertEqual(basque.questions[1].answers.map(\.label), ["Premiers pas", "En marche"], "labels follow the report's language")
        XCTAssertEqual(basque.questions[1].spread?.mean, 2.5)
        XCTAssertFalse(basque.questions[1].discussed, "discussed in Diois does not leak into Pays Basque")
        XCTAssertEqual(basque.questions[0].title, "Métabolisme")
        let nowhere = Territory(id: "t-9", name: "Nowhere")
        XCTAssertEqual(
            try bench.read {
                try FactoryReports.inventory($0, territory: nowhere, catalog: bench.engine.catalog, language: .en, now: bench.clock.now)
            }.answerCount, 0)
    }

    func testHTMLReportIsWellFormedWithAnInlineProfileChartAndNoOtherTerritory() throws {
        var bench = try FactoryBench()
        try bench.twoInventories()
        let html = try render(bench, .inventory, .html, "Diois")
        let xml = XMLCollector.parse(html)
        XCTAssertNil(xml.error, "the HTML must be well-formed: \(String(describing: xml.error))")
        XCTAssertEqual(xml.count("svg"), 1, "one inline chart")
        XCTAssertEqual(xml.count("section"), 20, "one section per question")
        XCTAssertEqual(xml.count("polyline"), 1, "the profile line joins the means")
        XCTAssertTrue(xml.text.contains(FactoryBench.tricky), "the comment reads back exactly once parsed")
        XCTAssertFalse(html.contains("<b>\"Flows\""), "people's markup is escaped")
        XCTAssertFalse(xml.elements.contains("script"))
        XCTAssertFalse(xml.elements.contains("link"), "no external stylesheet: readable offline")
        for attributes in xml.attributes {
            for (name, value) in attributes where name != "xmlns" {
                XCTAssertFalse(value.contains("http"), "\(name)=\(value) would need the network")
            }
        }
        XCTAssertTrue(html.contains("<td>@bob:example.org (bob)</td>"))
        XCTAssertFalse(html.contains("<td>dan</td>"), "Pays Basque's people never appear in Diois's report")
        XCTAssertFalse(html.contains("<td>eve</td>"))

        // The chart places each mean on the scale: bob 3 and carol 1 give 2, half way between 1 and 3.
        let report = try inventory(bench, "Diois")
        let svg = ProfileChart.svg(report)
        XCTAssertTrue(svg.hasPrefix("<svg xmlns=\"http://www.w3.org/2000/svg\""))
        let means = XMLCollector.parse(svg).attributes.filter { $0["r"] == "3.5" }
        XCTAssertEqual(means.count, 2, "one mean marker per answered question")
        let xs = means.compactMap { $0["cx"].flatMap(Double.init) }
        let one = ProfileChart.labelWidth + 10, four = ProfileChart.labelWidth + ProfileChart.plotWidth - 10
        XCTAssertEqual(xs[0], one + (four - one) / 3, accuracy: 0.1, "mean 2 sits a third of the way from 1 to 4")
        XCTAssertEqual(xs[1], four, accuracy: 0.1, "mean 4 sits at the end")
    }

    /// One answer per person per question: a new answer replaces that person's own in the spread; the
    /// earlier one stays in the history of every report format, marked as replaced.
    func testAReplacedAnswerIsHistoryAndNeverCountedTwice() throws {
        var bench = try FactoryBench()
        try bench.bind("diois", to: "Diois")
        try bench.play([("alice", "!start inventory"), ("bob", "2"), ("carol", "3"), ("bob", "4 after checking")], in: "diois")
        let report = try bench.read {
            try FactoryReports.inventory(
                $0, territory: Territory.existing("Diois", $0), catalog: bench.engine.catalog, language: .en, now: bench.clock.now)
        }
        let first = try XCTUnwrap(report.questions.first)
        XCTAssertEqual(first.answers.map { "\($0.author) \($0.value ?? 0)" }, ["carol 3", "bob 4"])
        XCTAssertEqual(first.history.map { "\($0.author) \($0.value ?? 0)" }, ["bob 2"])
        XCTAssertEqual(first.spread?.count, 2)
        XCTAssertEqual(first.spread?.mean, 3.5)
        XCTAssertEqual(report.answerCount, 2)
        let csv = CSVReader.rows(try render(bench, .inventory, .csv, "Diois"))
        let replaced = csv.dropFirst().filter { $0[6] == "bob" }.map { "\($0[8]) \($0[13])" }
        XCTAssertEqual(replaced, ["4 yes".replacingOccurrences(of: "yes", with: "no"), "2 yes"])
        let markdown = try render(bench, .inventory, .md, "Diois")
        XCTAssertTrue(markdown.contains(#"- ~~@bob:example.org \(bob\), 2026-03-02: 2 — Beginnings~~ (replaced)"#), markdown)
    }

    /// The page's summary of a question reads as a person would write it: "1 answer", not "1 answers", and no
    /// "from 3 to 3" range when every answer is the same.
    func testTheHTMLSummaryLineSaysOneAnswerAndAllTheSame() throws {
        var bench = try FactoryBench()
        try bench.bind("diois", to: "Diois")
        try bench.play([("alice", "!start inventory"), ("bob", "3"), ("alice", "next"), ("bob", "2"), ("carol", "2")], in: "diois")
        let html = try render(bench, .inventory, .html, "Diois")
        XCTAssertTrue(html.contains("Mean 3.0, 1 answer</strong>"), html)
        XCTAssertTrue(html.contains("Mean 2.0, 2 answers, all 2</strong>"), html)
        XCTAssertFalse(html.contains("1 answers"))
    }

    /// Each run counts on its own: a person's answer in a later run does not make their earlier run's answer history.
    func testEachRunKeepsItsOwnLatestAnswers() throws {
        var bench = try FactoryBench()
        try bench.bind("diois", to: "Diois")
        try bench.play(
            [("alice", "!start inventory"), ("bob", "3"), ("alice", "!stop end"), ("alice", "!start inventory"), ("bob", "2")], in: "diois")
        let report = try bench.read {
            try FactoryReports.inventory(
                $0, territory: Territory.existing("Diois", $0), catalog: bench.engine.catalog, language: .en, now: bench.clock.now)
        }
        XCTAssertEqual(report.questions.first?.answers.map { $0.value ?? 0 }, [3, 2])
        XCTAssertEqual(report.questions.first?.history.count, 0)
    }

    func testCSVReadsBackRowForRow() throws {
        var bench = try FactoryBench()
        try bench.twoInventories()
        let csv = try render(bench, .inventory, .csv, "Diois")
        XCTAssertTrue(csv.hasSuffix("\r\n"))
        let rows = CSVReader.rows(csv)
        let header = try XCTUnwrap(rows.first)
        XCTAssertEqual(
            header,
            [
                "territory", "question_number", "question_id", "question_title", "question", "discussed",
                "author", "author_id", "value", "label", "comment", "answered_at", "room", "replaced", "removed_by",
            ])
        let body = rows.dropFirst()
        XCTAssertTrue(body.allSatisfy { $0.count == header.count }, "every row has every column")
        XCTAssertEqual(body.count, 3 + 18, "three answers, and one empty row for each of the 18 unanswered questions")
        XCTAssertEqual(Set(body.map { $0[0] }), ["Diois"])
        let column = Dictionary(uniqueKeysWithValues: header.enumerated().map { ($1, $0) })
        let answered = body.filter { !$0[column["author"]!].isEmpty }
        XCTAssertEqual(answered.map { $0[column["author"]!] }, ["bob", "carol", "bob"])
        XCTAssertEqual(answered.map { $0[column["value"]!] }, ["3", "1", "4"])
        XCTAssertEqual(answered[0][column["comment"]!], FactoryBench.tricky, "commas and quotes survive the round trip")
        XCTAssertEqual(answered[2][column["discussed"]!], "yes")
        XCTAssertEqual(answered[0][column["answered_at"]!], "2026-03-02T09:00:00Z")
        XCTAssertEqual(answered[0][column["author_id"]!], "@bob:example.org")

        let basque = CSVReader.rows(try render(bench, .inventory, .csv, "Pays Basque")).dropFirst()
        XCTAssertEqual(basque.filter { !$0[column["author"]!].isEmpty }.map { $0[column["author"]!] }, ["dan", "eve", "dan"])
    }

    /// `!report` in a room: the summary, then the report as files that stand on their own.
    func testReportsComeAsFilesInTheChat() throws {
        var bench = try FactoryBench()
        try bench.twoInventories()
        let replies = try bench.send("!report inventory", in: "diois")
        let files = replies.compactMap(\.attachment)
        XCTAssertNil(replies.first?.attachment, "the summary comes first")
        XCTAssertTrue(replies[0].plain.contains("Inventory of Diois"), replies[0].plain)
        XCTAssertEqual(
            files.map(\.mimeType),
            ["text/html; charset=utf-8", "text/csv; charset=utf-8"] + (ChartPicture.converter == nil ? [] : ["image/png"]))
        XCTAssertEqual(files.first?.fileName, "inventory-diois-2026-03-02.html")
        let html = String(decoding: files[0].data, as: UTF8.self)
        XCTAssertEqual(html, try render(bench, .inventory, .html, "Diois"), "the same page as the command line's")
        XCTAssertNil(XMLCollector.parse(html).error)
        let csv = CSVReader.rows(String(decoding: files[1].data, as: UTF8.self))
        XCTAssertEqual(
            csv.count, 1 + 2 + 1 + 18,
            "a header, then one row per answer (two on the first question, one on the second) or unanswered question")
        if ChartPicture.converter != nil {
            let png = files[2]
            XCTAssertEqual(png.fileName, "profile-diois-2026-03-02.png")
            let size = try XCTUnwrap(ChartPicture.size(of: png.data), "a PNG")
            XCTAssertEqual(size.width, png.width)
            XCTAssertEqual(size.height, png.height)
            XCTAssertEqual(png.width, 680, "the SVG's own width: shown as it is, no thumbnail needed")
        }
        for (kind, count) in [("signatories", 2), ("pebbles", 2)] {
            let files = try bench.send("!report \(kind)", in: "diois").compactMap(\.attachment)
            XCTAssertEqual(files.count, count)
            XCTAssertTrue(files.allSatisfy { $0.fileName.hasPrefix(kind + "-diois-") }, "\(files.map(\.fileName))")
        }
        // A direct room without a territory reaches none.
        let direct = try bench.send("!report inventory", in: "dm-alice", kind: .direct)
        XCTAssertEqual(direct.compactMap(\.attachment), [])
        XCTAssertTrue(direct[0].plain.contains("territory join CODE"), direct[0].plain)
        XCTAssertEqual(try bench.send("!report inventory", from: "bob", in: "diois").compactMap(\.attachment), [])
    }

    func testJSONDecodesToTheSameReport() throws {
        var bench = try FactoryBench()
        try bench.twoInventories()
        for territory in ["Diois", "Pays Basque"] {
            let json = try render(bench, .inventory, .json, territory)
            let decoded = try ReportJSON.decoder.decode(InventoryReport.self, from: Data(json.utf8))
            XCTAssertEqual(decoded, try inventory(bench, territory))
            XCTAssertEqual(decoded.territory, territory)
        }
    }

    func testMarkdownEscapesWhatPeopleTyped() throws {
        var bench = try FactoryBench()
        try bench.twoInventories()
        let markdown = try render(bench, .inventory, .md, "Diois")
        XCTAssertTrue(markdown.hasPrefix("# Territory inventory: Diois\n"))
        XCTAssertTrue(markdown.contains(Markdown.escape(FactoryBench.tricky)))
        XCTAssertFalse(markdown.contains("*mapped*"), "people's text cannot add emphasis")
        XCTAssertTrue(markdown.contains(#"- @bob:example.org \(bob\), 2026-03-02: **3 — Under way**"#), markdown)
        XCTAssertFalse(markdown.contains("dan"))

        let chat = try bench.say("!report inventory", in: "diois")
        XCTAssertEqual(chat.count, 1)
        XCTAssertTrue(
            chat[0].contains("1. Metabolism: 2.0 (range 1–3, 2 answers) — @bob:example.org (bob) 3, @carol:example.org (carol) 1"), chat[0])
        XCTAssertTrue(chat[0].contains("2. Intangible capital: 4.0 (1 answer) · discussed — @bob:example.org (bob) 4"), chat[0])
        XCTAssertTrue(chat[0].contains("No answer yet: 3–20."), chat[0])
        XCTAssertEqual(try bench.say("!report inventory", from: "bob", in: "diois"), ["Only a facilitator can post a report."])
    }

    func testSignatoriesAndPebblesReportsStayWithinTheirTerritory() throws {
        var bench = try FactoryBench()
        try bench.bind("diois", to: "Diois")
        try bench.bind("basque", to: "Pays Basque")
        for (user, room, organisation) in [
            ("bob", "diois", "Commune de Die"), ("dan", "basque", "Herriko, \"Energia\""), ("carol", "diois", "Biovallée"),
        ] {
            try bench.play(
                [
                    (user, "!start ally"), (user, "1"), (user, "yes"), (user, "1"), (user, "yes"), (user, organisation), (user, "2"),
                    (user, "yes"),
                ], in: room)
        }
        try bench.say("!pebble add Seed library; Lou; 2026-03-01", from: "bob", in: "diois")
        try bench.say("!pebble add Repair café; Ana; 2026-04-01", from: "dan", in: "basque")
        try bench.say("!pebble add Compost; Lou; 2026-05-01", from: "bob", in: "diois")
        try bench.say("!pebble done 2", from: "bob", in: "diois")

        let signatures = CSVReader.rows(try render(bench, .signatories, .csv, "Diois"))
        XCTAssertEqual(signatures.first, ["territory", "name", "id", "organisation", "role", "signed_at", "room"])
        XCTAssertEqual(signatures.dropFirst().map { $0[1] }, ["bob", "carol"])
        XCTAssertEqual(signatures.dropFirst().map { $0[4] }, ["Staff of a public body", "Staff of a public body"])
        let basque = CSVReader.rows(try render(bench, .signatories, .csv, "Pays Basque")).dropFirst()
        XCTAssertEqual(basque.map { $0[3] }, ["Herriko, \"Energia\""])
        let json = try ReportJSON.decoder.decode(SignatoriesReport.self, from: Data(try render(bench, .signatories, .json, "Diois").utf8))
        XCTAssertEqual(json.count, 2)
        XCTAssertNil(XMLCollector.parse(try render(bench, .signatories, .html, "Pays Basque")).error)

        let pebbles = try ReportJSON.decoder.decode(PebblesReport.self, from: Data(try render(bench, .pebbles, .json, "Diois").utf8))
        XCTAssertEqual(pebbles.pebbles.map(\.pebble.title), ["Seed library", "Compost"])
        XCTAssertEqual(pebbles.pebbles.map(\.overdue), [true, false], "2026-03-01 is past on 2026-03-02; the laid one is never overdue")
        XCTAssertEqual(pebbles.pebbles.map(\.pebble.status), [.open, .done])
        let pebbleRows = CSVReader.rows(try render(bench, .pebbles, .csv, "Pays Basque")).dropFirst()
        XCTAssertEqual(pebbleRows.map { $0[3] }, ["Repair café"])
        let html = XMLCollector.parse(try render(bench, .pebbles, .html, "Diois"))
        XCTAssertNil(html.error)
        XCTAssertTrue(html.text.contains("Seed library"))
        XCTAssertFalse(html.text.contains("Repair café"))
        XCTAssertEqual(try bench.read { try Territory.all($0).map(\.name) }, ["Diois", "Pays Basque"])
    }
}

struct NoSuchTerritory: Error, CustomStringConvertible {
    var name: String
    var description: String { "no territory named \(name)" }
}

extension Territory {
    /// The territory a name means in a test database (reports take a territory, not a name).
    static func existing(_ name: String, _ db: Database) throws -> Territory {
        guard let territory = try named(name, db) else { throw NoSuchTerritory(name: name) }
        return territory
    }
}

extension FactoryBench {
    func territory(_ name: String) throws -> Territory { try read { try Territory.existing(name, $0) } }
}
