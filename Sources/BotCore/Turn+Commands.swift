import Foundation
import GRDB
import KnowledgeBase

/// Built-in commands: `!help`, `!start`, `!stop`, `!resume`, `!status`, `!lang`, `!dialogues`,
/// `!ask`, `!more`, `!territory`; then the extensions' commands, then dialogue shortcuts.
extension Turn {
    static let coreCommandNames = [
        "help", "start", "stop", "resume", "status", "lang", "dialogues", "ask", "more", "territory", "reactions", "reload",
        "answers", "send", "kb",
    ]
    /// The words of `!ask` (folded): ``command(_:_:)`` and ``Engine/warmUpQuestion(for:)`` read the same ones.
    static let askCommandWords: Set<String> = ["ask", "question", "demander"]
    /// Every word ``command(_:_:)`` reads as one of the engine's commands.
    static let coreCommandAliases: Set<String> = Set(coreCommandNames).union([
        "aide", "commencer", "demarrer", "arreter", "reprendre", "statut", "etat", "langue", "language", "question", "demander",
        "plus", "suite", "territoire", "reaction", "recharger", "reponses", "envoyer",
    ])

    /// The engine's commands, then each extension's (by their first name).
    var commandNames: [String] { Self.coreCommandNames + engine.reachableExtensionCommands.compactMap(\.names.first) }

    mutating func command(_ line: String, _ message: IncomingMessage) throws {
        let parts = line.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        let name = parts.first.map { TextMatching.fold(String($0)) } ?? ""
        let argument = parts.count > 1 ? String(parts[1]).trimmingCharacters(in: .whitespacesAndNewlines) : ""
        let language = try self.language(for: message)
        switch name {
        case "help", "aide": try help(message, language)
        case "start", "commencer", "demarrer": try start(argument, message, language)
        case "stop", "arreter": try stop(argument, message, language)
        case "resume", "reprendre": try resume(message, language)
        case "status", "statut", "etat": try status(message, language)
        case "lang", "langue", "language": try setLanguage(argument, message, language)
        case "dialogues": listDialogues(message, language)
        case _ where Self.askCommandWords.contains(name): try ask(argument, message: message, offset: 0)
        case "more", "plus", "suite": try more(message, language)
        case "territory", "territoire": try territoryCommand(argument, message, language)
        case "reactions", "reaction": try setReactions(argument, message, language)
        case "reload", "recharger": reloadDialogues(message, language)
        case "answers", "reponses": try answersCommand(argument, message, language)
        case "send", "envoyer": try sendCommand(argument, message, language)
        case "kb": try knowledgeCommand(argument, message, language)
        default:
            if let command = engine.extensionCommands[name] {
                try withScope(roomID: message.roomID, language: language) { try command.run(argument, message, &$0) }
                return
            }
            if let script = catalog.script(named: name) {
                try start(script.id, message, language)
                return
            }
            let known = commandNames + catalog.commands.keys
            let hint =
                TextMatching.suggestion(for: name, among: known).map {
                    language.pick(" Did you mean `\(prefix)\($0)`?", " Vouliez-vous dire `\(prefix)\($0)` ?")
                } ?? ""
            reply(
                language.pick(
                    "I don't know the command `\(prefix)\(Markdown.escape(String(name.prefix(40))))`.\(hint) Commands: \(commandList()).",
                    "Je ne connais pas la commande `\(prefix)\(Markdown.escape(String(name.prefix(40))))`.\(hint) Commandes : \(commandList())."
                ), to: message)
        }
    }

    func commandList() -> String {
        commandNames.map { "`\(prefix)\($0)`" }.joined(separator: ", ")
    }

    mutating func help(_ message: IncomingMessage, _ language: Language) throws {
        var lines = [
            language.pick(
                "**Fabrique** walks you through dialogues and answers questions about territories in transition.",
                "**Fabrique** vous guide dans des dialogues et répond aux questions sur les territoires en transition.")
        ]
        let commands: [(String, String, String)] = [
            ("help", "this help", "cette aide"),
            ("dialogues", "the dialogues you can start", "les dialogues disponibles"),
            ("start NAME", "start a dialogue", "commencer un dialogue"),
            (
                "send NAME",
                "start a dialogue for each person in this room, with a reminder to those who have not finished (facilitators; `send status` shows who has)",
                "lancer un dialogue pour chaque personne du salon, avec un rappel à qui n'a pas fini (facilitateurs ; `send status` montre qui a fini)"
            ),
            ("stop", "end the current dialogue (answers are kept)", "terminer le dialogue en cours (les réponses sont gardées)"),
            ("resume", "continue a paused dialogue", "reprendre un dialogue en pause"),
            ("status", "where you are", "où vous en êtes"),
            ("lang fr|en", "your language (`lang room fr|en` for the room)", "votre langue (`lang room fr|en` pour le salon)"),
            ("ask QUESTION", "search the knowledge base", "chercher dans la base de connaissances"),
            ("more", "more results for your last question", "plus de résultats pour votre dernière question"),
            (
                "kb add",
                "in reply to a file shared here (PDF, DOCX, ODT, Markdown, HTML): add it to the territory's knowledge base (facilitators; `kb list`, `kb remove N`)",
                "en réponse à un fichier partagé ici (PDF, DOCX, ODT, Markdown, HTML) : l'ajouter à la base de connaissances du territoire (facilitateurs ; `kb list`, `kb remove N`)"
            ),
            (
                "territory set NAME",
                "bind this room to a territory (facilitators; `territory invite ROOM` sends you a code for another room, `territory join CODE` there; `territory rename NAME`)",
                "lier ce salon à un territoire (facilitateurs ; `territory invite SALON` vous envoie un code pour un autre salon, `territory join CODE` y sert ; `territory rename NOM`)"
            ),
            (
                "reactions on|off", "offer 1️⃣ 2️⃣ … under this room's questions (facilitators)",
                "proposer 1️⃣ 2️⃣ … sous les questions du salon (facilitateurs)"
            ),
            (
                "reload", "read the dialogue files again, after an author's edit (facilitators)",
                "relire les fichiers de dialogues après une modification (facilitateurs)"
            ),
            (
                "answers", "the latest dialogue's answers, numbered (`answers remove N`, `answers restore N` to correct)",
                "les réponses du dernier dialogue, numérotées (`answers remove N`, `answers restore N` pour corriger)"
            ),
        ]
        for (command, en, fr) in commands { lines.append("- `\(prefix)\(command)`: \(language.pick(en, fr))") }
        for help in engine.reachableExtensionCommands.flatMap(\.help) {
            lines.append("- `\(prefix)\(help.usage)`: \(language.pick(help.en, help.fr))")
        }
        lines.append(
            language.pick(
                "Inside a dialogue you can say *help*, *back*, *skip*, *repeat*, *summary*, *stop* or *restart*.",
                "Dans un dialogue, vous pouvez dire *aide*, *retour*, *passer*, *répéter*, *résumé*, *stop* ou *recommencer*."))
        reply(lines.joined(separator: "\n"), to: message)
    }

    mutating func listDialogues(_ message: IncomingMessage, _ language: Language) {
        guard !catalog.all.isEmpty else {
            reply(language.pick("No dialogues are installed.", "Aucun dialogue n'est installé."), to: message)
            return
        }
        var lines = [language.pick("**Dialogues:**", "**Dialogues :**")]
        for script in catalog.all {
            let who = script.starters == .facilitators ? language.pick(" (facilitators)", " (facilitateurs)") : ""
            lines.append(
                "- `\(prefix)start \(script.id)`: **\(script.title.resolve(language))**\(who) — \(script.description.resolve(language))")
        }
        reply(lines.joined(separator: "\n"), to: message)
    }

    mutating func start(_ argument: String, _ message: IncomingMessage, _ language: Language) throws {
        let name = argument.split(separator: " ").first.map(String.init) ?? ""
        guard !name.isEmpty else {
            listDialogues(message, language)
            return
        }
        guard let script = catalog.script(named: name) else {
            let hint =
                TextMatching.suggestion(for: name.lowercased(), among: catalog.commands.keys).map {
                    language.pick(" Did you mean `\(prefix)start \($0)`?", " Vouliez-vous dire `\(prefix)start \($0)` ?")
                } ?? ""
            reply(
                language.pick(
                    "There is no dialogue called *\(Markdown.escape(String(name.prefix(60))))*.\(hint) Say `\(prefix)dialogues` to see them all.",
                    "Il n'y a pas de dialogue *\(Markdown.escape(String(name.prefix(60))))*.\(hint) Dites `\(prefix)dialogues` pour les voir tous."
                ), to: message)
            return
        }
        if script.starters == .facilitators, !message.senderIsFacilitator {
            reply(
                language.pick(
                    "Only a facilitator can start *\(script.title.resolve(language))*.",
                    "Seul·e un·e facilitateur·rice peut lancer *\(script.title.resolve(language))*."), to: message)
            return
        }
        let key = SessionKey.key(script.scope, for: message)
        let existing = try session(key)
        if let existing, existing.state.status == .paused, catalog.scripts[existing.dialogueID] != nil {
            // A paused run keeps its place: starting again would lose it.
            let title = catalog.scripts[existing.dialogueID]?.title.resolve(language) ?? existing.dialogueID
            reply(
                language.pick(
                    "*\(title)* is paused here, with its place and answers kept. Say `\(prefix)resume` to continue it\(key.scope == .room ? " (a facilitator can end it for good with `\(prefix)stop end`)" : ", or `\(prefix)stop` to end it").",
                    "*\(title)* est en pause ici, avec sa place et ses réponses. Dites `\(prefix)resume` pour le reprendre\(key.scope == .room ? " (un·e facilitateur·rice peut le terminer pour de bon avec `\(prefix)stop end`)" : ", ou `\(prefix)stop` pour le terminer")."
                ),
                to: message)
            return
        }
        if let existing, existing.state.status == .active, existing.state.stepID != nil {
            let title = catalog.scripts[existing.dialogueID]?.title.resolve(language) ?? existing.dialogueID
            if existing.dialogueID == script.id {
                try play(.start, key: key, session: existing, message: message)
            } else {
                reply(
                    language.pick(
                        "*\(title)* is under way here. Finish it, or say `\(prefix)stop` first.",
                        "*\(title)* est en cours ici. Terminez-le, ou dites d'abord `\(prefix)stop`."), to: message)
            }
            return
        }
        if script.scope == .room, message.roomKind == .group, try territory(of: message.roomID) == nil {
            reply(
                language.pick(
                    "Note: this room is not bound to a territory yet. The answers are kept and will count for the territory a facilitator sets with `\(prefix)territory set NAME`.",
                    "À noter : ce salon n'est encore lié à aucun territoire. Les réponses sont gardées et compteront pour le territoire qu'un·e facilitateur·rice fixera avec `\(prefix)territory set NOM`."
                ),
                to: message)
        }
        try play(.start, key: key, session: existing.map { $0.state.status == .ended ? $0 : nil } ?? nil, message: message, script: script)
    }

    /// The open session this person may stop or resume: their own first, then the thread's, then the room's.
    func steerableSession(_ message: IncomingMessage, status: DialogueSession.Status?) throws -> (SessionKey, StoredSession)? {
        let candidates = try openSessions(for: message).filter { status == nil || $0.1.state.status == status }
        return candidates.sorted { a, _ in a.0.scope == .person }.first
    }

    func maySteer(_ key: SessionKey, _ stored: StoredSession, _ message: IncomingMessage) -> Bool {
        guard key.scope != .person, let script = catalog.scripts[stored.dialogueID] else { return true }
        return script.steering == .anyone || message.senderIsFacilitator
    }

    /// `!stop`: ends a person's run; pauses a room's (its place kept), which only `!stop end` from a
    /// facilitator ends for good.
    mutating func stop(_ argument: String, _ message: IncomingMessage, _ language: Language) throws {
        guard let (key, stored) = try steerableSession(message, status: nil) else {
            reply(language.pick("No dialogue is under way here.", "Aucun dialogue n'est en cours ici."), to: message)
            return
        }
        guard maySteer(key, stored, message) else {
            reply(
                language.pick("Only a facilitator can stop this dialogue.", "Seul·e un·e facilitateur·rice peut arrêter ce dialogue."),
                to: message)
            return
        }
        let forGood = ["end", "fin", "confirm", "confirmer", "for good", "definitivement"].contains(TextMatching.fold(argument))
        if key.scope == .room, !forGood {
            try play(.pause, key: key, session: stored, message: message, threadID: key.threadID)
            return
        }
        if key.scope == .room, !message.senderIsFacilitator {
            reply(
                language.pick(
                    "Only a facilitator can end this dialogue for good.",
                    "Seul·e un·e facilitateur·rice peut terminer ce dialogue pour de bon."), to: message)
            return
        }
        try play(.end, key: key, session: stored, message: message, threadID: key.threadID)
    }

    /// `!reactions on|off`: whether this room's questions offer 1️⃣ 2️⃣ … to answer with (off by default: quiet).
    /// `!reload`: reads the dialogue files again. Valid changes serve from the next turn; a file with errors
    /// is refused (its previous version stays in service) and its diagnostics go to the facilitator who asked.
    mutating func reloadDialogues(_ message: IncomingMessage, _ language: Language) {
        guard message.senderIsFacilitator else {
            reply(
                language.pick(
                    "Only a facilitator can reload the dialogues.", "Seul·e un·e facilitateur·rice peut recharger les dialogues."),
                to: message)
            return
        }
        guard let outcome = engine.reloadDialogues() else {
            reply(
                language.pick(
                    "These dialogues do not come from files: there is nothing to reload.",
                    "Ces dialogues ne viennent pas de fichiers : rien à recharger."),
                to: message)
            return
        }
        let count = outcome.loaded.count
        var text = language.pick(
            "Reloaded the dialogues: \(count) in service from the next message.",
            "Dialogues rechargés : \(count) en service dès le prochain message.")
        if !outcome.refused.isEmpty {
            let files = outcome.refused.map { "`\(($0 as NSString).lastPathComponent)`" }.joined(separator: ", ")
            text +=
                "\n"
                + language.pick(
                    "Refused for their errors (their previous version stays in service): \(files).",
                    "Refusés pour leurs erreurs (leur version précédente reste en service) : \(files).")
            let lines = outcome.diagnostics.filter { $0.severity == .error }.prefix(20).map {
                "\(($0.location.file as NSString).lastPathComponent):\($0.location.line):\($0.location.column): \($0.code.rawValue) "
                    + ($0.message.split(separator: "\n").first.map(String.init) ?? "")
            }
            text += "\n```\n" + lines.joined(separator: "\n").replacingOccurrences(of: "```", with: "'''") + "\n```"
        }
        reply(text, to: message)
    }

    mutating func setReactions(_ argument: String, _ message: IncomingMessage, _ language: Language) throws {
        let word = TextMatching.fold(argument)
        let on = ["on", "oui", "yes", "activer"].contains(word), off = ["off", "non", "no", "desactiver"].contains(word)
        guard on || off else {
            let current = try roomSettings(message.roomID).reactions
            reply(
                language.pick(
                    "Reactions under questions are \(current ? "on" : "off") here. `\(prefix)reactions on|off` changes it (facilitators).",
                    "Les réactions sous les questions sont \(current ? "activées" : "désactivées") ici. `\(prefix)reactions on|off` pour changer (facilitateurs)."
                ),
                to: message)
            return
        }
        guard message.senderIsFacilitator || message.roomKind == .direct else {
            reply(language.pick("Only a facilitator can change that.", "Seul·e un·e facilitateur·rice peut changer cela."), to: message)
            return
        }
        try db.execute(
            sql:
                "INSERT INTO room_setting(room_id, reactions) VALUES (?, ?) ON CONFLICT(room_id) DO UPDATE SET reactions = excluded.reactions",
            arguments: [message.roomID, on])
        settingsChanged()
        reply(
            on
                ? language.pick(
                    "Questions here now offer 1️⃣ 2️⃣ … to answer with a reaction.",
                    "Les questions proposent désormais 1️⃣ 2️⃣ … pour répondre par une réaction.")
                : language.pick("Questions here no longer offer reactions.", "Les questions ne proposent plus de réactions ici."),
            to: message)
    }

    mutating func resume(_ message: IncomingMessage, _ language: Language) throws {
        guard let (key, stored) = try steerableSession(message, status: .paused) else {
            if let (key, active) = try waitingSession(for: message) {
                try play(.resume, key: key, session: active, message: message)
            } else {
                reply(
                    language.pick("There is no paused dialogue to resume here.", "Il n'y a pas de dialogue en pause à reprendre ici."),
                    to: message)
            }
            return
        }
        guard maySteer(key, stored, message) else {
            reply(
                language.pick("Only a facilitator can resume this dialogue.", "Seul·e un·e facilitateur·rice peut reprendre ce dialogue."),
                to: message)
            return
        }
        try play(.resume, key: key, session: stored, message: message)
    }

    mutating func status(_ message: IncomingMessage, _ language: Language) throws {
        var lines: [String] = []
        for (key, stored) in try openSessions(for: message) {
            guard let script = catalog.scripts[stored.dialogueID] else { continue }
            let who: String
            switch key.scope {
            case .person: who = language.pick("you", "vous")
            case .room: who = language.pick("this room", "ce salon")
            case .thread: who = language.pick("this thread", "ce fil")
            }
            let questions = script.questions
            let answered = questions.filter { stored.state.answerCounts[$0.id, default: 0] > 0 }.count
            let position = stored.state.stepID.flatMap { id in questions.firstIndex { $0.id == id } }.map { $0 + 1 }
            let state = stored.state.status == .paused ? language.pick("paused", "en pause") : language.pick("under way", "en cours")
            var line = "- **\(script.title.resolve(language))** (\(who), \(state))"
            if let position {
                line += language.pick(
                    ": question \(position) of \(questions.count), \(answered) answered",
                    " : question \(position) sur \(questions.count), \(answered) avec réponse")
            }
            lines.append(line)
        }
        if lines.isEmpty { lines.append(language.pick("No dialogue is under way here.", "Aucun dialogue n'est en cours ici.")) }
        let territory = try self.territory(of: message.roomID)
        lines.append(
            language.pick("Language: \(language.rawValue)", "Langue : \(language.rawValue)")
                + (territory.map {
                    language.pick(" · Territory: \(Markdown.escape($0.name))", " · Territoire : \(Markdown.escape($0.name))")
                } ?? ""))
        reply(lines.joined(separator: "\n"), to: message)
    }

    mutating func setLanguage(_ argument: String, _ message: IncomingMessage, _ language: Language) throws {
        let words = argument.split(separator: " ").map(String.init)
        let forRoom = words.first.map { ["room", "salon"].contains(TextMatching.fold($0)) } ?? false
        guard let chosen = (forRoom ? words.dropFirst().first : words.first).flatMap(Language.init(words:)) else {
            reply(
                language.pick(
                    "Say `\(prefix)lang fr` or `\(prefix)lang en` (or `\(prefix)lang room fr|en` for the room's default).",
                    "Dites `\(prefix)lang fr` ou `\(prefix)lang en` (ou `\(prefix)lang room fr|en` pour la langue du salon)."), to: message)
            return
        }
        if forRoom {
            guard message.senderIsFacilitator || message.roomKind == .direct else {
                reply(
                    language.pick(
                        "Only a facilitator can set the room's language.", "Seul·e un·e facilitateur·rice peut choisir la langue du salon."),
                    to: message)
                return
            }
            try db.execute(
                sql:
                    "INSERT INTO room_setting(room_id, language) VALUES (?, ?) ON CONFLICT(room_id) DO UPDATE SET language = excluded.language",
                arguments: [message.roomID, chosen.rawValue])
            settingsChanged()
            reply(chosen.pick("This room now speaks English by default.", "Ce salon parle désormais français par défaut."), to: message)
        } else {
            try db.execute(
                sql:
                    "INSERT INTO user_setting(user_id, language) VALUES (?, ?) ON CONFLICT(user_id) DO UPDATE SET language = excluded.language",
                arguments: [message.senderID, chosen.rawValue])
            settingsChanged()
            reply(chosen.pick("I'll speak English with you.", "Je vous parlerai en français."), to: message)
        }
    }
}
