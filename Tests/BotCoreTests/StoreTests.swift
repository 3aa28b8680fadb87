@testable import BotCore
import FabriqueTesting
import Foundation
import GRDB
import XCTest

final class StoreTests: XCTestCase {
    func temporaryPath() -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fabrique-\(UUID().uuidString)")
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return dir.appendingPathComponent("nested/state.sqlite").path
    }

    /// A database left by the first release (only `v1-core`) opens, is migrated in place, and keeps its data.
    func testAnOldDatabaseIsMigratedAndKeepsItsData() throws {
        let path = temporaryPath()
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let old = try DatabaseQueue(path: path)
        try StateStore.migrator().migrate(old, upTo: "v1-core")
        try old.write { db in
            try db.execute(sql: "INSERT INTO cursor(name, value) VALUES ('matrix.since', 's1')")
            try db.execute(sql: "INSERT INTO processed_event(event_id, room_id, processed_at) VALUES ('$old', 'r', 0)")
        }
        try old.close()

        let store = try StateStore(path: path)
        XCTAssertEqual(try store.cursor(named: "matrix.since"), "s1")
        let applied = try store.writer.read { try String.fetchAll($0, sql: "SELECT identifier FROM grdb_migrations") }
        XCTAssertEqual(Set(applied), Set(StateStore.migrator().migrations))
        let engine = try TestBench.makeEngine(store: store, catalog: DialogueCatalog(), knowledge: nil)
        XCTAssertEqual(
            try engine.handle(.message(IncomingMessage(roomID: "r", senderID: "a", text: "!help", eventID: "$old", timestamp: Date()))), [],
            "events processed before the upgrade stay processed")
    }

    /// `v5-no-sequence-pages` rebuilds the outbox and the answers without AUTOINCREMENT (one page less per
    /// commit) and without the outbox's index on reply ids: rows, their numbers and their order are kept,
    /// new rows still number above every old one, and an old pending reply is still marked delivered.
    func testTheOutboxAndAnswersLoseTheirSequencePagesButNotTheirRows() throws {
        let path = temporaryPath()
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let old = try DatabaseQueue(path: path)
        try StateStore.migrator().migrate(old, upTo: "v4-fewer-pages-per-turn")
        try old.write { db in
            for n in 1...3 {
                try db.execute(
                    sql:
                        "INSERT INTO outbox(seq, id, cause_event_id, room_id, payload, created_at, delivered_at) VALUES (?, ?, 'e', 'r', ?, 0, ?)",
                    arguments: [
                        n * 10, "e#\(n)", Engine.encode(OutgoingMessage(id: "e#\(n)", roomID: "r", markdown: "m\(n)")), n == 1 ? 5.0 : nil,
                    ])
                try db.execute(
                    sql: """
                        INSERT INTO answer(id, session_key, dialogue_id, room_id, step_id, variable, value, display, author_id, author_name, event_id, answered_at)
                        VALUES (?, 'k', 'd', 'r', 's', 'v', '{"text":{"_0":"x"}}', 'x', 'a', 'A', ?, 0)
                        """, arguments: [n * 10, "$a\(n)"])
            }
        }
        try old.close()

        let store = try StateStore(path: path)
        try store.writer.read { db in
            let schema = try String.fetchAll(
                db, sql: "SELECT sql FROM sqlite_master WHERE tbl_name IN ('outbox', 'answer') AND sql IS NOT NULL"
            ).joined()
            XCTAssertFalse(schema.uppercased().contains("AUTOINCREMENT"), schema)
            XCTAssertEqual(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM sqlite_master WHERE tbl_name = 'outbox' AND type = 'index'"), 0)
            XCTAssertEqual(try Int64.fetchAll(db, sql: "SELECT seq FROM outbox ORDER BY seq"), [10, 20, 30])
            XCTAssertEqual(try Int64.fetchAll(db, sql: "SELECT id FROM answer ORDER BY id"), [10, 20, 30])
            XCTAssertEqual(
                try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE tbl_name = 'answer' AND type = 'index' ORDER BY name"),
                ["answer_event", "answer_session"])
        }
        let engine = try TestBench.makeEngine(store: store, catalog: DialogueCatalog(), knowledge: nil)
        XCTAssertEqual(try engine.pendingOutbox().map(\.id), ["e#2", "e#3"])
        try engine.markDelivered("e#2")
        let fresh = try engine.handle(
            .message(IncomingMessage(roomID: "r", senderID: "a", text: "!help", eventID: "$new", timestamp: Date())))
        XCTAssertEqual(try engine.pendingOutbox().map(\.id), ["e#3"] + fresh.map(\.id), "new replies come after the old ones")
        try engine.markDelivered(["e#3"] + fresh.map(\.id))
        XCTAssertEqual(try engine.pendingOutbox(), [])
        XCTAssertGreaterThan(
            try store.writer.read { try Int64.fetchOne($0, sql: "SELECT MIN(seq) FROM outbox WHERE cause_event_id = '$new'") } ?? 0, 30)
    }

    /// A reply queued by another engine (or before a restart) is marked by its id, without a row number.
    func testMarkingAReplyThisEngineDidNotQueue() throws {
        let store = try StateStore(path: nil)
        let first = try TestBench.makeEngine(store: store, catalog: DialogueCatalog(), knowledge: nil)
        let replies = try first.handle(
            .message(IncomingMessage(roomID: "r", senderID: "a", text: "!help", eventID: "$e", timestamp: Date())))
        XCTAssertFalse(replies.isEmpty)
        let second = try TestBench.makeEngine(store: store, catalog: DialogueCatalog(), knowledge: nil)
        try second.markDelivered(replies.map(\.id))
        XCTAssertEqual(try first.pendingOutbox(), [])
    }

    /// A full or read-only disk met by any layer (the knowledge base import too) reads as a write
    /// failure of the database; other database errors are not dressed up as one.
    func testWriteFailuresAreRecognisedWhateverTheLayer() {
        let full = StoreError.writeFailure(
            DatabaseError(resultCode: .SQLITE_FULL, message: "database or disk is full", sql: "COMMIT TRANSACTION"))
        XCTAssertEqual(full?.description, "cannot write to the database: database or disk is full", "no SQL in the message")
        XCTAssertNotNil(StoreError.writeFailure(DatabaseError(resultCode: .SQLITE_READONLY_DBMOVED)))
        XCTAssertNil(StoreError.writeFailure(DatabaseError(resultCode: .SQLITE_CONSTRAINT)))
        XCTAssertNil(StoreError.writeFailure(CocoaError(.fileNoSuchFile)))
    }

    func testTheDatabaseIsCreatedOwnerOnlyInWALMode() throws {
        let path = temporaryPath()
        let store = try StateStore(path: path)
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        XCTAssertEqual((attributes[.posixPermissions] as? NSNumber)?.intValue, 0o600)
        XCTAssertEqual(try store.writer.read { try String.fetchOne($0, sql: "PRAGMA journal_mode") }, "wal")
        // Commits that record messages wait for the disk; a delivery mark does not, and restores FULL after itself.
        XCTAssertEqual(try store.writer.write { try Int.fetchOne($0, sql: "PRAGMA synchronous") }, 2)
        try store.writeLight { db in try db.execute(sql: "INSERT INTO cursor(name, value) VALUES ('x', 'y')") }
        XCTAssertEqual(try store.writer.write { try Int.fetchOne($0, sql: "PRAGMA synchronous") }, 2)
        XCTAssertEqual(try store.cursor(named: "x"), "y")
    }

    /// A database, side files and delivery log that exist with a looser mode (0644, as a copy or an older
    /// version left them) are owner-only once the engine opened them: they hold answers and the access token.
    func testAnExistingDatabaseAndItsSideFilesBecomeOwnerOnly() throws {
        let path = temporaryPath()
        do {
            let store = try StateStore(path: path)
            try store.setSetting("matrix.access_token", "secret")
            _ = try TestBench.makeEngine(store: store, catalog: DialogueCatalog([]), knowledge: nil)
        }
        let files = [path, path + "-wal", path + "-shm", path + "-delivered"]
        for file in files {
            if !FileManager.default.fileExists(atPath: file) { _ = FileManager.default.createFile(atPath: file, contents: nil) }
            try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: file)
        }
        let store = try StateStore(path: path)
        _ = try TestBench.makeEngine(store: store, catalog: DialogueCatalog([]), knowledge: nil)
        for file in files {
            let mode = try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int
            XCTAssertEqual(mode, 0o600, file)
        }
        XCTAssertEqual(try store.setting("matrix.access_token"), "secret")
    }

    /// A report file is written owner-only, over an older one readable by all, whatever the umask.
    func testOwnerOnlyFilesReplaceWhatWasThere() throws {
        let path = temporaryPath() + ".csv"
        try FileManager.default.createDirectory(
            atPath: URL(fileURLWithPath: path).deletingLastPathComponent().path, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: path, contents: Data("old".utf8), attributes: [.posixPermissions: 0o644])
        let previous = umask(0)
        defer { umask(previous) }
        try OwnerOnlyFile.write(Data("territory,name\r\n".utf8), to: path)
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "territory,name\r\n")
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int, 0o600)
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        XCTAssertFalse(try FileManager.default.contentsOfDirectory(atPath: folder).contains { $0.hasSuffix(".tmp") }, "no temporary left")
    }

    func testAnUnwritableLocationGivesAClearError() {
        XCTAssertThrowsError(try StateStore(path: "/proc/fabrique/state.sqlite")) { error in
            XCTAssertTrue("\(error)".contains("cannot open the database /proc/fabrique/state.sqlite"), "\(error)")
        }
    }

    func testSettingsRoundTrip() throws {
        let store = try StateStore(path: nil)
        try store.setSetting("matrix.device", "DEV1")
        XCTAssertEqual(try store.setting("matrix.device"), "DEV1")
        try store.setSetting("matrix.device", nil)
        XCTAssertNil(try store.setting("matrix.device"))
        let onFile = try StateStore(path: temporaryPath())
        try onFile.setSetting("matrix.question:!r", "{}", durable: false)
        XCTAssertEqual(try onFile.setting("matrix.question:!r"), "{}")
        XCTAssertEqual(
            try onFile.writer.write { try Int.fetchOne($0, sql: "PRAGMA synchronous") }, 2, "a light write leaves FULL behind it")
    }
}
