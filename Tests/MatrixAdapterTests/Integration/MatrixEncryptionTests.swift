import BotCore
import FabriqueTesting
import Foundation
import XCTest

@testable import MatrixAdapter

/// The bot in end-to-end encrypted rooms, with people on a real encrypting client: matrix-nio on
/// vodozemac (`Tests/Peers/e2e_peer.py`), so each run also proves that libolm and vodozemac agree.
///
/// The people are one Python script rather than steps driven from here: nio is asyncio-based and keeps
/// its keys in its own store, so one process per scenario is the simplest thing that stays reliable.
/// The script checks what a person sees (each answer decrypts for each member); this test checks what
/// the server holds (every bot message is `m.room.encrypted`) and what the bot logged.
extension MatrixIntegrationCase {
    /// Runs people on matrix-nio (`script`: `Tests/Peers/e2e_peer.py` unless told) against this test's
    /// homeserver and `botUser`, with `arguments` after the common ones. Fails the test when they report a
    /// problem, with their output and the tail of `botLog`; returns their `RESULT` line, parsed.
    func runPeers(
        _ python: URL, bot botUser: TestUser, script: URL = MatrixEncryptionTests.peerScript, _ arguments: [String] = [],
        botLog: () -> String, file: StaticString = #filePath, line: UInt = #line
    ) async throws -> JSON {
        let (status, output) = try await MatrixEncryptionTests.run(
            python,
            [script.path, homeserver.url.absoluteString, homeserver.sharedSecret, botUser.userID, tag, workDirectory.path] + arguments)
        print("the peers' run:\n\(output)")
        XCTAssertEqual(
            status, 0, "the peers' run:\n\(output)\nbot log (tail):\n\(botLog().split(separator: "\n").suffix(60).joined(separator: "\n"))",
            file: file, line: line)
        let result = try XCTUnwrap(output.split(separator: "\n").first { $0.hasPrefix("RESULT ") }, output, file: file, line: line)
        return try XCTUnwrap(JSON.parse(String(result.dropFirst("RESULT ".count))), String(result), file: file, line: line)
    }
}

final class MatrixEncryptionTests: MatrixIntegrationCase {
    override func setUp() async throws { try await setUp(ratelimited: false) }

    static let pickleKey = "a test pickle key, long and random enough"

    /// The group room also sees a member join later, a member add a device, and a member leave (see the script).
    func testEncryptedGroupRoomAndDirectChatAreAnsweredEncrypted() async throws {
        let python = try Self.peerPython()
        let botUser = try await person("bot")
        let bot = try makeBot(
            botUser, environment: ["FABRIQUE_MATRIX_PICKLE_KEY": Self.pickleKey, "FABRIQUE_MATRIX_UNDECRYPTABLE_GRACE": "5"])
        try bot.start()
        try await eventually("the bot's keys are ready", bot: bot) { bot.output.contains("end-to-end encryption ready") }

        let result = try await runPeers(python, bot: botUser, botLog: { bot.output })
        let group = try XCTUnwrap(result["group"]?.string), direct = try XCTUnwrap(result["direct"]?.string)

        // What the server holds: the bot never wrote in clear in either room.
        for room in [group, direct] {
            let mine = try await botUser.history(room).filter { $0["sender"]?.string == botUser.userID && $0["state_key"] == nil }
            XCTAssertGreaterThanOrEqual(mine.count, 2, "the bot spoke in \(room)")
            XCTAssertEqual(Set(mine.compactMap { $0["type"]?.string }), ["m.room.encrypted"], "every bot event in \(room) is encrypted")
        }
        XCTAssertFalse(bot.output.contains("I cannot read end-to-end encrypted"), "no notice: the bot reads these rooms")
        XCTAssertTrue(bot.output.contains("decrypted a message whose key arrived late"), "the late message went through the retry")
        XCTAssertFalse(bot.output.contains(Self.pickleKey), "the pickle key is never logged")
    }

    /// Reports in an encrypted room, read back as a person reads them: the files are encrypted events
    /// whose attachment, downloaded and decrypted (EncryptedFile), holds the answers given. Then the bot is
    /// stopped, a member adds a device, and the bot started again shares its room key with that device:
    /// after a restart the bot asks `/keys/changes` (its device lists were stored with the sync token).
    /// The peers' script starts and stops the bot itself.
    func testReportsAreEncryptedFilesAndADeviceAddedWhileTheBotWasStoppedGetsItsKey() async throws {
        let python = try Self.peerPython()
        let botUser = try await person("bot")
        // Reports one after another go faster than a person's pace allows (issue 21).
        let config = workDirectory.appendingPathComponent("fabrique.yaml")
        try "rate_limit:\n  burst: 100\n  refill_seconds: 1\n".write(to: config, atomically: true, encoding: .utf8)
        let logFile = workDirectory.appendingPathComponent("bot.log")
        let command: JSON = [
            "argv": .array(
                [
                    try FabriqueProcess.binary().path, "matrix", "--homeserver", homeserver.url.absoluteString, "--user", botUser.userID,
                    "--db", workDirectory.appendingPathComponent("bot.sqlite").path, "--log-level", "info", "--config", config.path,
                ].map(JSON.string)),
            "env": ["FABRIQUE_MATRIX_PASSWORD": .string(botUser.password), "FABRIQUE_MATRIX_PICKLE_KEY": .string(Self.pickleKey)],
            "log": .string(logFile.path),
        ]
        let commandFile = workDirectory.appendingPathComponent("bot-command.json")
        try command.data().write(to: commandFile)
        let result = try await runPeers(
            python, bot: botUser, [commandFile.path, "restart"], botLog: { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" })
        let log = (try? String(contentsOf: logFile, encoding: .utf8)) ?? ""
        let room = try XCTUnwrap(result["room"]?.string)
        let mine = try await botUser.history(room).filter { $0["sender"]?.string == botUser.userID && $0["state_key"] == nil }
        XCTAssertEqual(Set(mine.compactMap { $0["type"]?.string }), ["m.room.encrypted"], "every bot event, files included, is encrypted")
        XCTAssertTrue(log.contains("device lists caught up after a restart"), "the restart asked /keys/changes:\n\(log)")
        XCTAssertFalse(log.contains("could not catch up device lists"), log)
        XCTAssertFalse(log.contains(Self.pickleKey), "the pickle key is never logged")
    }

    func testAWrongPickleKeyAtStartIsAClearError() async throws {
        let botUser = try await person("bot")
        let first = try makeBot(botUser, environment: ["FABRIQUE_MATRIX_PICKLE_KEY": Self.pickleKey])
        try first.start()
        try await eventually("the bot's keys are ready", bot: first) { first.output.contains("end-to-end encryption ready") }
        try await eventually("the bot's device cross-signed", bot: first) { first.output.contains("cross-signed the bot's device") }
        await first.stop()

        // What clients see: a master key, a self-signing key it signed, and the device signed by the latter.
        let keys = try await botUser.request("POST", "/_matrix/client/v3/keys/query", body: ["device_keys": .object([botUser.userID: []])])
        let master = try XCTUnwrap(keys["master_keys"]?[botUser.userID]?["keys"]?.object?.values.first?.string, keys.text())
        let selfSigning = try XCTUnwrap(keys["self_signing_keys"]?[botUser.userID], keys.text())
        let selfSigningKey = try XCTUnwrap(selfSigning["keys"]?.object?.values.first?.string)
        XCTAssertTrue(
            Ed25519.verify(selfSigning, userID: botUser.userID, keyID: master, publicKey: master),
            "the master key signs the self-signing key")
        let devices = try XCTUnwrap(keys["device_keys"]?[botUser.userID]?.object)
        XCTAssertTrue(
            devices.values.contains { Ed25519.verify($0, userID: botUser.userID, keyID: selfSigningKey, publicKey: selfSigningKey) },
            "the self-signing key signs the bot's device: \(keys.text())")
        let ed25519 = try XCTUnwrap(
            first.output.split(separator: "\n").first { $0.contains("end-to-end encryption ready") }?
                .split(separator: " ").first { $0.hasPrefix("ed25519=") }?.dropFirst("ed25519=".count), first.output)

        // `--check` shows the same device keys, from the store.
        let check = try makeBot(
            botUser, database: "bot.sqlite", extra: ["--check"], environment: ["FABRIQUE_MATRIX_PICKLE_KEY": Self.pickleKey])
        try check.start()
        let checked = await check.waitForExit(timeout: 60)
        XCTAssertEqual(checked, 0, check.output)
        XCTAssertTrue(check.output.contains("encryption: on"), check.output)
        XCTAssertTrue(check.output.contains("cross-signed, master key \(master)"), check.output)
        XCTAssertTrue(check.output.contains("ed25519: \(ed25519)"), check.output)
        XCTAssertTrue(check.output.contains("device keys published"), check.output)
        let curve25519 = first.output.split(separator: "\n").first { $0.contains("end-to-end encryption ready") }?
            .split(separator: " ").first { $0.hasPrefix("curve25519=") }?.dropFirst("curve25519=".count)
        XCTAssertTrue(check.output.contains("curve25519: \(try XCTUnwrap(curve25519))"), check.output)

        let second = try makeBot(botUser, environment: ["FABRIQUE_MATRIX_PICKLE_KEY": "another key"])
        try second.start()
        let status = await second.waitForExit(timeout: 60)
        XCTAssertNotNil(status, "the bot stops")
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(second.output.contains("the pickle key does not open the stored encryption keys"), second.output)
        XCTAssertFalse(second.output.contains("another key"), "the key is never logged")
    }

    // MARK: The peers

    static var peerScript: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Peers/e2e_peer.py")
    }

    /// The test venv's Python, which must have matrix-nio's end-to-end extra (scripts/synapse/setup installs it).
    static func peerPython() throws -> URL {
        let env = ProcessInfo.processInfo.environment
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let venv = env["FABRIQUE_SYNAPSE_VENV"].map { URL(fileURLWithPath: $0) } ?? root.appendingPathComponent(".venv-synapse")
        let python = venv.appendingPathComponent("bin/python")
        guard FileManager.default.isExecutableFile(atPath: python.path) else {
            throw TestFailure("no Python at \(python.path): run scripts/synapse/setup (FABRIQUE_SYNAPSE_VENV picks another venv)")
        }
        return python
    }

    /// Runs `executable` to its end, its output (both streams) collected through a file.
    static func run(_ executable: URL, _ arguments: [String]) async throws -> (Int32, String) {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("e2e-peer-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: log) }
        let handle = try FileHandle(forWritingTo: log)
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.standardOutput = handle
        process.standardError = handle
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do { try process.run() } catch { continuation.resume(throwing: error) }
        }
        try handle.close()
        return (status, (try? String(contentsOf: log, encoding: .utf8)) ?? "")
    }
}
