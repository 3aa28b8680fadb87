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

    @Option(name: .customLong("facilitator-level"), help: ArgumentHelp("Power level from which a member is a facilitator (default 50).", valueName: "n"))
    var facilitatorLevel: Int?

    @Option(name: .customLong("facilitator"), help: ArgumentHelp("A user who facilitates whatever their power level (repeatable).", valueName: "user-id"))
    var facilitators: [String] = []

    @Option(name: .customLong("allow-invites-from"), help: ArgumentHelp("A user id or server whose invites are accepted (repeatable; default: the bot's own server).", valueName: "user-or-server"))
    var allowInvitesFrom: [String] = []

    @Flag(help: "Check the connection (whoami) and print what was found, then exit.")
    var check = false

    @Option(name: .customLong("init-config"), help: ArgumentHelp("Write a commented starter config file (mode 600, never overwritten), then exit.", valueName: "file"))
    var initConfig: String?

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

        /// The key of the secret the file holds (a password or an access token), if any.
        var secretKey: String? {
            if let password, !password.isEmpty { return "password" }
            if let access_token, !access_token.isEmpty { return "access token" }
            return nil
        }
    }

    func validate() throws {
        if let lang, Language(rawValue: lang) == nil { throw ValidationError("--lang must be fr or en, not '\(lang)'.") }
        if let prefix, prefix.isEmpty || prefix.count > 3 || prefix.contains(where: \.isWhitespace) {
            throw ValidationError("--prefix must be one to three characters without spaces.")
        }
        if let user, !Self.isUserID(user) { throw ValidationError("--user must look like @name:server, not '\(user)'.") }
        if initConfig != nil, config != nil || check { throw ValidationError("--init-config cannot be used with --config or --check.") }
        if initConfig != nil, let homeserver, Self.homeserverURL(homeserver) == nil {
            throw ValidationError("--homeserver must be an http(s) URL, not '\(homeserver)'.")
        }
    }

    /// `text` as a homeserver URL, if it is an http(s) URL with a host.
    static func homeserverURL(_ text: String) -> URL? {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https", url.host != nil else { return nil }
        return url
    }

    /// A config file error by position and problem only: Yams quotes the offending line, and in a config
    /// file that line may be the password.
    static func describeWithoutText(_ error: any Error) -> String {
        switch error {
        case let YamlError.scanner(context, problem, mark, _), let YamlError.parser(context, problem, mark, _),
            let YamlError.composer(context, problem, mark, _):
            return "line \(mark.line), column \(mark.column): \(context?.description ?? "")\(problem)"
        case let YamlError.reader(problem, offset, _, _):
            return "\(problem)\(offset.map { " at byte \($0)" } ?? "")"
        case let YamlError.duplicatedKeysInMapping(duplicates, _):
            return "duplicated keys: \(duplicates.joined(separator: ", "))"
        case let error as DecodingError:
            func dotted(_ path: [any CodingKey]) -> String { path.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".") }
            switch error {
            case .keyNotFound(let key, let c): return "`\(dotted(c.codingPath + [key]))` is missing"
            case .typeMismatch(_, let c), .valueNotFound(_, let c), .dataCorrupted(let c):
                let key = dotted(c.codingPath)
                return key.isEmpty ? "not a mapping of settings" : "the value of `\(key)` is not what that setting takes"
            @unknown default: return "unreadable settings"
            }
        default:
            return "unreadable YAML"
        }
    }

    static func isUserID(_ text: String) -> Bool {
        text.hasPrefix("@") && text.dropFirst().contains(":") && !text.contains(where: \.isWhitespace)
    }

    /// Reads the config file, refusing one that holds a secret and that group or others can access.
    func loadFile(logger: Logger) throws -> FileSettings {
        guard let config else { return FileSettings() }
        // The mode and the text come from the same open file, so the file checked is the file read.
        let fd = open(config, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw UserFacingError(description: "cannot read the config file \(config): \(String(cString: strerror(errno)))")
        }
        let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw UserFacingError(description: "cannot read the config file \(config): \(String(cString: strerror(errno)))")
        }
        let data: Data
        do {
            data = try handle.readToEnd() ?? Data()
        } catch {
            throw UserFacingError(description: "cannot read the config file \(config): \(error.localizedDescription)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw UserFacingError(description: "cannot read the config file \(config): not UTF-8 text")
        }
        let settings: FileSettings
        do {
            settings = try YAMLDecoder().decode(FileSettings.self, from: text)
        } catch {
            throw UserFacingError(description: "\(config): not a valid Matrix configuration: \(Self.describeWithoutText(error))")
        }
        // Only a file on disk has permissions worth checking (not a pipe such as <(…)).
        let mode = UInt32(info.st_mode)
        if mode & UInt32(S_IFMT) == UInt32(S_IFREG), mode & 0o077 != 0 {
            let octal = String(format: "%04o", mode & 0o7777)
            let fix = "chmod 600 \(Self.shellQuoted(config))"
            if let secret = settings.secretKey {
                throw UserFacingError(description: "refusing to start: the config file \(config) holds a \(secret) but its mode \(octal) lets group or others access it; run `\(fix)`")
            }
            logger.warning("the config file \(config) has mode \(octal): group or others can access it; run `\(fix)` before putting a password in it")
        }
        return settings
    }

    /// `path` as one shell word.
    static func shellQuoted(_ path: String) -> String {
        let plain = path.allSatisfy { $0.isLetter || $0.isNumber || "/._-+:@,=".contains($0) }
        return plain && !path.isEmpty ? path : "'" + path.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    /// `--init-config`: a commented starter config, created owner-only in one `open` (O_CREAT|O_EXCL, mode
    /// 0600), so it never exists with wider permissions and never replaces an existing file.
    func writeStarterConfig(_ path: String) throws {
        let text = Self.starterConfig(homeserver: homeserver, user: user)
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            let code = errno
            if code == EEXIST { throw UserFacingError(description: "\(path) already exists; not overwriting it (remove it or choose another file)") }
            throw UserFacingError(description: "cannot create \(path): \(String(cString: strerror(code)))")
        }
        var failure: Int32 = 0
        // A umask may have taken bits away; owner read and write, nothing else.
        if fchmod(fd, 0o600) != 0 { failure = errno }
        let bytes = Array(text.utf8)
        var written = 0
        while failure == 0, written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno != EINTR { failure = errno }
            } else {
                written += n
            }
        }
        if failure == 0, fsync(fd) != 0 { failure = errno }
        if close(fd) != 0, failure == 0 { failure = errno }
        guard failure == 0 else {
            unlink(path)
            throw UserFacingError(description: "cannot write \(path): \(String(cString: strerror(failure)))")
        }
        let quoted = Self.shellQuoted(path)
        print("""
            wrote \(path) (mode 600: readable by you only)
            next: edit it (homeserver, user; uncomment `password:` or set FABRIQUE_MATRIX_PASSWORD), then run
              fabrique matrix --config \(quoted) --check
              fabrique matrix --config \(quoted)
            """)
    }

    /// The starter config: every key of ``FileSettings`` that people set, with its default, commented.
    static func starterConfig(homeserver: String?, user: String?) -> String {
        func quoted(_ text: String) -> String {
            "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
        }
        return """
            # Fabrique's Matrix settings, for `fabrique matrix --config FILE`.
            # The environment (FABRIQUE_MATRIX_TOKEN, FABRIQUE_MATRIX_PASSWORD) and the flags override them.
            # Keep this file readable by its owner only (chmod 600): Fabrique refuses to start when it holds
            # a password that group or others can read.

            homeserver: \(quoted(homeserver ?? "https://matrix.example.org"))
            user: \(quoted(user ?? "@fabrique:example.org"))
            # With a password, the bot logs in once and keeps its access token in the database.
            # password: "..."                   # or FABRIQUE_MATRIX_PASSWORD in the environment
            command_prefix: "!"
            language: en                         # fr or en
            # Whose invites are accepted (users or servers); default: the bot's own server.
            # invite_allow_list: [example.org, "@ana:other.org"]
            facilitators:
              power_level: 50                    # members from this power level facilitate
              users: []                          # and these users, whatever their level
            names: [fabrique]                    # what people call the bot
            reactions: true                      # seed 1️⃣ 2️⃣ … under questions

            """
    }

    /// Merges file, environment and flags into the adapter's configuration.
    func matrixConfiguration(_ file: FileSettings, environment: [String: String]) throws -> MatrixConfiguration {
        guard let server = homeserver ?? file.homeserver else {
            throw UserFacingError(description: "no homeserver: give --homeserver URL or `homeserver:` in the config file")
        }
        guard let url = Self.homeserverURL(server) else {
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
        if let initConfig { return try writeStarterConfig(initConfig) }
        let file = try loadFile(logger: makeLogger(common.logLevel))
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
