@testable import BotCore
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
        try StateStore.migrator.migrate(old, upTo: "v1-core")
        try old.write { db in
            try db.execute(sql: "INSERT INTO cursor(name, value) VALUES ('matrix.since', 's1')")
            try db.execute(sql: "INSERT INTO processed_event(event_id, room_id, processed_at) VALUES ('$old', 'r', 0)")
        }
        try old.close()

        let store = try StateStore(path: path)
        XCTAssertEqual(try store.cursor(named: "matrix.since"), "s1")
        let applied = try store.writer.read { try String.fetchAll($0, sql: "SELECT identifier FROM grdb_migrations") }
        XCTAssertEqual(Set(applied), Set(StateStore.migrator.migrations))
        let engine = Engine(store: store, catalog: DialogueCatalog(), knowledge: nil)
        XCTAssertEqual(try engine.handle(.message(IncomingMessage(roomID: "r", senderID: "a", text: "!help", eventID: "$old", timestamp: Date()))), [],
                       "events processed before the upgrade stay processed")
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
    }
}
