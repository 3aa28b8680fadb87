import ArgumentParser
import BotCore
import Foundation
import Logging
import MatrixAdapter
import Yams

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

    @Option(name: .customLong("facilitator-level"), help: ArgumentHelp("Power level from which a member is a facilitator (default 50).", valueName: "n"))
    var facilitatorLevel: Int?

    @Option(name: .customLong("facilitator"), help: ArgumentHelp("A user who facilitates whatever their power level (repeatable).", valueName: "user-id"))
    var facilitators: [String] = []

    @Option(name: .customLong("allow-invites-from"), help: ArgumentHelp("A user id or server whose invites are accepted (repeatable; default: the bot's own server).", valueName: "user-or-server"))
    var allowInvitesFrom: [String] = []

    @Flag(help: "Check the connection (whoami) and print what was found, then exit.")
    var check = false

    /// The config file's keys.
    struct FileSettings: Decodable {
        struct Facilitators: Decodable {
            var power_level: Int?
            var users: [String]?
        }
        var homeserver: String?
        var user: String?
        var password: String?
        var access_token: String?
        var command_prefix: String?
        var language: String?
        var invite_allow_list: [String]?
        var facilitators: Facilitators?
        var names: [String]?
        var reactions: Bool?
    }

    func validate() throws {
        if let lang, Language(rawValue: lang) == nil { throw ValidationError("--lang must be fr or en, not '\(lang)'.") }
        if let prefix, prefix.isEmpty || prefix.count > 3 || prefix.contains(where: \.isWhitespace) {
            throw ValidationError("--prefix must be one to three characters without spaces.")
        }
        if let user, !Self.isUserID(user) { throw ValidationError("--user must look like @name:server, not '\(user)'.") }
    }

    static func isUserID(_ text: String) -> Bool {
        text.hasPrefix("@") && text.dropFirst().contains(":") && !text.contains(where: \.isWhitespace)
    }

    func loadFile() throws -> FileSettings {
        guard let config else { return FileSettings() }
        let text: String
        do {
            text = try String(contentsOfFile: config, encoding: .utf8)
        } catch {
            throw UserFacingError(description: "cannot read the config file \(config): \(error.localizedDescription)")
        }
        do {
            return try YAMLDecoder().decode(FileSettings.self, from: text)
        } catch {
            throw UserFacingError(description: "\(config): not a valid Matrix configuration: \(error)")
        }
    }

    /// Merges file, environment and flags into the adapter's configuration.
    func matrixConfiguration(_ file: FileSettings, environment: [String: String]) throws -> MatrixConfiguration {
        guard let server = homeserver ?? file.homeserver else {
            throw UserFacingError(description: "no homeserver: give --homeserver URL or `homeserver:` in the config file")
        }
        guard let url = URL(string: server), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https", url.host != nil else {
            throw UserFacingError(description: "the homeserver must be an http(s) URL, not '\(server)'")
        }
        let userID = user ?? file.user
        if let userID, !Self.isUserID(userID) { throw UserFacingError(description: "the user must look like @name:server, not '\(userID)'") }
        let token = environment["FABRIQUE_MATRIX_TOKEN"].flatMap { $0.isEmpty ? nil : $0 } ?? file.access_token
        let password = environment["FABRIQUE_MATRIX_PASSWORD"].flatMap { $0.isEmpty ? nil : $0 } ?? file.password
        if token == nil, password == nil || userID == nil {
            throw UserFacingError(description: MatrixAdapterError.noCredentials.description)
        }
        let policy = MatrixPolicy(
            facilitatorPowerLevel: facilitatorLevel ?? file.facilitators?.power_level ?? 50,
            facilitators: Set(facilitators.isEmpty ? file.facilitators?.users ?? [] : facilitators),
            inviteAllowList: allowInvitesFrom.isEmpty ? file.invite_allow_list ?? [] : allowInvitesFrom)
        var configuration = MatrixConfiguration(
            homeserver: url, userID: userID, accessToken: token.map(AccessToken.init), password: password, policy: policy,
            commandPrefix: prefix ?? file.command_prefix ?? "!", offerReactions: file.reactions ?? true)
        // For the fault scripts (scripts/faults/matrix-slow-server): every request, /sync included, gives up
        // after this many seconds; the long poll takes half of it.
        if let text = environment["FABRIQUE_MATRIX_CLIENT_TIMEOUT"], let seconds = Double(text), seconds >= 1, seconds <= 300 {
            configuration.requestTimeout = seconds
            configuration.syncTimeoutMS = Int(seconds * 500)
        }
        return configuration
    }

    func run() async throws {
        let file = try loadFile()
        let matrix = try matrixConfiguration(file, environment: ProcessInfo.processInfo.environment)
        if check { return try await runCheck(matrix, logger: makeLogger(common.logLevel)) }

        let language = (lang ?? file.language).flatMap(Language.init(rawValue:)) ?? .en
        var names = ["fabrique"] + (file.names ?? [])
        if let userID = matrix.userID, let local = userID.dropFirst().split(separator: ":").first { names.append(String(local)) }
        let engineConfiguration = EngineConfiguration(
            commandPrefix: matrix.commandPrefix, botNames: Array(Set(names.map { $0.lowercased() })).sorted(), defaultLanguage: language)
        // makeEngine bootstraps the logging system (once per process); this logger comes after it.
        let (engine, store) = try makeEngine(common, configuration: engineConfiguration)
        var logger = Logger(label: "fabrique.matrix")
        logger.logLevel = common.logLevel
        let adapter = MatrixAdapter(configuration: matrix, store: store, logger: logger)
        do {
            let identity = try await adapter.connect()
            logger.notice("connected to Matrix", metadata: ["user": "\(identity.userID)", "homeserver": "\(matrix.homeserver)"])
            try await EngineRunner(engine: engine, adapter: adapter, logger: logger).run()
        } catch let error as MatrixAdapterError {
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
        }
    }
}
