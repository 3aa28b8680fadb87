import Foundation

/// Runs dialogues: a pure function of (script, session, input, context) to (new session, replies, effects).
///
/// It reads no clock and no database: time comes in ``TurnContext/now``, and what must be saved comes
/// out as ``DialogueEffect``s, so a turn replays byte for byte.
public struct DialogueInterpreter: Sendable {
    public let script: DialogueScript

    public init(_ script: DialogueScript) { self.script = script }

    /// Plays one turn.
    ///
    /// A session last run with another revision of the script first adopts this one; when the question
    /// it was on is gone, the run ends there (answers kept) and the input is not played.
    public func turn(_ session: DialogueSession?, _ input: DialogueInput, _ context: TurnContext) -> DialogueTurn {
        var run = Run(
            script: script, context: context,
            session: session ?? DialogueSession(dialogueID: script.id, revision: script.revision, now: context.now))
        if session != nil, input.continuesTheRun, run.session.revision != script.revision, !run.adoptRevision() {
            return DialogueTurn(session: run.session, replies: run.replies, effects: run.effects)
        }
        run.play(input, isNew: session == nil)
        if run.ignored, let session {
            return DialogueTurn(session: session, replies: [], effects: [], ignored: true)
        }
        // Correcting a stored answer is not activity: it does not postpone the idle pause.
        if case .answerChanged = input {} else { run.session.updatedAt = context.now }
        return DialogueTurn(session: run.session, replies: run.replies, effects: run.effects)
    }

    /// Suspends a run whose dialogue is not loaded (its file was removed, renamed or has errors): it is
    /// paused where it stood, and `!resume` continues it once the dialogue is back.
    public static func suspendOrphan(_ session: DialogueSession) -> DialogueSession {
        var suspended = session
        if suspended.status == .active { suspended.status = .paused }
        return suspended
    }

    /// Reads `text` as an answer to `step` (for edits of earlier answers). Nil when it is not a valid answer.
    public func parseAnswer(_ text: String, step: Step, language: Language, today: Date = Date()) -> AnswerValue? {
        try? AnswerParser(step: step, scales: script.scales, language: language, today: today).parse(text).get()
    }

    /// Reads `text` as an answer to `step`, or an answer followed by its comment (`2 it's patchy`).
    public func parseAnswerWithComment(_ text: String, step: Step, language: Language) -> (AnswerValue, String?)? {
        let context = TurnContext(
            language: language, speaker: Speaker(id: "", name: "", isFacilitator: false), now: Date(timeIntervalSince1970: 0))
        let run = Run(
            script: script, context: context, session: DialogueSession(dialogueID: script.id, revision: script.revision, now: context.now))
        return try? run.parseWithComment(text, step: step).get()
    }

    /// How an answer reads in a summary or report, in the context's language.
    public func display(_ value: AnswerValue, variable: String, _ context: TurnContext) -> String {
        Run(script: script, context: context, session: DialogueSession(dialogueID: script.id, revision: script.revision, now: context.now))
            .display(value, variable: variable)
    }

    /// Renders the current question again (used after a restart or when a session is shown).
    public func prompt(_ session: DialogueSession, _ context: TurnContext) -> [DialogueReply] {
        var run = Run(script: script, context: context, session: session)
        run.askCurrent()
        return run.replies
    }
}

extension DialogueInput {
    /// Whether the input plays on from the current question (and so needs the script's current revision).
    var continuesTheRun: Bool {
        switch self {
        case .start, .resume, .text, .anchored: true
        case .expire, .end, .answerChanged, .pause: false
        }
    }
}

/// One turn in progress.
struct Run {
    let script: DialogueScript
    let context: TurnContext
    var session: DialogueSession
    var replies: [DialogueReply] = []
    var effects: [DialogueEffect] = []
    /// The input was side chat: the turn changes nothing.
    var ignored = false

    var language: Language { context.language }
    func t(_ en: String, _ fr: String) -> String { Phrase.t(language, en, fr) }

    /// A room runs the dialogue together: answers are per person, and only facilitators steer.
    var isRoomRun: Bool { script.scope == .room }

    var canSteer: Bool { !isRoomRun || context.speaker.isFacilitator }

    mutating func say(_ markdown: String, choices: [String] = [], asks: String? = nil) {
        replies.append(DialogueReply(markdown, choices: choices, asks: asks))
    }

    func render(_ text: LocalizedText) -> String {
        var raw = text.resolve(language)
        // Most texts name no variable: skip displaying every answer for nothing.
        guard raw.contains("{") else { return raw }
        // The prefix is the operator's, not a user's: written as it is (inside code spans too).
        raw = raw.replacingOccurrences(of: "{prefix}", with: context.commandPrefix)
        var values = context.variables
        values["dialogue"] = script.title.resolve(language)
        for (name, value) in session.answers { values[name] = display(value, variable: name) }
        return Interpolation.render(raw, values, missing: t("(no answer yet)", "(pas encore de réponse)"))
    }

    /// The command `name` as people type it where this dialogue runs (`!resume`).
    func prefixed(_ name: String) -> String { context.commandPrefix + name }

    // MARK: Turn

    /// Takes the script's current revision. Returns false when the question the session was on is gone:
    /// the run is then ended, with a message saying so.
    mutating func adoptRevision() -> Bool {
        if let step = session.stepID, script.step(step) == nil {
            session.status = .ended
            session.stepID = nil
            say(
                t(
                    "*\(script.title.resolve(.en))* was changed by its authors and the question you were on is gone, so I ended this run. Your answers are kept; say `\(prefixed("start")) \(script.id)` to begin again.",
                    "*\(script.title.resolve(.fr))* a été modifié par ses auteurs et la question en cours n'existe plus : j'ai donc terminé ce parcours. Vos réponses sont gardées ; dites `\(prefixed("start")) \(script.id)` pour recommencer."
                ))
            return false
        }
        // An answer of the old meaning no longer feeds conditions or the summary (the stored answer stays).
        for (id, meaning) in session.shown {
            guard let step = script.step(id), meaning != step.meaning(scales: script.scales) else { continue }
            session.answers[step.variable] = nil
            session.answerCounts[id] = nil
            session.byPerson[id] = nil
        }
        session.revision = script.revision
        return true
    }

    mutating func play(_ input: DialogueInput, isNew: Bool) {
        switch input {
        case .start:
            if !isNew, session.status != .ended {
                say(t("*\(script.title.resolve(.en))* is already under way.", "*\(script.title.resolve(.fr))* est déjà en cours."))
                askCurrent()
                return
            }
            let run = isNew ? 1 : session.run + 1
            session = DialogueSession(dialogueID: script.id, revision: script.revision, now: context.now)
            session.run = run
            say("**\(render(script.title))**")
            enter(script.steps.first?.id)
        case .resume:
            guard session.status == .paused else {
                askCurrent()
                return
            }
            session.status = .active
            say(t("Welcome back to *\(render(script.title))*.", "Reprenons *\(render(script.title))*."))
            askCurrent()
        case .expire:
            guard session.status == .active else { return }
            session.status = .paused
            effects.append(.paused)
            say(
                t(
                    "I paused *\(render(script.title))* since nobody answered for a while. Your answers are kept: say `\(prefixed("resume"))` to continue where you stopped.",
                    "J'ai mis *\(render(script.title))* en pause faute de réponse depuis un moment. Vos réponses sont gardées : dites `\(prefixed("resume"))` pour reprendre là où vous en étiez."
                ))
        case .text(let raw):
            guard session.status == .active, let stepID = session.stepID, let step = script.step(stepID) else { return }
            if changedSinceShown(step), Phrase.Command.parse(TextMatching.fold(raw)) == nil {
                showAgainChanged(step)
                return
            }
            handle(raw, step: step)
        case .end:
            session.status = .ended
            session.stepID = nil
            say(
                t(
                    "Stopped *\(script.title.resolve(language))*. The answers given so far are kept.",
                    "*\(script.title.resolve(language))* est arrêté. Les réponses déjà données sont gardées."))
        case .answerChanged(let stepID, let variable, let latest, let author, let count, let person, let personLatest):
            session.answers[variable] = latest
            session.authors[variable] = latest == nil ? nil : author
            if let person, isRoomRun, let step = script.step(stepID), step.collectsMany {
                session.byPerson[stepID, default: [:]][person] = personLatest
                session.answerCounts[stepID] = session.byPerson[stepID]?.count ?? 0
                if session.followUps[person]?.from == stepID,
                    successor(of: step, answers: answers(of: person), mainLine: false).map({ mainPath(after: step).contains($0) }) ?? true
                {
                    session.followUps[person] = nil
                }
            } else {
                session.answerCounts[stepID] = count
            }
        case .pause:
            guard session.status == .active else {
                say(
                    t(
                        "*\(render(script.title))* is already paused. A facilitator can end it for good with `\(prefixed("stop")) end`.",
                        "*\(render(script.title))* est déjà en pause. Un·e facilitateur·rice peut le terminer pour de bon avec `\(prefixed("stop")) end`."
                    ))
                return
            }
            session.status = .paused
            effects.append(.paused)
            say(
                t(
                    "Paused *\(render(script.title))*: the place and the answers are kept. Say `\(prefixed("resume"))` to continue; a facilitator can end it for good with `\(prefixed("stop")) end`.",
                    "*\(render(script.title))* est en pause : la place et les réponses sont gardées. Dites `\(prefixed("resume"))` pour reprendre ; un·e facilitateur·rice peut le terminer pour de bon avec `\(prefixed("stop")) end`."
                ))
        case .anchored(let stepID, let run, let text):
            guard run == session.run, session.status != .ended, let step = script.step(stepID), step.kind.isQuestion else {
                say(
                    t(
                        "That question belongs to an earlier run of *\(render(script.title))*: your answer was not recorded.",
                        "Cette question appartient à un parcours précédent de *\(render(script.title))* : votre réponse n'a pas été enregistrée."
                    ))
                return
            }
            if changedSinceShown(step) {
                showAgainChanged(step)
                return
            }
            if stepID == session.stepID, session.status == .active {
                handle(text, step: step, anchored: true)
            } else {
                late(text, step: step)
            }
        }
    }

    // MARK: Room runs

    /// A message in a room run, at the current question. Side chat (text that is no answer from someone
    /// the run waits for, not a reply to the question) is ignored; addressed text that is no answer is left
    /// to the caller (``ignored``), which may answer it from the knowledge base.
    mutating func handleInRoom(_ raw: String, step: Step, anchored: Bool) {
        let folded = TextMatching.fold(raw)
        let speaker = context.speaker
        let mode = script.mode(of: step)
        // Someone with a follow-up of their own, while the room is still on the question that led to it:
        // their messages answer the follow-up (`skip` leaves it).
        if !anchored, let followUp = session.followUps[speaker.id], followUp.from == step.id, let own = script.step(followUp.step) {
            let command = Phrase.Command.parse(folded)
            if case .skip? = command {
                session.followUps[speaker.id] = nil
                session.attemptsBy[speaker.id] = nil
                say(
                    t("Follow-up skipped, \(Markdown.escape(speaker.name)).", "Question de suivi passée, \(Markdown.escape(speaker.name)).")
                )
                return
            }
            if command == nil {
                answerFollowUp(raw, step: own, anchored: false)
                return
            }
        }
        if let command = Phrase.Command.parse(folded) {
            if canSteer || !command.steers(step) {
                if navigate(command, step: step) { return }
            } else if context.addressed || anchored {
                say(
                    t(
                        "\(Markdown.escape(speaker.name)): only a facilitator can steer this dialogue; your answers are welcome, though.",
                        "\(Markdown.escape(speaker.name)) : seul·e un·e facilitateur·rice peut piloter ce dialogue ; vos réponses sont les bienvenues."
                    ))
                return
            } else {
                ignored = true
                return
            }
        }
        if session.phase == .choosingChange, speaker.isFacilitator {
            session.phase = .answer
            if let n = Int(folded) { _ = navigate(.change(n), step: step) } else { askCurrent() }
            return
        }
        if mode == .decision, !speaker.isFacilitator {
            if anchored, !context.isReaction {
                say(
                    t(
                        "\(Markdown.escape(speaker.name)): the facilitator gives the room's answer to this question.",
                        "\(Markdown.escape(speaker.name)) : c'est le ou la facilitateur·rice qui donne la réponse du salon à cette question."
                    ))
            } else {
                ignored = true  // the facilitator gives the room's answer; the others are talking
            }
            return
        }
        let answeredBefore =
            mode == .decision ? session.answerCounts[step.id, default: 0] > 0 : session.byPerson[step.id]?[speaker.id] != nil
        // Free text from someone who already answered is conversation, unless it replies to the question.
        if case .text = step.kind, answeredBefore, !anchored, mode != .decision {
            ignored = true
            return
        }
        switch parseWithComment(raw, step: step) {
        case .success(let (value, comment)):
            if case .list(let items) = value, gather(items, step: step) { return }
            if mode == .decision {
                record(value, step: step, comment: comment)
            } else {
                collect(value, comment: comment, step: step, current: true)
            }
        case .failure(let reason):
            if anchored, answeredBefore, mode != .decision {
                // A reply to the question by someone who answered it: their comment.
                comment(raw, on: step)
                return
            }
            if context.addressed, !anchored {
                ignored = true  // a question for the bot, not an answer: the caller may answer it
                return
            }
            // Only who the run waits for hears why: the facilitator on a decision, anyone replying to the question.
            guard anchored || (mode == .decision && speaker.isFacilitator), !context.isReaction else {
                ignored = true
                return
            }
            retry(reason, step: step)
        }
    }

    /// Records the speaker's own answer (and its comment) to `step` in a room run: it replaces theirs, the
    /// room's count is of people, and their failed attempts are forgotten.
    mutating func keepPersonal(_ value: AnswerValue, comment: String?, step: Step) {
        let speaker = context.speaker
        session.byPerson[step.id, default: [:]][speaker.id] = value
        session.answers[step.variable] = value
        session.authors[step.variable] = speaker.name
        session.answerCounts[step.id] = session.byPerson[step.id]?.count ?? 1
        session.attemptsBy[speaker.id] = nil
        effects.append(
            .saveAnswer(
                step: step.id, variable: step.variable, value: value, display: display(value, variable: step.variable),
                speaker: speaker, replacing: false))
        if let comment { effects.append(.comment(step: step.id, text: comment, speaker: speaker)) }
    }

    /// A person's answer to a question the room answers together: theirs replaces their earlier one.
    mutating func collect(_ value: AnswerValue, comment: String?, step: Step, current: Bool) {
        let speaker = context.speaker
        let again = session.byPerson[step.id]?[speaker.id] != nil
        keepPersonal(value, comment: comment, step: step)
        if context.isReaction {  // the reaction shows it was taken
            followBranch(from: step)
            return
        }
        let count = session.answerCounts[step.id, default: 1]
        var ack =
            again
            ? t(
                "Updated, \(Markdown.escape(speaker.name)) (\(count) answer\(count > 1 ? "s" : "") so far).",
                "C'est modifié, \(Markdown.escape(speaker.name)) (\(count) réponse\(count > 1 ? "s" : "") pour l'instant).")
            : t(
                "Noted, \(Markdown.escape(speaker.name)) (\(count) answer\(count > 1 ? "s" : "") so far).",
                "Noté, \(Markdown.escape(speaker.name)) (\(count) réponse\(count > 1 ? "s" : "") pour l'instant).")
        if !current, let index = script.questions.firstIndex(where: { $0.id == step.id }) {
            ack = t(
                "Noted for question \(index + 1), \(Markdown.escape(speaker.name)) (\(count) answer\(count > 1 ? "s" : "") so far).",
                "Noté pour la question \(index + 1), \(Markdown.escape(speaker.name)) (\(count) réponse\(count > 1 ? "s" : "") pour l'instant)."
            )
        } else if count == 1, !again {
            ack +=
                " "
                + t(
                    "Others can answer too; a facilitator says *next* to move on.",
                    "D'autres peuvent répondre ; un·e facilitateur·rice dit *suivant* pour avancer.")
        }
        say(ack)
        followBranch(from: step)
    }

    /// A comment on the speaker's latest answer to `step`.
    mutating func comment(_ raw: String, on step: Step) {
        let text = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty else { return }
        effects.append(.comment(step: step.id, text: String(text.prefix(4_000)), speaker: context.speaker))
        if !context.isReaction {
            say(
                t("Comment noted, \(Markdown.escape(context.speaker.name)).", "Commentaire noté, \(Markdown.escape(context.speaker.name)).")
            )
        }
    }

    /// An answer that did not read, in a room run: this person's own attempts, their name in the prompt.
    mutating func retry(_ reason: Rejection, step: Step) {
        let speaker = context.speaker
        let tries = session.attemptsBy[speaker.id, default: 0] + 1
        if tries >= step.maxAttempts {
            session.attemptsBy[speaker.id] = nil
            if session.followUps[speaker.id]?.step == step.id { session.followUps[speaker.id] = nil }
            say(
                t(
                    "\(Markdown.escape(speaker.name)), I still cannot read that as an answer, so I leave this question for you; a facilitator can help, or answer later by replying to the question.",
                    "\(Markdown.escape(speaker.name)), je n'arrive toujours pas à lire cela comme une réponse : je vous laisse cette question ; un·e facilitateur·rice peut aider, ou répondez plus tard en répondant à la question."
                ))
            return
        }
        session.attemptsBy[speaker.id] = tries
        var message = "\(Markdown.escape(speaker.name)): " + (step.invalid.map(render).map { $0 + " " } ?? "") + reason.text(language)
        if step.maxAttempts - tries == 1 { message += " " + t("(last try)", "(dernier essai)") }
        say(message)
    }

    /// An answer to a question the run has left (a reply to its message, a reaction on it).
    mutating func late(_ raw: String, step: Step) {
        let mode = script.mode(of: step)
        if isRoomRun, session.followUps[context.speaker.id]?.step == step.id {
            answerFollowUp(raw, step: step, anchored: true)
            return
        }
        if isRoomRun, !session.history.contains(step.id), session.byPerson[step.id]?[context.speaker.id] == nil {
            // A follow-up the room never asked: it was someone else's own question.
            if !context.isReaction {
                say(
                    t(
                        "\(Markdown.escape(context.speaker.name)): that follow-up question was for someone else, so your answer was not recorded.",
                        "\(Markdown.escape(context.speaker.name)) : cette question de suivi était pour quelqu'un d'autre : votre réponse n'a pas été enregistrée."
                    ))
            }
            return
        }
        if mode == .decision, isRoomRun, !context.speaker.isFacilitator {
            if !context.isReaction {
                say(
                    t(
                        "\(Markdown.escape(context.speaker.name)): the facilitator gives the room's answer to that question.",
                        "\(Markdown.escape(context.speaker.name)) : c'est le ou la facilitateur·rice qui donne la réponse du salon à cette question."
                    ))
            }
            return
        }
        switch parseWithComment(raw, step: step) {
        case .success(let (value, comment)):
            if isRoomRun, mode != .decision {
                collect(value, comment: comment, step: step, current: false)
                return
            }
            session.answers[step.variable] = value
            session.authors[step.variable] = context.speaker.name
            session.answerCounts[step.id] = 1
            effects.append(
                .saveAnswer(
                    step: step.id, variable: step.variable, value: value, display: display(value, variable: step.variable),
                    speaker: context.speaker, replacing: true))
            if let comment { effects.append(.comment(step: step.id, text: comment, speaker: context.speaker)) }
            if !context.isReaction {
                say(
                    t(
                        "Updated your answer to *\(render(step.text))*: **\(Markdown.escape(display(value, variable: step.variable)))**.",
                        "Réponse mise à jour pour *\(render(step.text))* : **\(Markdown.escape(display(value, variable: step.variable)))**."
                    ))
            }
        case .failure(let reason):
            if isRoomRun, session.byPerson[step.id]?[context.speaker.id] != nil {
                comment(raw, on: step)
            } else if !context.isReaction {
                say("\(Markdown.escape(context.speaker.name)): " + reason.text(language))
            }
        }
    }

    // MARK: Follow-ups (a person's own branch inside a room run)

    /// The answers conditions read for `person`: their own answers to the questions everyone answers, the
    /// room's to its decisions. Nobody branches on someone else's answer.
    func answers(of person: String) -> [String: AnswerValue] {
        var values = session.answers
        for question in script.questions where script.mode(of: question) != .decision {
            values[question.variable] = session.byPerson[question.id]?[person]
        }
        return values
    }

    /// The steps the room will go through after `step`, following its main line.
    func mainPath(after step: Step) -> Set<String> {
        var path: Set<String> = []
        var next = successor(of: step, answers: session.answers, mainLine: true)
        while let id = next, path.insert(id).inserted, let following = script.step(id) {
            next = successor(of: following)
        }
        return path
    }

    /// After the speaker's answer to `step`: when their own answers take a branch the room does not, they
    /// get a follow-up question of their own; when they no longer do, the one it opened is closed.
    mutating func followBranch(from step: Step) {
        guard isRoomRun, case .branches = step.next else { return }
        let person = context.speaker.id
        let own = successor(of: step, answers: answers(of: person), mainLine: false)
        let path = mainPath(after: step)
        guard let own, !path.contains(own), !session.history.contains(own) else {
            if session.followUps[person]?.from == step.id { session.followUps[person] = nil }
            return
        }
        enterFollowUp(own, from: step)
    }

    /// Walks the speaker's own branch from `first`: says its `say` steps and asks its next question, until it
    /// rejoins the room's path (the follow-up then closes).
    mutating func enterFollowUp(_ first: String, from origin: Step) {
        let speaker = context.speaker
        let path = mainPath(after: origin)
        let values = answers(of: speaker.id)
        var lines: [String] = []
        var next: String? = first
        var walked = 0
        while let id = next, !path.contains(id), !session.history.contains(id), let step = script.step(id), walked <= script.steps.count {
            walked += 1
            if case .say = step.kind {
                lines.append(render(step.text))
                next = successor(of: step, answers: values, mainLine: false)
                continue
            }
            session.followUps[speaker.id] = FollowUp(step: id, from: origin.id, name: speaker.name)
            session.attemptsBy[speaker.id] = nil
            let (body, choices) = questionLines(step)
            session.shown[id] = step.meaning(scales: script.scales)
            var prompt = t(
                "\(Markdown.escape(speaker.name)), a question for you:", "\(Markdown.escape(speaker.name)), une question pour vous :")
            prompt += "\n" + body.joined(separator: "\n")
            if origin.id != session.stepID {
                prompt += "\n" + t("_(reply to this message to answer)_", "_(répondez à ce message pour répondre)_")
            }
            lines.append(prompt)
            say(lines.joined(separator: "\n\n"), choices: choices, asks: id)
            return
        }
        session.followUps[speaker.id] = nil
        if !lines.isEmpty { say(lines.joined(separator: "\n\n")) }
    }

    /// The speaker's answer to their own follow-up question.
    mutating func answerFollowUp(_ raw: String, step: Step, anchored: Bool) {
        guard let followUp = session.followUps[context.speaker.id], let origin = script.step(followUp.from) else { return }
        switch parseWithComment(raw, step: step) {
        case .success(let (value, comment)):
            let speaker = context.speaker
            keepPersonal(value, comment: comment, step: step)
            session.followUps[speaker.id] = nil
            if !context.isReaction { say(t("Noted, \(Markdown.escape(speaker.name)).", "Noté, \(Markdown.escape(speaker.name)).")) }
            if let next = successor(of: step, answers: answers(of: speaker.id), mainLine: false) {
                enterFollowUp(next, from: origin)
            }
        case .failure(let reason):
            if context.addressed, !anchored {
                ignored = true  // a question for the bot: the caller may answer it
                return
            }
            if context.isReaction { return }
            retry(reason, step: step)
        }
    }

    /// Reads an answer, or an answer followed by a comment (`2 I think, it's patchy`) for questions with a
    /// fixed set of answers.
    func parseWithComment(_ raw: String, step: Step) -> Result<(AnswerValue, String?), Rejection> {
        let parser = AnswerParser(step: step, scales: script.scales, language: language, today: context.now)
        let whole = parser.parse(raw)
        if case .success(let value) = whole { return .success((value, nil)) }
        switch step.kind {
        case .choice, .scale, .yesno, .number: break
        default: return whole.map { ($0, nil) }
        }
        let trimmed = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        // A number's own commas and dots are not a comment's start: after a number only a space is.
        let isNumber = if case .number = step.kind { true } else { false }
        // The answer is the shortest start that reads as one ("Well established: the committee…").
        guard !trimmed.isEmpty else { return whole.map { ($0, nil) } }
        var cut = trimmed.startIndex
        while let next = trimmed[trimmed.index(after: cut)...].firstIndex(where: { $0.isWhitespace || (!isNumber && ",:;-(".contains($0)) })
        {
            cut = next
            let rest = trimmed[cut...].drop { $0.isWhitespace || ",:;-–—(".contains($0) }
            // The comment is words: "1,2,3" or "3 4" are not an answer with a comment.
            guard rest.contains(where: \.isLetter) else { break }
            guard case .success(let value) = parser.parse(String(trimmed[..<cut])) else { continue }
            let comment = rest.hasSuffix(")") && !rest.contains("(") ? String(rest.dropLast()) : String(rest)
            return .success((value, comment.isEmpty ? nil : String(comment.prefix(4_000))))
        }
        return whole.map { ($0, nil) }
    }

    mutating func handle(_ raw: String, step: Step, anchored: Bool = false) {
        if isRoomRun {
            handleInRoom(raw, step: step, anchored: anchored)
            return
        }
        let folded = TextMatching.fold(raw)
        let speaker = context.speaker.id
        // After an answer, "skip" or "passer" declines the comment: it does not skip the question.
        let awaitsComment = session.pendingComments[speaker] == step.id || (session.phase == .comment && session.commentBy == speaker)
        if !(awaitsComment && Phrase.noComment.contains(folded)), let command = Phrase.Command.parse(folded), navigate(command, step: step)
        {
            return
        }
        if session.pendingComments[speaker] == step.id {
            // A collected answer's comment: only this person's, and the step stays open for others.
            session.pendingComments[speaker] = nil
            noteComment(raw, folded: folded, step: step)
            return
        }
        if session.phase == .comment, let author = session.commentBy, author != speaker {
            say(
                t(
                    "One moment: I am waiting for \(Markdown.escape(session.authors[session.commentFor ?? ""] ?? author))'s comment.",
                    "Un instant : j'attends le commentaire de \(Markdown.escape(session.authors[session.commentFor ?? ""] ?? author))."))
            return
        }
        switch session.phase {
        case .comment:
            noteComment(raw, folded: folded, step: step)
            session.phase = .answer
            session.commentFor = nil
            session.commentBy = nil
            afterAnswer(step)
        case .choosingChange:
            session.phase = .answer
            if let n = Int(folded) {
                _ = navigate(.change(n), step: step)
            } else {
                askCurrent()
            }
        case .answer:
            answer(raw, step: step)
        }
    }

    mutating func noteComment(_ raw: String, folded: String, step: Step) {
        let comment = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        if !Phrase.noComment.contains(folded), !comment.isEmpty {
            effects.append(.comment(step: step.id, text: String(comment.prefix(4_000)), speaker: context.speaker))
            say(t("Comment noted.", "Commentaire noté."))
        }
    }

    /// Handles a navigation word. Returns false when the word should be read as an answer instead.
    mutating func navigate(_ command: Phrase.Command, step: Step) -> Bool {
        let steering: Bool
        switch command {
        case .help, .repeatQuestion, .summary: steering = false
        // Changing an answer moves a room's shared session to that question.
        case .change: steering = true
        case .done:
            guard case .list = step.kind, session.phase == .answer else { return false }
            steering = false
        default: steering = true
        }
        if steering, !canSteer {
            say(
                t(
                    "Only a facilitator can steer this dialogue; your answers are welcome, though.",
                    "Seul·e un·e facilitateur·rice peut piloter ce dialogue ; vos réponses sont les bienvenues."))
            return true
        }
        switch command {
        case .help:
            var text = step.help.map(render) ?? t("Answer the question in your own words.", "Répondez à la question avec vos mots.")
            text +=
                "\n\n"
                + t(
                    "You can also say: *back*, *repeat*, *summary*, *stop* (pause; `\(prefixed("resume"))` later), *restart*\(step.skippable ? ", *skip*" : "").",
                    "Vous pouvez aussi dire : *retour*, *répéter*, *résumé*, *stop* (pause ; `\(prefixed("resume"))` ensuite), *recommencer*\(step.skippable ? ", *passer*" : "")."
                )
            say(text)
        case .repeatQuestion:
            askCurrent()
        case .summary:
            guard canSteer else {
                say(summaryText(numbered: true))
                return true
            }
            say(
                summaryText(numbered: true) + "\n\n"
                    + t("To change an answer, say its number.", "Pour changer une réponse, dites son numéro."))
            session.phase = .choosingChange
        case .change(let n):
            let answered = answeredQuestions()
            guard n >= 1, n <= answered.count else {
                say(t("There is no answer number \(n).", "Il n'y a pas de réponse numéro \(n)."))
                askCurrent()
                return true
            }
            if session.returnTo == nil { session.returnTo = step.id }
            moveTo(answered[n - 1].id)
        case .back:
            session.phase = .answer
            // The question before this one on the path the answers now take (after an edit the history also
            // holds the jump to the edited question, and going "back" there would go forward); the history
            // only when this question is off that path (reached by `question N`).
            let onPath = questionBeforeOnPath(step.id)
            guard let previous = onPath.found ? onPath.previous : session.history.last(where: { $0 != step.id }) else {
                say(t("This is the first question.", "C'est la première question."))
                askCurrent()
                return true
            }
            if let i = session.history.lastIndex(of: previous) { session.history.removeSubrange(i...) }
            moveTo(previous)
        case .skip, .next:
            if session.phase == .comment {
                // The answer is in: moving on only gives up its comment (nobody waits for an absent author).
                session.phase = .answer
                session.commentFor = nil
                session.commentBy = nil
                afterAnswer(step)
                return true
            }
            if case .next = command, step.collectsMany, session.answerCounts[step.id, default: 0] > 0 || context.speaker.isFacilitator {
                session.phase = .answer
                advance(from: step)
                return true
            }
            if case .next = command, isRoomRun {
                // A room's decision: moving on needs its answer, or a question that may be left.
                if case .list(let min, _) = step.kind, session.listDraft.count >= max(min, 1) {
                    record(.list(session.listDraft), step: step)
                    return true
                }
                guard session.answerCounts[step.id, default: 0] > 0 || step.skippable else {
                    say(
                        t(
                            "This question needs the room's answer before moving on.",
                            "Cette question attend la réponse du salon avant d'avancer."))
                    return true
                }
                session.phase = .answer
                advance(from: step)
                return true
            }
            guard step.skippable || (step.collectsMany && context.speaker.isFacilitator) else {
                if case .next = command { return false }
                say(t("This question cannot be skipped.", "On ne peut pas passer cette question."))
                return true
            }
            session.phase = .answer
            session.listDraft = []
            session.listDraftFor = nil
            say(t("Skipped.", "Question passée."))
            advance(from: step)
        case .question(let n):
            let questions = script.questions
            guard n >= 1, n <= questions.count else {
                say(
                    t(
                        "There is no question \(n) (there are \(questions.count)).",
                        "Il n'y a pas de question \(n) (il y en a \(questions.count))."))
                return true
            }
            moveTo(questions[n - 1].id)
        case .discussed:
            guard script.scope == .room else { return false }
            if !session.discussed.contains(step.id) {
                session.discussed.append(step.id)
                effects.append(.discussed(step: step.id, speaker: context.speaker))
            }
            say(t("Marked as discussed.", "Marquée comme discutée."))
            advance(from: step)
        case .pause:
            session.status = .paused
            effects.append(.paused)
            say(
                t(
                    "Paused. Your answers are kept; say `\(prefixed("resume"))` to continue.",
                    "En pause. Vos réponses sont gardées ; dites `\(prefixed("resume"))` pour reprendre."))
        case .restart:
            for question in script.questions where session.answerCounts[question.id, default: 0] > 0 {
                effects.append(.clearAnswers(step: question.id))
            }
            let run = session.run + 1
            session = DialogueSession(dialogueID: script.id, revision: script.revision, now: context.now)
            session.run = run
            say(t("Starting over.", "On recommence."))
            enter(script.steps.first?.id)
        case .done:
            guard case .list(let min, _) = step.kind else { return false }
            guard session.listDraft.count >= min else {
                say(
                    t(
                        "Please give at least \(min) item\(min > 1 ? "s" : "") first.",
                        "Donnez d'abord au moins \(min) élément\(min > 1 ? "s" : "")."))
                return true
            }
            record(.list(session.listDraft), step: step)
        }
        return true
    }

    // MARK: Answers

    /// Adds items to a list question's draft, saving the list once it is full. Returns false when `step` is
    /// not a list question (the value is an answer of its own).
    mutating func gather(_ items: [String], step: Step) -> Bool {
        guard case .list(_, let max) = step.kind else { return false }
        session.listDraft += items
        session.listDraftFor = step.id
        if let max, session.listDraft.count >= max {
            record(.list(Array(session.listDraft.prefix(max))), step: step)
        } else {
            say(
                t(
                    "Added (\(session.listDraft.count)). Another one, or *done*.",
                    "Ajouté (\(session.listDraft.count)). Un autre, ou *fini*."))
        }
        return true
    }

    mutating func answer(_ raw: String, step: Step) {
        switch parseWithComment(raw, step: step) {
        case .success(let (value, inline)):
            if case .list(let items) = value, gather(items, step: step) { return }
            record(value, step: step, comment: inline)
        case .failure(let reason):
            session.attempts += 1
            if session.attempts >= step.maxAttempts {
                session.attempts = 0
                switch step.onFail {
                case .skip:
                    say(t("Let's leave this question for now.", "Laissons cette question pour l'instant."))
                    advance(from: step)
                case .stop:
                    say(
                        t(
                            "I could not understand the answer, so I stopped *\(render(script.title))*. Say `\(prefixed("start")) \(script.id)` to try again.",
                            "Je n'ai pas compris la réponse, j'arrête donc *\(render(script.title))*. Dites `\(prefixed("start")) \(script.id)` pour réessayer."
                        ))
                    finish(showSummary: false, abandoned: true)
                case .goto(let target):
                    moveTo(target)
                }
                return
            }
            var message = step.invalid.map(render).map { $0 + " " } ?? ""
            message += reason.text(language)
            let left = step.maxAttempts - session.attempts
            if left == 1 { message += " " + t("(last try)", "(dernier essai)") }
            say(message)
        }
    }

    mutating func record(_ value: AnswerValue, step: Step, comment inline: String? = nil) {
        let replacing = !(isRoomRun && step.collectsMany)
        session.answers[step.variable] = value
        session.authors[step.variable] = context.speaker.name
        session.answerCounts[step.id] = replacing ? 1 : session.answerCounts[step.id, default: 0] + 1
        session.attempts = 0
        if case .list = step.kind {
            session.listDraft = []
            session.listDraftFor = nil
        }
        effects.append(
            .saveAnswer(
                step: step.id, variable: step.variable, value: value, display: display(value, variable: step.variable),
                speaker: context.speaker, replacing: replacing))
        if let inline {
            effects.append(.comment(step: step.id, text: inline, speaker: context.speaker))
        } else if let comment = step.comment, !isRoomRun {
            session.phase = .comment
            session.commentFor = step.variable
            session.commentBy = context.speaker.id
            say(render(comment) + " " + t("(or *no*)", "(ou *non*)"))
            return
        }
        afterAnswer(step)
    }

    mutating func afterAnswer(_ step: Step) {
        if script.scope == .room && step.collectsMany {
            let count = session.answerCounts[step.id, default: 0]
            say(
                t(
                    "Noted, \(Markdown.escape(context.speaker.name)) (\(count) answer\(count > 1 ? "s" : "") so far). Others can answer too; a facilitator says *next* to move on.",
                    "Noté, \(Markdown.escape(context.speaker.name)) (\(count) réponse\(count > 1 ? "s" : "") pour l'instant). D'autres peuvent répondre ; un·e facilitateur·rice dit *suivant* pour avancer."
                ))
            return
        }
        if session.returnTo != nil, !isRoomRun {
            session.returnTo = nil
            retakeBranches()
            return
        }
        if let back = session.returnTo, back != step.id {
            session.returnTo = nil
            moveTo(back)
            return
        }
        session.returnTo = nil
        advance(from: step)
    }

    /// Walks the path from the first step with the answers as they are: whether it meets `id`, and the last
    /// question before it (nil: `id` is the first question).
    func questionBeforeOnPath(_ id: String) -> (found: Bool, previous: String?) {
        var previous: String?
        var seen: Set<String> = []
        var next = script.steps.first?.id
        while let current = next, seen.insert(current).inserted, let step = script.step(current) {
            if current == id { return (true, previous) }
            if step.kind.isQuestion {
                guard session.answers[step.variable] != nil || session.answerCounts[step.id, default: 0] > 0 else { return (false, nil) }
                previous = current
            }
            next = successor(of: step)
        }
        return (false, nil)
    }

    /// The step written after `step` in the file (nil after the last one).
    func following(_ step: Step) -> String? {
        let index = script.stepIndex[step.id] ?? script.steps.count
        return index + 1 < script.steps.count ? script.steps[index + 1].id : nil
    }

    /// Every step that may follow `step`, whatever the answers.
    func possibleSuccessors(of step: Step) -> [String] {
        let following = self.following(step)
        switch step.next {
        case .following: return following.map { [$0] } ?? []
        case .end: return []
        case .step(let id): return [id]
        case .branches(let branches): return branches.compactMap(\.target) + (following.map { [$0] } ?? [])
        }
    }

    /// After an answer was changed: the path is walked again from the first step with the answers as they
    /// now are. Answers to questions the path no longer passes are set aside, and the run goes on at the
    /// first question on the path still without an answer (the one it was on, when its branch holds).
    mutating func retakeBranches() {
        // The first question on the path that still needs an answer.
        var walked: Set<String> = []
        var next = script.steps.first?.id
        var target: String?
        while let id = next, walked.insert(id).inserted, let step = script.step(id) {
            if step.kind.isQuestion, session.answers[step.variable] == nil {
                target = id
                break
            }
            next = successor(of: step)
        }
        // Every step the run may still pass: answered questions go where their answer leads; from a question
        // without an answer yet (and a `say` step), every way out is still possible.
        var onPath: Set<String> = []
        var queue = script.steps.first.map { [$0.id] } ?? []
        while let id = queue.popLast() {
            guard onPath.insert(id).inserted, let step = script.step(id) else { continue }
            if step.kind.isQuestion, session.answers[step.variable] != nil {
                if let following = successor(of: step) { queue.append(following) }
            } else {
                queue += possibleSuccessors(of: step)
            }
        }
        for question in script.questions where !onPath.contains(question.id) && session.answers[question.variable] != nil {
            session.answers[question.variable] = nil
            session.authors[question.variable] = nil
            session.answerCounts[question.id] = nil
            effects.append(.setAside(step: question.id))
        }
        guard let target else {
            finish(showSummary: script.ending.summary)
            return
        }
        moveTo(target)
    }

    // MARK: Moving

    /// The step after `step`, following `next`. In a room run, a question everyone answers for themselves
    /// (not a decision) does not branch on whoever answered last: the room takes its main line, and each
    /// person's own branch is theirs to follow (``followBranch(from:)``).
    func successor(of step: Step) -> String? {
        successor(of: step, answers: session.answers, mainLine: isRoomRun && script.mode(of: step) != .decision)
    }

    /// The step after `step` with conditions read on `answers`; on the `mainLine`, conditional branches are
    /// passed over and the first unconditional one (or the following step) is taken.
    func successor(of step: Step, answers: [String: AnswerValue], mainLine: Bool) -> String? {
        let following = self.following(step)
        switch step.next {
        case .following: return following
        case .end: return nil
        case .step(let id): return id
        case .branches(let branches):
            for branch in branches {
                guard let condition = branch.condition else { return branch.target }
                if !mainLine, condition.evaluate(answers) { return branch.target }
            }
            return following
        }
    }

    mutating func advance(from step: Step) {
        session.phase = .answer
        enter(successor(of: step))
    }

    /// Goes to a question directly (back, change, question N), without replaying `say` steps before it.
    mutating func moveTo(_ id: String) {
        session.phase = .answer
        session.attempts = 0
        enter(id)
    }

    /// Enters `id`: says `say` steps until a question (asked) or the end.
    mutating func enter(_ first: String?) {
        var next = first
        var guardCount = 0
        while let id = next, let step = script.step(id) {
            guardCount += 1
            if guardCount > script.steps.count + 1 { break }  // the validator rejects loops of says; stay safe anyway
            if case .say = step.kind {
                say(render(step.text))
                next = successor(of: step)
                continue
            }
            session.stepID = step.id
            session.phase = .answer
            session.attempts = 0
            session.pendingComments = [:]
            // Items given to a list question wait for it, even while another answer is changed meanwhile.
            if case .list = step.kind, session.listDraftFor != step.id {
                session.listDraft = []
                session.listDraftFor = nil
            }
            if session.history.last != step.id { session.history.append(step.id) }
            askCurrent()
            return
        }
        finish(showSummary: script.ending.summary)
    }

    mutating func finish(showSummary: Bool, abandoned: Bool = false) {
        session.stepID = nil
        session.status = .ended
        session.phase = .answer
        effects.append(abandoned ? .abandoned : .ended)
        var text = ""
        if showSummary, !answeredQuestions().isEmpty {
            text += summaryText(numbered: false) + "\n\n"
        }
        if let ending = script.ending.text { text += render(ending) + "\n\n" }
        text += t(
            "Your answers are saved. *\(render(script.title))* is finished.",
            "Vos réponses sont enregistrées. *\(render(script.title))* est terminé.")
        say(text)
    }

    // MARK: Showing

    func answeredQuestions() -> [Step] {
        script.questions.filter { session.answers[$0.variable] != nil }
    }

    func summaryText(numbered: Bool) -> String {
        var lines = [t("**Your answers so far:**", "**Vos réponses jusqu'ici :**")]
        if !numbered { lines[0] = t("**Summary:**", "**Récapitulatif :**") }
        for (i, question) in answeredQuestions().enumerated() {
            guard let value = session.answers[question.variable] else { continue }
            let prefix = numbered ? "\(i + 1). " : "- "
            if isRoomRun, question.collectsMany, let answers = session.byPerson[question.id], !answers.isEmpty {
                lines.append(prefix + "\(render(question.text)) — " + spread(answers, question))
                continue
            }
            var line = prefix + "\(render(question.text)) — **\(Markdown.escape(display(value, variable: question.variable)))**"
            let count = session.answerCounts[question.id, default: 0]
            if count > 1 { line += t(" (latest of \(count) answers)", " (la dernière de \(count) réponses)") }
            lines.append(line)
        }
        if lines.count == 1 { lines.append(t("(no answers yet)", "(aucune réponse pour l'instant)")) }
        if isRoomRun, !session.followUps.isEmpty {
            let names = session.followUps.values.map(\.name).sorted().map(Markdown.escape).joined(separator: ", ")
            lines.append(t("_Waiting for a follow-up answer from: \(names)._", "_En attente d'une réponse de suivi de : \(names)._"))
        }
        return lines.joined(separator: "\n")
    }

    /// The room's answers to a question: how many, how they spread, the mean of numbers; by person for a
    /// `personal` question. Never one person's value as the room's.
    func spread(_ answers: [String: AnswerValue], _ question: Step) -> String {
        let count = answers.count
        var text = t("\(count) answer\(count > 1 ? "s" : "")", "\(count) réponse\(count > 1 ? "s" : "")")
        if script.mode(of: question) == .personal {
            return text + t(": ", " : ")
                + answers.keys.sorted().map { Markdown.escape(display(answers[$0]!, variable: question.variable)) }.joined(separator: "; ")
        }
        var tally: [String: Int] = [:]
        var numbers: [Double] = []
        for value in answers.values {
            // Each option ticked counts once: "Local public services ×2", not each person's whole list.
            if case .multi(let picked) = value, case .multi(let options) = question.kind {
                for v in picked { tally[options.first { $0.value == v }?.label.resolve(language) ?? v, default: 0] += 1 }
                continue
            }
            tally[display(value, variable: question.variable), default: 0] += 1
            switch value {
            case .scale(let n): numbers.append(Double(n))
            case .number(let n): numbers.append(n)
            default: break
            }
        }
        guard case .text = question.kind else {
            text += t(": ", " : ") + tally.keys.sorted().map { "**\(Markdown.escape($0))** ×\(tally[$0]!)" }.joined(separator: ", ")
            if numbers.count == count, count > 1 {
                let mean = format((numbers.reduce(0, +) / Double(count) * 10).rounded() / 10)
                text += t(" (mean \(mean))", " (moyenne \(mean.replacingOccurrences(of: ".", with: ",")))")
            }
            return text
        }
        return text
    }

    func display(_ value: AnswerValue, variable: String) -> String {
        let step = script.questions.first { $0.variable == variable }
        switch value {
        case .text(let s):
            if case .date? = step?.kind { return DateAnswer.display(s, language: language) }
            return s
        case .yesno(let b): return b ? t("yes", "oui") : t("no", "non")
        case .number(let n): return n == n.rounded() && abs(n) < 1e15 ? String(Int64(n)) : String(n)
        case .list(let items): return items.joined(separator: "; ")
        case .choice(let v):
            if case .choice(let options)? = step?.kind, let option = options.first(where: { $0.value == v }) {
                return option.label.resolve(language)
            }
            return v
        case .multi(let vs):
            if case .multi(let options)? = step?.kind {
                return vs.map { v in options.first { $0.value == v }?.label.resolve(language) ?? v }.joined(separator: ", ")
            }
            return vs.joined(separator: ", ")
        case .scale(let n):
            if case .scale(let name)? = step?.kind, let level = script.scales[name]?.levels.first(where: { $0.value == n }) {
                return "\(n) — \(level.label.resolve(language))"
            }
            return String(n)
        }
    }

    /// Asks the current question again, with its options and progress.
    mutating func askCurrent() {
        guard session.status == .active, let id = session.stepID, let step = script.step(id) else {
            if session.status == .paused {
                say(
                    t(
                        "*\(render(script.title))* is paused; say `\(prefixed("resume"))` to continue.",
                        "*\(render(script.title))* est en pause ; dites `\(prefixed("resume"))` pour reprendre."))
            }
            return
        }
        if session.phase == .comment, let comment = step.comment {
            say(render(comment) + " " + t("(or *no*)", "(ou *non*)"))
            return
        }
        var lines: [String] = []
        if script.scope == .room, script.questions.count > 3, let index = script.questions.firstIndex(where: { $0.id == id }) {
            let answered = script.questions.filter { session.answerCounts[$0.id, default: 0] > 0 }.count
            lines.append(
                t(
                    "_Question \(index + 1) of \(script.questions.count) · \(answered) answered_",
                    "_Question \(index + 1) sur \(script.questions.count) · \(answered) avec réponse_"))
        }
        let (body, choices) = questionLines(step)
        lines += body
        if isRoomRun, step.comment != nil, script.mode(of: step) != .decision {
            lines.append(
                t(
                    "_A comment? Add it after your answer (`2 because…`), or reply to this message._",
                    "_Un commentaire ? Ajoutez-le après votre réponse (`2 parce que…`), ou répondez à ce message._"))
        }
        if step.learnMore != nil {
            lines.append(t("_(say *learn more* to read about it)_", "_(dites *en savoir plus* pour en lire davantage)_"))
        }
        session.shown[id] = step.meaning(scales: script.scales)
        say(lines.joined(separator: "\n"), choices: choices, asks: id)
    }

    /// Whether `step` changed meaning since this run showed it (an author edited its options, kind or
    /// scale): then an answer to it cannot be read as the person meant it.
    func changedSinceShown(_ step: Step) -> Bool {
        guard let shown = session.shown[step.id] else { return false }
        return shown != step.meaning(scales: script.scales)
    }

    /// An answer to a question that changed under the person: nothing is stored, the question is shown again.
    mutating func showAgainChanged(_ step: Step) {
        say(
            t(
                "This question was changed by the dialogue's authors since I asked it, so I did not record that answer. Here it is as it is now:",
                "Cette question a été modifiée par les auteurs du dialogue depuis que je l'ai posée : je n'ai donc pas enregistré cette réponse. La voici telle qu'elle est maintenant :"
            ))
        if step.id == session.stepID {
            askCurrent()
        } else {
            let (body, choices) = questionLines(step)
            session.shown[step.id] = step.meaning(scales: script.scales)
            say(body.joined(separator: "\n"), choices: choices, asks: step.id)
        }
    }

    /// A question's text, its options or the form its answer takes, and whether it may be skipped.
    func questionLines(_ step: Step) -> (lines: [String], choices: [String]) {
        var lines = [render(step.text)]
        var choices: [String] = []
        switch step.kind {
        case .say, .text: break
        case .choice(let options), .multi(let options):
            choices = options.map { render($0.label) }
            for (i, label) in choices.enumerated() { lines.append("\(i + 1). \(label)") }
            if case .multi = step.kind {
                lines.append(t("_Several numbers, separated by commas._", "_Plusieurs numéros, séparés par des virgules._"))
            }
        case .yesno:
            lines.append(t("_(yes / no)_", "_(oui / non)_"))
        case .scale(let name):
            for level in script.scales[name]?.levels ?? [] {
                var line = "\(level.value). **\(level.label.resolve(language))**"
                if let description = level.description { line += " — " + description.resolve(language) }
                lines.append(line)
                choices.append(level.label.resolve(language))
            }
        case .number(let min, let max, _):
            switch (min, max) {
            case let (min?, max?):
                lines.append(t("_(a number from \(format(min)) to \(format(max)))_", "_(un nombre de \(format(min)) à \(format(max)))_"))
            case let (min?, nil): lines.append(t("_(a number, at least \(format(min)))_", "_(un nombre, au moins \(format(min)))_"))
            case let (nil, max?): lines.append(t("_(a number, at most \(format(max)))_", "_(un nombre, au plus \(format(max)))_"))
            case (nil, nil): lines.append(t("_(a number)_", "_(un nombre)_"))
            }
        case .date:
            lines.append(
                t("_(a date: 15 March 2027, 15/03/2027, next month…)_", "_(une date : 15 mars 2027, 15/03/2027, le mois prochain…)_"))
        case .list:
            lines.append(
                t("_One item per message; say *done* when finished._", "_Un élément par message ; dites *fini* quand c'est tout._"))
            if !session.listDraft.isEmpty {
                lines.append(t("So far: ", "Pour l'instant : ") + session.listDraft.map(Markdown.escape).joined(separator: "; "))
            }
        }
        if step.skippable { lines.append(t("_(you may *skip* this one)_", "_(vous pouvez *passer* celle-ci)_")) }
        return (lines, choices)
    }

    func format(_ n: Double) -> String { n == n.rounded() ? String(Int64(n)) : String(n) }
}
