import Foundation
import GRDB

/// What a deployment adds to the engine without the engine naming it, in the spirit of a server
/// framework's middleware: commands, `on_end` actions, variables for dialogue texts, timers, and the
/// tables they keep (as migrations).
///
/// The engine calls an extension inside the transaction of the turn that needs it, through a
/// ``TurnScope``: what it writes commits with the turn's replies, or not at all. Every requirement has
/// a default that does nothing, so an extension declares only what it uses.
///
///     struct Greeter: EngineExtension {
///         var commands: [ExtensionCommand] {
///             [ExtensionCommand("hello", help: [.init("hello", en: "say hello", fr: "dire bonjour")]) { _, message, scope in
///                 scope.reply(scope.language.pick("Hello!", "Bonjour !"), to: message)
///             }]
///         }
///     }
public protocol EngineExtension: Sendable {
    /// Commands it answers. The engine's own commands come first: an extension cannot replace them.
    var commands: [ExtensionCommand] { get }

    /// The names dialogues may list in `on_end:` that ``runEndAction(_:run:in:)`` runs.
    var endActions: Set<String> { get }

    /// The variables ``variables(in:)`` gives every dialogue text (`{name}`).
    var variableNames: Set<String> { get }

    /// Values of ``variableNames`` for the turn's room (read when a dialogue text is rendered).
    func variables(in scope: TurnScope) throws -> [String: String]

    /// Runs one `on_end` action of a dialogue run that just ended normally.
    func runEndAction(_ name: String, run: EndedRun, in scope: inout TurnScope) throws

    /// Timers whose time has come at `now`. Called about once a minute of the engine's clock, first in
    /// a read transaction (to see whether a write is needed), then in the write transaction that fires
    /// them. Each fired timer must change what this returns, or it fires again.
    func dueTimers(_ db: Database, now: Date) throws -> [DueTimer]

    /// Registers the migrations of its tables, after the engine's own. Never edit a shipped one.
    func registerMigrations(_ migrator: inout DatabaseMigrator)

    /// A room was bound to the territory `territoryID` (`!territory set`, `!territory join`): what it
    /// recorded while it had no territory now belongs to this one. In the binding turn's transaction.
    func roomBound(_ roomID: String, to territoryID: String, _ db: Database) throws

    /// Whether this extension's data records something of the territory `territoryID` that `roomID` did
    /// not: then the territory is another room's too, and `!territory set` will not hand it to `roomID`.
    func territoryIsUsed(_ territoryID: String, beyondRoom roomID: String, _ db: Database) throws -> Bool

    /// How the engine should speak of its knowledge base in `language`: whose resources they are, an
    /// example question, what to suggest when there is no answer. Nil: the engine's plain words (the
    /// first extension that offers a wording is used).
    func knowledgeWording(_ language: Language, commandPrefix: String) -> KnowledgeWording?
}

/// How the engine speaks of its knowledge base, in one language.
public struct KnowledgeWording: Sendable, Hashable {
    /// Whose resources answers come from, as a noun phrase ("the network's resources").
    public var resources: String
    /// A question worth trying, as typed after the ask command.
    public var exampleQuestion: String
    /// A line added when a question finds no answer (an invitation to contribute), if any.
    public var whenUnanswered: String?

    public init(resources: String, exampleQuestion: String, whenUnanswered: String? = nil) {
        self.resources = resources
        self.exampleQuestion = exampleQuestion
        self.whenUnanswered = whenUnanswered
    }

    /// The engine's own words, when no extension offers any.
    public static func plain(_ language: Language) -> KnowledgeWording {
        KnowledgeWording(
            resources: language.pick("my resources", "mes ressources"),
            exampleQuestion: language.pick("what can you tell me?", "que pouvez-vous me dire ?"))
    }
}

extension EngineExtension {
    public var commands: [ExtensionCommand] { [] }
    public var endActions: Set<String> { [] }
    public var variableNames: Set<String> { [] }
    public func variables(in scope: TurnScope) throws -> [String: String] { [:] }
    public func runEndAction(_ name: String, run: EndedRun, in scope: inout TurnScope) throws {}
    public func dueTimers(_ db: Database, now: Date) throws -> [DueTimer] { [] }
    public func registerMigrations(_ migrator: inout DatabaseMigrator) {}
    public func roomBound(_ roomID: String, to territoryID: String, _ db: Database) throws {}
    public func territoryIsUsed(_ territoryID: String, beyondRoom roomID: String, _ db: Database) throws -> Bool { false }
    public func knowledgeWording(_ language: Language, commandPrefix: String) -> KnowledgeWording? { nil }
}

extension [any EngineExtension] {
    /// What dialogues may name when these extensions run them: the core variables and theirs.
    public var vocabulary: DialogueVocabulary {
        reduce(DialogueVocabulary.core) { $0.adding(variables: $1.variableNames, actions: $1.endActions) }
    }
}

/// A command an extension answers (`!report`), under its name and its aliases.
public struct ExtensionCommand: Sendable {
    /// One line of `!help`.
    public struct Help: Sendable {
        /// What to type after the prefix (`report NAME`).
        public var usage: String
        public var en: String
        public var fr: String

        public init(_ usage: String, en: String, fr: String) {
            self.usage = usage
            self.en = en
            self.fr = fr
        }
    }

    /// The name first, then aliases (`report`, `rapport`), lowercase without accents.
    public var names: [String]
    public var help: [Help]
    /// Runs the command with the rest of the line (trimmed).
    public var run: @Sendable (_ argument: String, _ message: IncomingMessage, _ scope: inout TurnScope) throws -> Void

    public init(
        _ name: String, aliases: [String] = [], help: [Help] = [],
        run: @escaping @Sendable (_ argument: String, _ message: IncomingMessage, _ scope: inout TurnScope) throws -> Void
    ) {
        self.names = [name] + aliases
        self.help = help
        self.run = run
    }
}

/// A dialogue run that just ended normally, as its `on_end` actions see it.
public struct EndedRun: Sendable {
    public var script: DialogueScript
    /// The run's answers by variable: the session's, plus those the ending message itself saved.
    public var answers: [String: RunAnswer]
    /// The message that ended it.
    public var message: IncomingMessage
    /// Where the run took place (its replies go there).
    public var roomID: String
    public var threadID: String?

    public init(script: DialogueScript, answers: [String: RunAnswer], message: IncomingMessage, roomID: String, threadID: String?) {
        self.script = script
        self.answers = answers
        self.message = message
        self.roomID = roomID
        self.threadID = threadID
    }
}

/// An answer of a run, with how it reads.
public struct RunAnswer: Sendable, Hashable {
    public var value: AnswerValue
    public var display: String

    public init(value: AnswerValue, display: String) {
        self.value = value
        self.display = display
    }

    /// Free text trimmed; any other kind as displayed.
    public var text: String? {
        switch value {
        case .text(let s): s.trimmingCharacters(in: .whitespacesAndNewlines)
        default: display
        }
    }

    public var isYes: Bool { value == .yesno(true) }
}

/// A timer an extension found due: fired once in a turn of its own, in its room.
public struct DueTimer: Sendable {
    /// Names this firing: its replies' ids derive from it, so a tick run twice never says it twice.
    public var id: String
    /// The room it speaks in: the scope's language and territory are that room's.
    public var roomID: String
    public var fire: @Sendable (_ scope: inout TurnScope) throws -> Void

    public init(id: String, roomID: String, fire: @escaping @Sendable (_ scope: inout TurnScope) throws -> Void) {
        self.id = id
        self.roomID = roomID
        self.fire = fire
    }
}
