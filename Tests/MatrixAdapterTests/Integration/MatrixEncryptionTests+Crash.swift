import BotCore
import FabriqueTesting
import Foundation
import GRDB
import XCTest

@testable import MatrixAdapter

extension MatrixEncryptionTests {
    /// SIGKILL mid-conversation, ten times: no lost answer, no duplicate, no undecryptable message.
    ///
    /// Alice and bob take the demo tour in an encrypted room, one line after the other, and the peers'
    /// script (`crash` in `Tests/Peers/e2e_peer.py`) kills the bot after each line, at a random moment,
    /// then starts it again; the script checks what the people see: every line answered, every bot
    /// message decrypted by both, no answer seen twice. This test checks what the bot kept: each answer
    /// stored once, with its author, its person's run and its question (a comment on the answer it
    /// explains); each run at the step those answers lead to; every reply sent exactly once (the room's
    /// events, read with the bot's own token, matched to the outbox by transaction id), with the bot's
    /// one device through all its restarts.
    func testKillingTheBotInAnEncryptedRoomLosesNoAnswerAndNoKey() async throws {
        // Who says what, in this order; the bot is killed after each line. Alice finishes the tour, bob
        // stops where the bot asks him to explain his rating.
        let lines: [(person: String, text: String)] = [
            ("alice", "!start demo"), ("bob", "!start demo"),
            ("alice", "2"), ("bob", "1"),
            ("alice", "yes"), ("bob", "yes"),
            ("alice", "4"), ("bob", "3"),
            ("alice", "we meet often"), ("alice", "A territory that decides together."),
        ]
        let python = try Self.peerPython()
        let botUser = try await person("bot")
        let database = workDirectory.appendingPathComponent("bot.sqlite")
        let command: JSON = [
            "argv": .array(
                [
                    try FabriqueProcess.binary().path, "matrix", "--homeserver", homeserver.url.absoluteString, "--user", botUser.userID,
                    "--db", database.path, "--log-level", "info",
                ].map(JSON.string)),
            "env": ["FABRIQUE_MATRIX_PASSWORD": .string(botUser.password), "FABRIQUE_MATRIX_PICKLE_KEY": .string(Self.pickleKey)],
            "log": .string(workDirectory.appendingPathComponent("bot.log").path),
            "say": .array(lines.map { [.string($0.person), .string($0.text)] }),
        ]
        let commandFile = workDirectory.appendingPathComponent("bot-command.json")
        try command.data().write(to: commandFile)
        // The script prints its RESULT once the last line is said: the store is checked even when the
        // people's own checks failed.
        let logFile = workDirectory.appendingPathComponent("bot.log")
        let result = try await runPeers(
            python, bot: botUser, [commandFile.path], botLog: { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" })
        let log = (try? String(contentsOf: logFile, encoding: .utf8)) ?? ""
        let room = try XCTUnwrap(result["room"]?.string)
        let alice = try XCTUnwrap(result["users"]?["alice"]?.string), bob = try XCTUnwrap(result["users"]?["bob"]?.string)
        let said = try XCTUnwrap(result["said"]?.array?.compactMap(\.string))
        XCTAssertEqual(said.count, lines.count, "one event per line")
        /// "line N" for a line's event id (1-based, as in `lines`), the id itself for another event.
        @Sendable func lineOf(_ eventID: String?) -> String {
            guard let eventID else { return "" }
            return said.firstIndex(of: eventID).map { "line \($0 + 1)" } ?? eventID
        }
        let aliceRun = SessionKey.person(room, alice).rawValue, bobRun = SessionKey.person(room, bob).rawValue

        // Each answer once, with its author, run and question; the comment with the rating it explains.
        let store = try StateStore(path: database.path)
        let answers = try await store.writer.read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT event_id, session_key, author_id, step_id, display, comment, comment_event_id FROM answer WHERE room_id = ?",
                arguments: [room]
            ).map { row -> [String] in
                [
                    lineOf(row["event_id"]), row["session_key"], row["author_id"], row["step_id"], row["display"], row["comment"] ?? "",
                    lineOf(row["comment_event_id"]),
                ]
            }
        }
        XCTAssertEqual(
            answers.sorted { $0.lexicographicallyPrecedes($1) { $0.compare($1, options: .numeric) == .orderedAscending } },
            [
                ["line 3", aliceRun, alice, "role", "I work for a local authority", "", ""],
                ["line 4", bobRun, bob, "role", "I am an elected representative", "", ""],
                ["line 5", aliceRun, alice, "ready", "yes", "", ""],
                ["line 6", bobRun, bob, "ready", "yes", "", ""],
                ["line 7", aliceRun, alice, "maturity", "4 — Well established", "we meet often", "line 9"],
                ["line 8", bobRun, bob, "maturity", "3 — Under way", "", ""],
                ["line 10", aliceRun, alice, "wish", "A territory that decides together.", "", ""],
            ], "every answer stored once, as given")

        // Each run where its answers lead: alice's ended, bob's asking him to explain his rating.
        let sessions = try await store.writer.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT key, status, IFNULL(json_extract(state, '$.stepID') || ' (' || json_extract(state, '$.phase') || ')', ''),
                        json_extract(state, '$.history') FROM session WHERE room_id = ? ORDER BY key
                    """, arguments: [room]
            ).map { row in (0..<4).map { row[$0] as String } }
        }
        XCTAssertEqual(
            sessions,
            [
                [aliceRun, "ended", "", #"["role","ready","maturity","wish"]"#],
                [bobRun, "active", "maturity (comment)", #"["role","ready","maturity"]"#],
            ].sorted { $0[0] < $1[0] }, "each run at the step its answers lead to")

        // Every line handled, each of its replies delivered once: the room's bot events, read with the bot's
        // own token (only that token sees their transaction ids), are the outbox's rows, each once.
        let (handled, outbox, token) = try await store.writer.read { db in
            (
                try String.fetchSet(db, sql: "SELECT event_id FROM processed_event WHERE room_id = ?", arguments: [room]),
                try Row.fetchAll(
                    db, sql: "SELECT id, cause_event_id, delivered_at IS NOT NULL FROM outbox WHERE room_id = ?", arguments: [room]
                )
                .map { (id: $0[0] as String, cause: $0[1] as String, delivered: $0[2] as Bool) },
                try String.fetchOne(db, sql: "SELECT value FROM setting WHERE key = 'matrix.access_token'")
            )
        }
        XCTAssertEqual(said.filter { !handled.contains($0) }.map(lineOf), [], "every line handled")
        XCTAssertEqual(outbox.filter { !$0.delivered }.map(\.id), [], "no reply left to send")
        let causes = Set(outbox.map(\.cause))
        XCTAssertEqual(said.filter { !causes.contains($0) }.map(lineOf), [], "every line has its reply")
        let replies = Dictionary(outbox.map { (TransactionID.make(for: $0.id), $0.id) }) { first, _ in first }
        let asBot = TestUser(server: homeserver, userID: botUser.userID, token: try XCTUnwrap(token, "the bot's stored token"))
        let mine = try await asBot.history(room).filter { $0["sender"]?.string == botUser.userID && $0["state_key"] == nil }
        XCTAssertEqual(Set(mine.compactMap { $0["type"]?.string }), ["m.room.encrypted"], "every bot event is encrypted")
        let sent = mine.map { $0["unsigned"]?["transaction_id"]?.string ?? "no transaction id: \($0["event_id"]?.string ?? "?")" }
        XCTAssertEqual(
            sent.compactMap { replies[$0] }.sorted(), outbox.map(\.id).sorted(),
            "each reply in the room once, with the id its line gave it")
        XCTAssertEqual(sent.filter { replies[$0] == nil }, [], "every bot event is one of its replies, sent with the bot's one token")
        let devices = try await asBot.request("GET", "/_matrix/client/v3/devices")["devices"]?.array ?? []
        XCTAssertEqual(devices.count, 2, "the test's own login and the bot's one device, kept through ten kills: \(devices)")
        XCTAssertFalse(log.contains(Self.pickleKey), "the pickle key is never logged")
    }
}
