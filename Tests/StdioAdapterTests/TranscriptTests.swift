import BotCore
import FabriqueTesting
import Factory
import Foundation
import StdioAdapter
import XCTest

/// Every golden transcript in Tests/Transcripts, run twice: in process through the engine, turn by turn,
/// and through the built `fabrique chat` binary reading standard input.
final class TranscriptTests: XCTestCase {
    func transcripts() throws -> [Transcript] {
        let files = Repo.transcripts()
        XCTAssertGreaterThanOrEqual(files.count, 4, "the core transcripts are missing")
        return try files.map { Transcript(text: try String(contentsOfFile: $0, encoding: .utf8), file: $0) }
    }

    func catalog(for transcript: Transcript) throws -> DialogueCatalog {
        let paths = TranscriptHarness.dialoguePaths(for: transcript) ?? [Repo.path("dialogues")]
        let (catalog, diagnostics) = DialogueCatalog.load(paths: paths, vocabulary: [FactoryExtension()].vocabulary)
        XCTAssertFalse(diagnostics.hasErrors, diagnostics.map(\.description).joined(separator: "\n"))
        return catalog
    }

    func testTranscriptsThroughTheEngine() async throws {
        for transcript in try transcripts() {
            XCTAssertEqual(transcript.problems, [], "\(transcript.file)")
            let outcome = try await TranscriptHarness.run(
                transcript, catalog: try catalog(for: transcript), knowledge: Repo.path("knowledge"), extensions: [FactoryExtension()])
            XCTAssert(outcome.passed, outcome.report(file: transcript.file))
        }
    }

    func testTranscriptsThroughTheBinary() throws {
        for transcript in try transcripts() {
            let files = (NSTemporaryDirectory() as NSString).appendingPathComponent("fabrique-transcript-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(atPath: files) }
            let args =
                ["chat", "--ephemeral", "--input-id", "transcript", "--files", files] + TranscriptHarness.chatArguments(for: transcript)
            let process = try FabriqueProcess.launch(args)
            process.send(transcript.inputText)
            let status = process.finish()
            XCTAssertEqual(status, 0, "\(transcript.file): exit \(status); stderr: \(process.errorOutput)")
            let actual = Transcript.lines(of: process.output.replacingOccurrences(of: files, with: TranscriptRunner.filesPlaceholder))
            XCTAssertEqual(
                actual, transcript.expectedLines,
                "\(transcript.file) through the binary:\n" + LineDiff.render(expected: transcript.expectedLines, actual: actual))
        }
    }

    /// A mistyped setting or a transcript with no input is a failure that says why, not "0 steps" passed;
    /// a failing step's diff says which side is expected.
    func testAStrictTranscriptFormat() async throws {
        let typo = Transcript(text: "#! facilitator: alice\n#! lang fr\nalice@room-1> !help\n", file: "t.transcript")
        XCTAssertEqual(
            typo.problems,
            [
                "t.transcript:1: unknown setting 'facilitator'; did you mean 'facilitators'?",
                "t.transcript:2: a setting is written `#! name: value`",
            ])
        XCTAssertEqual(
            Transcript(text: "# only a comment\n", file: "e.transcript").problems,
            [
                "e.transcript:1: no input line (`name@room> text`): this transcript tests nothing"
            ])
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("fabrique-tx-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let empty = folder.appendingPathComponent("empty.transcript")
        try "# nothing here\n".write(to: empty, atomically: true, encoding: .utf8)
        let process = try FabriqueProcess.launch(["test", empty.path])
        XCTAssertEqual(process.finish(), 1, "an empty transcript fails")
        XCTAssertTrue(process.output.contains("no input line"), process.output)
    }

    /// The comparison itself must catch a changed line, or every transcript test would pass vacuously.
    func testAChangedExpectationFails() async throws {
        let file = Repo.path("Tests/Transcripts/core/demo-en.transcript")
        let text = try String(contentsOfFile: file, encoding: .utf8).replacingOccurrences(
            of: "Please answer yes or no.", with: "Please answer maybe.")
        let transcript = Transcript(text: text, file: file)
        let outcome = try await TranscriptHarness.run(
            transcript, catalog: try catalog(for: transcript), knowledge: nil, extensions: [FactoryExtension()])
        XCTAssertEqual(outcome.mismatches.count, 1)
        XCTAssertTrue(outcome.report(file: "x").contains("--- expected (the transcript)\n+++ actual (the bot now)"))
        XCTAssertTrue(outcome.report(file: "x").contains("-Please answer maybe."))
        XCTAssertTrue(outcome.report(file: "x").contains("+Please answer yes or no."))
    }
}
