import FabriqueTesting
import Foundation
import XCTest

/// `fabrique report` from the shell: any dialogue's answers, territories found whatever their case and
/// accents, and an unknown territory refused with the known ones listed.
final class ReportCommandTests: XCTestCase {
    func run(_ arguments: [String], input: String? = nil) throws -> (status: Int32, output: String, error: String) {
        let process = try FabriqueProcess.launch(arguments)
        if let input { process.send(input) }
        let status = process.finish()
        return (status, process.output, process.errorOutput)
    }

    func testAnswersOfAnyDialogueAndTerritoriesByFoldedName() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fabrique-report-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let db = directory.appendingPathComponent("f.sqlite").path
        let dialogues = ["--dialogues", Repo.path("dialogues"), "--dialogues", Repo.path("Tests/Fixtures/dialogues-survey")]
        let chat = try run(
            ["chat", "--db", db, "--room", "atelier", "--as", "ana"] + dialogues,
            input: """
                !territory set Vallée de la Drôme
                !start debrief
                1
                skip
                yes
                More silence, please
                """)
        XCTAssertEqual(chat.status, 0, chat.error)
        XCTAssertTrue(chat.output.contains("This room now works for Vallée de la Drôme."), chat.output)

        let csv = try run(
            ["report", "answers", "--dialogue", "debrief", "--territory", "vallee de la DROME", "--format", "csv", "--db", db] + dialogues)
        XCTAssertEqual(csv.status, 0, csv.error)
        let lines = csv.output.split(separator: "\r\n").map(String.init)
        XCTAssertEqual(lines.count, 4, csv.output)
        XCTAssertTrue(
            lines[0].hasPrefix("dialogue,territory,question_number,question_id,question,anonymous,author,author_id,answered_at,value"))
        XCTAssertTrue(lines[1].contains("Vallée de la Drôme,1,useful,Usefulness,no,ana,ana,"), lines[1])
        XCTAssertTrue(lines[3].contains(",3,honest,Frankly,yes,,,"), "anonymous: no author: \(lines[3])")

        let unknown = try run(["report", "inventory", "--territory", "Drome", "--db", db] + dialogues)
        XCTAssertEqual(unknown.status, 1)
        XCTAssertTrue(
            unknown.error.contains("no territory 'Drome' in this database (known territories: Vallée de la Drôme)"), unknown.error)
        let noDialogue = try run(["report", "answers", "--dialogue", "debreif", "--db", db] + dialogues)
        XCTAssertEqual(noDialogue.status, 1)
        XCTAssertTrue(noDialogue.error.contains("no dialogue 'debreif'"), noDialogue.error)
    }

    /// Killed after the report request's commit and before its files were written: the restart writes them
    /// from the outbox, once. A report request is never lost.
    func testAReportRequestSurvivesACrashBeforeItsFilesAreWritten() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fabrique-report-crash-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let db = directory.appendingPathComponent("f.sqlite").path, files = directory.appendingPathComponent("out").path
        let arguments = [
            "chat", "--db", db, "--files", files, "--room", "atelier", "--as", "ana", "--input-id", "rep", "--clock",
            "2026-03-02T09:00:00Z",
        ]
        let input = "!territory set Drôme\n!start inventory\n2\n!report inventory\n"
        let crashed = try FabriqueProcess.launch(arguments, environment: ["FABRIQUE_CRASH_AT": "after-commit:rep:4"])
        crashed.send(input)
        XCTAssertNotEqual(crashed.finish(), 0, "the crash point kills it")
        XCTAssertFalse(crashed.output.contains("📎"), "killed before any file went out")
        XCTAssertEqual((try? FileManager.default.contentsOfDirectory(atPath: files)) ?? [], [])

        let resumed = try FabriqueProcess.launch(arguments)
        resumed.send(input)
        XCTAssertEqual(resumed.finish(), 0, resumed.errorOutput)
        let written = try FileManager.default.contentsOfDirectory(atPath: files).sorted()
        XCTAssertEqual(Array(written.prefix(2)), ["inventory-drome-2026-03-02.csv", "inventory-drome-2026-03-02.html"])
        XCTAssertEqual(written.dropFirst(2), resumed.output.contains("No profile picture") ? [] : ["profile-drome-2026-03-02.png"])
        XCTAssertEqual(resumed.output.components(separatedBy: "inventory-drome-2026-03-02.html").count, 2, "sent once: \(resumed.output)")
        let mode = try FileManager.default.attributesOfItem(atPath: files + "/" + written[0])[.posixPermissions] as? Int
        XCTAssertEqual(mode, 0o600, "a report holds people's answers: owner-only")
    }
}
