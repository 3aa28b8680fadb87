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
}
