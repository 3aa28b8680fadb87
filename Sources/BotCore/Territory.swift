import Dialogues
import Foundation
import GRDB

/// A territory: what rooms bind to and what every answer, mark and report is recorded under.
///
/// Its ``id`` never changes; its ``name`` is a label (`!territory rename` changes it, and every report
/// follows). Every name a territory has had stays its own (`territory_name`, keyed by ``key(_:)``): a
/// former name still finds it, and nobody else can take it.
public struct Territory: Sendable, Hashable {
    /// `t-1`, `t-2`…: what the tables store in their `territory` columns.
    public let id: String
    /// The name people gave it, as shown everywhere.
    public let name: String

    public init(id: String, name: String) {
        self.id = id
        self.name = name
    }

    /// Names are the same whatever the case, accents, compatibility forms (NFKC: `Ｄｉｏｉｓ`) and
    /// Cyrillic or Greek look-alike letters: "Drôme", "drome" and "Drоme" (Cyrillic о) are one.
    public static func key(_ name: String) -> String {
        let folded = TextMatching.fold(name.precomposedStringWithCompatibilityMapping)
        return String(String.UnicodeScalarView(folded.unicodeScalars.map { lookAlikes[$0] ?? $0 }))
    }

    /// Cyrillic and Greek letters that look like Latin ones (lowercase: the key is folded first).
    static let lookAlikes: [Unicode.Scalar: Unicode.Scalar] = {
        let pairs: [(String, String)] = [
            ("аеорсухкмнтвіјѕԁɡһӏԛԝ", "aeopcyxkmhtbijsdghlqw"), ("αβεικνορτυχ", "abeiknoptux"),
        ]
        var map: [Unicode.Scalar: Unicode.Scalar] = [:]
        for (from, to) in pairs {
            for (a, b) in zip(from.unicodeScalars, to.unicodeScalars) { map[a] = b }
        }
        return map
    }()

    /// One spelling per name, whatever the keyboard sent: composed (NFC), single spaces, trimmed.
    public static func tidy(_ name: String) -> String {
        name.precomposedStringWithCanonicalMapping.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ")
    }

    // MARK: The store

    /// The territory with this id.
    public static func withID(_ id: String, _ db: Database) throws -> Territory? {
        try String.fetchOne(db.cachedStatement(sql: "SELECT name FROM territory WHERE id = ?"), arguments: [id]).map {
            Territory(id: id, name: $0)
        }
    }

    /// The territory a name means, by its current name or a former one, whatever its case and accents.
    public static func named(_ name: String, _ db: Database) throws -> Territory? {
        guard
            let id = try String.fetchOne(
                db.cachedStatement(sql: "SELECT territory_id FROM territory_name WHERE key = ?"), arguments: [key(tidy(name))])
        else { return nil }
        return try withID(id, db)
    }

    /// Every territory, by name.
    public static func all(_ db: Database) throws -> [Territory] {
        try Row.fetchAll(db, sql: "SELECT id, name FROM territory ORDER BY name COLLATE NOCASE, id").map {
            Territory(id: $0["id"], name: $0["name"])
        }
    }

    /// A new territory named `name`, which no territory may have had (check with ``named(_:_:)`` first).
    static func create(named name: String, by creator: String?, at now: Date, _ db: Database) throws -> Territory {
        let number = (try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM territory") ?? 0) + 1
        let territory = Territory(id: "t-\(number)", name: tidy(name))
        try db.execute(
            sql: "INSERT INTO territory(id, name, created_by, created_at) VALUES (?, ?, ?, ?)",
            arguments: [territory.id, territory.name, creator, now.timeIntervalSince1970])
        try reserve(territory.name, for: territory.id, at: now, db)
        return territory
    }

    /// The territory a name means, created when there is none: for names that come from outside the chat
    /// (the terminal's `--territory`, and data recorded before territories had ids).
    public static func named(orCreating name: String, at now: Date, _ db: Database) throws -> Territory {
        if let known = try named(name, db) { return known }
        return try create(named: name, by: nil, at: now, db)
    }

    /// Gives the territory a new name; the former one stays its own.
    static func rename(_ territory: Territory, to name: String, at now: Date, _ db: Database) throws -> Territory {
        let renamed = Territory(id: territory.id, name: tidy(name))
        try db.execute(sql: "UPDATE territory SET name = ? WHERE id = ?", arguments: [renamed.name, renamed.id])
        try reserve(renamed.name, for: renamed.id, at: now, db)
        return renamed
    }

    private static func reserve(_ name: String, for id: String, at now: Date, _ db: Database) throws {
        try db.execute(
            sql: "INSERT INTO territory_name(key, territory_id, name, since) VALUES (?, ?, ?, ?) ON CONFLICT(key) DO NOTHING",
            arguments: [key(name), id, name, now.timeIntervalSince1970])
    }

    /// Rewrites a table's `territory` column from names (how data was recorded before territories had
    /// ids) to ids, creating a territory per name. For migrations, the engine's and the extensions'.
    /// - Parameter orReplace: for a table with a unique key on its territory, where two spellings of one
    ///   name now mean one territory: rows are rewritten in the order they were written, the later wins.
    public static func migrateNamesToIDs(in table: String, orReplace: Bool = false, at now: Date, _ db: Database) throws {
        guard orReplace else {
            for name in try String.fetchAll(db, sql: "SELECT DISTINCT territory FROM \(table) WHERE territory IS NOT NULL") {
                let territory = try named(orCreating: name, at: now, db)
                try db.execute(sql: "UPDATE \(table) SET territory = ? WHERE territory = ?", arguments: [territory.id, name])
            }
            return
        }
        for row in try Row.fetchAll(db, sql: "SELECT rowid AS r, territory FROM \(table) WHERE territory IS NOT NULL ORDER BY rowid") {
            let territory = try named(orCreating: row["territory"], at: now, db)
            try db.execute(sql: "UPDATE OR REPLACE \(table) SET territory = ? WHERE rowid = ?", arguments: [territory.id, row["r"]])
        }
    }
}
