import Foundation

/// A dialogue as loaded from one YAML file in `dialogues/`. See docs/dialogue-format.md.
public struct DialogueScript: Sendable {
    public var id: String
    public var title: LocalizedText
    public var description: LocalizedText
    public var scope: DialogueScope
    /// Who may start the dialogue.
    public var starters: Audience
    /// Who may steer a room dialogue (next, back, skip, stop, restart, move to a question).
    public var steering: Audience
    public var triggers: Triggers
    public var steps: [Step]
    public var ending: Ending
    /// Actions the engine runs when a session of this dialogue ends normally (the loader checks them against its ``DialogueVocabulary``).
    public var actions: [String]
    /// A short fingerprint of the file's content: a session remembers it to notice an edited file.
    public var revision: String
    public var location: SourceLocation
    /// Scales the dialogue can use (the shared ones and its own), by name.
    public var scales: [String: Scale]

    /// Index of each step in ``steps`` by id.
    public var stepIndex: [String: Int]
    /// `remind_after: 2d`: when the dialogue is sent to a room's members (`!send`), how long before
    /// those who have not finished get a reminder; nil: the command's `--remind`, else its default.
    public var remindAfter: TimeInterval? = nil

    public func step(_ id: String) -> Step? { stepIndex[id].map { steps[$0] } }

    /// A duration as authors and facilitators write it: a number and a unit, `90m`, `36h`, `2d`, `1w`
    /// (`s` for seconds, `j` for French *jours*, `sem` for *semaines*). Nil for anything else, zero included.
    public static func duration(_ text: String) -> TimeInterval? {
        let written = text.trimmingCharacters(in: .whitespaces).lowercased()
        guard let unitStart = written.firstIndex(where: { !$0.isNumber && $0 != "." }),
            let n = Double(written[..<unitStart]), n > 0, n.isFinite
        else { return nil }
        let units: [String: TimeInterval] = ["s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "j": 86400, "w": 604_800, "sem": 604_800]
        guard let unit = units[String(written[unitStart...]).trimmingCharacters(in: .whitespaces)] else { return nil }
        return n * unit
    }

    /// The steps a room answers together (`mode: collective` or `decision`): such a dialogue cannot be a
    /// person's own run.
    public var roomOnlySteps: [Step] {
        steps.filter { $0.declaredMode == .collective || $0.declaredMode == .decision }
    }

    /// Steps that ask something, in file order.
    public var questions: [Step] { steps.filter { $0.kind.isQuestion } }

    /// The type of every saved answer, for conditions.
    public var variableTypes: [String: ValueType] {
        var types: [String: ValueType] = [:]
        for step in steps where step.kind.isQuestion { types[step.variable] = step.kind.valueType }
        return types
    }
}

public enum DialogueScope: String, Sendable, Codable, CaseIterable {
    /// One session per person in a room.
    case person
    /// One session shared by the whole room; every answer is attributed to its author.
    case room
    /// One session per thread.
    case thread
}

public enum Audience: String, Sendable, Codable, CaseIterable {
    case anyone
    case facilitators
}

public struct Triggers: Sendable {
    /// `!start` names besides the id, and `!NAME` shortcuts.
    public var commands: [String]
    /// Phrases that, said to the bot, offer to start the dialogue.
    public var keywords: [Language: [String]]
    public var location: SourceLocation?

    public init(commands: [String] = [], keywords: [Language: [String]] = [:], location: SourceLocation? = nil) {
        self.commands = commands
        self.keywords = keywords
        self.location = location
    }
}

public struct Ending: Sendable {
    /// Show the answers at the end.
    public var summary: Bool
    /// What happens next, shown after the summary.
    public var text: LocalizedText?
}

/// One step of a dialogue.
public struct Step: Sendable {
    public var id: String
    public var kind: StepKind
    /// For `say` steps the text said; for questions the question asked.
    public var text: LocalizedText
    public var help: LocalizedText?
    /// Name under which the answer is saved (defaults to the step id).
    public var variable: String
    /// Ask for an optional comment after the main answer, with this prompt.
    public var comment: LocalizedText?
    public var skippable: Bool
    public var rules: [Rule]
    /// Said when an answer is rejected (before the built-in reason).
    public var invalid: LocalizedText?
    public var maxAttempts: Int
    public var onFail: FailAction
    public var next: Next
    /// A knowledge-base query offered as "learn more".
    public var learnMore: String?
    /// Room dialogues: keep collecting answers from everyone until a facilitator says `next`.
    public var collectsMany: Bool
    /// How the question is answered in a room run, when the file says (`mode:`); see ``DialogueScript/mode(of:)``.
    public var declaredMode: StepMode? = nil
    /// `anonymous: true`: the answer is kept apart from who gave it (person dialogues only). It is
    /// recorded when the run ends, with no author, event, run or time of day, and the ended session
    /// forgets it; reports never say who gave it.
    public var anonymous: Bool = false
    public var location: SourceLocation
}

/// How a question is answered when a room runs a dialogue together.
public enum StepMode: String, Sendable, CaseIterable {
    /// Everyone answers; one answer per person (the latest counts, earlier ones stay in the history);
    /// a facilitator moves on.
    case collective
    /// Each person answers for themselves, as in `collective`, but the answers are each person's own
    /// record rather than the room's picture (a summary lists them by person).
    case personal
    /// The facilitator gives or confirms the room's one answer (the star, the pebble list); the others'
    /// messages are their conversation.
    case decision
}

extension DialogueScript {
    /// How `step` is answered in a run of this dialogue: as the file says, else in a room `collective`
    /// for a step that collects many answers and `decision` for the others; outside rooms one person
    /// answers for themselves.
    public func mode(of step: Step) -> StepMode {
        if let declared = step.declaredMode { return declared }
        guard scope == .room else { return .personal }
        return step.collectsMany ? .collective : .decision
    }
}

public enum StepKind: Sendable {
    case say
    case text
    case choice([ChoiceOption])
    case multi([ChoiceOption])
    case yesno
    case scale(String)
    case number(min: Double?, max: Double?, integer: Bool)
    case list(min: Int, max: Int?)
    /// A day, stored as an ISO date (`2027-03-15`); see ``DateAnswer``.
    case date

    public var isQuestion: Bool { if case .say = self { false } else { true } }

    public var name: String {
        switch self {
        case .say: "say"
        case .text: "text"
        case .choice: "choice"
        case .multi: "multi"
        case .yesno: "yesno"
        case .scale: "scale"
        case .number: "number"
        case .list: "list"
        case .date: "date"
        }
    }

    var valueType: ValueType {
        switch self {
        case .say: .unknown
        case .text, .choice, .date: .text
        case .multi, .list: .list
        case .yesno: .bool
        case .scale, .number: .number
        }
    }
}

public struct ChoiceOption: Sendable, Hashable {
    /// What is saved (stable across languages).
    public var value: String
    public var label: LocalizedText
    /// Extra words that select this option.
    public var aliases: [String]
}

/// A named scale shared between dialogues, e.g. a 4-level maturity scale.
public struct Scale: Sendable {
    public var id: String
    public var levels: [ScaleLevel]
    public var location: SourceLocation
}

public struct ScaleLevel: Sendable {
    public var value: Int
    public var label: LocalizedText
    public var description: LocalizedText?
}

/// A custom validation rule on top of the kind's own checks.
public enum Rule: Sendable {
    case minLength(Int)
    case maxLength(Int)
    /// A regular expression the whole answer must match, with the text shown when it does not.
    case pattern(String, LocalizedText?)
}

public enum FailAction: Sendable, Hashable {
    case skip
    case stop
    case goto(String)
}

public enum Next: Sendable {
    /// The following step in the file (or the end after the last).
    case following
    case step(String)
    case end
    /// The first branch whose condition holds; a branch without a condition always holds.
    case branches([Branch])
}

public struct Branch: Sendable {
    public var condition: Expression?
    public var conditionSource: String?
    /// A step id, or nil for the end.
    public var target: String?
    public var location: SourceLocation
}

/// An answer as saved (the stored shape is in `AnswerValue+JSON.swift`).
public enum AnswerValue: Sendable, Hashable {
    case text(String)
    case choice(String)
    case multi([String])
    case yesno(Bool)
    case scale(Int)
    case number(Double)
    case list([String])

    /// Items of a list or multi answer; 1 for any other answer.
    public var count: Int {
        switch self {
        case .multi(let items), .list(let items): items.count
        default: 1
        }
    }
}

extension Step {
    /// What an answer to this question means, as a short fingerprint: its kind with its options (values
    /// and English labels, in order), its scale's levels or its bounds. Rewording the question leaves it
    /// alone; removing, reordering or relabelling an option, or changing the kind, changes it.
    public func meaning(scales: [String: Scale]) -> String {
        var parts: [String] = []
        switch kind {
        case .say: parts = ["say"]
        case .text: parts = ["text"]
        case .yesno: parts = ["yesno"]
        case .choice(let options), .multi(let options):
            parts = [kind.isMulti ? "multi" : "choice"] + options.map { "\($0.value)=\($0.label.resolve(.en))" }
        case .scale(let name):
            parts = ["scale", name] + (scales[name]?.levels ?? []).map { "\($0.value)=\($0.label.resolve(.en))" }
        case .number(let min, let max, let integer):
            parts = ["number", min.map { "\($0)" } ?? "", max.map { "\($0)" } ?? "", integer ? "integer" : ""]
        case .list(let min, let max):
            parts = ["list", "\(min)", max.map { "\($0)" } ?? ""]
        case .date: parts = ["date"]
        }
        return DialogueLoader.revision(of: parts.joined(separator: "\u{1F}"))
    }
}

extension StepKind {
    var isMulti: Bool { if case .multi = self { true } else { false } }
}
