@testable import BotCore
import FabriqueTesting
import Foundation
import GRDB
import XCTest

/// A small extension that uses every part of the seam, so the engine's side of it is tested without the
/// Factory: a command with an alias (and one that tries to take a core command's name), an `on_end`
/// action writing to a table of its own, a variable, a timer, and a failure on demand.
struct ProbeExtension: EngineExtension {
    var commands: [ExtensionCommand] {
        [
            ExtensionCommand("echo", aliases: ["repete"], help: [.init("echo TEXT", en: "says TEXT back", fr: "répète TEXTE")]) {
                argument, message, scope in
                scope.reply("echo(\(scope.language.rawValue), \(scope.territory?.name ?? "-")): \(argument)", to: message)
            },
            // A core name stays the engine's.
            ExtensionCommand("help") { _, message, scope in scope.reply("the probe's help", to: message) },
        ]
    }

    var endActions: Set<String> { ["log_run", "fail"] }
    var variableNames: Set<String> { ["greeting"] }

    func variables(in scope: TurnScope) throws -> [String: String] {
        ["greeting": "hello from \(scope.territory?.name ?? "nowhere")"]
    }

    func runEndAction(_ name: String, run: EndedRun, in scope: inout TurnScope) throws {
        if name == "fail" { throw DatabaseError(resultCode: .SQLITE_ERROR, message: "the probe failed") }
        let answers = run.answers.keys.sorted().map { "\($0)=\(run.answers[$0]!.display)" }.joined(separator: ",")
        try scope.db.execute(sql: "INSERT INTO probe_log(room_id, answers) VALUES (?, ?)", arguments: [run.roomID, answers])
        scope.reply("logged \(answers) (\(scope.command("echo")))", to: run.message)
    }

    func dueTimers(_ db: Database, now: Date) throws -> [DueTimer] {
        try Row.fetchAll(
            db, sql: "SELECT id, room_id FROM probe_timer WHERE due_at <= ? AND fired = 0 ORDER BY id",
            arguments: [now.timeIntervalSince1970]
        )
        .map { row in
            let id: Int64 = row["id"]
            return DueTimer(id: "probe:\(id)", roomID: row["room_id"]) { scope in
                try scope.db.execute(sql: "UPDATE probe_timer SET fired = 1 WHERE id = ?", arguments: [id])
                scope.reply(scope.language.pick("ring \(id)", "sonnerie \(id)"), to: nil)
            }
        }
    }

    func registerMigrations(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("probe-v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE probe_log (room_id TEXT NOT NULL, answers TEXT NOT NULL);
                    CREATE TABLE probe_timer (id INTEGER PRIMARY KEY, room_id TEXT NOT NULL, due_at DOUBLE NOT NULL, fired INTEGER NOT NULL DEFAULT 0);
                    """)
        }
    }

    func knowledgeWording(_ language: Language, commandPrefix: String) -> KnowledgeWording? {
        KnowledgeWording(resources: "the probe's shelf", exampleQuestion: "what is a probe?", whenUnanswered: "Try \(commandPrefix)echo.")
    }
}

final class ExtensionSeamTests: XCTestCase {
    static let dialogue = """
        id: probe
        title: {en: "Probe", fr: "Sonde"}
        on_end: [log_run]
        steps:
          - id: name
            ask: text
            question: {en: "Your name? ({greeting})", fr: "Votre nom ? ({greeting})"}
        """

    /// Every statement the engines of a test ran: each message and each timer firing must be one transaction.
    let sql = StatementLog()

    /// An engine with the probe extension on a file database, a `probe` dialogue and a manual clock.
    func engine(_ path: String? = nil, dialogue: String = ExtensionSeamTests.dialogue, prefix: String = "!") throws -> (Engine, ManualClock)
    {
        var loader = DialogueLoader(vocabulary: [ProbeExtension()].vocabulary)
        let script = try XCTUnwrap(loader.loadDialogue(yaml: dialogue, file: "probe.yaml"), "\(loader.diagnostics)")
        let clock = ManualClock(Date(timeIntervalSince1970: 1_780_000_000))
        var configuration = EngineConfiguration(commandPrefix: prefix, defaultTerritory: "Diois")
        configuration.deliveryMarkDelay = .seconds(3600)
        let engine = try TestBench.makeEngine(
            store: try StateStore(path: path, prepareDatabase: sql.prepareDatabase), catalog: DialogueCatalog([script]), knowledge: nil,
            extensions: [ProbeExtension()], configuration: configuration, clock: clock.source)
        sql.removeAll()
        return (engine, clock)
    }

    var counter = 0
    func say(_ engine: Engine, _ text: String, room: String = "dm-a", lang: String? = nil) throws -> [String] {
        counter += 1
        let message = IncomingMessage(
            roomID: room, senderID: "a", senderName: "Ana", text: text, eventID: "e\(counter)", timestamp: Date(),
            roomKind: room.hasPrefix("dm-") ? .direct : .group, senderIsFacilitator: true)
        let mark = sql.count
        let replies = try engine.handle(.message(message)).map(\.plain)
        StatementLog.assertTransactions(sql.statements(since: mark), count: 1)
        return replies
    }

    func testExtensionCommandsAnswerByNameAndAliasAndAreListedInHelp() throws {
        let (engine, _) = try engine()
        XCTAssertEqual(try say(engine, "!echo bonjour"), ["echo(en, Diois): bonjour"])
        XCTAssertEqual(try say(engine, "!Répète encore"), ["echo(en, Diois): encore"], "aliases are matched without case or accents")
        let help = try say(engine, "!help").joined()
        XCTAssertTrue(help.contains("- !echo TEXT: says TEXT back"), help)
        XCTAssertFalse(help.contains("the probe's help"), "a core command cannot be taken over")
        let unknown = try say(engine, "!ecko").joined()
        XCTAssertTrue(
            unknown.contains("Did you mean !echo?") && unknown.contains("!territory, !reactions, !reload, !answers, !send, !kb, !echo."),
            unknown
        )
    }

    func testEndActionsRunInTheTurnThatEndsTheRunWithItsAnswersAndTheirRepliesComeFirst() throws {
        let (engine, _) = try engine()
        let asked = try say(engine, "!start probe")
        XCTAssertTrue(asked.joined().contains("Your name? (hello from Diois)"), "\(asked)")
        let ended = try say(engine, "Ana Lopez")
        XCTAssertEqual(ended.first, "logged name=Ana Lopez (!echo)")
        XCTAssertTrue(ended.last?.contains("Probe is finished") == true, "\(ended)")
        let logged = try engine.store.writer.read { try Row.fetchAll($0, sql: "SELECT room_id, answers FROM probe_log") }
        XCTAssertEqual(logged.map { "\($0["room_id"] as String) \($0["answers"] as String)" }, ["dm-a name=Ana Lopez"])
    }

    /// An extension's failure is the turn's failure: nothing of the message is committed, so it can be
    /// handled again (and the answer is not half-saved without its action).
    func testAFailingEndActionCommitsNothingOfTheTurn() throws {
        let (engine, _) = try engine(dialogue: Self.dialogue.replacingOccurrences(of: "[log_run]", with: "[log_run, fail]"))
        _ = try say(engine, "!start probe")
        XCTAssertThrowsError(try say(engine, "Ana"))
        let counts = try engine.store.writer.read { db in
            try ["answer", "probe_log", "processed_event WHERE event_id = 'e2'"].map {
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \($0)") ?? -1
            }
        }
        XCTAssertEqual(counts, [0, 0, 0])
    }

    func testTimersFireOnceInTheirRoomInItsLanguage() throws {
        let (engine, clock) = try engine()
        _ = try say(engine, "!lang room fr", room: "room-9")
        try engine.store.writer.write { db in
            try db.execute(
                sql: "INSERT INTO probe_timer(id, room_id, due_at) VALUES (7, 'room-9', ?)",
                arguments: [clock.now.timeIntervalSince1970 + 120])
        }
        XCTAssertEqual(try engine.tick(), [], "not due yet")
        clock.advance(by: 180)
        let mark = sql.count
        let fired = try engine.tick()
        let statements = sql.statements(since: mark)
        XCTAssertEqual(statements.filter { $0.hasPrefix("BEGIN IMMEDIATE") }.count, 1, "the firing is one write transaction: \(statements)")
        XCTAssertEqual(fired.map(\.id), ["probe:7#0"])
        XCTAssertEqual(fired.map(\.roomID), ["room-9"])
        XCTAssertEqual(fired.map(\.plain), ["sonnerie 7"])
        clock.advance(by: 120)
        XCTAssertEqual(try engine.tick(), [], "a fired timer does not fire again")
    }

    func testAnExtensionsMigrationsAreAppliedOnceAndKeptAcrossRestarts() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fabrique-seam-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("state.sqlite").path
        let (first, _) = try engine(path)
        _ = try say(first, "!start probe")
        _ = try say(first, "Ana")
        let (second, _) = try engine(path)
        let (applied, logged) = try second.store.writer.read { db in
            (
                try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations WHERE identifier LIKE 'probe%'"),
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM probe_log")
            )
        }
        XCTAssertEqual(applied, ["probe-v1"])
        XCTAssertEqual(logged, 1)
    }

    func testTheKnowledgeWordingAndThePrefixComeFromTheDeployment() throws {
        let (engine, _) = try engine(prefix: "?")
        XCTAssertEqual(try say(engine, "?echo x"), ["echo(en, Diois): x"])
        XCTAssertEqual(
            try say(engine, "!echo x"), ["No knowledge base is loaded, so I cannot answer questions."], "another prefix is no command")
        XCTAssertEqual(try say(engine, "?ask"), ["Ask me something after ?ask, for example ?ask what is a probe?"])
    }

    func testWithoutExtensionsTheEngineOffersOnlyItsOwn() throws {
        let engine = try Engine(store: try StateStore(path: nil), catalog: DialogueCatalog(), knowledge: nil)
        let unknown = try engine.handle(
            .message(IncomingMessage(roomID: "dm-a", senderID: "a", text: "!echo", eventID: "x", timestamp: Date(), roomKind: .direct)))
        XCTAssertTrue(
            unknown.first?.plain.hasSuffix(
                "Commands: !help, !start, !stop, !resume, !status, !lang, !dialogues, !ask, !more, !territory, !reactions, !reload, !answers, !send, !kb."
            )
                == true,
            "\(unknown)")
        XCTAssertEqual([any EngineExtension]().vocabulary, .core)
        var loader = DialogueLoader()
        XCTAssertNil(loader.loadDialogue(yaml: Self.dialogue, file: "probe.yaml"))
        XCTAssertEqual(loader.diagnostics.map(\.code), [.invalidValue, .unknownVariable])
    }
}
