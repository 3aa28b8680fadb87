import BotCore
import Foundation
import KnowledgeBase

/// Builds a fresh in-memory engine for a transcript, as its `#!` settings ask, and runs it.
public enum TranscriptHarness {
    public static func configuration(for transcript: Transcript) -> EngineConfiguration {
        EngineConfiguration(
            commandPrefix: transcript.settings["prefix"] ?? "!",
            defaultLanguage: transcript.settings["lang"].flatMap(Language.init(rawValue:)) ?? .en,
            idleTimeout: transcript.settings["idle-timeout"].flatMap(StdioAdapter.duration) ?? 7 * 86400,
            defaultTerritory: transcript.settings["territory"])
    }

    /// The dialogue folders a transcript asks for with `#! dialogues: PATH` (relative to the transcript),
    /// or nil for the caller's default.
    public static func dialoguePaths(for transcript: Transcript) -> [String]? {
        guard let setting = transcript.settings["dialogues"] else { return nil }
        let base = (transcript.file as NSString).deletingLastPathComponent
        return setting.split(separator: ",").map { part in
            let path = part.trimmingCharacters(in: .whitespaces)
            return path.hasPrefix("/") ? path : (base as NSString).appendingPathComponent(path)
        }
    }

    /// The `fabrique chat` arguments that give the same bench as the transcript's settings.
    public static func chatArguments(for transcript: Transcript) -> [String] {
        var args = ["--clock", ISO8601DateFormatter().string(from: TranscriptRunner.start(for: transcript))]
        let s = transcript.settings
        if let v = s["facilitators"] { args += ["--facilitators", v] }
        if let v = s["territory"] { args += ["--territory", v] }
        if let v = s["members"] { args += ["--members", v] }
        if let v = s["lang"] { args += ["--lang", v] }
        if let v = s["room"] { args += ["--room", v] }
        if let v = s["user"] { args += ["--as", v] }
        if let v = s["idle-timeout"] { args += ["--idle-timeout", v] }
        if let v = s["prefix"] { args += ["--prefix", v] }
        for path in dialoguePaths(for: transcript) ?? [] { args += ["--dialogues", path] }
        if changesFiles(transcript) { args += ["--bench-files", (transcript.file as NSString).deletingLastPathComponent] }
        return args
    }

    /// Whether the transcript changes dialogue files (`/swap`, `/remove`): it then runs on a working copy of
    /// its `#! dialogues:` folder, and `/swap` reads its files from the transcript's folder.
    public static func changesFiles(_ transcript: Transcript) -> Bool {
        transcript.steps.contains { step in
            let typed = StdioAdapter.speaker(in: step.input)?.text ?? step.input
            return typed.hasPrefix("/swap ") || typed.hasPrefix("/remove ")
        }
    }

    /// A transcript that changes dialogue files (``changesFiles(_:)``) runs on a working copy of its
    /// `#! dialogues:` folder, loaded from there (`catalog` is then not used).
    ///
    /// - Parameters:
    ///   - knowledge: a folder imported into the engine's knowledge base, if any.
    ///   - extensions: what the deployment adds to the engine (its commands, actions, timers).
    public static func run(
        _ transcript: Transcript, catalog: DialogueCatalog, knowledge: String?, extensions: [any EngineExtension] = []
    ) async throws -> TranscriptOutcome {
        let store = try StateStore(path: nil)
        let index = try KnowledgeIndex(writer: store.writer)
        if let knowledge, FileManager.default.fileExists(atPath: knowledge) { _ = try index.importPaths([knowledge]) }
        let clock = ManualClock(TranscriptRunner.start(for: transcript))
        var options = TranscriptRunner.options(for: transcript)
        var catalog = catalog
        var source: (@Sendable () -> (DialogueCatalog, [Diagnostic]))?
        if changesFiles(transcript), let paths = dialoguePaths(for: transcript) {
            // The bench changes a copy, never the transcript's own files; the catalog is loaded from it.
            let copy = try StdioAdapter.workingCopy(of: paths)
            options.dialogueFolder = copy
            options.fixturesFolder = (transcript.file as NSString).deletingLastPathComponent
            let vocabulary = extensions.vocabulary
            source = { DialogueCatalog.load(paths: [copy], vocabulary: vocabulary) }
            catalog = DialogueCatalog.load(paths: [copy], vocabulary: vocabulary).0
        }
        defer { if let copy = options.dialogueFolder { try? FileManager.default.removeItem(atPath: copy) } }
        let engine = try Engine(
            store: store, catalog: catalog, knowledge: index, extensions: extensions, configuration: configuration(for: transcript),
            clock: clock.source, dialogueSource: source)
        return await TranscriptRunner.run(transcript, engine: engine, clock: clock, options: options)
    }
}
