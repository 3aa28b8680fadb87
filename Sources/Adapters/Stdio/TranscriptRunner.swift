import BotCore
import Foundation
import Synchronization

/// Plays a transcript through an engine, in process, turn by turn, and compares each turn's output.
public enum TranscriptRunner {
    /// The bench options a transcript's `#!` settings ask for.
    public static func options(for transcript: Transcript, inputID: String = "transcript") -> StdioAdapter.Options {
        var options = StdioAdapter.Options()
        options.inputID = inputID
        options.room = transcript.settings["room"]
        if let user = transcript.settings["user"] { options.user = user }
        if let prefix = transcript.settings["prefix"] { options.commandPrefix = prefix }
        if let list = transcript.settings["members"] {
            options.members = list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        if let list = transcript.settings["facilitators"] {
            options.facilitators = Set(list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
        }
        return options
    }

    /// The clock start a transcript asks for (`#! clock: 2026-03-01T09:00:00Z`), or a fixed default.
    public static func start(for transcript: Transcript) -> Date {
        transcript.settings["clock"].flatMap { ISO8601DateFormatter().date(from: $0) } ?? Date(timeIntervalSince1970: 1_780_000_000)
    }

    /// How a transcript writes the folder files go to, whatever folder it was on this run.
    public static let filesPlaceholder = "$FILES"

    /// Runs every step: the line goes through the stdio adapter's parser, the engine handles it, timers
    /// run, and the replies are rendered as the terminal would show them. Files the bot sends go to a
    /// temporary folder, shown as ``filesPlaceholder``, and removed at the end.
    public static func run(
        _ transcript: Transcript, engine: Engine, clock: ManualClock, options: StdioAdapter.Options
    ) async -> TranscriptOutcome {
        var options = options
        let files = (NSTemporaryDirectory() as NSString).appendingPathComponent("fabrique-transcript-\(UUID().uuidString)")
        options.filesDirectory = files
        defer { try? FileManager.default.removeItem(atPath: files) }
        let buffer = Mutex("")
        let adapter = StdioAdapter(
            options: options, clock: clock, readLine: { nil },
            write: { text in buffer.withLock { $0 += text.replacingOccurrences(of: files, with: filesPlaceholder) } })
        var mismatches: [TranscriptOutcome.Mismatch] = []
        var outputs: [[String]] = []
        for (index, step) in transcript.steps.enumerated() {
            buffer.withLock { $0 = "" }
            do {
                if let event = adapter.interpret(step.input, lineNumber: index + 1) {
                    let fetched = try await engine.fetchFile(for: event, from: adapter)
                    for reply in try engine.handle(event, fetched: fetched) {
                        try await adapter.deliver(reply)
                        try engine.markDelivered(reply.id)
                    }
                }
                for reply in try engine.tick() {
                    try await adapter.deliver(reply)
                    try engine.markDelivered(reply.id)
                }
            } catch {
                buffer.withLock { $0 += "error: \(error)\n" }
            }
            let actual = Transcript.lines(of: buffer.withLock { $0 })
            outputs.append(actual)
            if actual != step.expected { mismatches.append(.init(step: step, actual: actual)) }
        }
        return TranscriptOutcome(mismatches: mismatches, actual: outputs)
    }
}
