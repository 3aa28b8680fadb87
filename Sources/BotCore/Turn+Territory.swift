import Foundation
import GRDB

/// Binding rooms to territories, so that reports and counts never mix them.
///
/// A territory name belongs to the rooms bound to it. The first room claims a free name with
/// `!territory set NAME`; another room joins it only with a code that a facilitator of a bound room
/// gives (`!territory invite`, then `!territory join CODE` in the new room). So a facilitator of room B
/// cannot read room A's answers by naming A's territory.
extension Turn {
    /// How long an invitation code stays valid.
    static let invitationLifetime: TimeInterval = 7 * 24 * 3600

    mutating func territoryCommand(_ argument: String, _ message: IncomingMessage, _ language: Language) throws {
        let words = argument.split(separator: " ", maxSplits: 1).map(String.init)
        let verb = words.first.map(TextMatching.fold) ?? ""
        let rest = words.count > 1 ? words[1].trimmingCharacters(in: .whitespacesAndNewlines) : ""
        switch verb {
        case "set", "definir": try claimTerritory(rest, message, language)
        case "invite", "inviter": try inviteToTerritory(message, language)
        case "join", "rejoindre": try joinTerritory(rest, message, language)
        default:
            let current = try territory(of: message.roomID)
            reply(
                current.map {
                    language.pick("This room works for **\(Markdown.escape($0))**.", "Ce salon travaille pour **\(Markdown.escape($0))**.")
                }
                    ?? language.pick(
                        "This room is not bound to a territory. A facilitator can say `\(prefix)territory set NAME`.",
                        "Ce salon n'est lié à aucun territoire. Un·e facilitateur·rice peut dire `\(prefix)territory set NOM`."),
                to: message)
        }
    }

    /// Territories are the same whatever the case and accents: "Drôme" and "drome" are one.
    static func territoryKey(_ name: String) -> String { TextMatching.fold(name) }

    /// Whether another room, or recorded data, already uses this territory name.
    func territoryIsTaken(_ name: String, by roomID: String) throws -> Bool {
        let key = Self.territoryKey(name)
        let bound = try String.fetchAll(
            db, sql: "SELECT territory FROM room_setting WHERE territory IS NOT NULL AND room_id != ?", arguments: [roomID])
        if bound.contains(where: { Self.territoryKey($0) == key }) { return true }
        let recorded = try String.fetchAll(
            db, sql: "SELECT DISTINCT territory FROM answer WHERE territory IS NOT NULL AND room_id != ?", arguments: [roomID])
        return recorded.contains { Self.territoryKey($0) == key }
    }

    mutating func claimTerritory(_ name: String, _ message: IncomingMessage, _ language: Language) throws {
        guard message.senderIsFacilitator else {
            reply(
                language.pick(
                    "Only a facilitator can bind this room to a territory.",
                    "Seul·e un·e facilitateur·rice peut lier ce salon à un territoire."), to: message)
            return
        }
        guard !name.isEmpty, name.count <= 120,
            !name.contains(where: { $0.isNewline || $0.unicodeScalars.contains { $0.properties.generalCategory == .control } })
        else {
            reply(
                language.pick(
                    "Give the territory's name, up to 120 characters: `\(prefix)territory set NAME`.",
                    "Donnez le nom du territoire, 120 caractères au plus : `\(prefix)territory set NOM`."), to: message)
            return
        }
        if try territoryIsTaken(name, by: message.roomID) {
            reply(
                language.pick(
                    "**\(Markdown.escape(name))** is already used by another room. To work on it here too, a facilitator of that room says `\(prefix)territory invite` and gives you the code for `\(prefix)territory join CODE`.",
                    "**\(Markdown.escape(name))** est déjà utilisé par un autre salon. Pour y travailler ici aussi, un·e facilitateur·rice de ce salon dit `\(prefix)territory invite` et vous donne le code pour `\(prefix)territory join CODE`."
                ),
                to: message)
            return
        }
        try bind(message.roomID, to: name)
        reply(
            language.pick(
                "This room now works for **\(Markdown.escape(name))**.", "Ce salon travaille désormais pour **\(Markdown.escape(name))**."),
            to: message)
    }

    mutating func inviteToTerritory(_ message: IncomingMessage, _ language: Language) throws {
        guard message.senderIsFacilitator else {
            reply(
                language.pick("Only a facilitator can invite another room.", "Seul·e un·e facilitateur·rice peut inviter un autre salon."),
                to: message)
            return
        }
        guard
            let territory = try String.fetchOne(
                db, sql: "SELECT territory FROM room_setting WHERE room_id = ?", arguments: [message.roomID])
        else {
            reply(
                language.pick(
                    "Bind this room to a territory first: `\(prefix)territory set NAME`.",
                    "Liez d'abord ce salon à un territoire : `\(prefix)territory set NOM`."), to: message)
            return
        }
        let code = Self.invitationCode(for: message.eventID)
        try db.execute(
            sql:
                "INSERT INTO territory_invitation(code, territory, created_by, expires_at) VALUES (?, ?, ?, ?) ON CONFLICT(code) DO NOTHING",
            arguments: [code, territory, message.senderID, now.addingTimeInterval(Self.invitationLifetime).timeIntervalSince1970])
        reply(
            language.pick(
                "Code for another room to join **\(Markdown.escape(territory))**: `\(code)` (valid 7 days, once). A facilitator there says `\(prefix)territory join \(code)`.",
                "Code pour qu'un autre salon rejoigne **\(Markdown.escape(territory))** : `\(code)` (valable 7 jours, une fois). Un·e facilitateur·rice y dit `\(prefix)territory join \(code)`."
            ),
            to: message)
    }

    mutating func joinTerritory(_ code: String, _ message: IncomingMessage, _ language: Language) throws {
        guard message.senderIsFacilitator else {
            reply(
                language.pick(
                    "Only a facilitator can bind this room to a territory.",
                    "Seul·e un·e facilitateur·rice peut lier ce salon à un territoire."), to: message)
            return
        }
        let cleaned = code.uppercased().filter { $0.isLetter || $0.isNumber }
        guard
            let row = try Row.fetchOne(
                db, sql: "SELECT territory, expires_at FROM territory_invitation WHERE code = ?", arguments: [cleaned]),
            (row["expires_at"] as Double) > now.timeIntervalSince1970
        else {
            reply(
                language.pick(
                    "That code is unknown, used or expired. Ask for a new one (`\(prefix)territory invite` in a room of that territory).",
                    "Ce code est inconnu, déjà utilisé ou expiré. Demandez-en un nouveau (`\(prefix)territory invite` dans un salon de ce territoire)."
                ),
                to: message)
            return
        }
        let territory: String = row["territory"]
        try db.execute(sql: "DELETE FROM territory_invitation WHERE code = ?", arguments: [cleaned])
        try bind(message.roomID, to: territory)
        reply(
            language.pick(
                "This room now works for **\(Markdown.escape(territory))**.",
                "Ce salon travaille désormais pour **\(Markdown.escape(territory))**."), to: message)
    }

    /// Binds the room, and gives the territory what the room recorded before it had one (answers, marks,
    /// and whatever the extensions keep): nothing said before `!territory set` is missing from its reports.
    mutating func bind(_ roomID: String, to territory: String) throws {
        try db.execute(
            sql:
                "INSERT INTO room_setting(room_id, territory) VALUES (?, ?) ON CONFLICT(room_id) DO UPDATE SET territory = excluded.territory",
            arguments: [roomID, territory])
        try db.execute(sql: "UPDATE answer SET territory = ? WHERE room_id = ? AND territory IS NULL", arguments: [territory, roomID])
        try db.execute(
            sql: "UPDATE discussed_step SET territory = ? WHERE room_id = ? AND territory IS NULL", arguments: [territory, roomID])
        settingsChanged()
        for e in engine.extensions { try e.roomBound(roomID, to: territory, db) }
    }

    /// Eight letters and digits derived from the event that asked: unguessable where event ids are
    /// (Matrix), reproducible in transcripts.
    static func invitationCode(for eventID: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in ("territory-invitation:" + eventID).utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        let alphabet = Array("ABCDEFGHJKLMNPQRSTUVWXYZ23456789")
        var code = ""
        for _ in 0..<8 {
            code.append(alphabet[Int(hash % 32)])
            hash /= 32
        }
        return code
    }
}
