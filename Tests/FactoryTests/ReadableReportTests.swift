import BotCore
import Foundation
import GRDB
import XCTest

@testable import Factory

/// Reports people can read: rooms by name, a chart line that never crosses an unanswered question, the
/// question's title said once, people by id with their name beside it.
final class ReadableReportTests: XCTestCase {
    func testTheProfileLineBreaksAtUnansweredQuestions() throws {
        var bench = try FactoryBench()
        try bench.bind("diois", to: "Diois")
        // Questions 1, 2, then 4 and 5: question 3 has no answer.
        try bench.play(
            [
                ("alice", "!start inventory"), ("bob", "2"), ("alice", "next"), ("bob", "3"), ("alice", "question 4"), ("bob", "1"),
                ("alice", "next"), ("bob", "4"),
            ], in: "diois")
        let report = try bench.read { db in
            try FactoryReports.inventory(
                db, territory: Territory.existing("Diois", db), catalog: bench.engine.catalog, language: .en, now: bench.clock.now)
        }
        XCTAssertEqual(report.questions.prefix(5).map { $0.spread != nil }, [true, true, false, true, true])
        let lines = XMLCollector.parse(ProfileChart.svg(report)).attributes.compactMap { $0["points"] }
        XCTAssertEqual(lines.count, 2, "one line for questions 1–2, one for 4–5: \(lines)")
        XCTAssertEqual(lines.map { $0.split(separator: " ").count }, [2, 2])
        // One person: the page says so as the chat does, not "1 people".
        let html = ReportHTML.inventory(report)
        XCTAssertTrue(html.contains(">1 person · 4 answers · 4 of 20 questions answered · "), html)
        XCTAssertTrue(ReportMarkdown.inventory(report, compact: true).contains("1 person, 4 answers, 4 of 20 questions answered"))
    }

    func testTheQuestionsTitleIsNotRepeatedInItsText() throws {
        let bench = try FactoryBench()
        let report = try bench.read { db in
            // A territory with no answers yet: the questions are all there.
            try FactoryReports.inventory(
                db, territory: Territory(id: "t-9", name: "Diois"), catalog: bench.engine.catalog, language: .en, now: bench.clock.now)
        }
        XCTAssertEqual(report.questions[0].title, "Metabolism")
        XCTAssertTrue(report.questions[0].text.hasPrefix("How well do we know the flows"), report.questions[0].text)
        let html = ReportHTML.inventory(report)
        XCTAssertFalse(html.contains("Metabolism. How well"), "the title once, then the question")
    }

    func testRoomsAreShownByTheNameTheAdapterSaw() throws {
        let bench = try FactoryBench()
        let room = "!RMUc5s0xyz:example.org"
        let named = IncomingMessage(
            roomID: room, senderID: "@alice:example.org", senderName: "alice", text: "!territory set Diois", eventID: "$n1",
            timestamp: bench.clock.now, senderIsFacilitator: true, roomName: "Atelier <Diois>")
        try bench.engine.handle(.message(named))
        var pebble = named
        pebble.eventID = "$n2"
        pebble.text = "!pebble add School garden; Marie"
        try bench.engine.handle(.message(pebble))
        let report = try bench.read { db in
            try FactoryReports.pebbles(db, territory: Territory.existing("Diois", db), language: .en, now: bench.clock.now)
        }
        XCTAssertTrue(ReportMarkdown.pebbles(report).contains(#"- Atelier \<Diois\> #1"#), ReportMarkdown.pebbles(report))
        let html = ReportHTML.pebbles(report)
        XCTAssertTrue(html.contains("<td>Atelier &lt;Diois&gt;</td>"), html)
        XCTAssertFalse(html.contains("RMUc5s0"), "no raw room id in the page")
        let csv = CSVReader.rows(ReportCSV.pebbles(report))
        XCTAssertEqual(csv[1][csv[0].firstIndex(of: "room")!], room, "the CSV keeps the id for tools")
        XCTAssertEqual(csv[1][csv[0].firstIndex(of: "room_name")!], "Atelier <Diois>")
        // A renamed room: the name follows; a message without a name changes nothing.
        var renamed = named
        renamed.eventID = "$n3"
        renamed.text = "hello"
        renamed.roomName = "Atelier du Diois"
        try bench.engine.handle(.message(renamed))
        var unnamed = renamed
        unnamed.eventID = "$n4"
        unnamed.roomName = nil
        try bench.engine.handle(.message(unnamed))
        XCTAssertEqual(try bench.read { db in try FactoryReports.roomNames(db) }, [room: "Atelier du Diois"])
    }
}
