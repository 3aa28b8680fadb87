import BotCore
import FabriqueTesting
import Foundation
import GRDB
import StdioAdapter
import XCTest

/// Kill `fabrique chat` with SIGKILL in the middle of a scripted conversation, start it again on the same
/// database with the same input, and check that the two runs together said exactly what one run says.
final class CrashTests: XCTestCase {
    /// Three people in a room dialogue and one in a personal dialogue, interleaved.
    let script = """
        alice@room-1> !start workshop
        alice@room-1> 1, 3
        carol@room-1> 2
        bob@room-1> 4, we cooperate a lot
        carol@room-1> side chat, not an answer
        dave@room-2> !start demo
        dave@room-2> 3
        alice@room-1> next
        dave@room-2> no
        alice@room-1> 25
        alice@room-1> a shared garden
        dave@room-2> A place where everyone has a say.
        alice@room-1> done
        """

    var lines: [String] { script.split(separator: "\n").map(String.init) }

    func arguments(db: String?) -> [String] {
        [
            "chat", "--input-id", "crash", "--clock", "2026-03-02T09:00:00Z", "--facilitators", "alice", "--territory", "Drôme",
            "--dialogues", Repo.path("Tests/Fixtures/dialogues"), "--dialogues", Repo.path("dialogues/demo.yaml"),
        ]
            + (db.map { ["--db", $0] } ?? ["--ephemeral"])
    }

    func reference() throws -> [String] {
        let run = try FabriqueProcess.launch(arguments(db: nil))
        run.send(lines.map { $0 + "\n" }.joined())
        XCTAssertEqual(run.finish(), 0, run.errorOutput)
        return run.nonBlankLines
    }

    func temporaryDatabase() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fabrique-crash-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return dir.appendingPathComponent("state.sqlite").path
    }

    /// Runs the script once, killed with SIGKILL according to `crash`, then again in full; returns both outputs.
    func crashAndResume(crash: (FabriqueProcess) -> Void, environment: [String: String?] = [:]) throws -> ([String], [String]) {
        let db = try temporaryDatabase()
        let first = try FabriqueProcess.launch(arguments(db: db), environment: environment)
        crash(first)
        let firstLines = first.nonBlankLines
        let second = try FabriqueProcess.launch(arguments(db: db))
        second.send(lines.map { $0 + "\n" }.joined())
        XCTAssertEqual(second.finish(), 0, second.errorOutput)
        try assertAnswersStoredOnce(db)
        return (firstLines, second.nonBlankLines.map(Self.withoutRoomTag))
    }

    /// The script gives 8 answers: workshop 1 + 2 (two people rate) + 1 + 1, demo 3. Each stored once,
    /// with the comment bob gave with his answer; carol's side chat is none.
    func assertAnswersStoredOnce(_ db: String) throws {
        let store = try StateStore(path: db)
        try store.writer.read { db in
            XCTAssertEqual(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM answer"), 8)
            XCTAssertEqual(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM (SELECT DISTINCT event_id, step_id FROM answer)"), 8)
            XCTAssertEqual(
                try String.fetchOne(db, sql: "SELECT comment FROM answer WHERE author_id = 'bob' AND step_id = 'rating'"),
                "we cooperate a lot")
            XCTAssertEqual(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL"), 0)
        }
    }

    /// A restarted terminal re-sends pending replies before anyone has typed, so it tags them with their
    /// room ("[room-1] …"); the words must be the same.
    static func withoutRoomTag(_ line: String) -> String {
        guard line.hasPrefix("["), let close = line.firstIndex(of: "]"), line[line.index(after: close)...].hasPrefix(" ") else {
            return line
        }
        return String(line[line.index(close, offsetBy: 2)...])
    }

    /// Killed while waiting for input, after a random number of lines was fully answered.
    func testKillWhileIdleLosesNothingAndRepeatsNothing() throws {
        let expected = try reference()
        // How many output lines each prefix of the input produces, from a reference run per prefix length.
        for cut in [3, 7, 11] {
            let partial = try FabriqueProcess.launch(arguments(db: nil))
            partial.send(lines.prefix(cut).map { $0 + "\n" }.joined())
            XCTAssertEqual(partial.finish(), 0)
            let linesAfterCut = partial.nonBlankLines.count
            let (before, after) = try crashAndResume(crash: { process in
                process.send(self.lines.prefix(cut).map { $0 + "\n" }.joined())
                XCTAssertTrue(process.waitForLines(linesAfterCut), "no answer to the first \(cut) lines")
                Thread.sleep(forTimeInterval: 0.05)
                process.kill()
            })
            XCTAssertEqual(before.count, linesAfterCut)
            XCTAssertEqual(
                before + after, expected, "cut after line \(cut):\n" + LineDiff.render(expected: expected, actual: before + after))
        }
    }

    /// Runs the whole script with a deliberate SIGKILL at `crashPoint`, then again in full.
    func assertCrashAt(_ crashPoint: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let expected = try reference()
        let (before, after) = try crashAndResume(
            crash: { process in
                process.send(self.lines.map { $0 + "\n" }.joined())
                process.finish()  // the crash point ends it before the input does
            }, environment: ["FABRIQUE_CRASH_AT": crashPoint])
        XCTAssertLessThan(before.count, expected.count, "the crash point was never reached", file: file, line: line)
        XCTAssertEqual(before + after, expected, LineDiff.render(expected: expected, actual: before + after), file: file, line: line)
    }

    /// Killed inside the transaction of a message (never committed): the message is handled again after restart.
    func testKillBeforeCommitReprocessesTheMessage() throws {
        try assertCrashAt("before-commit:crash:8")
    }

    /// Killed after the commit and before the replies were sent: the outbox sends them on restart, once.
    func testKillBetweenCommitAndSendResendsFromTheOutbox() throws {
        try assertCrashAt("after-commit:crash:5")
    }

    /// `!kb add` killed inside its transaction (after the download) or between its commit and its reply: the
    /// restart adds the document once and says so once, and the question after it is answered from it.
    func testKillDuringKnowledgeAddAddsOnceAndSaysItOnce() throws {
        let script = [
            "bob@room-1> /share \(Repo.path("Tests/Fixtures/uploads/hedge-planting.md"))", "alice@room-1> /reply file !kb add",
            "bob@room-1> !ask when should we plant a hedge?",
        ].map { $0 + "\n" }.joined()
        func arguments(_ db: String?) -> [String] {
            ["chat", "--input-id", "kb", "--facilitators", "alice", "--territory", "Drôme"] + (db.map { ["--db", $0] } ?? ["--ephemeral"])
        }
        let reference = try FabriqueProcess.launch(arguments(nil))
        reference.send(script)
        XCTAssertEqual(reference.finish(), 0, reference.errorOutput)
        let expected = reference.nonBlankLines
        XCTAssertTrue(expected.contains { $0.hasPrefix("I added Planting a hedge") }, "\(expected)")
        for point in ["before-commit:kb:2", "after-commit:kb:2"] {
            let db = try temporaryDatabase()
            let first = try FabriqueProcess.launch(arguments(db), environment: ["FABRIQUE_CRASH_AT": point])
            first.send(script)
            first.finish()
            XCTAssertFalse(first.nonBlankLines.contains { $0.hasPrefix("I added") }, "\(point): the crash point was never reached")
            let second = try FabriqueProcess.launch(arguments(db))
            second.send(script)
            XCTAssertEqual(second.finish(), 0, second.errorOutput)
            let both = first.nonBlankLines + second.nonBlankLines.map(Self.withoutRoomTag)
            XCTAssertEqual(both, expected, "\(point):\n" + LineDiff.render(expected: expected, actual: both))
            let documents = try StateStore(path: db).writer.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM kb_room_document")
            }
            XCTAssertEqual(documents, 1, point)
        }
    }
}
