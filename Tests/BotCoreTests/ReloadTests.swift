import BotCore
import FabriqueTesting
import Foundation
import XCTest

/// Dialogue files change while the bot runs (issue 19): `!reload` puts a valid edit in service for the next
/// message, refuses a broken file with its diagnostics while its previous version keeps serving, and the other
/// files always load.
final class ReloadTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("fabrique-reload-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    func write(_ name: String, _ question: String) throws {
        try """
        id: \(name)
        title: {en: "\(name)", fr: "\(name)"}
        steps:
          - id: q
            ask: text
            question: {en: "\(question)", fr: "\(question)"}
        """.write(to: folder.appendingPathComponent("\(name).yaml"), atomically: true, encoding: .utf8)
    }

    func say(_ engine: Engine, _ text: String, facilitator: Bool = true, id: String) throws -> String {
        let message = IncomingMessage(
            roomID: "room", senderID: facilitator ? "fay" : "max", text: text, eventID: id, timestamp: Date(), roomKind: .group,
            senderIsFacilitator: facilitator)
        return try engine.handle(.message(message)).map(\.plain).joined(separator: "\n")
    }

    func testReloadServesValidEditsAndKeepsTheLastGoodVersionOfABrokenFile() throws {
        try write("alpha", "First version?")
        try write("beta", "Beta?")
        let path = folder.path
        let load: @Sendable () -> (DialogueCatalog, [Diagnostic]) = { DialogueCatalog.load(paths: [path]) }
        let engine = try TestBench.makeEngine(store: try StateStore(path: nil), catalog: load().0, dialogueSource: load)
        XCTAssertEqual(engine.catalog.all.map(\.id).sorted(), ["alpha", "beta"])

        try write("alpha", "Second version?")
        try write("gamma", "Gamma?")
        XCTAssertTrue(try say(engine, "!start alpha", id: "$1").contains("First version?"), "no change before a reload")
        let refusedForAMember = try say(engine, "!reload", facilitator: false, id: "$2")
        XCTAssertEqual(refusedForAMember, "Only a facilitator can reload the dialogues.")
        XCTAssertEqual(try say(engine, "!reload", id: "$3"), "Reloaded the dialogues: 3 in service from the next message.")
        XCTAssertEqual(engine.catalog.all.map(\.id).sorted(), ["alpha", "beta", "gamma"])
        _ = try say(engine, "!stop", id: "$4a")
        XCTAssertTrue(try say(engine, "!start gamma", id: "$4").contains("Gamma?"))

        // A broken edit of beta: refused, with its diagnostics for the facilitator; beta keeps serving.
        try "id: beta\ntitle: {en: B, fr: B}\nsteps:\n  - id: q\n    ask: text\n    question: Why: now?\n".write(
            to: folder.appendingPathComponent("beta.yaml"), atomically: true, encoding: .utf8)
        let reply = try say(engine, "!reload", id: "$5")
        XCTAssertTrue(reply.contains("Refused for their errors (their previous version stays in service): beta.yaml."), reply)
        XCTAssertTrue(reply.contains("beta.yaml:6:18: FBQ001 YAML: mapping values are not allowed"), reply)
        XCTAssertEqual(engine.catalog.all.map(\.id).sorted(), ["alpha", "beta", "gamma"], "the other files always load")
        XCTAssertEqual(engine.catalog.scripts["beta"]?.steps.first?.text.resolve(.en), "Beta?", "the last good version serves")
    }

    func testWithoutFilesThereIsNothingToReload() throws {
        let engine = try TestBench.makeEngine(store: try StateStore(path: nil), catalog: DialogueCatalog([]))
        XCTAssertEqual(try say(engine, "!reload", id: "$1"), "These dialogues do not come from files: there is nothing to reload.")
    }

    /// The bot watches its dialogue files: an edit serves without a restart or a command.
    func testTheBinaryPicksUpAnEditedFile() throws {
        try write("alpha", "First version?")
        let process = try FabriqueProcess.launch(["chat", "--ephemeral", "--dialogues", folder.path, "--as", "fay"])
        defer { process.kill() }
        process.send("!dialogues\n")
        let started = Date().addingTimeInterval(30)
        while Date() < started, !process.output.contains("alpha") { Thread.sleep(forTimeInterval: 0.1) }
        XCTAssertTrue(process.output.contains("alpha"), process.output)
        XCTAssertFalse(process.output.contains("delta"))
        try write("alpha", "Edited without a restart?")
        try write("delta", "Delta?")
        let deadline = Date().addingTimeInterval(30)
        var seen = false
        var asked = 0
        while Date() < deadline, !seen {
            asked += 1
            process.send("!dialogues\n")
            Thread.sleep(forTimeInterval: 0.5)
            seen = process.output.contains("delta")
        }
        XCTAssertTrue(seen, "the new file was picked up: \(process.output)")
        process.send("!start alpha\n")
        let found = Date().addingTimeInterval(10)
        while Date() < found, !process.output.contains("Edited without a restart?") { Thread.sleep(forTimeInterval: 0.2) }
        XCTAssertTrue(process.output.contains("Edited without a restart?"), process.output)

        // A new file in a subfolder, the only change: the watcher sees the files the catalog loads.
        let sub = folder.appendingPathComponent("more")
        try FileManager.default.createDirectory(at: sub, withIntermediateDirectories: true)
        try "id: epsilon\ntitle: {en: epsilon, fr: epsilon}\nsteps:\n  - id: q\n    ask: text\n    question: {en: E?, fr: E?}\n"
            .write(to: sub.appendingPathComponent("epsilon.yaml"), atomically: true, encoding: .utf8)
        let nested = Date().addingTimeInterval(30)
        while Date() < nested, !process.output.contains("epsilon") {
            process.send("!dialogues\n")
            Thread.sleep(forTimeInterval: 0.5)
        }
        XCTAssertTrue(process.output.contains("epsilon"), process.output)
    }
}
