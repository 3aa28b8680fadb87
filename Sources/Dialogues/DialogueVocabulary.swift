/// The names a dialogue may use beyond its own answers: the variables every text can read and the
/// actions `on_end:` can run. The dialogue format itself knows only the core variables; the engine's
/// extensions add theirs, and the loader checks dialogues against the union.
///
///     let vocabulary = DialogueVocabulary.core.adding(variables: ["signatories"], actions: ["record_signature"])
public struct DialogueVocabulary: Sendable, Hashable {
    /// Variables every text may use besides saved answers.
    public var variables: Set<String>
    /// Names allowed in a dialogue's `on_end:` list.
    public var actions: Set<String>

    public init(variables: Set<String>, actions: Set<String>) {
        self.variables = variables
        self.actions = actions
    }

    /// What any deployment offers: who speaks, where, the territory, the dialogue's title, the date, and
    /// the command prefix (write `` `{prefix}resume` `` rather than `` `!resume` ``).
    public static let core = DialogueVocabulary(variables: ["sender", "territory", "dialogue", "room", "date", "prefix"], actions: [])

    /// This vocabulary with more names.
    public func adding(variables: Set<String> = [], actions: Set<String> = []) -> DialogueVocabulary {
        DialogueVocabulary(variables: self.variables.union(variables), actions: self.actions.union(actions))
    }
}
