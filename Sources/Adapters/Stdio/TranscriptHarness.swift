import BotCore
import Foundation
import KnowledgeBase

/// Builds a fresh in-memory engine for a transcript, as its `#!` settings ask, and runs it.
public enum TranscriptHarness {
    public static func configuration(for transcript: Transcript) -> EngineConfiguration {
        EngineConfiguration(
            defaultLanguage: transcript.settings["lang"].flatMap(Language.init(rawValue:)) ?? .en,
            idleTimeout: transcript.settings["idle-timeout"].flatMap(StdioAdapter.duration) ?? 7 * 86400,
            defaultTerritory: transcript.settings["territory"])
    }

    /// - Parameter knowledge: a folder imported into the engine's knowledge base, if any.
    public static func run(_ transcript: Transcript, catalog: DialogueCatalog, knowledge: String?) async throws -> TranscriptOutcome {
        let store = try StateStore(path: nil)
        let index = try KnowledgeIndex(writer: store.writer)
        if let knowledge, FileManager.default.fileExists(atPath: knowledge) { _ = try index.importPaths([knowledge]) }
        let clock = ManualClock(TranscriptRunner.start(for: transcript))
        let engine = Engine(store: store, catalog: catalog, knowledge: index, configuration: configuration(for: transcript), clock: clock.source)
        return await TranscriptRunner.run(transcript, engine: engine, clock: clock, options: TranscriptRunner.options(for: transcript))
    }
}
