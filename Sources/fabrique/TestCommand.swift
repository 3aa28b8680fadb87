import ArgumentParser
import BotCore
import Foundation
import StdioAdapter

struct TestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test",
        abstract: "Run golden transcripts (.transcript files) and show a diff for each one that fails.",
        discussion: """
            A transcript alternates input lines (`alice@room-1> text`, or bench commands such as /wait 2d) with \
            the lines the bot must answer. `#! facilitators: alice`, `#! territory: NAME`, `#! lang: fr` and \
            `#! clock: 2026-03-01T09:00:00Z` set the bench. Each transcript runs on a fresh in-memory database.
            """)

    @Argument(help: ArgumentHelp("Transcript files or folders (default: the shipped Tests/Transcripts).", valueName: "path"))
    var paths: [String] = []

    @Option(help: ArgumentHelp("Dialogue files or folders.", valueName: "path"))
    var dialogues: [String] = []

    @Option(help: ArgumentHelp("Knowledge folder to import.", valueName: "path"))
    var knowledge: String?

    @Flag(
        help:
            "Re-record: write each transcript's actual output as its new expectation (comments between steps are dropped). Review the diff before committing."
    )
    var update = false

    func run() async throws {
        let roots =
            paths.isEmpty ? (DefaultPaths.home().map { [($0 as NSString).appendingPathComponent("Tests/Transcripts")] } ?? []) : paths
        var files: [String] = []
        for root in roots {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: root, isDirectory: &isDirectory) else {
                throw UserFacingError(description: "no such file or folder: \(root)")
            }
            if isDirectory.boolValue {
                let entries = (try? FileManager.default.subpathsOfDirectory(atPath: root)) ?? []
                files += entries.filter { $0.hasSuffix(".transcript") }.sorted().map { (root as NSString).appendingPathComponent($0) }
            } else {
                files.append(root)
            }
        }
        guard !files.isEmpty else { throw UserFacingError(description: "no .transcript files found") }
        let catalog = try loadCatalog(DefaultPaths.dialogues(dialogues))
        var failed = 0
        for file in files {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw UserFacingError(description: "cannot read \(file) as UTF-8 text")
            }
            let transcript = Transcript(text: text, file: file)
            guard transcript.problems.isEmpty else {
                failed += 1
                print("FAIL \(file)")
                print(transcript.problems.joined(separator: "\n"))
                continue
            }
            let outcome = try await TranscriptHarness.run(
                transcript, catalog: try TranscriptHarness.dialoguePaths(for: transcript).map { try loadCatalog($0) } ?? catalog,
                knowledge: DefaultPaths.knowledge(knowledge), extensions: deployment)
            if update {
                if !outcome.passed { try transcript.recorded(outcome.actual).write(toFile: file, atomically: true, encoding: .utf8) }
                print("\(outcome.passed ? "UNCHANGED" : "RECORDED") \(file)")
                continue
            }
            if outcome.passed {
                print("PASS \(file) (\(transcript.steps.count) steps)")
            } else {
                failed += 1
                print("FAIL \(file)")
                print(outcome.report(file: file))
            }
        }
        print("\(files.count - failed) passed, \(failed) failed")
        if failed > 0 { throw ExitCode(1) }
    }
}
