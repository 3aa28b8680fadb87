import Foundation
import BotCore
import GRDB

/// A signature of the Charter, counted for one territory.
public struct Signature: Sendable, Hashable, Codable {
    /// The territory's id (``Territory/id``).
    public var territoryID: String
    public var signerID: String
    public var signerName: String
    public var organisation: String
    /// The role chosen in the dialogue (`elected`, `staff`…), as displayed when signing.
    public var role: String?
    public var roomID: String
    public var signedAt: Date
}

/// A white pebble: one first concrete step, tracked in the room that chose it.
public struct Pebble: Sendable, Hashable, Codable {
    public enum Status: String, Sendable, Codable { case open, done }

    public var id: Int64
    public var roomID: String
    /// The number people use in the room (`!pebble done 2`).
    public var number: Int
    /// The territory's id (``Territory/id``), nil while its room has none.
    public var territoryID: String?
    public var title: String
    public var carrier: String?
    /// `YYYY-MM-DD`.
    public var targetDate: String?
    public var status: Status
    public var createdBy: String
    public var createdAt: Date
    public var doneAt: Date?
    public var doneBy: String?
    public var remindedAt: Date?

    /// Whether the target date is before `today` (`YYYY-MM-DD`) and the pebble is still open.
    public func isOverdue(today: String) -> Bool {
        status == .open && (targetDate.map { $0 < today } ?? false)
    }
}

/// The star a room chose: the direction it heads for, in one or two sentences.
public struct Star: Sendable, Hashable, Codable {
    public var roomID: String
    /// The territory's id (``Territory/id``), nil while its room has none.
    public var territoryID: String?
    public var text: String
    public var author: String
    public var setAt: Date
}

/// The Factory's tables: signatures, pebbles, stars and published experiences. Every query names its
/// territory or room, so nothing is ever read across territories by accident.
enum FactoryStore {
    /// A bound on what one room can add by command, so a runaway script cannot fill the database.
    static let maxPebblesPerRoom = 500

    static func registerMigrations(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("factory-v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE factory_signature (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        territory TEXT NOT NULL,
                        signer_id TEXT NOT NULL,
                        signer_name TEXT NOT NULL,
                        organisation TEXT NOT NULL,
                        role TEXT,
                        room_id TEXT NOT NULL,
                        event_id TEXT NOT NULL,
                        signed_at DOUBLE NOT NULL,
                        UNIQUE (territory, signer_id)
                    );
                    CREATE TABLE factory_pebble (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        room_id TEXT NOT NULL,
                        number INTEGER NOT NULL,
                        territory TEXT,
                        title TEXT NOT NULL,
                        carrier TEXT,
                        target_date TEXT,
                        status TEXT NOT NULL DEFAULT 'open',
                        created_by TEXT NOT NULL,
                        created_at DOUBLE NOT NULL,
                        done_at DOUBLE,
                        done_by TEXT,
                        reminded_at DOUBLE,
                        UNIQUE (room_id, number)
                    );
                    CREATE INDEX factory_pebble_due ON factory_pebble(status, reminded_at, target_date);
                    CREATE INDEX factory_pebble_territory ON factory_pebble(territory);
                    CREATE TABLE factory_star (
                        room_id TEXT PRIMARY KEY NOT NULL,
                        territory TEXT,
                        text TEXT NOT NULL,
                        author_name TEXT NOT NULL,
                        set_at DOUBLE NOT NULL
                    );
                    CREATE TABLE factory_experience (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        territory TEXT NOT NULL,
                        source TEXT NOT NULL UNIQUE,
                        title TEXT NOT NULL,
                        language TEXT NOT NULL,
                        author_id TEXT NOT NULL,
                        author_name TEXT NOT NULL,
                        room_id TEXT NOT NULL,
                        published_at DOUBLE NOT NULL
                    );
                    """)
        }
        migrator.registerMigration("factory-v2-experience-review") { db in
            // Issue 21: a shared experience waits here until a facilitator of its territory approves it;
            // only then is it a knowledge-base page every territory reads.
            try db.execute(
                sql: """
                    CREATE TABLE factory_experience_pending (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        territory TEXT NOT NULL,
                        title TEXT NOT NULL,
                        language TEXT NOT NULL,
                        tags TEXT NOT NULL,
                        markdown TEXT NOT NULL,
                        author_id TEXT NOT NULL,
                        author_name TEXT NOT NULL,
                        room_id TEXT NOT NULL,
                        submitted_at DOUBLE NOT NULL
                    );
                    """)
        }
        migrator.registerMigration("factory-v3-territory-ids") { db in
            // Issue 21: territories are entities (the engine's "v8-territory-entities"); the Factory's
            // tables now record their ids.
            let now = Date()
            try Territory.migrateNamesToIDs(in: "factory_signature", orReplace: true, at: now, db)
            for table in ["factory_pebble", "factory_star", "factory_experience_pending", "factory_experience"] {
                try Territory.migrateNamesToIDs(in: table, at: now, db)
            }
        }
    }

    // MARK: Signatures

    /// Records (or renews) a signature. Returns true when this person had already signed for the territory.
    @discardableResult
    static func sign(_ signature: Signature, eventID: String, _ db: Database) throws -> Bool {
        let existed =
            try Bool.fetchOne(
                db, sql: "SELECT 1 FROM factory_signature WHERE territory = ? AND signer_id = ?",
                arguments: [signature.territoryID, signature.signerID]) ?? false
        try db.execute(
            sql: """
                INSERT INTO factory_signature(territory, signer_id, signer_name, organisation, role, room_id, event_id, signed_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(territory, signer_id) DO UPDATE SET signer_name = excluded.signer_name,
                    organisation = excluded.organisation, role = excluded.role, room_id = excluded.room_id,
                    event_id = excluded.event_id, signed_at = excluded.signed_at
                """,
            arguments: [
                signature.territoryID, signature.signerID, signature.signerName, signature.organisation, signature.role,
                signature.roomID, eventID, signature.signedAt.timeIntervalSince1970,
            ])
        return existed
    }

    static func signatureCount(territory: Territory, _ db: Database) throws -> Int {
        try Int.fetchOne(db.cachedStatement(sql: "SELECT COUNT(*) FROM factory_signature WHERE territory = ?"), arguments: [territory.id])
            ?? 0
    }

    /// The territory's signatures, oldest first.
    static func signatures(territory: Territory, _ db: Database) throws -> [Signature] {
        try Row.fetchAll(
            db, sql: "SELECT * FROM factory_signature WHERE territory = ? ORDER BY signed_at, id", arguments: [territory.id]
        ).map { row in
            Signature(
                territoryID: row["territory"], signerID: row["signer_id"], signerName: row["signer_name"],
                organisation: row["organisation"],
                role: row["role"], roomID: row["room_id"], signedAt: Date(timeIntervalSince1970: row["signed_at"]))
        }
    }

    // MARK: Pebbles

    /// Adds a pebble to a room under the next free number, and returns it.
    static func addPebble(
        roomID: String, territory: Territory?, _ draft: PebbleDraft, createdBy: String, now: Date, _ db: Database
    ) throws -> Pebble {
        let number = (try Int.fetchOne(db, sql: "SELECT MAX(number) FROM factory_pebble WHERE room_id = ?", arguments: [roomID]) ?? 0) + 1
        try db.execute(
            sql: """
                INSERT INTO factory_pebble(room_id, number, territory, title, carrier, target_date, status, created_by, created_at)
                VALUES (?, ?, ?, ?, ?, ?, 'open', ?, ?)
                """,
            arguments: [roomID, number, territory?.id, draft.title, draft.carrier, draft.targetDate, createdBy, now.timeIntervalSince1970])
        return Pebble(
            id: db.lastInsertedRowID, roomID: roomID, number: number, territoryID: territory?.id, title: draft.title,
            carrier: draft.carrier,
            targetDate: draft.targetDate, status: .open, createdBy: createdBy, createdAt: now)
    }

    static func pebble(_ row: Row) -> Pebble {
        Pebble(
            id: row["id"], roomID: row["room_id"], number: row["number"], territoryID: row["territory"], title: row["title"],
            carrier: row["carrier"], targetDate: row["target_date"], status: Pebble.Status(rawValue: row["status"]) ?? .open,
            createdBy: row["created_by"], createdAt: Date(timeIntervalSince1970: row["created_at"]),
            doneAt: (row["done_at"] as Double?).map(Date.init(timeIntervalSince1970:)), doneBy: row["done_by"],
            remindedAt: (row["reminded_at"] as Double?).map(Date.init(timeIntervalSince1970:)))
    }

    static func pebbles(roomID: String, _ db: Database) throws -> [Pebble] {
        try Row.fetchAll(db, sql: "SELECT * FROM factory_pebble WHERE room_id = ? ORDER BY number", arguments: [roomID]).map(pebble)
    }

    static func pebbles(territory: Territory, _ db: Database) throws -> [Pebble] {
        try Row.fetchAll(db, sql: "SELECT * FROM factory_pebble WHERE territory = ? ORDER BY room_id, number", arguments: [territory.id])
            .map(pebble)
    }

    static func pebble(roomID: String, number: Int, _ db: Database) throws -> Pebble? {
        try Row.fetchOne(db, sql: "SELECT * FROM factory_pebble WHERE room_id = ? AND number = ?", arguments: [roomID, number]).map(pebble)
    }

    static let dueSQL = """
        SELECT * FROM factory_pebble
        WHERE status = 'open' AND reminded_at IS NULL AND target_date IS NOT NULL AND target_date < ?
        ORDER BY id
        """

    // MARK: Stars

    static func setStar(_ star: Star, _ db: Database) throws {
        try db.execute(
            sql: """
                INSERT INTO factory_star(room_id, territory, text, author_name, set_at) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT(room_id) DO UPDATE SET territory = excluded.territory, text = excluded.text,
                    author_name = excluded.author_name, set_at = excluded.set_at
                """,
            arguments: [star.roomID, star.territoryID, star.text, star.author, star.setAt.timeIntervalSince1970])
    }

    static func star(_ row: Row) -> Star {
        Star(
            roomID: row["room_id"], territoryID: row["territory"], text: row["text"], author: row["author_name"],
            setAt: Date(timeIntervalSince1970: row["set_at"]))
    }

    static func star(roomID: String, _ db: Database) throws -> Star? {
        try Row.fetchOne(db, sql: "SELECT * FROM factory_star WHERE room_id = ?", arguments: [roomID]).map(star)
    }

    static func stars(territory: Territory, _ db: Database) throws -> [Star] {
        try Row.fetchAll(db, sql: "SELECT * FROM factory_star WHERE territory = ? ORDER BY room_id", arguments: [territory.id]).map(star)
    }
}
