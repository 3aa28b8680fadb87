import BotCore
import Factory
import Foundation
import GRDB
import XCTest

@testable import Factory

/// Any dialogue's answers (`!report answers`, `fabrique report answers`), and anonymous questions.
final class AnswersReportTests: XCTestCase {
    /// In the Diois workshop room: bob and carol each take the debrief (a person dialogue), bob with a comment.
    func debriefs() throws -> FactoryBench {
        var bench = try FactoryBench(more: ["Tests/Fixtures/dialogues-survey"])
        try bench.bind("diois", to: "Diois")
        try bench.play(
            [
                ("bob", "!start debrief"), ("bob", "2"), ("bob", "Good <b>pace</b>, \"fine\""), ("bob", "yes"), ("bob", "Shorter breaks"),
                ("carol", "!start debrief"), ("carol", "3"), ("carol", "skip"), ("carol", "no"), ("carol", "More time for questions"),
            ], in: "diois")
        return bench
    }

    func report(_ bench: FactoryBench, language: Language = .en) throws -> AnswersReport {
        try bench.read { db in
            try FactoryReports.answers(
                db, dialogue: "debrief", territory: Territory.existing("Diois", db), room: nil, catalog: bench.engine.catalog,
                language: language,
                now: bench.clock.now)
        }
    }

    func testOneRowPerPersonAndQuestionWithLabelsCommentsRoomAndRun() throws {
        let bench = try debriefs()
        let rows = try report(bench).rows
        let named = rows.filter { !$0.anonymous }.map { "\($0.questionNumber!) \($0.author!) \($0.value)=\($0.label) \($0.replaced)" }
        XCTAssertEqual(
            named,
            [
                "1 bob somewhat=Somewhat false", "1 carol not=Not really false",
                "2 bob yes=yes false", "2 carol no=no false",
            ])
        XCTAssertEqual(rows.first?.comment, "Good <b>pace</b>, \"fine\"", "the comment stays with the answer it was given with")
        XCTAssertTrue(rows.allSatisfy { $0.room == "diois" })
        XCTAssertEqual(Set(rows.compactMap(\.run)), [1])
        XCTAssertEqual(rows.first?.question, "Usefulness", "the question's short name")
        // French labels when the facilitator reads in French.
        XCTAssertEqual(try report(bench, language: .fr).rows.first { $0.author == "carol" }?.label, "Pas vraiment")
    }

    func testAnonymousAnswersAreKeptWithNoLinkToWhoGaveThem() throws {
        let bench = try debriefs()
        let anonymous = try report(bench).rows.filter(\.anonymous)
        XCTAssertEqual(anonymous.map(\.value).sorted(), ["More time for questions", "Shorter breaks"])
        XCTAssertTrue(anonymous.allSatisfy { $0.author == nil && $0.authorID == nil && $0.run == nil })
        // What the store keeps: no author, no event, no session, the day only.
        let stored = try bench.read { db in
            try Row.fetchAll(
                db, sql: "SELECT session_key, author_id, author_name, event_id, answered_at, run FROM answer WHERE step_id = 'honest'")
        }
        XCTAssertEqual(stored.count, 2)
        for row in stored {
            XCTAssertEqual(row["author_id"] as String, "")
            XCTAssertEqual(row["author_name"] as String, "")
            XCTAssertEqual(row["event_id"] as String, "")
            XCTAssertEqual(row["session_key"] as String, "anonymous")
            XCTAssertNil(row["run"] as Int?)
            XCTAssertEqual((row["answered_at"] as Double).truncatingRemainder(dividingBy: 86400), 0, "midnight: the day, not the time")
        }
        // The ended sessions forget them: nothing in the database ties bob to his answer.
        let sessions = try bench.read { db in try String.fetchAll(db, sql: "SELECT state FROM session") }
        XCTAssertFalse(sessions.contains { $0.contains("Shorter breaks") || $0.contains("More time") }, "\(sessions)")
        // And the reports never name anyone for it.
        let csv = try bench.read { db in
            try FactoryReports.render(
                .answers, format: .csv, territory: Territory.existing("Diois", db), dialogue: "debrief", db, catalog: bench.engine.catalog,
                language: .en,
                now: bench.clock.now)
        }
        for line in csv.split(separator: "\r\n") where line.contains("Shorter breaks") || line.contains("More time") {
            XCTAssertFalse(line.contains("bob") || line.contains("carol"), String(line))
        }
    }

    func testAnAnonymousAnswerIsRecordedOnlyWhenItsRunEnds() throws {
        var bench = try FactoryBench(more: ["Tests/Fixtures/dialogues-survey"])
        try bench.bind("diois", to: "Diois")
        try bench.play([("dan", "!start debrief"), ("dan", "1"), ("dan", "skip"), ("dan", "yes")], in: "diois")
        // The last question is open: dan's session would hold his answer, the table has none yet.
        try bench.play([("dan", "stop")], in: "diois")
        XCTAssertEqual(try report(bench).rows.filter(\.anonymous).count, 0)
    }

    func testFromTheChatAsFilesForFacilitatorsOnly() throws {
        var bench = try debriefs()
        let replies = try bench.send("!report answers debrief", in: "diois")
        XCTAssertTrue(replies[0].plain.contains("Answers to “Workshop debrief” — Diois"), replies[0].plain)
        XCTAssertTrue(replies[0].plain.contains("1. Usefulness (2): Not really ×1, Somewhat ×1"), replies[0].plain)
        XCTAssertTrue(replies[0].plain.contains("3. Frankly (2): "), replies[0].plain)
        let files = replies.compactMap(\.attachment)
        XCTAssertEqual(files.map(\.fileName), ["answers-debrief-diois-2026-03-02.html", "answers-debrief-diois-2026-03-02.csv"])
        let html = String(decoding: files[0].data, as: UTF8.self)
        XCTAssertNil(XMLCollector.parse(html).error)
        XCTAssertTrue(html.contains("Good &lt;b&gt;pace&lt;/b&gt;"), "escaped")
        XCTAssertTrue(html.contains("<td>(anonymous)</td>"), "an anonymous answer names nobody")
        let csv = CSVReader.rows(String(decoding: files[1].data, as: UTF8.self))
        XCTAssertEqual(csv.count, 1 + 6, "a header, then one row per answer")
        XCTAssertEqual(
            try bench.say("!report answers nothing-here", in: "diois").first?.hasPrefix("There is no dialogue called nothing-here."), true)
        XCTAssertEqual(try bench.send("!report answers debrief", from: "bob", in: "diois").compactMap(\.attachment), [])
    }

    func testTheLoaderKeepsAnonymousToQuestionsOfPersonDialogues() {
        let yaml = """
            id: x
            title: X
            scope: room
            steps:
              - id: hello
                say: Hello
                anonymous: true
              - id: q
                ask: text
                question: Q?
                anonymous: true
                comment: Why?
            """
        var loader = DialogueLoader()
        _ = loader.loadDialogue(yaml: yaml, file: "x.yaml")
        let messages = loader.diagnostics.map(\.description)
        XCTAssertTrue(messages.contains { $0.contains("a `say` step has no answer to keep apart") }, "\(messages)")
        XCTAssertTrue(messages.contains { $0.contains("an anonymous question takes no comment") }, "\(messages)")
        XCTAssertTrue(messages.contains { $0.contains("x.yaml:11:") && $0.contains("`anonymous` needs `scope: person`") }, "\(messages)")
    }
}
