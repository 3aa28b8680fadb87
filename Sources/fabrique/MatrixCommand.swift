import ArgumentParser
import BotCore
import Foundation
import Logging
import MatrixAdapter

/// `fabrique matrix`: serves the rooms of one Matrix account.
struct MatrixCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "matrix",
        abstract: "Serve Matrix rooms: join the rooms the bot is invited to and answer there.",
        discussion: """
            Settings come from, in increasing priority: the config file (--config, YAML), the environment \
            (FABRIQUE_MATRIX_TOKEN, FABRIQUE_MATRIX_PASSWORD), then the flags. With a password, the access token \
            and device id are stored in the database and reused on the next start. Config file keys:

              homeserver: https://matrix.example.org
              user: "@fabrique:example.org"
              password: …                      # or FABRIQUE_MATRIX_PASSWORD
              command_prefix: "!"
              language: fr                     # fr or en
              invite_allow_list: [example.org, "@ana:other.org"]   # default: the bot's own server
              facilitators: { power_level: 50, users: ["@ana:example.org"] }
              names: [fabrique]                # what people call the bot
              reactions: true                  # seed 1️⃣ 2️⃣ … under questions

            `--init-config FILE` writes a commented starter config there (homeserver and user from the flags), \
            readable by its owner only (mode 600), and never overwrites an existing file. A config file that holds a \
            password and that group or others can read is refused (fix: chmod 600 FILE); without one, a warning.
            """)

    @OptionGroup var common: CommonOptions

    @Option(help: ArgumentHelp("YAML configuration file.", valueName: "file"))
    var config: String?

    @Option(help: ArgumentHelp("Homeserver URL, e.g. https://matrix.example.org.", valueName: "url"))
    var homeserver: String?

    @Option(help: ArgumentHelp("The bot's user id, e.g. @fabrique:example.org.", valueName: "user-id"))
    var user: String?

    @Option(help: ArgumentHelp("Command prefix.", valueName: "prefix"))
    var prefix: String?

    @Option(help: ArgumentHelp("Default language: fr or en.", valueName: "lang"))
    var lang: String?

    @Option(
        name: .customLong("facilitator-level"),
        help: ArgumentHelp("Power level from which a member is a facilitator (default 50).", valueName: "n"))
    var facilitatorLevel: Int?

    @Option(
        name: .customLong("facilitator"),
        help: ArgumentHelp("A user who facilitates whatever their power level (repeatable).", valueName: "user-id"))
    var facilitators: [String] = []

    @Option(
        name: .customLong("allow-invites-from"),
        help: ArgumentHelp(
            "A user id or server whose invites are accepted (repeatable; default: the bot's own server).", valueName: "user-or-server"))
    var allowInvitesFrom: [String] = []

    @Flag(help: "Check the connection (whoami) and print what was found, then exit.")
    var check = false

    @Option(
        name: .customLong("init-config"),
        help: ArgumentHelp("Write a commented starter config file (mode 600, never overwritten), then exit.", valueName: "file"))
    var initConfig: String?

    func validate() throws {
        if let lang, Language(rawValue: lang) == nil { throw ValidationError("--lang must be fr or en, not '\(lang)'.") }
        if let prefix, prefix.isEmpty || prefix.count > 3 || prefix.contains(where: \.isWhitespace) {
            throw ValidationError("--prefix must be one to three characters without spaces.")
        }
        if let user, !MatrixConfiguration.isUserID(user) { throw ValidationError("--user must look like @name:server, not '\(user)'.") }
        if initConfig != nil, config != nil || check { throw ValidationError("--init-config cannot be used with --config or --check.") }
        if initConfig != nil, let homeserver, MatrixConfiguration.homeserverURL(homeserver) == nil {
            throw ValidationError("--homeserver must be an http(s) URL, not '\(homeserver)'.")
        }
    }

    /// The config file's settings (none without `--config`).
    func loadFile(logger: Logger) throws -> MatrixConfiguration.File {
        guard let config else { return MatrixConfiguration.File() }
        return try MatrixConfiguration.File.load(path: config, logger: logger)
    }

    /// What the flags set over the config file.
    var overrides: MatrixConfiguration.Overrides {
        MatrixConfiguration.Overrides(
            homeserver: homeserver, user: user, commandPrefix: prefix, facilitatorPowerLevel: facilitatorLevel,
            facilitators: facilitators, inviteAllowList: allowInvitesFrom)
    }

    /// `--init-config`: the adapter writes the starter config; this says what to do next.
    func writeStarterConfig(_ path: String) throws {
        try MatrixConfiguration.File.writeStarter(to: path, homeserver: homeserver, user: user)
        let quoted = MatrixConfiguration.File.shellQuoted(path)
        print(
            """
            wrote \(path) (mode 600: readable by you only)
            next: edit it (homeserver, user; uncomment `password:` or set FABRIQUE_MATRIX_PASSWORD), then run
              fabrique matrix --config \(quoted) --check
              fabrique matrix --config \(quoted)
            """)
    }

    func run() async throws {
        let file: MatrixConfiguration.File
        let matrix: MatrixConfiguration
        do {
            if let initConfig { return try writeStarterConfig(initConfig) }
            file = try loadFile(logger: makeLogger(common.logLevel))
            matrix = try MatrixConfiguration(file: file, overrides: overrides, environment: ProcessInfo.processInfo.environment)
        } catch let error as MatrixConfigurationError {
            throw UserFacingError(description: error.description)
        }
        if check { return try await runCheck(matrix, logger: makeLogger(common.logLevel)) }

        let language = (lang ?? file.language).flatMap(Language.init(rawValue:)) ?? .en
        var names = ["fabrique"] + (file.names ?? [])
        if let userID = matrix.userID, let local = userID.dropFirst().split(separator: ":").first { names.append(String(local)) }
        var engineConfiguration = EngineConfiguration(
            commandPrefix: matrix.commandPrefix, botNames: Array(Set(names.map { $0.lowercased() })).sorted(), defaultLanguage: language)
        engineConfiguration.territoryCreators = Set(file.territories?.creators ?? [])
        engineConfiguration.localFacilitatorsCreateTerritories = file.territories?.localFacilitators ?? true
        // One person's flood costs one polite message, not a reply each (the terminal has no limit).
        engineConfiguration.personBurst = file.rateLimit?.burst ?? 10
        engineConfiguration.personRefill = file.rateLimit?.refillSeconds ?? 6
        if let megabytes = file.knowledge?.maxFileMB {
            guard megabytes > 0, megabytes <= 2_000 else {
                throw ValidationError("knowledge.max_file_mb must be between 0 and 2000 (megabytes), not \(megabytes)")
            }
            engineConfiguration.maximumSharedFileSize = Int(megabytes * 1_000_000)
        }
        // makeEngine bootstraps the logging system (once per process); this logger comes after it.
        let (engine, store) = try makeEngine(common, configuration: engineConfiguration, watchDialogues: true)
        var logger = Logger(label: "fabrique.matrix")
        logger.logLevel = common.logLevel
        // libcurl's verbose output (credentials redacted) only when asked for: it is a line per header.
        let traceHTTP = logger.logLevel == .trace && ProcessInfo.processInfo.environment["FABRIQUE_HTTP_TRACE"] == "1"
        let http = CurlHTTPClient(trace: traceHTTP ? logger : nil)
        let adapter = MatrixAdapter(configuration: matrix, store: store, http: http, logger: logger)
        do {
            let identity = try await adapter.connect()
            logger.notice("connected to Matrix", metadata: ["user": "\(identity.userID)", "homeserver": "\(matrix.homeserver)"])
            // The runner, the adapter and the sync loop all run on the HTTP client's thread: a reply costs
            // no thread hand-off between the homeserver's answer, the engine's turn and the send.
            try await http.runOnTransportThread { try await EngineRunner(engine: engine, adapter: adapter, logger: logger).run() }
        } catch let error as MatrixAdapterError {
            throw UserFacingError(description: error.description)
        } catch let error as EncryptionError {
            throw UserFacingError(description: error.description)
        } catch let error as RunnerError {
            throw UserFacingError(description: error.description)
        }
    }

    /// `--check`: whoami and a short report, without starting the engine.
    func runCheck(_ matrix: MatrixConfiguration, logger: Logger) async throws {
        let store = try openStore(common)
        let adapter = MatrixAdapter(configuration: matrix, store: store, logger: logger)
        do {
            let report = try await adapter.checkReport()
            print(report)
        } catch let error as MatrixAdapterError {
            throw UserFacingError(description: "check failed: \(error.description)")
        } catch let error as MatrixError {
            throw UserFacingError(description: "check failed: \(error.description)")
        } catch let error as EncryptionError {
            throw UserFacingError(description: "check failed: \(error.description)")
        }
    }
}
