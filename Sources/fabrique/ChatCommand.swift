import ArgumentParser
import BotCore
import Foundation
import Logging
import StdioAdapter

struct ChatCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat",
        abstract: "Chat with Fabrique in the terminal (also a test bench for dialogue authors).",
        discussion: """
            You are one person in one room; bench commands switch: /as NAME, /in ROOM, /dm, /who, /wait 2h \
            (with --clock), /quit. A line `alice@room-1> text` speaks as alice in room-1. Rooms named dm-… are \
            direct rooms; in other rooms Fabrique answers only when addressed ("fabrique: …", a !command) or \
            when a dialogue waits for you.
            When standard input is not a terminal, lines are read and replies written without decoration, \
            so transcripts can be piped in and compared.
            """)

    @OptionGroup var common: CommonOptions

    @Option(name: .customLong("as"), help: ArgumentHelp("Who you are at the start.", valueName: "name"))
    var user = "you"

    @Option(help: ArgumentHelp("Start in this room (default: a direct room with the bot).", valueName: "room"))
    var room: String?

    @Option(help: ArgumentHelp("Comma-separated people who are facilitators (default: everyone).", valueName: "names"))
    var facilitators: String?

    @Option(
        help: ArgumentHelp(
            "Comma-separated people in every group room from the start, besides those who speak there (whom `!send` reaches).",
            valueName: "names"))
    var members: String?

    @Option(
        name: .customLong("bench-files"),
        help: ArgumentHelp(
            "Serve a temporary copy of the dialogues, which the bench's /swap FILE NEW (NEW read from this folder) and /remove FILE change (transcripts of file edits).",
            valueName: "dir"))
    var benchFiles: String?

    @Option(help: ArgumentHelp("Territory of rooms that have none set.", valueName: "name"))
    var territory: String?

    @Option(help: ArgumentHelp("Default language: fr or en.", valueName: "lang"))
    var lang: String = "en"

    @Option(help: ArgumentHelp("Start straight into this dialogue.", valueName: "id"))
    var dialogue: String?

    @Option(help: ArgumentHelp("Command prefix.", valueName: "prefix"))
    var prefix = "!"

    @Option(
        name: .customLong("input-id"),
        help: ArgumentHelp(
            "Stable id of this input: replaying the same input with the same id on the same database skips lines already handled.",
            valueName: "id"))
    var inputID: String?

    @Option(
        help: ArgumentHelp(
            "Write the files the bot sends (reports) here (default: a reports folder next to the database; a temporary folder with --ephemeral).",
            valueName: "dir"))
    var files: String?

    @Option(help: ArgumentHelp("Use a test clock starting at this time (ISO 8601); /wait moves it.", valueName: "time"))
    var clock: String?

    @Option(
        name: .customLong("idle-timeout"), help: ArgumentHelp("Pause dialogues idle for this long (30m, 12h, 7d).", valueName: "duration"))
    var idleTimeout = "7d"

    func validate() throws {
        guard Language(rawValue: lang) != nil else { throw ValidationError("--lang must be fr or en, not '\(lang)'.") }
        guard StdioAdapter.isName(user) else { throw ValidationError("--as must be a name of letters, digits, - _ or .") }
        if let room, !StdioAdapter.isName(room) { throw ValidationError("--room must be a name of letters, digits, - _ or .") }
        if let clock, ISO8601DateFormatter().date(from: clock) == nil {
            throw ValidationError("--clock must be an ISO 8601 time such as 2026-03-01T09:00:00Z, not '\(clock)'.")
        }
        if StdioAdapter.duration(idleTimeout) == nil {
            throw ValidationError("--idle-timeout must look like 30m, 12h or 7d, not '\(idleTimeout)'.")
        }
        if prefix.isEmpty || prefix.count > 3 || prefix.contains(where: \.isWhitespace) {
            throw ValidationError("--prefix must be 1 to 3 characters without spaces.")
        }
    }

    func run() async throws {
        let manualClock = clock.flatMap { ISO8601DateFormatter().date(from: $0) }.map(ManualClock.init)
        let configuration = EngineConfiguration(
            commandPrefix: prefix, defaultLanguage: Language(rawValue: lang) ?? .en,
            idleTimeout: StdioAdapter.duration(idleTimeout) ?? 7 * 86400, defaultTerritory: territory)
        var common = common
        var workingCopy: String?
        if benchFiles != nil {
            workingCopy = try StdioAdapter.workingCopy(of: DefaultPaths.dialogues(common.dialogues))
            common.dialogues = workingCopy.map { [$0] } ?? []
        }
        defer { if let workingCopy { try? FileManager.default.removeItem(atPath: workingCopy) } }
        let (engine, _) = try makeEngine(
            common, configuration: configuration, clock: manualClock?.source, watchDialogues: manualClock == nil)
        if let dialogue, engine.catalog.script(named: dialogue) == nil {
            throw UserFacingError(description: "no dialogue '\(dialogue)'; known: \(engine.catalog.all.map(\.id).joined(separator: ", "))")
        }
        var options = StdioAdapter.Options()
        options.user = user
        options.room = room
        options.dialogueFolder = workingCopy
        options.fixturesFolder = benchFiles
        options.commandPrefix = prefix
        options.members = (members ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        options.facilitators = facilitators.map { list in Set(list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }) }
        options.interactive = isatty(STDIN_FILENO) == 1
        if let inputID { options.inputID = inputID }
        options.filesDirectory =
            files ?? common.databasePath.map { (($0 as NSString).deletingLastPathComponent as NSString).appendingPathComponent("reports") }
        let adapter = StdioAdapter(options: options, clock: manualClock, initialLines: dialogue.map { ["\(prefix)start \($0)"] } ?? [])
        if options.interactive {
            print(
                "Fabrique \(Fabrique.version) — \(engine.catalog.all.count) dialogues. Type \(prefix)help, or /help for the bench. /quit to leave."
            )
        }
        do {
            // The terminal stops at the first database failure: the person sees why at once, and replaying
            // the same input with --input-id resumes where it stopped.
            try await EngineRunner(engine: engine, adapter: adapter, logger: Logger(label: "fabrique.chat"), storeRetries: 0).run()
        } catch {
            throw UserFacingError(description: "\(error)")
        }
    }
}
