import Foundation
import GRDB

/// A stored dialogue session.
struct StoredSession {
    var key: String
    var dialogueID: String
    var roomID: String
    var state: DialogueSession
}

extension Turn {
    // MARK: Loading and saving

    func session(_ key: SessionKey) throws -> StoredSession? {
        try session(raw: key.rawValue)
    }

    func session(raw key: String) throws -> StoredSession? {
        guard
            let row = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT key, dialogue_id, room_id, state FROM session WHERE key = ?"), arguments: [key])
        else {
            return nil
        }
        let json: String = row["state"]
        let state: DialogueSession
        if let known = engine.sessionCache.withLock({ $0[key] }), known.json == json {
            state = known.state  // what this engine saved last: the same text, already decoded
        } else {
            guard let parsed = StoredCoding.parse(json), let decoded = try? DialogueSession(stored: parsed) else { return nil }
            state = decoded
        }
        return StoredSession(key: row["key"], dialogueID: row["dialogue_id"], roomID: row["room_id"], state: state)
    }

    func save(_ state: DialogueSession, key: String, roomID: String) throws {
        let json = state.storedText
        engine.remember(session: state, json: json, key: key)
        try db.cachedStatement(
            sql: """
                INSERT INTO session(key, dialogue_id, room_id, status, state, started_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(key) DO UPDATE SET dialogue_id = excluded.dialogue_id, status = excluded.status, state = excluded.state,
                    started_at = excluded.started_at, updated_at = excluded.updated_at
                """
        )
        .execute(arguments: [
            key, state.dialogueID, roomID, state.status.rawValue, json, state.startedAt.timeIntervalSince1970,
            state.updatedAt.timeIntervalSince1970,
        ])
    }

    /// The session waiting for this person's message: the thread's, then the person's, then the room's.
    func waitingSession(for message: IncomingMessage) throws -> (SessionKey, StoredSession)? {
        var keys: [SessionKey] = []
        if let thread = message.threadID { keys.append(.thread(message.roomID, thread)) }
        keys.append(.person(message.roomID, message.senderID))
        keys.append(.room(message.roomID))
        // Only an active session can be waiting: check the column before decoding any state.
        let active = try db.cachedStatement(sql: "SELECT 1 FROM session WHERE key = ? AND status = 'active'")
        for key in keys where try Bool.fetchOne(active, arguments: [key.rawValue]) == true {
            if let stored = try session(key), stored.state.isWaiting { return (key, stored) }
        }
        return nil
    }

    /// Sessions of this person's context that are not ended, most specific first.
    func openSessions(for message: IncomingMessage) throws -> [(SessionKey, StoredSession)] {
        var keys: [SessionKey] = []
        if let thread = message.threadID { keys.append(.thread(message.roomID, thread)) }
        keys.append(.person(message.roomID, message.senderID))
        keys.append(.room(message.roomID))
        return try keys.compactMap { key in
            guard let stored = try session(key), stored.state.status != .ended else { return nil }
            return (key, stored)
        }
    }

    // MARK: Playing

    /// Plays one interpreter turn on a session and persists everything it says must be saved.
    ///
    /// - Parameters:
    ///   - threadID: where the replies go (default: the session's thread, else the message's).
    ///   - addressed: the message was meant for the bot (see ``TurnContext/addressed``).
    /// - Returns: false when the dialogue did not take the input (side chat in a room run): nothing was saved.
    @discardableResult
    mutating func play(
        _ input: DialogueInput, key: SessionKey, session stored: StoredSession?, message: IncomingMessage,
        script override: DialogueScript? = nil, threadID: String? = nil, addressed: Bool = true, isReaction: Bool = false
    ) throws -> Bool {
        let language = try self.language(for: message)
        guard let script = override ?? stored.flatMap({ catalog.scripts[$0.dialogueID] }) else {
            if let state = stored?.state, state.status == .active {
                try save(DialogueInterpreter.suspendOrphan(state), key: key.rawValue, roomID: key.roomID)
            }
            let id = Markdown.escape(stored?.dialogueID ?? "?")
            reply(
                language.pick(
                    "The dialogue *\(id)* is not available right now (its file was removed or has an error), so I paused it: your place and your answers are kept. Say `\(prefix)resume` once it is back.",
                    "Le dialogue *\(id)* n'est pas disponible pour l'instant (son fichier a été retiré ou contient une erreur) : je l'ai mis en pause, votre place et vos réponses sont gardées. Dites `\(prefix)resume` quand il sera de retour."
                ), to: message)
            return true
        }
        var context = try self.context(for: message, language: language)
        context.addressed = addressed
        context.isReaction = isReaction
        let result = DialogueInterpreter(script).turn(stored?.state, input, context)
        if result.ignored { return false }
        let territory = try self.territory(of: key.roomID)
        for effect in result.effects {
            try apply(effect, script: script, key: key, run: result.session.run, message: message, territory: territory)
        }
        var session = result.session
        if session.status == .ended, stored?.state.status != .ended, script.steps.contains(where: \.anonymous) {
            try recordAnonymousAnswers(script, &session, key: key, message: message, territory: territory, context: context)
        }
        try save(session, key: key.rawValue, roomID: key.roomID)
        let reactions = try roomSettings(key.roomID).reactions
        for r in result.replies {
            let anchor = r.asks.map { QuestionAnchor(key: key, run: result.session.run, step: $0).rawValue }
            reply(
                r.markdown, to: message, threadID: threadID ?? key.threadID ?? message.threadID, choices: r.choices, anchor: anchor,
                offersReactions: reactions && anchor != nil && !r.choices.isEmpty)
        }
        return true
    }

    // MARK: Anchored answers

    /// A reply to one of the bot's questions (or in its thread): an answer to that question of that run,
    /// wherever the run now stands. The question must be this person's or the room's, in this room.
    mutating func answer(_ anchor: QuestionAnchor, _ text: String, _ message: IncomingMessage, isReaction: Bool = false) throws {
        let language = try self.language(for: message)
        func refuse(_ en: String, _ fr: String) {
            if !isReaction { reply(language.pick(en, fr), to: message) }
        }
        guard anchor.key.roomID == message.roomID else { return }
        if anchor.key.scope == .person, anchor.key.detail != message.senderID {
            refuse(
                "That question was asked to someone else, so your answer was not recorded.",
                "Cette question était posée à quelqu'un d'autre : votre réponse n'a pas été enregistrée.")
            return
        }
        guard let stored = try session(anchor.key), stored.state.status != .ended, stored.state.run == anchor.run,
            catalog.scripts[stored.dialogueID] != nil
        else {
            refuse(
                "That question belongs to a dialogue that is over, so your answer was not recorded.",
                "Cette question appartient à un dialogue terminé : votre réponse n'a pas été enregistrée.")
            return
        }
        try play(
            .anchored(stepID: anchor.step, run: anchor.run, text: text), key: anchor.key, session: stored, message: message,
            isReaction: isReaction)
    }

    /// A reaction on one of the bot's questions (`2️⃣`, `👍`): an answer to that question of that run when
    /// the key reads as one of its answers. Never answered as a message; a refusal is silent.
    mutating func react(_ reaction: IncomingMessage) throws {
        guard let raw = reaction.anchor, let anchor = QuestionAnchor(rawValue: raw), let text = Self.reactionAnswer(reaction.text) else {
            return
        }
        quotesCause = false
        try answer(anchor, text, reaction, isReaction: true)
    }

    /// What a reaction key answers: the number of a keycap (`1️⃣`…`🔟`, or a bare digit), yes or no for 👍 👎.
    static func reactionAnswer(_ key: String) -> String? {
        let scalars = key.unicodeScalars.filter { $0 != "\u{FE0F}" && $0 != "\u{20E3}" }
        if key == "🔟" { return "10" }
        // Compared by scalar: a skin tone makes 👍🏽 one character that does not start with 👍.
        if key.unicodeScalars.first == "👍" { return "yes" }
        if key.unicodeScalars.first == "👎" { return "no" }
        guard scalars.count == 1, let digit = scalars.first?.properties.numericType != nil ? scalars.first : nil,
            let n = Int(String(digit)), (0...9).contains(n)
        else { return nil }
        return String(n)
    }

    /// Persists one effect of the interpreter's turn. `run` is the session's run: an answer belongs to it,
    /// and replacing one never touches another run's (rows written before runs were numbered count as run 1).
    mutating func apply(
        _ effect: DialogueEffect, script: DialogueScript, key: SessionKey, run: Int, message: IncomingMessage, territory: Territory?
    ) throws {
        switch effect {
        case .saveAnswer(let step, let variable, let value, let display, let speaker, let replacing):
            // Kept by the person's own session until the run ends (see `recordAnonymousAnswers`).
            if let index = script.stepIndex[step], script.steps[index].anonymous { break }
            if replacing {
                try db.cachedStatement(sql: "DELETE FROM answer WHERE session_key = ? AND step_id = ? AND COALESCE(run, 1) = ?")
                    .execute(arguments: [key.rawValue, step, run])
            }
            let json = value.storedText
            try db.cachedStatement(
                sql: """
                    INSERT INTO answer(session_key, dialogue_id, room_id, territory, step_id, variable, value, display, author_id, author_name, event_id, answered_at, run)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """
            )
            .execute(arguments: [
                key.rawValue, script.id, key.roomID, territory?.id, step, variable, json, display, speaker.id, speaker.name,
                message.eventID,
                now.timeIntervalSince1970, run,
            ])
        case .comment(let step, let text, let speaker):
            try db.cachedStatement(
                sql: """
                    UPDATE answer SET comment = ?, comment_event_id = ? WHERE id = (
                        SELECT id FROM answer WHERE session_key = ? AND step_id = ? AND author_id = ? ORDER BY id DESC LIMIT 1)
                    """
            )
            .execute(arguments: [text, message.eventID, key.rawValue, step, speaker.id])
        case .discussed(let step, let speaker):
            try db.cachedStatement(
                sql: """
                    INSERT INTO discussed_step(session_key, dialogue_id, room_id, territory, step_id, by_id, at) VALUES (?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT(session_key, dialogue_id, step_id) DO NOTHING
                    """
            )
            .execute(arguments: [key.rawValue, script.id, key.roomID, territory?.id, step, speaker.id, now.timeIntervalSince1970])
        case .setAside(let step):
            try db.cachedStatement(
                sql: """
                    UPDATE answer SET removed_at = ?, removed_by = ?
                    WHERE session_key = ? AND step_id = ? AND COALESCE(run, 1) = ? AND removed_at IS NULL
                    """
            )
            .execute(arguments: [now.timeIntervalSince1970, AnswerRemoval.branchChanged, key.rawValue, step, run])
        case .clearAnswers(let step):
            try db.cachedStatement(sql: "DELETE FROM answer WHERE session_key = ? AND step_id = ?").execute(arguments: [key.rawValue, step])
            try db.execute(
                sql: "DELETE FROM discussed_step WHERE session_key = ? AND dialogue_id = ? AND step_id = ?",
                arguments: [key.rawValue, script.id, step])
        case .ended:
            guard !script.actions.isEmpty else { break }
            let run = EndedRun(
                script: script, answers: try runAnswers(script: script, key: key, message: message), message: message,
                roomID: key.roomID, threadID: key.threadID)
            let language = try self.language(for: message)
            for action in script.actions {
                guard let owner = engine.extensions.first(where: { $0.endActions.contains(action) }) else {
                    engine.logger.warning("unknown end action", metadata: ["action": "\(action)", "dialogue": "\(script.id)"])
                    continue
                }
                try withScope(roomID: key.roomID, language: language, threadID: key.threadID) {
                    try owner.runEndAction(action, run: run, in: &$0)
                }
            }
        case .paused, .abandoned:
            break
        }
    }

    /// A run with anonymous questions ended: their final answers go into the answer table with nothing
    /// that leads back to the person (no author, no event, no session or run, the day but not the time,
    /// no room when it was a direct one), and the ended session forgets them. Until then they lived only
    /// in the person's own session, where `back` and `summary` can change them.
    mutating func recordAnonymousAnswers(
        _ script: DialogueScript, _ session: inout DialogueSession, key: SessionKey, message: IncomingMessage, territory: Territory?,
        context: TurnContext
    ) throws {
        let interpreter = DialogueInterpreter(script)
        let day = (now.timeIntervalSince1970 / 86400).rounded(.down) * 86400
        let room = message.roomKind == .direct ? "" : key.roomID
        for step in script.questions where step.anonymous {
            guard let value = session.answers[step.variable] else { continue }
            try db.execute(
                sql: """
                    INSERT INTO answer(session_key, dialogue_id, room_id, territory, step_id, variable, value, display, author_id, author_name, event_id, answered_at)
                    VALUES ('anonymous', ?, ?, ?, ?, ?, ?, ?, '', '', '', ?)
                    """,
                arguments: [
                    script.id, room, territory?.id, step.id, step.variable, value.storedText,
                    interpreter.display(value, variable: step.variable, context),
                    day,
                ])
            session.answers[step.variable] = nil
            session.authors[step.variable] = nil
            session.answerCounts[step.id] = nil
        }
    }

    /// The answers given during the run that is ending: the session's (as of before this turn) plus the
    /// ones this very message saved. Earlier runs of the same session key are left out.
    func runAnswers(script: DialogueScript, key: SessionKey, message: IncomingMessage) throws -> [String: RunAnswer] {
        let language = try self.language(for: message)
        let context = try self.context(for: message, language: language)
        let interpreter = DialogueInterpreter(script)
        var answers: [String: RunAnswer] = [:]
        if let stored = try session(key), stored.dialogueID == script.id, stored.state.status != .ended {
            for (variable, value) in stored.state.answers {
                answers[variable] = RunAnswer(value: value, display: interpreter.display(value, variable: variable, context))
            }
        }
        let rows = try Row.fetchAll(
            db, sql: "SELECT variable, value, display FROM answer WHERE session_key = ? AND dialogue_id = ? AND event_id = ? ORDER BY id",
            arguments: [key.rawValue, script.id, message.eventID])
        for row in rows {
            guard let value = AnswerValue(storedText: row["value"]) else { continue }
            answers[row["variable"]] = RunAnswer(value: value, display: row["display"])
        }
        return answers
    }

    // MARK: Timers

    mutating func expire(sessionKey: String, roomID: String) throws {
        guard let stored = try session(raw: sessionKey), let script = catalog.scripts[stored.dialogueID] else { return }
        let language = try roomLanguage(roomID)
        let context = TurnContext(
            language: language, speaker: Speaker(id: "", name: "", isFacilitator: false), variables: [:], now: now, commandPrefix: prefix)
        let result = DialogueInterpreter(script).turn(stored.state, .expire, context)
        try save(result.session, key: sessionKey, roomID: roomID)
        let threadID = sessionKey.hasPrefix("thread:") ? Self.threadRoot(ofKey: sessionKey) : nil
        for r in result.replies { reply(r.markdown, to: nil, roomID: roomID, threadID: threadID) }
    }

    static func threadRoot(ofKey key: String) -> String? {
        // thread:<n>:<room>:<m>:<root>
        var rest = key.dropFirst("thread:".count)
        var parts: [String] = []
        while let colon = rest.firstIndex(of: ":"), let length = Int(rest[..<colon]) {
            let start = rest.index(after: colon)
            guard let end = rest.utf8.index(start, offsetBy: length, limitedBy: rest.endIndex) else { return nil }
            parts.append(String(rest[start..<end]))
            rest = rest[end...].dropFirst()
        }
        return parts.count == 2 ? parts[1] : nil
    }

    // MARK: Edits and redactions

    /// An edited message that was an answer (or a comment): the stored answer takes the new text when it is
    /// still valid. Only its author's edit counts.
    mutating func edit(original: String, _ message: IncomingMessage) throws {
        let comment = try Row.fetchOne(
            db,
            sql:
                "SELECT id FROM answer WHERE comment_event_id = ? AND event_id != ? AND room_id = ? AND author_id = ? ORDER BY id DESC LIMIT 1",
            arguments: [original, original, message.roomID, message.senderID])
        if let comment {
            let text = message.text.trimmingCharacters(in: .whitespacesAndNewlines)
            try db.execute(
                sql: "UPDATE answer SET comment = ? WHERE id = ?",
                arguments: [text.isEmpty ? nil : String(text.prefix(4_000)), comment["id"] as Int64])
            return
        }
        guard
            let row = try Row.fetchOne(
                db,
                sql:
                    "SELECT id, session_key, dialogue_id, step_id, variable FROM answer WHERE event_id = ? AND room_id = ? AND author_id = ? ORDER BY id DESC LIMIT 1",
                arguments: [original, message.roomID, message.senderID]),
            let script = catalog.scripts[row["dialogue_id"]], let step = script.step(row["step_id"])
        else {
            if try Bool.fetchOne(
                db, sql: "SELECT 1 FROM answer WHERE event_id = ? AND author_id != ?", arguments: [original, message.senderID])
                == true
            {
                engine.logger.warning("ignored an edit of someone else's answer", metadata: ["room": "\(message.roomID)"])
            }
            return
        }
        let language = try self.language(for: message)
        switch DialogueInterpreter(script).parseAnswerWithComment(message.text, step: step, language: language) {
        case nil:
            reply(
                language.pick(
                    "I kept your earlier answer: the edited text is not a valid answer to that question.",
                    "J'ai gardé votre réponse précédente : le texte modifié n'est pas une réponse valable à cette question."), to: message)
        case let (value, inline)?:
            let context = try self.context(for: message, language: language)
            let display = DialogueInterpreter(script).display(value, variable: step.variable, context)
            let id: Int64 = row["id"]
            try db.execute(sql: "UPDATE answer SET value = ?, display = ? WHERE id = ?", arguments: [value.storedText, display, id])
            if let inline {
                try db.execute(sql: "UPDATE answer SET comment = ?, comment_event_id = ? WHERE id = ?", arguments: [inline, original, id])
            } else {
                try db.execute(
                    sql: "UPDATE answer SET comment = NULL, comment_event_id = NULL WHERE id = ? AND comment_event_id = ?",
                    arguments: [id, original])
            }
            try refreshSessionAnswer(sessionKey: row["session_key"], variable: row["variable"], stepID: step.id, person: message.senderID)
            reply(
                language.pick("Updated your answer: \(Markdown.escape(display)).", "Réponse mise à jour : \(Markdown.escape(display))."),
                to: message)
        }
    }

    /// A redacted message that was an answer: the stored answer is removed; one that was a comment: the
    /// comment is. Only its author's redaction counts, or a moderator's (`byModerator`): the bot checks it
    /// itself rather than trust every homeserver of a federated room to have refused the others.
    mutating func redact(_ redacted: String, roomID: String, senderID: String, byModerator: Bool) throws {
        // A shared file taken back can no longer be added (a document already added stays until `!kb remove`).
        try db.execute(
            sql: "DELETE FROM shared_file WHERE event_id = ? AND room_id = ? AND (? OR sender_id = ?)",
            arguments: [redacted, roomID, byModerator, senderID])
        let own = "room_id = ? AND (? OR author_id = ?)"
        try db.execute(
            sql: "UPDATE answer SET comment = NULL, comment_event_id = NULL WHERE comment_event_id = ? AND \(own)",
            arguments: [redacted, roomID, byModerator, senderID])
        let rows = try Row.fetchAll(
            db, sql: "SELECT session_key, step_id, variable, author_id FROM answer WHERE event_id = ? AND \(own)",
            arguments: [redacted, roomID, byModerator, senderID])
        guard !rows.isEmpty else {
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM answer WHERE event_id = ? AND room_id = ?", arguments: [redacted, roomID]) == true
            {
                engine.logger.warning(
                    "ignored a redaction of someone else's answer", metadata: ["room": "\(roomID)", "sender": "\(senderID)"])
            }
            return
        }
        try db.execute(sql: "DELETE FROM answer WHERE event_id = ? AND \(own)", arguments: [redacted, roomID, byModerator, senderID])
        for row in rows {
            try refreshSessionAnswer(
                sessionKey: row["session_key"], variable: row["variable"], stepID: row["step_id"], person: row["author_id"])
        }
    }

    /// Makes the session's copy of an answer agree with the answer table after an edit or a removal: the
    /// interpreter takes the change as an input, so it stays the only writer of sessions.
    func refreshSessionAnswer(sessionKey: String, variable: String, stepID: String, person: String) throws {
        guard let stored = try session(raw: sessionKey), let script = catalog.scripts[stored.dialogueID] else { return }
        // The session holds its own run's answers only.
        let run = stored.state.run
        let latest = try Row.fetchOne(
            db,
            sql:
                "SELECT value, author_name FROM answer WHERE session_key = ? AND step_id = ? AND COALESCE(run, 1) = ? AND removed_at IS NULL ORDER BY id DESC LIMIT 1",
            arguments: [sessionKey, stepID, run])
        let count =
            try Int.fetchOne(
                db,
                sql: "SELECT COUNT(*) FROM answer WHERE session_key = ? AND step_id = ? AND COALESCE(run, 1) = ? AND removed_at IS NULL",
                arguments: [sessionKey, stepID, run]) ?? 0
        let value = (latest?["value"] as String?).flatMap(AnswerValue.init(storedText:))
        // A person's answer is their latest; removed by a correction, they have none (an earlier one stays replaced).
        let own = try Row.fetchOne(
            db,
            sql:
                "SELECT value, removed_at FROM answer WHERE session_key = ? AND step_id = ? AND author_id = ? AND COALESCE(run, 1) = ? ORDER BY id DESC LIMIT 1",
            arguments: [sessionKey, stepID, person, run]
        ).flatMap { row in (row["removed_at"] as Double?) == nil ? AnswerValue(storedText: row["value"]) : nil }
        let input = DialogueInput.answerChanged(
            stepID: stepID, variable: variable, latest: value, author: latest?["author_name"], count: count, person: person,
            personLatest: own)
        let context = TurnContext(
            language: engine.configuration.defaultLanguage, speaker: Speaker(id: "", name: "", isFacilitator: false), now: now)
        try save(DialogueInterpreter(script).turn(stored.state, input, context).session, key: sessionKey, roomID: stored.roomID)
    }
}
