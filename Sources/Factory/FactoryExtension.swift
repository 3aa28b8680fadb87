import BotCore
import Foundation
import GRDB

/// The Factory's own features, plugged into the engine: the Charter's signatures, the white pebbles and
/// the room's star, shared experiences, and the reports facilitators read.
///
/// - Commands: `!pebbles`, `!pebble …`, `!star`, `!signatories`, `!report …`, `!experience …` (and their French names).
/// - `on_end` actions: `record_signature`, `create_pebbles`, `publish_experience`.
/// - Variables: `{signatories}`, the number of signatures of the room's territory.
/// - Timers: a reminder in its room when an open pebble's target date has passed.
public struct FactoryExtension: EngineExtension {
    public init() {}

    public var commands: [ExtensionCommand] {
        [
            ExtensionCommand(
                "pebbles", aliases: ["cailloux"],
                help: [.init("pebbles", en: "the room's white pebbles", fr: "les cailloux blancs du salon")]
            ) {
                _, message, scope in try scope.listPebbles(message, scope.language)
            },
            ExtensionCommand(
                "pebble", aliases: ["caillou"],
                help: [
                    .init(
                        "pebble add TITLE; CARRIER; DATE", en: "a new pebble (also `pebble done N`, `pebble date N DATE`)",
                        fr: "un nouveau caillou (aussi `pebble done N`, `pebble date N DATE`)")
                ]
            ) { argument, message, scope in try scope.pebbleCommand(argument, message, scope.language) },
            ExtensionCommand(
                "star", aliases: ["etoile"],
                help: [
                    .init(
                        "star TEXT", en: "the room's star; with a text, set or correct it (facilitators)",
                        fr: "l'étoile du salon ; avec un texte, la fixer ou la corriger (facilitateurs)")
                ]
            ) { argument, message, scope in try scope.starCommand(argument, message, scope.language) },
            ExtensionCommand(
                "signatories", aliases: ["signataires", "signatures"],
                help: [
                    .init("signatories", en: "who signed the Charter for this territory", fr: "qui a signé la Charte pour ce territoire")
                ]
            ) { _, message, scope in try scope.signatoriesCommand(message, scope.language) },
            ExtensionCommand(
                "report", aliases: ["rapport"],
                help: [
                    .init(
                        "report inventory|signatories|pebbles|answers DIALOGUE", en: "a report for this territory, as files (facilitators)",
                        fr: "un rapport pour ce territoire, en fichiers (facilitateurs)")
                ]
            ) { argument, message, scope in try scope.reportCommand(argument, message, scope.language) },
            ExtensionCommand(
                "experience", aliases: ["experiences"],
                help: [
                    .init(
                        "experience [N | approve N | reject N]", en: "shared experiences waiting for review (facilitators)",
                        fr: "les expériences partagées à relire (facilitateurs)")
                ]
            ) { argument, message, scope in try scope.experienceCommand(argument, message, scope.language) },
        ]
    }

    public var endActions: Set<String> { ["record_signature", "create_pebbles", "publish_experience"] }

    public var variableNames: Set<String> { ["signatories"] }

    public func variables(in scope: TurnScope) throws -> [String: String] {
        let count = try scope.territory.map { try FactoryStore.signatureCount(territory: $0, scope.db) } ?? 0
        return ["signatories": String(count)]
    }

    public func runEndAction(_ name: String, run: EndedRun, in scope: inout TurnScope) throws {
        switch name {
        case "record_signature": try scope.recordSignature(run)
        case "create_pebbles": try scope.createPebbles(run)
        case "publish_experience": try scope.publishExperience(run)
        default: break
        }
    }

    /// Each overdue pebble is announced once in its room. The timer id is `pebble-due:<id>:<date>`: stable
    /// for a given pebble and target date, so a tick run twice never repeats it, while a pebble given a
    /// new date can be reminded again.
    public func dueTimers(_ db: Database, now: Date) throws -> [DueTimer] {
        try Row.fetchAll(db, sql: FactoryStore.dueSQL, arguments: [TurnScope.day(now)]).map { row in
            let pebble = FactoryStore.pebble(row)
            return DueTimer(id: "pebble-due:\(pebble.id):\(pebble.targetDate ?? "")", roomID: pebble.roomID) { scope in
                try scope.remind(pebble)
            }
        }
    }

    public func registerMigrations(_ migrator: inout DatabaseMigrator) {
        FactoryStore.registerMigrations(&migrator)
    }

    /// The room's pebbles and star, chosen before it had a territory, now count for it.
    public func roomBound(_ roomID: String, to territoryID: String, _ db: Database) throws {
        try db.execute(
            sql: "UPDATE factory_pebble SET territory = ? WHERE room_id = ? AND territory IS NULL", arguments: [territoryID, roomID])
        try db.execute(
            sql: "UPDATE factory_star SET territory = ? WHERE room_id = ? AND territory IS NULL", arguments: [territoryID, roomID])
    }

    /// Pebbles, stars, signatures and shared experiences recorded by other rooms make a territory theirs too.
    public func territoryIsUsed(_ territoryID: String, beyondRoom roomID: String, _ db: Database) throws -> Bool {
        try Bool.fetchOne(
            db,
            sql: """
                SELECT 1 FROM factory_pebble WHERE territory = ?1 AND room_id != ?2
                UNION ALL SELECT 1 FROM factory_star WHERE territory = ?1 AND room_id != ?2
                UNION ALL SELECT 1 FROM factory_signature WHERE territory = ?1 AND room_id != ?2
                UNION ALL SELECT 1 FROM factory_experience WHERE territory = ?1 AND room_id != ?2
                UNION ALL SELECT 1 FROM factory_experience_pending WHERE territory = ?1 AND room_id != ?2
                LIMIT 1
                """, arguments: [territoryID, roomID]) ?? false
    }

    /// Answers come from the Factory's resources, and a question nobody has answered yet invites the
    /// territory to share its own experience (the `share` dialogue).
    public func knowledgeWording(_ language: Language, commandPrefix: String) -> KnowledgeWording? {
        KnowledgeWording(
            resources: language.pick("the Factory's resources", "les ressources de la Fabrique"),
            exampleQuestion: language.pick("what is a white pebble?", "qu'est-ce qu'un caillou blanc ?"),
            whenUnanswered: language.pick(
                "If your territory has an experience to share on this, say `\(commandPrefix)start share`: it will help others.",
                "Si votre territoire a une expérience à partager à ce sujet, dites `\(commandPrefix)start share` : elle aidera les autres.")
        )
    }
}

extension TurnScope {
    /// The command prefix, as the Factory's texts write it (`\(prefix)pebbles`).
    var prefix: String { commandPrefix }
}
