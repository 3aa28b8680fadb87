import Foundation
import GRDB

/// The adapter's encryption state, in tables of its own in the engine's database (`crypto_…`, created by
/// the named migrations below). Secrets are only ever stored pickled, with the operator's pickle key.
///
/// Writes go through ``write(_:)``, one transaction per call: the results of one sync's to-device
/// messages (new Olm sessions, room keys, the digests of the messages handled) commit together.
struct CryptoStore: Sendable {
    let writer: any DatabaseWriter

    /// Creates or upgrades the tables. The engine's migrator tolerates these migrations it does not know.
    /// - Throws: a database error.
    init(writer: any DatabaseWriter) throws {
        self.writer = writer
        try Self.migrator.migrate(writer)
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("matrix-crypto-v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE crypto_account (
                        id INTEGER PRIMARY KEY CHECK (id = 1),
                        user_id TEXT NOT NULL,
                        device_id TEXT NOT NULL,
                        pickle TEXT NOT NULL,
                        keys_uploaded INTEGER NOT NULL DEFAULT 0
                    );
                    CREATE TABLE crypto_olm_session (
                        session_id TEXT PRIMARY KEY NOT NULL,
                        sender_key TEXT NOT NULL,
                        pickle TEXT NOT NULL,
                        last_used DOUBLE NOT NULL
                    );
                    CREATE INDEX crypto_olm_session_sender ON crypto_olm_session(sender_key);
                    CREATE TABLE crypto_inbound_group (
                        room_id TEXT NOT NULL,
                        session_id TEXT NOT NULL,
                        sender_key TEXT NOT NULL,
                        sender_user TEXT NOT NULL,
                        signing_key TEXT NOT NULL,
                        pickle TEXT NOT NULL,
                        PRIMARY KEY (room_id, session_id)
                    );
                    CREATE TABLE crypto_outbound_group (
                        room_id TEXT PRIMARY KEY NOT NULL,
                        session_id TEXT NOT NULL,
                        pickle TEXT NOT NULL,
                        created_at DOUBLE NOT NULL,
                        shared_with TEXT NOT NULL
                    );
                    CREATE TABLE crypto_megolm_index (
                        session_id TEXT NOT NULL,
                        message_index INTEGER NOT NULL,
                        event_id TEXT NOT NULL,
                        PRIMARY KEY (session_id, message_index)
                    );
                    CREATE TABLE crypto_device (
                        user_id TEXT NOT NULL,
                        device_id TEXT NOT NULL,
                        curve_key TEXT NOT NULL,
                        ed_key TEXT NOT NULL,
                        PRIMARY KEY (user_id, device_id)
                    );
                    CREATE TABLE crypto_to_device_seen (
                        digest TEXT PRIMARY KEY NOT NULL,
                        seen_at DOUBLE NOT NULL
                    );
                    CREATE TABLE crypto_undecrypted (
                        event_id TEXT PRIMARY KEY NOT NULL,
                        room_id TEXT NOT NULL,
                        session_id TEXT NOT NULL,
                        event TEXT NOT NULL,
                        received_at DOUBLE NOT NULL
                    );
                    CREATE INDEX crypto_undecrypted_session ON crypto_undecrypted(room_id, session_id);
                    """)
        }
        migrator.registerMigration("matrix-crypto-v2-cross-signing") { db in
            try db.execute(
                sql: """
                    CREATE TABLE crypto_cross_signing (
                        id INTEGER PRIMARY KEY CHECK (id = 1),
                        master TEXT NOT NULL,
                        self_signing TEXT NOT NULL,
                        uploaded INTEGER NOT NULL DEFAULT 0
                    );
                    """)
        }
        migrator.registerMigration("matrix-crypto-v3-undecrypted-notified") { db in
            try db.execute(sql: "ALTER TABLE crypto_undecrypted ADD COLUMN notified INTEGER NOT NULL DEFAULT 0")
        }
        migrator.registerMigration("matrix-crypto-v4-device-lists") { db in
            try db.execute(
                sql: """
                    CREATE TABLE crypto_tracked_user (
                        user_id TEXT PRIMARY KEY NOT NULL,
                        outdated INTEGER NOT NULL DEFAULT 0
                    );
                    CREATE TABLE crypto_device_lists (
                        id INTEGER PRIMARY KEY CHECK (id = 1),
                        since TEXT NOT NULL
                    );
                    """)
        }
        return migrator
    }

    func read<T>(_ body: (Database) throws -> T) throws -> T { try writer.read(body) }

    /// One write transaction, committed durably before it returns.
    func write<T>(_ body: (Database) throws -> T) throws -> T { try writer.write(body) }
}

/// One row per pickled object, as the store keeps it.
struct StoredAccount: Sendable {
    var userID: String
    var deviceID: String
    var pickle: String
    var keysUploaded: Bool
}

extension CryptoStore {
    func account() throws -> StoredAccount? {
        try read { db in
            try Row.fetchOne(db, sql: "SELECT user_id, device_id, pickle, keys_uploaded FROM crypto_account WHERE id = 1").map {
                StoredAccount(userID: $0["user_id"], deviceID: $0["device_id"], pickle: $0["pickle"], keysUploaded: $0["keys_uploaded"])
            }
        }
    }

    /// Forgets every key and session: the account belonged to another device.
    static func wipe(_ db: Database) throws {
        for table in [
            "crypto_account", "crypto_olm_session", "crypto_inbound_group", "crypto_outbound_group", "crypto_megolm_index",
            "crypto_device", "crypto_to_device_seen", "crypto_undecrypted", "crypto_cross_signing", "crypto_tracked_user",
            "crypto_device_lists",
        ] {
            try db.execute(sql: "DELETE FROM \(table)")
        }
    }

    static func save(account: StoredAccount, _ db: Database) throws {
        try db.execute(
            sql: """
                INSERT INTO crypto_account(id, user_id, device_id, pickle, keys_uploaded) VALUES (1, ?, ?, ?, ?)
                ON CONFLICT(id) DO UPDATE SET user_id = excluded.user_id, device_id = excluded.device_id,
                    pickle = excluded.pickle, keys_uploaded = excluded.keys_uploaded
                """,
            arguments: [account.userID, account.deviceID, account.pickle, account.keysUploaded])
    }
}
