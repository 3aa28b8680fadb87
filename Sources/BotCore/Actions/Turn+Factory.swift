import Foundation
import GRDB

/// The Factory's own features on top of dialogues: signatures, pebbles, shared experiences, reports.
/// Hook points called by the engine; each returns quickly when it has nothing to do.
extension Turn {
    /// `!pebbles`, `!pebble …`, `!report …`, `!signatories`. Returns false for a name it does not own.
    mutating func factoryCommand(_ name: String, _ argument: String, _ message: IncomingMessage, _ language: Language) throws -> Bool {
        switch name {
        case "pebbles", "cailloux": try listPebbles(message, language)
        case "pebble", "caillou": try pebbleCommand(argument, message, language)
        case "report", "rapport": try reportCommand(argument, message, language)
        case "signatories", "signataires", "signatures": try signatoriesCommand(message, language)
        default: return false
        }
        return true
    }

    /// Variables every dialogue text may use (`{signatories}`), for this message's room.
    func factoryVariables(_ message: IncomingMessage) throws -> [String: String] {
        let count = try territory(of: message.roomID).map { try FactoryStore.signatureCount(territory: $0, db) } ?? 0
        return ["signatories": String(count)]
    }

    /// Runs one `on_end` action of a dialogue that just ended normally.
    mutating func runEndAction(_ action: String, script: DialogueScript, key: SessionKey, message: IncomingMessage, territory: String?) throws {
        let answers = try runAnswers(script: script, key: key, message: message)
        let language = try self.language(for: message)
        switch action {
        case "record_signature": try recordSignature(answers, key: key, message: message, territory: territory, language)
        case "create_pebbles": try createPebbles(answers, key: key, message: message, territory: territory, language)
        case "publish_experience": try publishExperience(answers, script: script, key: key, message: message, territory: territory, language)
        default: engine.logger.warning("unknown end action", metadata: ["action": "\(action)", "dialogue": "\(script.id)"])
        }
    }

    /// Whether some timer (a pebble's target date) is due; read-only.
    static func hasFactoryTimersDue(_ db: Database, engine: Engine, now: Date) throws -> Bool {
        try Row.fetchOne(db, sql: FactoryStore.dueSQL + " LIMIT 1", arguments: [day(now)]) != nil
    }

    /// Runs due timers inside the tick's transaction and returns their replies (already in the outbox).
    ///
    /// Each overdue pebble is announced once in its room. The reply id is `pebble-due:<id>:<date>#0`: stable
    /// for a given pebble and target date, so a tick run twice never repeats it, while a pebble given a new
    /// date can be reminded again.
    static func runFactoryTimers(_ db: Database, engine: Engine, now: Date) throws -> [OutgoingMessage] {
        var all: [OutgoingMessage] = []
        for row in try Row.fetchAll(db, sql: FactoryStore.dueSQL, arguments: [day(now)]) {
            let pebble = FactoryStore.pebble(row)
            var turn = Turn(engine: engine, db: db, now: now, causeID: "pebble-due:\(pebble.id):\(pebble.targetDate ?? "")")
            try turn.remind(pebble)
            all += try turn.commitOutbox()
        }
        return all
    }
}

extension StateStore {
    /// Migrations of the Factory's tables, registered after the core ones.
    static func registerFactoryMigrations(_ migrator: inout DatabaseMigrator) {
        FactoryStore.registerMigrations(&migrator)
    }
}
