import Foundation
import GRDB

/// Binding rooms to territories, so that reports and counts never mix them.
///
/// A territory is an entity (``Territory``): rooms bind to its id, data is recorded under its id, and its
/// names are labels that stay its own. The first room creates one with `!territory set NAME` (a group room;
/// its facilitator must be allowed to create territories, see ``EngineConfiguration/territoryCreators``);
/// a facilitator of a bound room renames it with `!territory rename NAME`; another room joins it only with a code a
/// facilitator of a bound room asks for that room (`!territory invite ROOM`): a random code sent to that
/// facilitator's direct room with the bot, good once, for a week, and only for `!territory join CODE`
/// said by a facilitator in that room; repeated wrong codes lock the person and the room out for an
/// hour. So a member of room A, or a facilitator of room B, cannot read A's answers by naming its
/// territory or by guessing a code.
extension Turn {
    /// How long an invitation code stays valid.
    static let invitationLifetime: TimeInterval = 7 * 24 * 3600

    mutating func territoryCommand(_ argument: String, _ message: IncomingMessage, _ language: Language) throws {
        let words = argument.split(separator: " ", maxSplits: 1).map(String.init)
        let verb = words.first.map(TextMatching.fold) ?? ""
        let rest = words.count > 1 ? words[1].trimmingCharacters(in: .whitespacesAndNewlines) : ""
        switch verb {
        case "set", "definir": try claimTerritory(rest, message, language)
        case "rename", "renommer": try renameTerritory(rest, message, language)
        case "invite", "inviter": try inviteToTerritory(rest, message, language)
        case "join", "rejoindre": try joinTerritory(rest, message, language)
        default:
            let current = try territory(of: message.roomID)
            reply(
                current.map {
                    language.pick(
                        "This room works for **\(Markdown.escape($0.name))**.", "Ce salon travaille pour **\(Markdown.escape($0.name))**.")
                }
                    ?? language.pick(
                        "This room is not bound to a territory. A facilitator can say `\(prefix)territory set NAME`.",
                        "Ce salon n'est lié à aucun territoire. Un·e facilitateur·rice peut dire `\(prefix)territory set NOM`."),
                to: message)
        }
    }

    /// Why a territory name is refused, if it is: empty or too long, invisible or direction-changing
    /// characters (bidi controls, zero-width), or letters from several alphabets (look-alike names).
    static func territoryNameProblem(_ name: String) -> (en: String, fr: String)? {
        guard !name.isEmpty, name.count <= 120 else {
            return ("Give the territory's name, up to 120 characters", "Donnez le nom du territoire, 120 caractères au plus")
        }
        if name.unicodeScalars.contains(where: {
            [.control, .format, .lineSeparator, .paragraphSeparator].contains($0.properties.generalCategory)
        }) {
            return (
                "A territory's name cannot hold invisible or direction-changing characters",
                "Le nom d'un territoire ne peut pas contenir de caractères invisibles ou qui changent le sens d'écriture"
            )
        }
        var scripts: Set<String> = []
        for scalar in name.unicodeScalars where scalar.properties.isAlphabetic {
            switch scalar.value {
            case 0x0041...0x024F, 0x1E00...0x1EFF: scripts.insert("Latin")
            case 0x0370...0x03FF, 0x1F00...0x1FFF: scripts.insert("Greek")
            case 0x0400...0x052F: scripts.insert("Cyrillic")
            case 0x0300...0x036F: break  // combining accents go with any letter
            default: scripts.insert("other")
            }
        }
        if scripts.count > 1 {
            return (
                "A territory's name cannot mix alphabets (look-alike letters make look-alike territories)",
                "Le nom d'un territoire ne peut pas mélanger les alphabets (des lettres semblables font des territoires qui se ressemblent)"
            )
        }
        return nil
    }

    /// The name as stored (``Territory/tidy(_:)``), or nil after saying why it is refused and how the
    /// command `territory VERB` is written.
    mutating func acceptableName(_ rawName: String, verb: String, _ message: IncomingMessage, _ language: Language) -> String? {
        let name = Territory.tidy(rawName)
        guard let problem = Self.territoryNameProblem(name) else { return name }
        reply(
            language.pick(
                "\(problem.en): `\(prefix)territory \(verb) NAME`.", "\(problem.fr) : `\(prefix)territory \(verb) NOM`."), to: message)
        return nil
    }

    /// Whether another room, or data recorded elsewhere (answers, marks, and what extensions keep:
    /// pebbles, stars, signatures…), belongs to this territory: then only a code lets a room in.
    func territoryIsShared(_ territory: Territory, beyond roomID: String) throws -> Bool {
        let used =
            try Bool.fetchOne(
                db,
                sql: """
                    SELECT 1 FROM room_setting WHERE territory = ?1 AND room_id != ?2
                    UNION ALL SELECT 1 FROM answer WHERE territory = ?1 AND room_id != ?2
                    UNION ALL SELECT 1 FROM discussed_step WHERE territory = ?1 AND room_id != ?2
                    UNION ALL SELECT 1 FROM territory_invitation WHERE territory = ?1
                    LIMIT 1
                    """, arguments: [territory.id, roomID]) ?? false
        if used { return true }
        for e in engine.extensions where try e.territoryIsUsed(territory.id, beyondRoom: roomID, db) { return true }
        return false
    }

    /// Whether this sender may give a room a territory name nobody uses yet.
    func mayCreateTerritories(_ message: IncomingMessage) -> Bool {
        let configuration = engine.configuration
        return configuration.territoryCreators.contains(message.senderID)
            || (configuration.localFacilitatorsCreateTerritories && message.senderIsLocal)
    }

    mutating func claimTerritory(_ rawName: String, _ message: IncomingMessage, _ language: Language) throws {
        guard message.senderIsFacilitator else {
            reply(
                language.pick(
                    "Only a facilitator can bind this room to a territory.",
                    "Seul·e un·e facilitateur·rice peut lier ce salon à un territoire."), to: message)
            return
        }
        guard message.roomKind == .group else {
            reply(
                language.pick(
                    "A territory is worked on together: bind a group room to it, not our direct chat.",
                    "Un territoire se travaille ensemble : liez-lui un salon de groupe, pas notre conversation directe."), to: message)
            return
        }
        guard let name = acceptableName(rawName, verb: "set", message, language) else { return }
        // A name any territory has had means that territory: a room may come back to one only it used.
        let existing = try Territory.named(name, db)
        if let existing, try territory(of: message.roomID)?.id == existing.id {
            reply(
                language.pick(
                    "This room already works for **\(Markdown.escape(existing.name))**.",
                    "Ce salon travaille déjà pour **\(Markdown.escape(existing.name))**."), to: message)
            return
        }
        if let existing, try territoryIsShared(existing, beyond: message.roomID) {
            // A former name says which territory it means now.
            let shown =
                Territory.key(existing.name) == Territory.key(name)
                ? "**\(Markdown.escape(name))**" : "**\(Markdown.escape(name))** (**\(Markdown.escape(existing.name))**)"
            reply(
                language.pick(
                    "\(shown) is already used by another room. To work on it here too, a facilitator of that room says `\(prefix)territory invite` with this room's id, and gives you the code for `\(prefix)territory join CODE`.",
                    "\(shown) est déjà utilisé par un autre salon. Pour y travailler ici aussi, un·e facilitateur·rice de ce salon dit `\(prefix)territory invite` avec l'identifiant de ce salon, et vous donne le code pour `\(prefix)territory join CODE`."
                ),
                to: message)
            return
        }
        guard mayCreateTerritories(message) else {
            reply(
                language.pick(
                    "Only the people the operator lists can create a territory here. To join an existing one, ask a facilitator of one of its rooms for a code (`\(prefix)territory invite`).",
                    "Seules les personnes désignées par l'exploitant peuvent créer un territoire ici. Pour en rejoindre un, demandez un code à un·e facilitateur·rice d'un de ses salons (`\(prefix)territory invite`)."
                ), to: message)
            return
        }
        let territory = try existing ?? Territory.create(named: name, by: message.senderID, at: now, db)
        try bind(message.roomID, to: territory)
        reply(
            language.pick(
                "This room now works for **\(Markdown.escape(territory.name))**.",
                "Ce salon travaille désormais pour **\(Markdown.escape(territory.name))**."),
            to: message)
    }

    /// `!territory rename NAME`: a facilitator of a room bound to the territory gives it a new name. Its
    /// data stays (it is recorded under the territory's id), every report shows the new name, and the
    /// former name stays the territory's own (it still finds it; nobody else can take it).
    mutating func renameTerritory(_ rawName: String, _ message: IncomingMessage, _ language: Language) throws {
        guard message.senderIsFacilitator, message.roomKind == .group,
            let id = try roomSettings(message.roomID).territory, let current = try Territory.withID(id, db)
        else {
            reply(
                language.pick(
                    "Only a facilitator of a room bound to the territory can rename it, from that room.",
                    "Seul·e un·e facilitateur·rice d'un salon lié au territoire peut le renommer, depuis ce salon."), to: message)
            return
        }
        guard let name = acceptableName(rawName, verb: "rename", message, language) else { return }
        if let other = try Territory.named(name, db), other.id != current.id {
            reply(
                language.pick(
                    "**\(Markdown.escape(name))** is another territory's name (or was): choose another.",
                    "**\(Markdown.escape(name))** est (ou a été) le nom d'un autre territoire : choisissez-en un autre."), to: message)
            return
        }
        guard name != current.name else {
            reply(
                language.pick(
                    "The territory is already called **\(Markdown.escape(name))**.",
                    "Le territoire s'appelle déjà **\(Markdown.escape(name))**."), to: message)
            return
        }
        let renamed = try Territory.rename(current, to: name, at: now, db)
        settingsChanged()
        try Corrections.record(
            "territory.rename", target: current.id, before: current.name, after: renamed.name, roomID: message.roomID,
            territory: renamed, by: message, now: now, db)
        reply(
            language.pick(
                "**\(Markdown.escape(current.name))** is now called **\(Markdown.escape(renamed.name))**, in every room and report of the territory.",
                "**\(Markdown.escape(current.name))** s'appelle désormais **\(Markdown.escape(renamed.name))**, dans tous les salons et rapports du territoire."
            ), to: message)
    }

    /// How many wrong codes a person, or a room, may try in ``joinLockout`` before being refused.
    static let joinAttempts = 5
    static let joinLockout: TimeInterval = 3600

    /// `!territory invite ROOM`: a code for that room, sent to the facilitator's direct room with the bot.
    mutating func inviteToTerritory(_ target: String, _ message: IncomingMessage, _ language: Language) throws {
        guard message.senderIsFacilitator, message.roomKind == .group else {
            reply(
                language.pick(
                    "Only a facilitator of a room of the territory can invite another room, from that room.",
                    "Seul·e un·e facilitateur·rice d'un salon du territoire peut inviter un autre salon, depuis ce salon."), to: message)
            return
        }
        guard let id = try roomSettings(message.roomID).territory, let territory = try Territory.withID(id, db) else {
            reply(
                language.pick(
                    "Bind this room to a territory first: `\(prefix)territory set NAME`.",
                    "Liez d'abord ce salon à un territoire : `\(prefix)territory set NOM`."), to: message)
            return
        }
        guard !target.isEmpty, !target.contains(where: \.isWhitespace), target.count <= 255, target != message.roomID else {
            reply(
                language.pick(
                    "Say which room may join: `\(prefix)territory invite ROOM-ID` (in Element: that room's settings, Advanced, internal room ID). I send you the code privately.",
                    "Dites quel salon peut rejoindre : `\(prefix)territory invite ID-DU-SALON` (dans Element : paramètres de ce salon, Avancé, identifiant interne). Je vous envoie le code en privé."
                ), to: message)
            return
        }
        guard
            let direct = try String.fetchOne(db, sql: "SELECT room_id FROM direct_room WHERE user_id = ?", arguments: [message.senderID])
        else {
            reply(
                language.pick(
                    "I send invitation codes privately: open a direct chat with me (invite me and say hello), then ask again here.",
                    "J'envoie les codes d'invitation en privé : ouvrez une conversation directe avec moi (invitez-moi et dites bonjour), puis redemandez ici."
                ), to: message)
            return
        }
        let code = Self.invitationCode()
        try db.execute(
            sql: """
                INSERT INTO territory_invitation(code, territory, target_room, created_by, created_in, expires_at)
                VALUES (?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                code, territory.id, target, message.senderID, message.roomID,
                now.addingTimeInterval(Self.invitationLifetime).timeIntervalSince1970,
            ])
        reply(
            language.pick(
                "I sent you the code for that room in our direct chat.",
                "Je vous ai envoyé le code pour ce salon dans notre conversation directe."),
            to: message)
        let shown = Self.grouped(code)
        reply(
            language.pick(
                "Code for the room `\(Markdown.escape(target))` to join **\(Markdown.escape(territory.name))**: `\(shown)` (valid 7 days, once, only in that room). Give it to a facilitator of that room, who says there `\(prefix)territory join \(shown)`.",
                "Code pour que le salon `\(Markdown.escape(target))` rejoigne **\(Markdown.escape(territory.name))** : `\(shown)` (valable 7 jours, une fois, dans ce salon seulement). Donnez-le à un·e facilitateur·rice de ce salon, qui y dit `\(prefix)territory join \(shown)`."
            ),
            to: nil, roomID: direct)
    }

    mutating func joinTerritory(_ code: String, _ message: IncomingMessage, _ language: Language) throws {
        guard message.senderIsFacilitator else {
            reply(
                language.pick(
                    "Only a facilitator can bind this room to a territory.",
                    "Seul·e un·e facilitateur·rice peut lier ce salon à un territoire."), to: message)
            return
        }
        let since = now.timeIntervalSince1970 - Self.joinLockout
        let failures =
            try Int.fetchOne(
                db, sql: "SELECT COUNT(*) FROM territory_join_failure WHERE (user_id = ? OR room_id = ?) AND at > ?",
                arguments: [message.senderID, message.roomID, since]) ?? 0
        guard failures < Self.joinAttempts else {
            reply(
                language.pick(
                    "Too many wrong codes from you or this room: try again in an hour.",
                    "Trop de codes erronés de votre part ou de ce salon : réessayez dans une heure."), to: message)
            return
        }
        let cleaned = String(code.uppercased().filter { $0.isASCII && ($0.isLetter || $0.isNumber) }.prefix(64))
        guard
            let row = try Row.fetchOne(
                db, sql: "SELECT territory, target_room, expires_at FROM territory_invitation WHERE code = ?", arguments: [cleaned]),
            (row["expires_at"] as Double) > now.timeIntervalSince1970, (row["target_room"] as String) == message.roomID,
            let territory = try Territory.withID(row["territory"], db)
        else {
            try db.execute(
                sql: "DELETE FROM territory_join_failure WHERE at <= ?", arguments: [now.timeIntervalSince1970 - 24 * 3600])
            try db.execute(
                sql: "INSERT INTO territory_join_failure(user_id, room_id, at) VALUES (?, ?, ?)",
                arguments: [message.senderID, message.roomID, now.timeIntervalSince1970])
            reply(
                language.pick(
                    "That code is unknown, used, expired or meant for another room. Ask for a new one (`\(prefix)territory invite` in a room of that territory).",
                    "Ce code est inconnu, déjà utilisé, expiré ou destiné à un autre salon. Demandez-en un nouveau (`\(prefix)territory invite` dans un salon de ce territoire)."
                ),
                to: message)
            return
        }
        try db.execute(sql: "DELETE FROM territory_invitation WHERE code = ?", arguments: [cleaned])
        try bind(message.roomID, to: territory)
        reply(
            language.pick(
                "This room now works for **\(Markdown.escape(territory.name))**.",
                "Ce salon travaille désormais pour **\(Markdown.escape(territory.name))**."), to: message)
    }

    /// Remembers each person's direct room with the bot (where invitation codes go), and forgets a room
    /// that is no longer direct (someone else joined it).
    func noteDirectRoom(_ message: IncomingMessage) throws {
        if message.roomKind == .direct {
            try db.cachedStatement(
                sql: """
                    INSERT INTO direct_room(user_id, room_id) VALUES (?, ?)
                    ON CONFLICT(user_id) DO UPDATE SET room_id = excluded.room_id WHERE room_id != excluded.room_id
                    """
            ).execute(arguments: [message.senderID, message.roomID])
        } else {
            try db.cachedStatement(sql: "DELETE FROM direct_room WHERE room_id = ?").execute(arguments: [message.roomID])
        }
    }

    /// Binds the room, and gives the territory what the room recorded before it had one (answers, marks,
    /// and whatever the extensions keep): nothing said before `!territory set` is missing from its reports.
    mutating func bind(_ roomID: String, to territory: Territory) throws {
        try db.execute(
            sql:
                "INSERT INTO room_setting(room_id, territory) VALUES (?, ?) ON CONFLICT(room_id) DO UPDATE SET territory = excluded.territory",
            arguments: [roomID, territory.id])
        try db.execute(sql: "UPDATE answer SET territory = ? WHERE room_id = ? AND territory IS NULL", arguments: [territory.id, roomID])
        try db.execute(
            sql: "UPDATE discussed_step SET territory = ? WHERE room_id = ? AND territory IS NULL", arguments: [territory.id, roomID])
        settingsChanged()
        for e in engine.extensions { try e.roomBound(roomID, to: territory.id, db) }
    }

    /// Sixteen letters and digits from the system's random source: 80 bits, so no one guesses one, and
    /// nothing about the request (its event id, its time) tells it.
    static func invitationCode() -> String {
        var random = SystemRandomNumberGenerator()
        return String((0..<16).map { _ in codeAlphabet[Int(random.next(upperBound: UInt64(codeAlphabet.count)))] })
    }

    /// 32 symbols (5 bits each), without 0/O and 1/I, which people mistype.
    static let codeAlphabet = Array("ABCDEFGHJKLMNPQRSTUVWXYZ23456789")

    /// `ABCD-EFGH-JKLM-NPQR`: easier to read out; `!territory join` ignores the dashes.
    static func grouped(_ code: String) -> String {
        stride(from: 0, to: code.count, by: 4).map { String(code.dropFirst($0).prefix(4)) }.joined(separator: "-")
    }
}
