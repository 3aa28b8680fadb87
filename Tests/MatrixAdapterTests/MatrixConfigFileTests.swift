import FabriqueTesting
import Foundation
import XCTest

@testable import MatrixAdapter

/// `fabrique matrix --init-config` and the config file's permissions, through the built binary. No
/// homeserver needed: an accepted config gets as far as `--check` failing to reach a closed port.
final class MatrixConfigFileTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("fabrique-config-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    struct Run {
        var status: Int32
        var output: String
        var errors: String
    }

    /// Runs `fabrique ARGUMENTS` to its end, without the Matrix credentials of the environment.
    func fabrique(_ arguments: [String], environment: [String: String] = [:]) throws -> Run {
        let credentials: [String: String?] = ["FABRIQUE_MATRIX_PASSWORD": nil, "FABRIQUE_MATRIX_TOKEN": nil]
        let process = try FabriqueProcess.launch(arguments, environment: credentials.merging(environment) { _, new in new })
        let status = process.finish()
        return Run(status: status, output: process.output, errors: process.errorOutput)
    }

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    func mode(_ path: String) throws -> Int {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        return (attributes[.posixPermissions] as? NSNumber)?.intValue ?? -1
    }

    func write(_ text: String, to path: String, mode: Int) throws {
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(text.utf8)))
        try FileManager.default.setAttributes([.posixPermissions: NSNumber(value: mode)], ofItemAtPath: path)
        XCTAssertEqual(try self.mode(path), mode)
    }

    /// `--check` on `config` against a closed port: a config the loader accepts ends in "check failed"
    /// (the homeserver cannot be reached), one it refuses never gets there.
    func check(_ config: String, environment: [String: String] = [:]) throws -> Run {
        try fabrique(
            ["matrix", "--config", config, "--check", "--homeserver", "http://127.0.0.1:0", "--db", path("state.sqlite")],
            environment: environment)
    }

    func testInitConfigWritesAnOwnerOnlyFileTheLoaderAccepts() throws {
        let config = path("bot.yaml")
        let run = try fabrique([
            "matrix", "--init-config", config, "--homeserver", "https://matrix.example.org", "--user", "@bot:example.org",
        ])
        XCTAssertEqual(run.status, 0, run.errors)
        XCTAssertEqual(try mode(config), 0o600)
        XCTAssertTrue(run.output.contains("wrote \(config)"), run.output)
        XCTAssertTrue(run.output.contains("--config \(config)"), "says what to do next: \(run.output)")

        let text = try String(contentsOfFile: config, encoding: .utf8)
        XCTAssertTrue(text.contains("homeserver: \"https://matrix.example.org\""), text)
        XCTAssertTrue(text.contains("user: \"@bot:example.org\""), text)
        XCTAssertTrue(text.contains("# password:"), "the password is commented out: \(text)")
        for key in ["command_prefix:", "language:", "invite_allow_list:", "facilitators:", "names:", "reactions:"] {
            XCTAssertTrue(text.contains(key), "\(key) in the starter config")
        }

        // The loader takes it (credentials from the environment), and gets as far as the connection.
        let accepted = try check(config, environment: ["FABRIQUE_MATRIX_PASSWORD": "not-in-the-file"])
        XCTAssertNotEqual(accepted.status, 0)
        XCTAssertTrue(accepted.errors.contains("check failed"), accepted.errors)
        XCTAssertFalse(accepted.errors.contains("not a valid Matrix configuration"), accepted.errors)
        XCTAssertFalse(accepted.errors.contains("chmod"), "a 0600 file gets no permission warning: \(accepted.errors)")

        // Without credentials, the commented-out password means none: the loader says so.
        let noPassword = try fabrique(["matrix", "--config", config, "--check", "--db", path("state.sqlite")])
        XCTAssertNotEqual(noPassword.status, 0)
        XCTAssertFalse(noPassword.errors.contains("not a valid Matrix configuration"), noPassword.errors)
        XCTAssertFalse(noPassword.errors.contains("check failed"), noPassword.errors)
    }

    func testInitConfigNeverOverwrites() throws {
        let config = path("existing.yaml")
        let original = "homeserver: https://mine.example.org\npassword: keep-me\n"
        try write(original, to: config, mode: 0o600)
        let run = try fabrique(["matrix", "--init-config", config, "--user", "@bot:example.org"])
        XCTAssertNotEqual(run.status, 0)
        XCTAssertTrue(run.errors.contains("already exists"), run.errors)
        XCTAssertTrue(run.errors.contains(config), run.errors)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: config)), Data(original.utf8), "byte-identical")
        XCTAssertEqual(try mode(config), 0o600)
    }

    func testReadableConfigWithPasswordIsRefused() throws {
        let config = path("open.yaml")
        let secret = "hunter2-\(UUID().uuidString.prefix(6))"
        try write("user: \"@bot:example.org\"\npassword: \(secret)\n", to: config, mode: 0o644)
        let refused = try check(config)
        XCTAssertEqual(refused.status, 1, refused.errors)
        let lines = refused.errors.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, "one line: \(refused.errors)")
        XCTAssertTrue(refused.errors.contains(config), refused.errors)
        XCTAssertTrue(refused.errors.contains("0644"), refused.errors)
        XCTAssertTrue(refused.errors.contains("chmod 600 \(config)"), refused.errors)
        XCTAssertFalse(refused.errors.contains("check failed"), "refused before connecting: \(refused.errors)")
        XCTAssertFalse(refused.errors.contains(secret) || refused.output.contains(secret), "the password is never printed")

        // Group-readable only is still too open.
        try FileManager.default.setAttributes([.posixPermissions: NSNumber(value: 0o640)], ofItemAtPath: config)
        let group = try check(config)
        XCTAssertEqual(group.status, 1)
        XCTAssertTrue(group.errors.contains("0640"), group.errors)

        try FileManager.default.setAttributes([.posixPermissions: NSNumber(value: 0o600)], ofItemAtPath: config)
        let accepted = try check(config)
        XCTAssertTrue(accepted.errors.contains("check failed"), accepted.errors)
        XCTAssertFalse(accepted.errors.contains("chmod"), accepted.errors)
        XCTAssertFalse(accepted.errors.contains(secret), accepted.errors)
    }

    func testReadableConfigWithoutPasswordOnlyWarns() throws {
        let config = path("public.yaml")
        try write("user: \"@bot:example.org\"\nlanguage: fr\n", to: config, mode: 0o644)
        let run = try check(config, environment: ["FABRIQUE_MATRIX_PASSWORD": "from-the-environment"])
        XCTAssertTrue(run.errors.contains("warning"), run.errors)
        XCTAssertTrue(run.errors.contains("0644"), run.errors)
        XCTAssertTrue(run.errors.contains("chmod 600 \(config)"), run.errors)
        XCTAssertTrue(run.errors.contains("check failed"), "it went on to connect: \(run.errors)")
        XCTAssertFalse(run.errors.contains("from-the-environment"), run.errors)
    }

    /// A config file that does not parse is reported by line and problem, never by quoting the file:
    /// the line at fault may be the password.
    func testBrokenConfigErrorsNeverQuoteTheFile() throws {
        for (name, text) in [
            ("scanner.yaml", "homeserver: http://127.0.0.1:0\npassword: \"s3cret-pw\n"),
            ("mapping.yaml", "homeserver: http://127.0.0.1:0\npassword: s3cret-pw: x\n"),
            ("type.yaml", "homeserver: http://127.0.0.1:0\npassword: [s3cret-pw]\n"),
        ] {
            let file = path(name)
            try write(text, to: file, mode: 0o600)
            let run = try fabrique(["matrix", "--config", file, "--user", "@bot:example.org", "--check"])
            XCTAssertNotEqual(run.status, 0, name)
            XCTAssertTrue(run.errors.contains("not a valid Matrix configuration"), "\(name): \(run.errors)")
            XCTAssertFalse((run.errors + run.output).contains("s3cret"), "\(name) leaked the password: \(run.errors)")
        }
    }

}

/// The settings file read in process by the adapter: its keys, its errors (never quoting the file), its
/// permissions, and how the environment and the flags override it.
final class MatrixConfigurationFileTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("fabrique-settings-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    /// Writes `text` to a file of that `mode` and loads it.
    func load(_ text: String, mode: Int = 0o600, log: LogCapture = LogCapture()) throws -> MatrixConfiguration.File {
        let path = directory.appendingPathComponent("bot-\(UUID().uuidString.prefix(6)).yaml").path
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(text.utf8)))
        try FileManager.default.setAttributes([.posixPermissions: NSNumber(value: mode)], ofItemAtPath: path)
        return try MatrixConfiguration.File.load(path: path, logger: log.logger)
    }

    /// The error `body` throws.
    func error(_ body: () throws -> Any) -> MatrixConfigurationError? {
        do {
            _ = try body()
            return nil
        } catch {
            return error as? MatrixConfigurationError
        }
    }

    func testAGoodFileReadsEveryKey() throws {
        let file = try load(
            """
            homeserver: https://matrix.example.org
            user: "@fabrique:example.org"
            password: hunter2
            command_prefix: "?"
            language: fr
            invite_allow_list: [example.org, "@ana:other.org"]
            facilitators: { power_level: 40, users: ["@ana:example.org"] }
            names: [fab, bot]
            reactions: false
            """)
        XCTAssertEqual(
            file,
            MatrixConfiguration.File(
                homeserver: "https://matrix.example.org", user: "@fabrique:example.org", password: "hunter2", commandPrefix: "?",
                language: "fr", inviteAllowList: ["example.org", "@ana:other.org"],
                facilitators: .init(powerLevel: 40, users: ["@ana:example.org"]), names: ["fab", "bot"], reactions: false))

        let configuration = try MatrixConfiguration(file: file, environment: [:])
        XCTAssertEqual(configuration.homeserver, URL(string: "https://matrix.example.org"))
        XCTAssertEqual(configuration.userID, "@fabrique:example.org")
        XCTAssertEqual(configuration.password, "hunter2")
        XCTAssertNil(configuration.accessToken)
        XCTAssertEqual(configuration.commandPrefix, "?")
        XCTAssertFalse(configuration.offerReactions)
        XCTAssertEqual(configuration.policy.facilitatorPowerLevel, 40)
        XCTAssertEqual(configuration.policy.facilitators, ["@ana:example.org"])
        XCTAssertEqual(configuration.policy.inviteAllowList, ["example.org", "@ana:other.org"])
    }

    func testTheStarterFileReadsBackWithItsDefaults() throws {
        let text = MatrixConfiguration.File.starterText(homeserver: "https://m.example.org", user: #"@we"ird\:m.example.org"#)
        let file = try MatrixConfiguration.File(yaml: text, path: "starter.yaml")
        XCTAssertEqual(
            file,
            MatrixConfiguration.File(
                homeserver: "https://m.example.org", user: #"@we"ird\:m.example.org"#, commandPrefix: "!", language: "en",
                facilitators: .init(powerLevel: 50, users: []), names: ["fabrique"], reactions: true,
                territories: .init(creators: [], localFacilitators: true), rateLimit: .init(burst: 10, refillSeconds: 6),
                knowledge: .init(maxFileMB: 20)))
        XCTAssertNil(file.password, "the password stays commented out")
    }

    func testAWrongTypeIsNamedByItsDottedKey() {
        XCTAssertEqual(
            error { try self.load("facilitators:\n  power_level: lots\n") }.map { "\($0)" }?.hasSuffix(
                "not a valid Matrix configuration: the value of `facilitators.power_level` is not what that setting takes"), true)
        XCTAssertEqual(
            error { try MatrixConfiguration.File(yaml: "invite_allow_list:\n  - [x]\n", path: "f.yaml") },
            .invalid(path: "f.yaml", problem: "the value of `invite_allow_list.0` is not what that setting takes"))
        XCTAssertEqual(
            error { try MatrixConfiguration.File(yaml: "password: [s3cret]\n", path: "f.yaml") },
            .invalid(path: "f.yaml", problem: "the value of `password` is not what that setting takes"))
        XCTAssertEqual(
            error { try MatrixConfiguration.File(yaml: "- a\n- b\n", path: "f.yaml") },
            .invalid(path: "f.yaml", problem: "not a mapping of settings"))
    }

    /// Yams quotes the line at fault in its errors, and that line may be the password: the message never does.
    func testASyntaxErrorNeverQuotesTheFile() throws {
        for text in ["password: s3cret-pw: x\n", "password: \"s3cret-pw\n", "password: s3cret-pw\npassword: s3cret-pw\n"] {
            let failure = try XCTUnwrap(error { try MatrixConfiguration.File(yaml: text, path: "f.yaml") }, text)
            guard case .invalid(path: "f.yaml", _) = failure else { return XCTFail("\(failure)") }
            XCTAssertFalse("\(failure)".contains("s3cret"), "\(failure)")
        }
    }

    func testABadHomeserverURLIsRefused() throws {
        for bad in ["matrix.example.org", "ftp://matrix.example.org", "https://", "not a url"] {
            let file = MatrixConfiguration.File(homeserver: bad, user: "@b:x", password: "p")
            XCTAssertEqual(error { try MatrixConfiguration(file: file, environment: [:]) }, .badHomeserver(bad), bad)
            XCTAssertNil(MatrixConfiguration.homeserverURL(bad), bad)
        }
        XCTAssertEqual("\(MatrixConfigurationError.badHomeserver("x"))", "the homeserver must be an http(s) URL, not 'x'")
        XCTAssertEqual(error { try MatrixConfiguration(file: .init(user: "@b:x", password: "p"), environment: [:]) }, .noHomeserver)
        // The flag wins over the file.
        let file = MatrixConfiguration.File(homeserver: "matrix.example.org", user: "@b:x", password: "p")
        let fixed = try MatrixConfiguration(file: file, overrides: .init(homeserver: "http://127.0.0.1:8008"), environment: [:])
        XCTAssertEqual(fixed.homeserver, URL(string: "http://127.0.0.1:8008"))
    }

    func testABadUserIDIsRefused() {
        for bad in ["fabrique:example.org", "@fabrique", "@fab rique:example.org", "@"] {
            let file = MatrixConfiguration.File(homeserver: "https://m.org", user: bad, password: "p")
            XCTAssertEqual(error { try MatrixConfiguration(file: file, environment: [:]) }, .badUserID(bad), bad)
            XCTAssertFalse(MatrixConfiguration.isUserID(bad), bad)
        }
        XCTAssertTrue(MatrixConfiguration.isUserID("@fabrique:example.org"))
        let flagged = MatrixConfiguration.Overrides(user: "bob")
        XCTAssertEqual(
            error { try MatrixConfiguration(file: .init(homeserver: "https://m.org", user: "@b:x"), overrides: flagged, environment: [:]) },
            .badUserID("bob"), "the flag is checked, not only the file")
    }

    func testAFileOthersCanReadIsRefusedWhenItHoldsASecret() throws {
        let secret = "hunter2-\(UUID().uuidString.prefix(6))"
        for mode in [0o644, 0o640, 0o604] {
            let failure = try XCTUnwrap(error { try self.load("password: \(secret)\n", mode: mode) }, "mode \(String(mode, radix: 8))")
            guard case .exposedSecret(let path, "password", let shown) = failure else { return XCTFail("\(failure)") }
            XCTAssertEqual(shown, "0" + String(mode, radix: 8))
            XCTAssertTrue("\(failure)".contains("run `chmod 600 \(path)`"), "\(failure)")
            XCTAssertFalse("\(failure)".contains(secret), "the password is never shown")
        }
        guard case .exposedSecret(_, "access token", _)? = error({ try self.load("access_token: syt_abc\n", mode: 0o644) }) else {
            return XCTFail("an access token is a secret too")
        }
        XCTAssertEqual(try load("password: \(secret)\n", mode: 0o600).password, secret)
        guard case .exposedSecret(_, "pickle key", _)? = error({ try self.load("pickle_key: \(secret)\n", mode: 0o644) }) else {
            return XCTFail("a pickle key is a secret too")
        }
        XCTAssertEqual(try load("pickle_key: \(secret)\n", mode: 0o600).pickleKey, secret)
    }

    /// The environment's pickle key wins over the file's; none means no encryption.
    func testThePickleKeyComesFromTheEnvironmentOrTheFile() throws {
        var file = MatrixConfiguration.File(homeserver: "https://m.org", user: "@b:m.org", password: "pw")
        XCTAssertNil(try MatrixConfiguration(file: file, environment: [:]).pickleKey)
        file.pickleKey = "from-file"
        XCTAssertEqual(try MatrixConfiguration(file: file, environment: ["FABRIQUE_MATRIX_PICKLE_KEY": ""]).pickleKey, "from-file")
        XCTAssertEqual(try MatrixConfiguration(file: file, environment: ["FABRIQUE_MATRIX_PICKLE_KEY": "from-env"]).pickleKey, "from-env")
    }

    func testAFileOthersCanReadWithoutASecretIsReadWithAWarning() throws {
        let log = LogCapture()
        XCTAssertEqual(try load("user: \"@b:x\"\npassword: \"\"\n", mode: 0o644, log: log).user, "@b:x")
        XCTAssertEqual(log.lines.count, 1, "\(log.lines)")
        XCTAssertTrue(log.lines.first?.hasPrefix("warning ") == true, "\(log.lines)")
        XCTAssertTrue(log.lines.first?.contains("mode 0644") == true, "\(log.lines)")
        let quiet = LogCapture()
        _ = try load("user: \"@b:x\"\n", mode: 0o600, log: quiet)
        XCTAssertEqual(quiet.lines, [])
    }

    func testAMissingFileIsUnreadable() {
        let path = directory.appendingPathComponent("absent.yaml").path
        XCTAssertEqual(
            error { try MatrixConfiguration.File.load(path: path, logger: LogCapture().logger) },
            .unreadable(path: path, reason: "No such file or directory"))
    }

    /// In increasing priority: the file, the environment (empty counts as unset), the flags.
    func testTheEnvironmentAndTheFlagsOverrideTheFile() throws {
        let file = MatrixConfiguration.File(
            homeserver: "https://m.org", user: "@b:m.org", password: "from-file", accessToken: "file-token", commandPrefix: "?",
            inviteAllowList: ["m.org"], facilitators: .init(powerLevel: 40, users: ["@ana:m.org"]))
        let plain = try MatrixConfiguration(file: file, environment: ["FABRIQUE_MATRIX_TOKEN": "", "FABRIQUE_MATRIX_PASSWORD": ""])
        XCTAssertEqual(plain.accessToken, AccessToken("file-token"))
        XCTAssertEqual(plain.password, "from-file")
        XCTAssertEqual(plain.requestTimeout, 30)

        let overridden = try MatrixConfiguration(
            file: file,
            overrides: .init(commandPrefix: "!", facilitatorPowerLevel: 100, facilitators: ["@bo:m.org"], inviteAllowList: ["o.org"]),
            environment: [
                "FABRIQUE_MATRIX_TOKEN": "env-token", "FABRIQUE_MATRIX_PASSWORD": "from-env", "FABRIQUE_MATRIX_CLIENT_TIMEOUT": "4",
            ])
        XCTAssertEqual(overridden.accessToken, AccessToken("env-token"))
        XCTAssertEqual(overridden.password, "from-env")
        XCTAssertEqual(overridden.commandPrefix, "!")
        XCTAssertEqual(overridden.policy.facilitatorPowerLevel, 100)
        XCTAssertEqual(overridden.policy.facilitators, ["@bo:m.org"])
        XCTAssertEqual(overridden.policy.inviteAllowList, ["o.org"])
        XCTAssertEqual(overridden.requestTimeout, 4)
        XCTAssertEqual(overridden.syncTimeoutMS, 2000)
    }

    func testNoTokenAndNoPasswordWithAUserIsRefused() throws {
        XCTAssertEqual(
            error { try MatrixConfiguration(file: .init(homeserver: "https://m.org", user: "@b:m.org"), environment: [:]) }, .noCredentials)
        XCTAssertEqual(
            error { try MatrixConfiguration(file: .init(homeserver: "https://m.org", password: "p"), environment: [:]) }, .noCredentials,
            "a password login needs the user id")
        XCTAssertNoThrow(try MatrixConfiguration(file: .init(homeserver: "https://m.org"), environment: ["FABRIQUE_MATRIX_TOKEN": "t"]))
    }

    func testPathsAreQuotedAsOneShellWord() {
        XCTAssertEqual(MatrixConfiguration.File.shellQuoted("/etc/fabrique/bot.yaml"), "/etc/fabrique/bot.yaml")
        XCTAssertEqual(MatrixConfiguration.File.shellQuoted("/tmp/my bot.yaml"), "'/tmp/my bot.yaml'")
        XCTAssertEqual(MatrixConfiguration.File.shellQuoted("it's.yaml"), #"'it'\''s.yaml'"#)
        XCTAssertEqual(MatrixConfiguration.File.shellQuoted(""), "''")
    }
}
