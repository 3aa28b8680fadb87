import Foundation
import Logging
import Yams

extension MatrixConfiguration {
    /// The settings file of `fabrique matrix --config FILE` (YAML), key by key. The environment and the
    /// command line override it: ``MatrixConfiguration/init(file:overrides:environment:)``.
    ///
    ///     homeserver: https://matrix.example.org
    ///     user: "@fabrique:example.org"
    ///     facilitators: { power_level: 50, users: ["@ana:example.org"] }
    public struct File: Sendable, Equatable, Decodable {
        public struct Facilitators: Sendable, Equatable, Decodable {
            /// Members from this power level facilitate (`power_level`).
            public var powerLevel: Int?
            /// And these users, whatever their level.
            public var users: [String]?

            enum CodingKeys: String, CodingKey {
                case powerLevel = "power_level", users
            }

            public init(powerLevel: Int? = nil, users: [String]? = nil) {
                self.powerLevel = powerLevel
                self.users = users
            }
        }

        /// Who may give a room a new territory name: read by the command, not by the adapter.
        public struct Territories: Sendable, Equatable, Decodable {
            /// These users (`creators`).
            public var creators: [String]?
            /// And facilitators whose account is on the bot's own server (`local_facilitators`, default true).
            public var localFacilitators: Bool?

            enum CodingKeys: String, CodingKey {
                case creators, localFacilitators = "local_facilitators"
            }

            public init(creators: [String]? = nil, localFacilitators: Bool? = nil) {
                self.creators = creators
                self.localFacilitators = localFacilitators
            }
        }

        /// Each person's pace (`rate_limit`): read by the command, not by the adapter.
        public struct RateLimit: Sendable, Equatable, Decodable {
            /// Messages at once (`burst`; 0: no limit).
            public var burst: Int?
            /// Seconds for one more (`refill_seconds`).
            public var refillSeconds: Double?

            enum CodingKeys: String, CodingKey {
                case burst, refillSeconds = "refill_seconds"
            }

            public init(burst: Int? = nil, refillSeconds: Double? = nil) {
                self.burst = burst
                self.refillSeconds = refillSeconds
            }
        }

        /// What `!kb add` takes from a room.
        public struct Knowledge: Sendable, Equatable, Decodable {
            /// The largest shared file added, in megabytes (`max_file_mb`; 20 by default).
            public var maxFileMB: Double?

            enum CodingKeys: String, CodingKey {
                case maxFileMB = "max_file_mb"
            }

            public init(maxFileMB: Double? = nil) { self.maxFileMB = maxFileMB }
        }

        public var homeserver: String?
        public var user: String?
        public var password: String?
        /// `access_token`.
        public var accessToken: String?
        /// `command_prefix`.
        public var commandPrefix: String?
        /// The engine's default language (`fr` or `en`): read by the command, not by the adapter.
        public var language: String?
        /// `invite_allow_list`: users and servers whose invites are accepted.
        public var inviteAllowList: [String]?
        public var facilitators: Facilitators?
        /// What people call the bot: read by the command, not by the adapter.
        public var names: [String]?
        /// Allow seeding numbered reactions in rooms that ask for them (`!reactions on`).
        public var reactions: Bool?
        public var territories: Territories?
        public var rateLimit: RateLimit?
        /// Documents added from rooms (`knowledge`): read by the command, not by the adapter.
        public var knowledge: Knowledge?
        /// `pickle_key`: encrypts the device's keys in the database; turns end-to-end encryption on.
        public var pickleKey: String?

        enum CodingKeys: String, CodingKey {
            case homeserver, user, password, accessToken = "access_token", commandPrefix = "command_prefix", language
            case inviteAllowList = "invite_allow_list", facilitators, names, reactions, territories, rateLimit = "rate_limit"
            case pickleKey = "pickle_key", knowledge
        }

        public init(
            homeserver: String? = nil, user: String? = nil, password: String? = nil, accessToken: String? = nil,
            commandPrefix: String? = nil, language: String? = nil, inviteAllowList: [String]? = nil,
            facilitators: Facilitators? = nil, names: [String]? = nil, reactions: Bool? = nil, territories: Territories? = nil,
            rateLimit: RateLimit? = nil, knowledge: Knowledge? = nil
        ) {
            self.homeserver = homeserver
            self.user = user
            self.password = password
            self.accessToken = accessToken
            self.commandPrefix = commandPrefix
            self.language = language
            self.inviteAllowList = inviteAllowList
            self.facilitators = facilitators
            self.names = names
            self.reactions = reactions
            self.territories = territories
            self.rateLimit = rateLimit
            self.knowledge = knowledge
        }

        /// The key of the secret the file holds (a password or an access token), if any.
        var secretKey: String? {
            if let password, !password.isEmpty { return "password" }
            if let accessToken, !accessToken.isEmpty { return "access token" }
            if let pickleKey, !pickleKey.isEmpty { return "pickle key" }
            return nil
        }

        /// Reads the settings file at `path`, refusing one that holds a secret and that group or others
        /// can access; one they can access without a secret is read, with a warning to `logger`.
        /// - Throws: ``MatrixConfigurationError``: `.unreadable`, `.invalid` (by line and problem, or by the
        ///   dotted key whose value has the wrong type), `.exposedSecret`.
        public static func load(path: String, logger: Logger) throws -> File {
            // The mode and the text come from the same open file, so the file checked is the file read.
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw MatrixConfigurationError.unreadable(path: path, reason: String(cString: strerror(errno))) }
            let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
            var info = stat()
            guard fstat(fd, &info) == 0 else {
                throw MatrixConfigurationError.unreadable(path: path, reason: String(cString: strerror(errno)))
            }
            let data: Data
            do {
                data = try handle.readToEnd() ?? Data()
            } catch {
                throw MatrixConfigurationError.unreadable(path: path, reason: error.localizedDescription)
            }
            guard let text = String(data: data, encoding: .utf8) else {
                throw MatrixConfigurationError.unreadable(path: path, reason: "not UTF-8 text")
            }
            let settings = try File(yaml: text, path: path)
            // Only a file on disk has permissions worth checking (not a pipe such as <(…)).
            let mode = UInt32(info.st_mode)
            if mode & UInt32(S_IFMT) == UInt32(S_IFREG), mode & 0o077 != 0 {
                let octal = String(format: "%04o", mode & 0o7777)
                if let secret = settings.secretKey { throw MatrixConfigurationError.exposedSecret(path: path, secret: secret, mode: octal) }
                logger.warning(
                    "the config file \(path) has mode \(octal): group or others can access it; run `\(chmodFix(path))` before putting a password in it"
                )
            }
            return settings
        }

        /// Parses the text of the settings file at `path` (named in errors).
        init(yaml text: String, path: String) throws {
            do {
                self = try YAMLDecoder().decode(File.self, from: text)
            } catch {
                throw MatrixConfigurationError.invalid(path: path, problem: Self.describeWithoutText(error))
            }
        }

        /// A settings file error by position and problem only: Yams quotes the offending line, and in a
        /// settings file that line may be the password.
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
                func dotted(_ path: [any CodingKey]) -> String {
                    path.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
                }
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

        /// `path` as one shell word, for the commands printed next to it.
        public static func shellQuoted(_ path: String) -> String {
            let plain = path.allSatisfy { $0.isLetter || $0.isNumber || "/._-+:@,=".contains($0) }
            return plain && !path.isEmpty ? path : "'" + path.replacingOccurrences(of: "'", with: "'\\''") + "'"
        }

        static func chmodFix(_ path: String) -> String { "chmod 600 \(shellQuoted(path))" }

        /// Creates a commented starter file at `path` (``starterText(homeserver:user:)``), owner-only in one
        /// `open` (O_CREAT|O_EXCL, mode 0600), so it never exists with wider permissions and never replaces
        /// an existing file.
        /// - Throws: ``MatrixConfigurationError``: `.exists`, `.uncreatable`, `.unwritable` (the file is removed).
        public static func writeStarter(to path: String, homeserver: String?, user: String?) throws {
            let text = starterText(homeserver: homeserver, user: user)
            let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            guard fd >= 0 else {
                let code = errno
                if code == EEXIST { throw MatrixConfigurationError.exists(path: path) }
                throw MatrixConfigurationError.uncreatable(path: path, reason: String(cString: strerror(code)))
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
                throw MatrixConfigurationError.unwritable(path: path, reason: String(cString: strerror(failure)))
            }
        }

        /// The starter file: every key people set, with its default, commented.
        public static func starterText(homeserver: String?, user: String?) -> String {
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
                territories:
                  creators: []                       # who may give a room a new territory name
                  local_facilitators: true           # and facilitators whose account is on the bot's server
                rate_limit:
                  burst: 10                          # messages one person may send at once (0: no limit)
                  refill_seconds: 6                  # then one more every so often
                reactions: true                      # seed 1️⃣ 2️⃣ … under questions
                knowledge:
                  max_file_mb: 20                    # the largest file `!kb add` takes from a room
                # End-to-end encrypted rooms: a long random key that encrypts the bot's keys in the database.
                # Keep it: without it the bot cannot read its keys again. Or FABRIQUE_MATRIX_PICKLE_KEY.
                # pickle_key: "..."

                """
        }
    }

    /// What the command line sets over the settings file: nil or empty keeps the file's value.
    public struct Overrides: Sendable {
        public var homeserver: String?
        public var user: String?
        public var commandPrefix: String?
        public var facilitatorPowerLevel: Int?
        /// Replace the file's facilitator users when not empty.
        public var facilitators: [String]
        /// Replaces the file's invite allow list when not empty.
        public var inviteAllowList: [String]

        public init(
            homeserver: String? = nil, user: String? = nil, commandPrefix: String? = nil, facilitatorPowerLevel: Int? = nil,
            facilitators: [String] = [], inviteAllowList: [String] = []
        ) {
            self.homeserver = homeserver
            self.user = user
            self.commandPrefix = commandPrefix
            self.facilitatorPowerLevel = facilitatorPowerLevel
            self.facilitators = facilitators
            self.inviteAllowList = inviteAllowList
        }
    }

    /// Merges, in increasing priority, the settings file, the environment (`FABRIQUE_MATRIX_TOKEN`,
    /// `FABRIQUE_MATRIX_PASSWORD`, `FABRIQUE_MATRIX_PICKLE_KEY`; an empty value counts as unset) and the command line.
    /// `FABRIQUE_MATRIX_CLIENT_TIMEOUT` (1…300 s), for the fault scripts, bounds every request.
    /// - Throws: ``MatrixConfigurationError``: `.noHomeserver`, `.badHomeserver`, `.badUserID`, `.noCredentials`
    ///   (neither a token nor a password with a user id).
    public init(file: File, overrides: Overrides = Overrides(), environment: [String: String]) throws {
        guard let server = overrides.homeserver ?? file.homeserver else { throw MatrixConfigurationError.noHomeserver }
        guard let url = Self.homeserverURL(server) else { throw MatrixConfigurationError.badHomeserver(server) }
        let userID = overrides.user ?? file.user
        if let userID, !Self.isUserID(userID) { throw MatrixConfigurationError.badUserID(userID) }
        let token = environment["FABRIQUE_MATRIX_TOKEN"].flatMap { $0.isEmpty ? nil : $0 } ?? file.accessToken
        let password = environment["FABRIQUE_MATRIX_PASSWORD"].flatMap { $0.isEmpty ? nil : $0 } ?? file.password
        if token == nil, password == nil || userID == nil { throw MatrixConfigurationError.noCredentials }
        let policy = MatrixPolicy(
            facilitatorPowerLevel: overrides.facilitatorPowerLevel ?? file.facilitators?.powerLevel ?? 50,
            facilitators: Set(overrides.facilitators.isEmpty ? file.facilitators?.users ?? [] : overrides.facilitators),
            inviteAllowList: overrides.inviteAllowList.isEmpty ? file.inviteAllowList ?? [] : overrides.inviteAllowList)
        self.init(
            homeserver: url, userID: userID, accessToken: token.map(AccessToken.init), password: password, policy: policy,
            commandPrefix: overrides.commandPrefix ?? file.commandPrefix ?? "!", offerReactions: file.reactions ?? true)
        // For the fault scripts (scripts/faults/matrix-slow-server): every request, /sync included, gives up
        // after this many seconds; the long poll takes half of it.
        pickleKey =
            environment["FABRIQUE_MATRIX_PICKLE_KEY"].flatMap { $0.isEmpty ? nil : $0 } ?? file.pickleKey.flatMap { $0.isEmpty ? nil : $0 }
        // For the tests: the grace period before an unreadable message is pointed out (1…3600 s).
        if let text = environment["FABRIQUE_MATRIX_UNDECRYPTABLE_GRACE"], let seconds = Double(text), seconds >= 1, seconds <= 3600 {
            undecryptableGrace = seconds
        }
        if let text = environment["FABRIQUE_MATRIX_CLIENT_TIMEOUT"], let seconds = Double(text), seconds >= 1, seconds <= 300 {
            requestTimeout = seconds
            syncTimeoutMS = Int(seconds * 500)
        }
    }

    /// `text` as a homeserver URL, if it is an http(s) URL with a host.
    public static func homeserverURL(_ text: String) -> URL? {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https", url.host != nil
        else { return nil }
        return url
    }

    /// Whether `text` looks like a Matrix user id, `@name:server`.
    public static func isUserID(_ text: String) -> Bool {
        text.hasPrefix("@") && text.dropFirst().contains(":") && !text.contains(where: \.isWhitespace)
    }
}

/// Why the Matrix settings cannot be used, in one line an operator can act on. Never quotes the settings
/// file: the line at fault may be the password.
public enum MatrixConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    /// Not YAML, or a key whose value has the wrong type.
    case invalid(path: String, problem: String)
    /// The file holds a password or an access token (`secret`) and its `mode` lets group or others access it.
    case exposedSecret(path: String, secret: String, mode: String)
    case noHomeserver
    case badHomeserver(String)
    case badUserID(String)
    case noCredentials
    /// `--init-config` never overwrites a file.
    case exists(path: String)
    case uncreatable(path: String, reason: String)
    case unwritable(path: String, reason: String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason): "cannot read the config file \(path): \(reason)"
        case .invalid(let path, let problem): "\(path): not a valid Matrix configuration: \(problem)"
        case .exposedSecret(let path, let secret, let mode):
            "refusing to start: the config file \(path) holds a \(secret) but its mode \(mode) lets group or others access it; run `\(MatrixConfiguration.File.chmodFix(path))`"
        case .noHomeserver: "no homeserver: give --homeserver URL or `homeserver:` in the config file"
        case .badHomeserver(let server): "the homeserver must be an http(s) URL, not '\(server)'"
        case .badUserID(let userID): "the user must look like @name:server, not '\(userID)'"
        case .noCredentials: MatrixAdapterError.noCredentials.description
        case .exists(let path): "\(path) already exists; not overwriting it (remove it or choose another file)"
        case .uncreatable(let path, let reason): "cannot create \(path): \(reason)"
        case .unwritable(let path, let reason): "cannot write \(path): \(reason)"
        }
    }
}
