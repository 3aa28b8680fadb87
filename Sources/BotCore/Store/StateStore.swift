import Foundation
import GRDB

/// The one SQLite database that holds everything Fabrique must not lose: dialogue sessions, answers,
/// the outbox of replies, processed event ids, adapter cursors and settings.
///
/// Opened in WAL mode; schema changes are named migrations (see ``StateStore/migrator``), so an old
/// database is upgraded in place on open.
public final class StateStore: Sendable {
    /// The database, for components that keep their own tables in it (the knowledge base).
    public let writer: any DatabaseWriter
    /// Where the database lives, or nil when it is in memory.
    public let path: String?

    /// Opens (creating if needed) the database at `path`, or an in-memory one when `path` is nil.
    /// The file and its side files are made owner-only, new or not (see ``OwnerOnlyFile``).
    /// - Parameter prepareDatabase: runs on every connection the store opens, after the store's own setup
    ///   (the tests' bench traces each statement with it).
    /// - Throws: ``StoreError`` with a readable message when the file cannot be opened or migrated.
    public init(path: String?, prepareDatabase: (@Sendable (Database) throws -> Void)? = nil) throws {
        self.path = path
        var config = Configuration()
        config.busyMode = .timeout(5)
        config.prepareDatabase { db in
            // FULL: a commit is on disk before the reply it records goes out, even if the power fails.
            // Bookkeeping that can be redone (delivery marks) lowers it for its own commit only.
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        if let prepareDatabase { config.prepareDatabase(prepareDatabase) }
        do {
            if let path {
                let url = URL(fileURLWithPath: path)
                try FileManager.default.createDirectory(
                    at: url.deletingLastPathComponent(), withIntermediateDirectories: true,
                    attributes: [.posixPermissions: 0o700])
                let existed = FileManager.default.fileExists(atPath: path)
                if !existed {
                    _ = FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600])
                }
                // An existing file keeps its mode otherwise (0644 stays 0644, with the access token
                // inside), and SQLite gives new side files the database's mode.
                try OwnerOnlyFile.restrict(database: path)
                let pool = try DatabasePool(path: path, configuration: config)
                // GRDB sets NORMAL on the writer when it turns WAL on, after `prepareDatabase`: set FULL again.
                try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
                writer = pool
            } else {
                writer = try DatabaseQueue(configuration: config)
            }
            try Self.migrator().migrate(writer)
        } catch let error as DatabaseError {
            throw StoreError.cannotOpen(path: path ?? ":memory:", reason: error.message ?? "\(error.resultCode)")
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError.cannotOpen(path: path ?? ":memory:", reason: error.localizedDescription)
        }
    }

    /// Creates or upgrades the tables these extensions keep (the engine's own are there since `init`).
    /// - Throws: ``StoreError`` when the database cannot be migrated.
    public func install(_ extensions: [any EngineExtension]) throws {
        guard !extensions.isEmpty else { return }
        do {
            try Self.migrator(extensions: extensions).migrate(writer)
        } catch let error as DatabaseError {
            throw StoreError.cannotOpen(path: path ?? ":memory:", reason: error.message ?? "\(error.resultCode)")
        }
    }

    // MARK: Cursors and settings

    /// The stored value of an adapter cursor, if any.
    public func cursor(named name: String) throws -> String? {
        try writer.read { db in try String.fetchOne(db, sql: "SELECT value FROM cursor WHERE name = ?", arguments: [name]) }
    }

    /// Stores an adapter cursor on its own (the engine stores batch cursors with their events), with the
    /// adapter's writes that must commit with it (``InboundBatch/withCursor``) in the same transaction.
    public func setCursor(_ cursor: AdapterCursor?, withCursor: (@Sendable (Database) throws -> Void)? = nil) throws {
        do {
            try transaction { db in
                try withCursor?(db)
                if let cursor { try Self.saveCursor(cursor, db) }
            }
        } catch let error as DatabaseError {
            throw StoreError.cannotWrite(error)
        }
    }

    /// Runs a small write whose loss on power failure is harmless (it is redone or its effect is
    /// idempotent) without waiting for the disk: its WAL frames are made durable by the next full commit.
    /// A process crash (SIGKILL) never loses it: the write is in the operating system's cache.
    func writeLight(_ updates: (Database) throws -> Void) throws {
        try transaction(durable: false, updates)
    }

    /// Runs `work` in one write transaction and commits it, waiting for the disk unless `durable` is false.
    /// Nothing is committed when `work` throws.
    ///
    /// The engine's per-message path: `BEGIN IMMEDIATE` and `COMMIT` are statements prepared once, where
    /// GRDB's `write` parses its transaction statements anew each time.
    func transaction<T>(durable: Bool = true, _ work: (Database) throws -> T) throws -> T {
        try writer.writeWithoutTransaction { db in
            if !durable { try db.cachedStatement(sql: "PRAGMA synchronous = OFF").execute() }
            defer { if !durable { try? db.cachedStatement(sql: "PRAGMA synchronous = FULL").execute() } }
            try db.cachedStatement(sql: "BEGIN IMMEDIATE").execute()
            do {
                let result = try work(db)
                try db.cachedStatement(sql: "COMMIT").execute()
                return result
            } catch {
                if db.isInsideTransaction { try? db.execute(sql: "ROLLBACK") }
                throw error
            }
        }
    }

    static func saveCursor(_ cursor: AdapterCursor, _ db: Database) throws {
        try db.execute(
            sql: "INSERT INTO cursor(name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value",
            arguments: [cursor.name, cursor.value])
    }

    /// A stored setting (adapter credentials, device ids...).
    public func setting(_ key: String) throws -> String? {
        try writer.read { db in try String.fetchOne(db, sql: "SELECT value FROM setting WHERE key = ?", arguments: [key]) }
    }

    /// Stores a setting, or removes it when `value` is nil.
    ///
    /// - Parameter durable: false for a setting whose loss on a power failure is harmless (a cache of
    ///   what the homeserver knows): it is then written without waiting for the disk.
    public func setSetting(_ key: String, _ value: String?, durable: Bool = true) throws {
        let write = { (db: Database) throws in
            if let value {
                try db.execute(
                    sql: "INSERT INTO setting(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    arguments: [key, value])
            } else {
                try db.execute(sql: "DELETE FROM setting WHERE key = ?", arguments: [key])
            }
        }
        try transaction(durable: durable, write)
    }
}

/// A database problem, told in words a person can act on.
public enum StoreError: Error, CustomStringConvertible, Sendable {
    case cannotOpen(path: String, reason: String)
    case cannotWrite(reason: String)

    public var description: String {
        switch self {
        case .cannotOpen(let path, let reason): "cannot open the database \(path): \(reason)"
        case .cannotWrite(let reason): "cannot write to the database: \(reason)"
        }
    }
}

extension StoreError {
    /// A write the database refused, said with SQLite's own words (never the SQL).
    static func cannotWrite(_ error: DatabaseError) -> StoreError {
        .cannotWrite(reason: error.message ?? "\(error.resultCode)")
    }

    /// `error` as a write failure of the database (disk full, read-only file, I/O error) when it is one,
    /// whichever layer met it: the knowledge base writes through the same database.
    public static func writeFailure(_ error: any Error) -> StoreError? {
        guard let error = error as? DatabaseError else { return nil }
        switch error.resultCode.primaryResultCode {
        case .SQLITE_FULL, .SQLITE_READONLY, .SQLITE_IOERR, .SQLITE_CANTOPEN:
            return .cannotWrite(error)
        default:
            return nil
        }
    }
}
