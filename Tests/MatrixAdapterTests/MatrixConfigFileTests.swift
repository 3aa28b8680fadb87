import FabriqueTesting
import Foundation
import XCTest

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
        try fabrique(["matrix", "--config", config, "--check", "--homeserver", "http://127.0.0.1:0", "--db", path("state.sqlite")],
                     environment: environment)
    }

    func testInitConfigWritesAnOwnerOnlyFileTheLoaderAccepts() throws {
        let config = path("bot.yaml")
        let run = try fabrique(["matrix", "--init-config", config, "--homeserver", "https://matrix.example.org", "--user", "@bot:example.org"])
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
