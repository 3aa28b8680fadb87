import Foundation
import GRDB

/// The Factory's own features on top of dialogues: signatures, pebbles, shared experiences, reports.
/// Hook points called by the engine; each returns quickly when it has nothing to do.
extension Turn {
    /// `!pebbles`, `!pebble …`, `!report …`, `!signatories`. Returns false for a name it does not own.
    mutating func factoryCommand(_ name: String, _ argument: String, _ message: IncomingMessage, _ language: Language) throws -> Bool {
        false
    }

    /// Variables every dialogue text may use (`{signatories}`), for this message's room.
    func factoryVariables(_ message: IncomingMessage) throws -> [String: String] {
        [:]
    }

    /// Runs one `on_end` action of a dialogue that just ended normally.
    mutating func runEndAction(_ action: String, script: DialogueScript, key: SessionKey, message: IncomingMessage, territory: String?) throws {}

    /// Whether some timer (a pebble's target date) is due; read-only.
    static func hasFactoryTimersDue(_ db: Database, engine: Engine, now: Date) throws -> Bool {
        false
    }

    /// Runs due timers inside the tick's transaction and returns their replies (already in the outbox).
    static func runFactoryTimers(_ db: Database, engine: Engine, now: Date) throws -> [OutgoingMessage] {
        []
    }
}

extension StateStore {
    /// Migrations of the Factory's tables, registered after the core ones.
    static func registerFactoryMigrations(_ migrator: inout DatabaseMigrator) {}
}
