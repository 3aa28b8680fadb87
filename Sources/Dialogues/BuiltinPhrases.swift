/// The interpreter's own words, in both languages.
enum Phrase {
    static func t(_ language: Language, _ en: String, _ fr: String) -> String { language == .fr ? fr : en }

    /// Navigation words, folded (see ``TextMatching/fold(_:)``).
    enum Command: Sendable {
        case help, back, skip, next, repeatQuestion, pause, restart, summary, done, discussed
        case change(Int)
        case question(Int)

        static let words: [String: Command] = [
            "help": .help, "aide": .help, "?": .help, "aidez-moi": .help,
            "back": .back, "retour": .back, "precedent": .back, "previous": .back, "revenir": .back,
            "skip": .skip, "passer": .skip, "passe": .skip, "je passe": .skip,
            "next": .next, "suivant": .next, "suivante": .next,
            "repeat": .repeatQuestion, "again": .repeatQuestion, "repeter": .repeatQuestion, "repete": .repeatQuestion,
            "stop": .pause, "pause": .pause, "arreter": .pause, "arrete": .pause, "plus tard": .pause, "later": .pause,
            "restart": .restart, "recommencer": .restart, "start over": .restart, "reprendre a zero": .restart,
            "summary": .summary, "resume": .summary, "recap": .summary, "recapitulatif": .summary,
            "done": .done, "fini": .done, "finished": .done, "termine": .done, "c'est tout": .done, "that's all": .done,
            "discussed": .discussed, "discute": .discussed, "discutee": .discussed,
        ]

        /// Whether saying it moves a room's shared run (only facilitators may).
        func steers(_ step: Step) -> Bool {
            switch self {
            case .help, .repeatQuestion, .summary: false
            case .done: if case .list = step.kind { true } else { false }
            default: true
            }
        }

        static func parse(_ folded: String) -> Command? {
            if let command = words[folded] { return command }
            let parts = folded.split(separator: " ")
            if parts.count == 2, let n = Int(parts[1]) {
                switch parts[0] {
                case "change", "changer", "modifier", "edit": return .change(n)
                case "question", "goto", "aller": return .question(n)
                default: return nil
                }
            }
            return nil
        }
    }

    static let yes: Set<String> = [
        "yes", "y", "oui", "o", "ok", "okay", "d'accord", "daccord", "true", "vrai", "yep", "ouais", "bien sur", "of course", "sure",
    ]
    static let no: Set<String> = ["no", "n", "non", "false", "faux", "nope", "pas du tout", "not at all"]
    static let noComment: Set<String> = [
        "no", "non", "-", "skip", "passer", "none", "aucun", "rien", "no comment", "pas de commentaire", "n", "nothing",
    ]
}
