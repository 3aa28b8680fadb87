import BotCore
import FabriqueTesting
import GRDB
import Foundation
import XCTest

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

@testable import MatrixAdapter

/// Reports as files over a real Synapse (issue 16): a facilitator asks for each report in the room and in
/// her direct room with the bot; the test downloads what the bot uploaded (authenticated media, as clients
/// do) and reads it: the HTML page (escaped, naming the territory), the CSV (parsed, one row per answer),
/// the profile picture (a PNG of the size its event states). A member asking gets a polite no, and no file.
final class MatrixReportTests: MatrixIntegrationCase {
    override func setUp() async throws { try await setUp(ratelimited: false) }

    /// Markup in the territory's name and in a comment: the HTML must show it, never run it.
    static let territory = "Drôme <Sud> & Co"

    func testAFacilitatorGetsEachReportAsFilesInTheRoomAndInHerDirectRoom() async throws {
        let ana = try await person("ana"), bo = try await person("bo"), botUser = try await person("fab")
        let room = try await ana.createRoom(name: "Reports \(tag)", invite: [bo.userID, botUser.userID])
        try await bo.join(room)
        let bot = try makeBot(botUser)
        try bot.start()
        try await waitForJoin(botUser, room, viewer: ana, process: bot)

        try await ask(ana, "!territory set \(Self.territory)", in: room, bot: botUser, process: bot)
        try await ask(ana, "!start inventory", in: room, bot: botUser, process: bot)
        try await ask(bo, "3 <b>patchy</b> & slow", in: room, bot: botUser, process: bot)
        try await ask(ana, "2", in: room, bot: botUser, process: bot)
        try await ask(ana, "next", in: room, bot: botUser, process: bot)
        try await ask(bo, "4", in: room, bot: botUser, process: bot)

        // The inventory in the room: a summary, the HTML, the CSV and the chart.
        let (summary, files) = try await report(ana, "!report inventory", in: room, bot: botUser, process: bot, expecting: 3)
        XCTAssertTrue(summary.body.contains("Inventory of \(Self.territory)"), summary.body)
        XCTAssertEqual(files.map(\.msgtype), ["m.file", "m.file", "m.image"])
        let html = String(decoding: try await ana.download(files[0]), as: UTF8.self)
        XCTAssertEqual(files[0].content["info"]?["mimetype"]?.string, "text/html; charset=utf-8")
        XCTAssertEqual(files[0].content["info"]?["size"]?.int, html.utf8.count, "the stated size is the file's")
        XCTAssertTrue(html.contains("Drôme &lt;Sud&gt; &amp; Co"), "names the territory, escaped")
        XCTAssertTrue(html.contains("&lt;b&gt;patchy&lt;/b&gt; &amp; slow"), "the comment, escaped")
        XCTAssertFalse(html.contains("<b>patchy</b>"), "people's markup never runs")
        let csv = CSV.rows(String(decoding: try await ana.download(files[1]), as: UTF8.self))
        let header = try XCTUnwrap(csv.first)
        let author = try XCTUnwrap(header.firstIndex(of: "author_id")), value = try XCTUnwrap(header.firstIndex(of: "value"))
        let answers = csv.dropFirst().filter { !$0[author].isEmpty }
        XCTAssertEqual(answers.count, 3, "one row per answer: bo and ana on question 1, bo on question 2")
        XCTAssertEqual(Set(answers.map { "\($0[author])=\($0[value])" }), ["\(bo.userID)=3", "\(ana.userID)=2", "\(bo.userID)=4"])
        XCTAssertTrue(csv.dropFirst().allSatisfy { $0.count == header.count }, "every row has every column")
        let png = try await ana.download(files[2])
        XCTAssertEqual(Array(png.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], "a PNG")
        XCTAssertEqual(Array(png[12..<16]), Array("IHDR".utf8))
        let width = png[16..<20].reduce(0) { $0 << 8 | Int($1) }, height = png[20..<24].reduce(0) { $0 << 8 | Int($1) }
        XCTAssertEqual(files[2].content["info"]?["w"]?.int, width)
        XCTAssertEqual(files[2].content["info"]?["h"]?.int, height)
        XCTAssertEqual(files[2].content["info"]?["mimetype"]?.string, "image/png")
        XCTAssertGreaterThan(height, 400, "twenty questions, one row each")

        try await ask(ana, "!pebble add Bike survey; Karim", in: room, bot: botUser, process: bot)
        for (kind, rows) in [("signatories", 0), ("pebbles", 1)] {
            let (summary, files) = try await report(ana, "!report \(kind)", in: room, bot: botUser, process: bot, expecting: 2)
            XCTAssertTrue(summary.body.contains(Self.territory), summary.body)
            XCTAssertEqual(files.map(\.body).map { $0.hasPrefix(kind + "-drome-sud-co-") }, [true, true], "\(files.map(\.body))")
            let page = String(decoding: try await ana.download(files[0]), as: UTF8.self)
            XCTAssertTrue(page.contains("Drôme &lt;Sud&gt; &amp; Co"), kind)
            let table = CSV.rows(String(decoding: try await ana.download(files[1]), as: UTF8.self))
            XCTAssertEqual(table.count, 1 + rows, "\(kind): a header and one row per signature or pebble")
            if kind == "pebbles" {
                XCTAssertTrue(page.contains("<td>Reports \(tag)</td>"), "the room by the name its state gives")
                XCTAssertFalse(page.contains(room), "no raw room id")
            }
        }

        // Any dialogue's answers: one row per person and question.
        let (answersSummary, answerFiles) = try await report(
            ana, "!report answers inventory", in: room, bot: botUser, process: bot, expecting: 2)
        XCTAssertTrue(answersSummary.body.contains("Answers to “Territory inventory” — \(Self.territory)"), answersSummary.body)
        XCTAssertEqual(answerFiles.map(\.msgtype), ["m.file", "m.file"])
        let answerRows = CSV.rows(String(decoding: try await ana.download(answerFiles[1]), as: UTF8.self))
        XCTAssertEqual(answerRows.count, 1 + 3, "a header and the three answers")
        let answersPage = String(decoding: try await ana.download(answerFiles[0]), as: UTF8.self)
        XCTAssertTrue(answersPage.contains("&lt;b&gt;patchy&lt;/b&gt;"), "escaped")

        // A member asking is refused, and gets no file.
        let (refusal, none) = try await report(bo, "!report inventory", in: room, bot: botUser, process: bot, expecting: 0)
        XCTAssertEqual(refusal.body, "Only a facilitator can post a report.")
        XCTAssertEqual(none.count, 0)

        // Her direct room with the bot reaches the territory once she brings it there with a code.
        let direct = try await ana.createRoom(name: "ana and fab", invite: [botUser.userID], direct: true)
        try await waitForJoin(botUser, direct, viewer: ana, process: bot)
        let (noTerritory, _) = try await report(ana, "!report inventory", in: direct, bot: botUser, process: bot, expecting: 0)
        XCTAssertTrue(noTerritory.body.contains("territory join CODE"), noTerritory.body)
        // The code for her direct room comes to her there, privately (issue 21).
        let invitation = try await ask(ana, "!territory invite \(direct)", in: room, bot: botUser, process: bot)
        XCTAssertEqual(invitation.body, "I sent you the code for that room in our direct chat.")
        let privately = try await waitForBotMessages(atLeast: 2, in: direct, bot: botUser, viewer: ana, process: bot)
        let words = (privately.last?.body ?? "").split(separator: " ").map { $0.trimmingCharacters(in: .punctuationCharacters) }
        let code = try XCTUnwrap(words.first { $0.count == 19 && $0.split(separator: "-").count == 4 }, privately.last?.body ?? "")
        try await ask(ana, "!territory join \(code)", in: direct, bot: botUser, process: bot)
        let (dmSummary, dmFiles) = try await report(ana, "!report inventory", in: direct, bot: botUser, process: bot, expecting: 3)
        XCTAssertTrue(dmSummary.body.contains("Inventory of \(Self.territory)"), dmSummary.body)
        let dmCSV = CSV.rows(String(decoding: try await ana.download(dmFiles[1]), as: UTF8.self))
        XCTAssertEqual(dmCSV.dropFirst().filter { !$0[author].isEmpty }.count, 3, "the same answers, from the direct room")
    }

    // MARK: Helpers

    /// How many messages the bot's turn for `event` queued (its replies and files).
    func queued(for event: String) throws -> Int {
        try StateStore(path: workDirectory.appendingPathComponent("bot.sqlite").path).writer.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM outbox WHERE cause_event_id = ?", arguments: [event]) ?? 0
        }
    }

    /// `who` says `text` in `room`; returns the bot's first message after it.
    @discardableResult
    func ask(_ who: TestUser, _ text: String, in room: String, bot: TestUser, process: FabriqueProcess) async throws -> BotMessage {
        try await report(who, text, in: room, bot: bot, process: process, expecting: nil).0
    }

    /// `who` says `text`; returns the bot's first message after it (a rich reply in a group room, a plain
    /// message in a direct room), and the `expecting` file messages that follow it (any, when nil).
    func report(
        _ who: TestUser, _ text: String, in room: String, bot: TestUser, process: FabriqueProcess, expecting: Int?,
        file: StaticString = #filePath, line: UInt = #line
    ) async throws -> (BotMessage, [BotMessage]) {
        let event = try await who.say(room, text)
        var summary: BotMessage?
        var files: [BotMessage] = []
        try await eventually(
            "a reply and \(expecting ?? 0) files after \(text)", room: room, viewer: who, bot: process, file: file, line: line
        ) {
            let history = try await who.history(room)
            guard let start = history.firstIndex(where: { $0["event_id"]?.string == event }) else { return false }
            let after = history[(start + 1)...].compactMap { BotMessage($0, bot: bot.userID) }
            summary = after.first
            files = after.dropFirst().filter { $0.msgtype == "m.file" || $0.msgtype == "m.image" }
            return summary != nil && files.count >= (expecting ?? 0)
        }
        if expecting == 0 {
            // Nothing more is coming: the turn committed every message it had.
            XCTAssertEqual(try queued(for: event), 1, "a reply and no file", file: file, line: line)
        }
        return (summary!, files)
    }
}

extension TestUser {
    /// The bytes of an `m.file` / `m.image` message's media, through authenticated media
    /// (`GET /_matrix/client/v1/media/download/{server}/{id}`), as clients fetch it today.
    func download(_ message: BotMessage) async throws -> Data {
        guard let uri = message.content["url"]?.string, uri.hasPrefix("mxc://") else { throw TestFailure("no mxc url: \(message.content)") }
        let parts = uri.dropFirst("mxc://".count).split(separator: "/", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { throw TestFailure("bad mxc url \(uri)") }
        var request = URLRequest(
            url: URL(
                string: server.url.absoluteString.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
                    + "/_matrix/client/v1/media/download/\(Self.seg(parts[0]))/\(Self.seg(parts[1]))")!)
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        let (data, response) = try await URLSession.shared.data(for: request)
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        guard status == 200 else { throw TestFailure("download \(uri) → \(status)") }
        return data
    }
}

/// Just enough RFC 4180 to read the reports back: quoted fields, doubled quotes, CRLF rows.
enum CSV {
    static func rows(_ text: String) -> [[String]] {
        var rows: [[String]] = [], row: [String] = [], field = "", quoted = false
        var characters = Array(text)[...]
        while let c = characters.popFirst() {
            if quoted {
                if c == "\"" {
                    if characters.first == "\"" {
                        field.append("\"")
                        characters.removeFirst()
                    } else {
                        quoted = false
                    }
                } else {
                    field.append(c)
                }
            } else if c == "\"" {
                quoted = true
            } else if c == "," {
                row.append(field)
                field = ""
            } else if c == "\r\n" || c == "\n" {
                row.append(field)
                rows.append(row)
                row = []
                field = ""
            } else {
                field.append(c)
            }
        }
        if !field.isEmpty || !row.isEmpty { rows.append(row + [field]) }
        return rows
    }
}
