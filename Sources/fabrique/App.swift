import ArgumentParser
import BotCore
import Factory
import Foundation
import KnowledgeBase
import Logging
import Synchronization

/// Options every command that opens the database shares.
struct CommonOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Database file (default: the user's data directory).", valueName: "path"))
    var db: String?

    @Flag(name: .long, help: "Keep everything in memory; nothing is saved.")
    var ephemeral = false

    @Option(name: .long, help: ArgumentHelp("A dialogue file or folder (repeatable; default: the shipped dialogues).", valueName: "path"))
    var dialogues: [String] = []

    @Option(
        name: .long, help: ArgumentHelp("Knowledge folder imported on first run (default: the shipped knowledge base).", valueName: "path"))
    var knowledge: String?

    @Option(name: .long, help: ArgumentHelp("Log level: trace, debug, info, notice, warning, error, critical.", valueName: "level"))
    var logLevel: Logger.Level = .warning

    func validate() throws {
        if ephemeral, db != nil { throw ValidationError("--ephemeral and --db cannot be used together.") }
    }

    /// The database path to open, nil for memory.
    var databasePath: String? { ephemeral ? nil : (db ?? DefaultPaths.database()) }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}

enum DefaultPaths {
    /// `$XDG_DATA_HOME/fabrique/fabrique.sqlite`, else `~/.local/share/fabrique/fabrique.sqlite`.
    static func database() -> String {
        let env = ProcessInfo.processInfo.environment
        let base =
            env["XDG_DATA_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? (NSHomeDirectory() as NSString).appendingPathComponent(".local/share")
        return (base as NSString).appendingPathComponent("fabrique/fabrique.sqlite")
    }

    /// The folder holding the shipped `dialogues/` and `knowledge/`: `$FABRIQUE_HOME`, else the first
    /// parent of the executable that has both, else the source tree the binary was built from.
    static func home() -> String? {
        let fm = FileManager.default
        func isHome(_ dir: String) -> Bool {
            var isDir: ObjCBool = false
            return fm.fileExists(atPath: (dir as NSString).appendingPathComponent("dialogues"), isDirectory: &isDir) && isDir.boolValue
                && fm.fileExists(atPath: (dir as NSString).appendingPathComponent("knowledge"), isDirectory: &isDir) && isDir.boolValue
        }
        if let env = ProcessInfo.processInfo.environment["FABRIQUE_HOME"], !env.isEmpty { return env }
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var dir = executable.deletingLastPathComponent()
        for _ in 0..<8 {
            if isHome(dir.path) { return dir.path }
            dir = dir.deletingLastPathComponent()
        }
        // Built from a checkout: the source tree is two levels above this file.
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return isHome(source.path) ? source.path : nil
    }

    static func dialogues(_ override: [String]) -> [String] {
        if !override.isEmpty { return override }
        return home().map { [($0 as NSString).appendingPathComponent("dialogues")] } ?? []
    }

    static func knowledge(_ override: String?) -> String? {
        override ?? home().map { ($0 as NSString).appendingPathComponent("knowledge") }
    }

    /// The sentence model's folder (`scripts/model-setup`): `$FABRIQUE_MODEL_DIR`, else `.fabrique-model` in
    /// the home folder, else in the current directory.
    static func model() -> String {
        if let env = ProcessInfo.processInfo.environment["FABRIQUE_MODEL_DIR"], !env.isEmpty { return env }
        return ((home() ?? FileManager.default.currentDirectoryPath) as NSString).appendingPathComponent(".fabrique-model")
    }
}

/// A problem to tell the person at the terminal, then exit with `code`.
struct UserFacingError: Error, CustomStringConvertible {
    var description: String
    var code: Int32 = 1
}

/// Whether the logging system was set up: swift-log traps on a second bootstrap.
let loggingBootstrapped = Mutex(false)

/// A logger writing to standard error at `level`; the first call sets up the logging system.
func makeLogger(_ level: Logger.Level) -> Logger {
    let first = loggingBootstrapped.withLock { done in
        defer { done = true }
        return !done
    }
    if first {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
    var logger = Logger(label: "fabrique")
    logger.logLevel = level
    return logger
}

/// What this build of Fabrique adds to the engine: the Factory's own features.
let deployment: [any EngineExtension] = [FactoryExtension()]

/// Loads dialogues. Strict (reports, transcripts, graphs): any error stops the command. Otherwise (a bot
/// starting) a file with errors is left out, its diagnostics and name go to standard error, and the other
/// files load: one broken file never keeps the rest from serving, and the runs of the one left out are
/// suspended until it is fixed.
func loadCatalog(_ paths: [String], strict: Bool = true) throws -> DialogueCatalog {
    for path in paths where !FileManager.default.fileExists(atPath: path) {
        throw UserFacingError(description: "no such dialogue file or folder: \(path)")
    }
    let (catalog, diagnostics) = DialogueCatalog.load(paths: paths, vocabulary: deployment.vocabulary)
    if diagnostics.hasErrors, !strict {
        let broken = Set(diagnostics.filter { $0.severity == .error }.map(\.location.file)).sorted()
        let report = diagnostics.filter { $0.severity == .error }.map(\.description).joined(separator: "\n")
        FileHandle.standardError.write(
            Data(
                "\(report)\nleft out until fixed: \(broken.joined(separator: ", ")) (run `fabrique dialogues check`); \(catalog.all.count) dialogue\(catalog.all.count == 1 ? "" : "s") loaded\n"
                    .utf8))
        return catalog
    }
    if diagnostics.hasErrors {
        let report = diagnostics.map(\.description).joined(separator: "\n")
        let errors = diagnostics.filter { $0.severity == .error }.count
        throw UserFacingError(
            description:
                "\(report)\nrefusing to start: \(errors) error\(errors == 1 ? "" : "s") in the dialogues (run `fabrique dialogues check`)")
    }
    return catalog
}

/// Opens the database the options name, as a one-line error for the person at the terminal.
func openStore(_ common: CommonOptions) throws -> StateStore {
    do {
        let store = try StateStore(path: common.databasePath)
        try store.install(deployment)
        return store
    } catch {
        throw UserFacingError(description: "\(error)")
    }
}

/// Opens the database, loads dialogues and the knowledge base (importing the starter one into an empty
/// database), and builds the engine.
func makeEngine(
    _ common: CommonOptions, configuration: EngineConfiguration, clock: (@Sendable () -> Date)? = nil, watchDialogues: Bool = false
) throws -> (Engine, StateStore) {
    let logger = makeLogger(common.logLevel)
    let dialoguePaths = DefaultPaths.dialogues(common.dialogues)
    let catalog = try loadCatalog(dialoguePaths, strict: false)
    let store = try openStore(common)
    let knowledge: KnowledgeIndex
    do {
        // Hybrid retrieval when scripts/model-setup has been run; the model loads when first needed.
        let model = SentenceModelSource(directory: DefaultPaths.model()) { reason in logger.notice("\(reason)") }
        knowledge = try KnowledgeIndex(writer: store.writer, sentenceModel: model)
        if try knowledge.isEmpty(), let folder = DefaultPaths.knowledge(common.knowledge), FileManager.default.fileExists(atPath: folder) {
            let report = try knowledge.importPaths([folder])
            logger.info("imported the starter knowledge base", metadata: ["folder": "\(folder)", "report": "\(report)"])
        }
    } catch {
        // The knowledge base lives in the same database: a full disk is said the same way everywhere.
        if let failure = StoreError.writeFailure(error) { throw UserFacingError(description: "\(failure)") }
        throw UserFacingError(description: "cannot prepare the knowledge base: \(error)")
    }
    do {
        let engine = try Engine(
            store: store, catalog: catalog, knowledge: knowledge, extensions: deployment, configuration: configuration,
            clock: clock ?? { Date() }, logger: logger,
            dialogueSource: { DialogueCatalog.load(paths: dialoguePaths, vocabulary: deployment.vocabulary) })
        if watchDialogues { DialogueWatcher(paths: dialoguePaths, engine: engine, logger: logger).start() }
        PassageEmbedder(knowledge: knowledge, logger: logger).start()
        return (engine, store)
    } catch {
        throw UserFacingError(description: "\(error)")
    }
}

/// Watches the dialogue files (every two seconds, by modification time and size) and reloads them into the
/// engine when one changes, is added or is removed: an author's valid edit serves from the next message, a
/// broken file is refused with its diagnostics in the log and its previous version stays in service.
struct DialogueWatcher: Sendable {
    let paths: [String]
    let engine: Engine
    let logger: Logger

    /// Each YAML file under the paths with its modification time and size.
    func snapshot() -> [String: String] {
        var files: [String: String] = [:]
        // The files the catalog loads, found the same way (subfolders included).
        for path in paths {
            for file in DialogueCatalog.yamlFiles(at: path) {
                let attributes = try? FileManager.default.attributesOfItem(atPath: file)
                let modified = (attributes?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
                files[file] = "\(modified) \(attributes?[.size] as? Int ?? -1)"
            }
        }
        return files
    }

    func start() {
        Task.detached {
            var last = snapshot()
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(2))
                let now = snapshot()
                guard now != last else { continue }
                last = now
                guard let outcome = engine.reloadDialogues() else { return }
                logger.info("dialogue files changed: reloaded", metadata: ["dialogues": "\(outcome.loaded.count)"])
                for diagnostic in outcome.diagnostics where diagnostic.severity == .error {
                    logger.warning("\(diagnostic.description)")
                }
                if !outcome.refused.isEmpty {
                    logger.warning("refused (previous version kept in service): \(outcome.refused.joined(separator: ", "))")
                }
            }
        }
    }
}

/// Computes the vectors of passages that have none (the starter knowledge base at first start, documents
/// added since) in the background, at start and then every minute, so that the chat starts at once and
/// answers with BM25 alone until every passage has its vector. Loads the sentence model only when there
/// is something to embed; without it, does nothing after saying so once.
struct PassageEmbedder: Sendable {
    let knowledge: KnowledgeIndex
    let logger: Logger
    static let interval = Duration.seconds(60)

    func start() {
        guard knowledge.sentenceModel != nil else { return }
        Task.detached(priority: .utility) {
            while !Task.isCancelled {
                do {
                    let start = ContinuousClock.now
                    let computed = try knowledge.embedMissingPassages()
                    if computed > 0 {
                        logger.info(
                            "passage vectors computed", metadata: ["passages": "\(computed)", "time": "\(ContinuousClock.now - start)"])
                    }
                } catch {
                    logger.warning("cannot compute passage vectors: \(error)")
                }
                if knowledge.sentenceModel?.isUnavailable == true { return }
                try? await Task.sleep(for: Self.interval)
            }
        }
    }
}
