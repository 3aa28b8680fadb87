import Foundation
import GRDB

/// `!send NAME`: a person dialogue sent to every member of a group room, each as a run of their own in
/// that room (key `person:ROOM:USER`), then one reminder to those who have not finished; `!send status`
/// says who has.
///
/// Why in the room rather than in each person's direct room: the answers belong to the room (its
/// territory, its reports), nobody is missed for want of a direct room with the bot, no room is opened on
/// anyone's behalf, and a person's run in a room is what `!start` already gives there (answers, anchors,
/// *back*, *summary*, crash safety) — nothing new for people to learn.
extension Turn {
    /// How long before the reminder when neither the command (`--remind`) nor the file (`remind_after`) says.
    static let defaultRemindAfter: TimeInterval = 2 * 86400

    mutating func sendCommand(_ argument: String, _ message: IncomingMessage, _ language: Language) throws {
        var words = argument.split(separator: " ").map(String.init)
        guard message.roomKind == .group else {
            reply(
                language.pick(
                    "`\(prefix)send` is for a group room: it starts a dialogue for each person there.",
                    "`\(prefix)send` sert dans un salon de groupe : il lance un dialogue pour chaque personne présente."), to: message)
            return
        }
        guard message.senderIsFacilitator else {
            reply(
                language.pick(
                    "Only a facilitator can send a dialogue to everyone in the room.",
                    "Seul·e un·e facilitateur·rice peut envoyer un dialogue à tout le salon."), to: message)
            return
        }
        if let first = words.first, ["status", "statut", "etat"].contains(TextMatching.fold(first)) {
            try sendStatus(message, language)
            return
        }
        // `--again`: a new round for those who already finished it (`--encore` in French).
        let again = words.contains { ["--again", "--encore"].contains($0.lowercased()) }
        words.removeAll { ["--again", "--encore"].contains($0.lowercased()) }
        // `--remind 2d`, `--remind off` (`--rappel` in French), anywhere after the name.
        var remind: TimeInterval??
        if let flag = words.firstIndex(where: { ["--remind", "--rappel"].contains($0.lowercased()) }) {
            let value = flag + 1 < words.count ? words[flag + 1] : ""
            if ["off", "non", "no", "never", "jamais"].contains(value.lowercased()) {
                remind = .some(nil)
            } else if let seconds = DialogueScript.duration(value) {
                remind = .some(seconds)
            } else {
                reply(
                    language.pick(
                        "Say when to remind those who have not finished as `--remind 2d` (or `36h`, `90m`), or `--remind off`.",
                        "Dites quand relancer les personnes qui n'ont pas fini avec `--rappel 2j` (ou `36h`, `90m`), ou `--rappel non`."),
                    to: message)
                return
            }
            words.removeSubrange(flag..<min(flag + 2, words.count))
        }
        guard let name = words.first else {
            reply(
                language.pick(
                    "Say which dialogue: `\(prefix)send NAME` (`\(prefix)dialogues` lists them), or `\(prefix)send status`.",
                    "Dites quel dialogue : `\(prefix)send NOM` (`\(prefix)dialogues` les liste), ou `\(prefix)send status`."),
                to: message)
            return
        }
        guard let script = catalog.script(named: name) else {
            reply(
                language.pick(
                    "There is no dialogue called *\(Markdown.escape(String(name.prefix(60))))*. Say `\(prefix)dialogues` to see them all.",
                    "Il n'y a pas de dialogue *\(Markdown.escape(String(name.prefix(60))))*. Dites `\(prefix)dialogues` pour les voir tous."
                ),
                to: message)
            return
        }
        let title = script.title.resolve(language)
        guard script.scope == .person, script.roomOnlySteps.isEmpty else {
            let steps = script.roomOnlySteps.map { "`\($0.id)`" }.joined(separator: ", ")
            reply(
                script.scope == .person
                    ? language.pick(
                        "*\(title)* has questions the room answers together (\(steps)), so it cannot be sent as personal runs. Say `\(prefix)start \(script.id)` to run it with the room.",
                        "*\(title)* a des questions auxquelles le salon répond ensemble (\(steps)) : il ne peut pas être envoyé en parcours personnels. Dites `\(prefix)start \(script.id)` pour le mener avec le salon."
                    )
                    : language.pick(
                        "*\(title)* is answered together by the room, so it cannot be sent as personal runs. Say `\(prefix)start \(script.id)` to run it with the room.",
                        "*\(title)* se répond ensemble, en salon : il ne peut pas être envoyé en parcours personnels. Dites `\(prefix)start \(script.id)` pour le mener avec le salon."
                    ), to: message)
            return
        }
        guard let members = message.roomMembers else {
            reply(
                language.pick(
                    "I cannot tell who is in this room, so I sent nothing.", "Je ne sais pas qui est dans ce salon : je n'ai rien envoyé."),
                to: message)
            return
        }
        // The facilitator who sends it is not among those it is sent to: they can `!start` it for themselves.
        var seen = Set([message.senderID])
        let others = members.filter { seen.insert($0.id).inserted }
        guard !others.isEmpty else {
            reply(
                language.pick(
                    "There is nobody else in this room to send *\(title)* to.",
                    "Il n'y a personne d'autre dans ce salon à qui envoyer *\(title)*."
                ), to: message)
            return
        }

        // Who gets it: not someone on their way through it, nor someone busy with another dialogue here, nor
        // (unless `--again`) someone it was sent to here before who finished it: sending again reaches newcomers.
        let sentBefore = Set(
            try String.fetchAll(
                db,
                sql: """
                    SELECT DISTINCT m.user_id FROM dialogue_send_member m JOIN dialogue_send s ON s.id = m.send_id
                    WHERE s.room_id = ? AND s.dialogue_id = ?
                    """, arguments: [message.roomID, script.id]))
        var recipients: [RoomMember] = []
        var underWay: [RoomMember] = []
        var finished: [RoomMember] = []
        var busy: [RoomMember] = []
        for member in others {
            let existing = try session(.person(message.roomID, member.id))
            // A suspended run (its file is away) counts too: starting over would lose its place.
            if let existing, existing.state.status != .ended {
                if existing.dialogueID == script.id { underWay.append(member) } else { busy.append(member) }
            } else if sentBefore.contains(member.id), !again {
                finished.append(member)
            } else {
                recipients.append(member)
            }
        }
        let after = remind ?? script.remindAfter ?? Self.defaultRemindAfter
        var lines: [String] = []
        if recipients.isEmpty {
            lines.append(language.pick("I sent *\(title)* to nobody new.", "Je n'ai envoyé *\(title)* à personne de nouveau."))
        } else {
            let names = Self.names(recipients)
            lines.append(
                language.pick(
                    "I sent *\(title)* to \(names): each answers here, in a run of their own.",
                    "J'ai envoyé *\(title)* à \(names) : chacun·e répond ici, dans son propre parcours."))
            if let after {
                lines.append(
                    language.pick(
                        "Those who have not finished in \(Self.duration(after, language)) get a reminder. `\(prefix)send status` shows who has.",
                        "Les personnes qui n'auront pas fini dans \(Self.duration(after, language)) recevront un rappel. `\(prefix)send status` montre qui a fini."
                    ))
            } else {
                lines.append(language.pick("`\(prefix)send status` shows who has finished.", "`\(prefix)send status` montre qui a fini."))
            }
        }
        if !underWay.isEmpty {
            lines.append(
                language.pick(
                    "Already answering it: \(Self.names(underWay)).", "Déjà en train d'y répondre : \(Self.names(underWay))."))
        }
        if !finished.isEmpty {
            lines.append(
                language.pick(
                    "Already finished it: \(Self.names(finished)) (`--again` sends them a new round).",
                    "L'ont déjà fini : \(Self.names(finished)) (`--again` leur envoie un nouveau tour)."))
        }
        if !busy.isEmpty {
            lines.append(
                language.pick(
                    "Not sent to \(Self.names(busy)): in the middle of another dialogue here.",
                    "Pas envoyé à \(Self.names(busy)) : en plein milieu d'un autre dialogue ici."))
        }
        reply(lines.joined(separator: "\n"), to: message)
        guard !recipients.isEmpty else { return }

        try db.execute(
            sql: "INSERT INTO dialogue_send(room_id, dialogue_id, sent_by, sent_at, remind_at) VALUES (?, ?, ?, ?, ?)",
            arguments: [
                message.roomID, script.id, message.senderID, now.timeIntervalSince1970,
                after.map { now.addingTimeInterval($0).timeIntervalSince1970 },
            ])
        let sendID = db.lastInsertedRowID
        for member in recipients {
            let key = SessionKey.person(message.roomID, member.id)
            let personal = IncomingMessage(
                roomID: message.roomID, senderID: member.id, senderName: member.name, text: "", eventID: message.eventID,
                timestamp: message.timestamp, roomKind: .group, roomName: message.roomName)
            let theirs = try self.language(for: personal)
            reply(
                theirs.pick(
                    "\(Markdown.escape(member.name)), *\(script.title.resolve(theirs))* is for you: answer here, your messages in this room go to it until it ends (`\(prefix)stop` ends it).",
                    "\(Markdown.escape(member.name)), *\(script.title.resolve(theirs))* est pour vous : répondez ici, vos messages dans ce salon y vont jusqu'à la fin (`\(prefix)stop` l'arrête)."
                ), to: personal, mentions: [member.id])
            let ended = try session(key).flatMap { $0.state.status == .ended ? $0 : nil }
            try play(.start, key: key, session: ended, message: personal, script: script)
            let run = try session(key)?.state.run ?? 1
            try db.execute(
                sql: "INSERT INTO dialogue_send_member(send_id, user_id, user_name, session_key, run) VALUES (?, ?, ?, ?, ?)",
                arguments: [sendID, member.id, member.name, key.rawValue, run])
        }
    }

    /// One person of a send, and whether their run of it is over (finished or stopped: either way they
    /// gave what they meant to give).
    struct SentRun {
        var userID: String
        var name: String
        var key: String
        var done: Bool
        var paused: Bool
    }

    func sentRuns(_ sendID: Int64, dialogueID: String) throws -> [SentRun] {
        let rows = try Row.fetchAll(
            db, sql: "SELECT user_id, user_name, session_key, run FROM dialogue_send_member WHERE send_id = ? ORDER BY rowid",
            arguments: [sendID])
        return try rows.map { row in
            let stored = try session(raw: row["session_key"])
            let run: Int = row["run"]
            // A later run of the same key (they started it again, or another send) means this one is over.
            let same = stored.map { $0.dialogueID == dialogueID && $0.state.run == run } ?? false
            let done = !same || stored?.state.status == .ended
            return SentRun(
                userID: row["user_id"], name: row["user_name"], key: row["session_key"], done: done,
                paused: same && stored?.state.status == .paused)
        }
    }

    /// `!send status`: the dialogue sent last in this room, over all its sends here (a person counted once,
    /// by the latest run it gave them): who has finished and who has not, and the reminder.
    mutating func sendStatus(_ message: IncomingMessage, _ language: Language) throws {
        guard
            let dialogueID = try String.fetchOne(
                db, sql: "SELECT dialogue_id FROM dialogue_send WHERE room_id = ? ORDER BY id DESC LIMIT 1", arguments: [message.roomID])
        else {
            reply(
                language.pick(
                    "No dialogue was sent in this room yet: `\(prefix)send NAME`.",
                    "Aucun dialogue n'a encore été envoyé dans ce salon : `\(prefix)send NOM`."), to: message)
            return
        }
        let sends = try Row.fetchAll(
            db, sql: "SELECT id, remind_at, reminded_at FROM dialogue_send WHERE room_id = ? AND dialogue_id = ? ORDER BY id",
            arguments: [message.roomID, dialogueID])
        var byPerson: [String: SentRun] = [:]
        var order: [String] = []
        for send in sends {
            for run in try sentRuns(send["id"], dialogueID: dialogueID) {
                if byPerson[run.userID] == nil { order.append(run.userID) }
                byPerson[run.userID] = run
            }
        }
        let runs = order.compactMap { byPerson[$0] }
        let title = catalog.scripts[dialogueID]?.title.resolve(language) ?? dialogueID
        let done = runs.filter(\.done), waiting = runs.filter { !$0.done }
        var lines = [
            language.pick(
                "**\(title)**, sent here to \(runs.count): \(done.count) finished.",
                "**\(title)**, envoyé ici à \(runs.count) : \(done.count) \(done.count > 1 ? "ont" : "a") fini.")
        ]
        if !done.isEmpty { lines.append(language.pick("- Finished: ", "- Fini : ") + Self.names(done.map(\.name))) }
        if !waiting.isEmpty {
            let names = waiting.map { $0.paused ? $0.name + language.pick(" (paused)", " (en pause)") : $0.name }
            lines.append(language.pick("- Not yet: ", "- Pas encore : ") + Self.names(names))
        }
        let planned = sends.compactMap { row -> Double? in (row["reminded_at"] as Double?) == nil ? row["remind_at"] : nil }.min()
        let reminded = sends.compactMap { $0["reminded_at"] as Double? }.max()
        if let at = planned, !waiting.isEmpty {
            lines.append(
                language.pick(
                    "Reminder on \(TurnScope.day(Date(timeIntervalSince1970: at))) to those who have not finished.",
                    "Rappel le \(TurnScope.day(Date(timeIntervalSince1970: at))) aux personnes qui n'ont pas fini."))
        } else if let reminded {
            lines.append(
                language.pick(
                    "Reminder sent on \(TurnScope.day(Date(timeIntervalSince1970: reminded))).",
                    "Rappel envoyé le \(TurnScope.day(Date(timeIntervalSince1970: reminded)))."))
        } else if !waiting.isEmpty {
            lines.append(language.pick("No reminder planned.", "Aucun rappel prévu."))
        }
        reply(lines.joined(separator: "\n"), to: message)
    }

    /// The send's reminder is due: each person whose run is not over gets one message in the room, in their
    /// language; the send is marked reminded in the same transaction, so it is said once.
    mutating func remindSend(_ sendID: Int64) throws {
        guard
            let row = try Row.fetchOne(
                db, sql: "SELECT room_id, dialogue_id FROM dialogue_send WHERE id = ? AND reminded_at IS NULL", arguments: [sendID])
        else { return }
        try db.execute(sql: "UPDATE dialogue_send SET reminded_at = ? WHERE id = ?", arguments: [now.timeIntervalSince1970, sendID])
        let roomID: String = row["room_id"]
        let dialogueID: String = row["dialogue_id"]
        for run in try sentRuns(sendID, dialogueID: dialogueID) where !run.done {
            let chosen = try userLanguage(run.userID).flatMap(Language.init(rawValue:))
            let language = try chosen ?? roomLanguage(roomID)
            let title = catalog.scripts[dialogueID]?.title.resolve(language) ?? dialogueID
            let name = Markdown.escape(run.name)
            reply(
                run.paused
                    ? language.pick(
                        "\(name), a reminder: *\(title)* is waiting for you, paused where you left it. Say `\(prefix)resume` here to go on.",
                        "\(name), un rappel : *\(title)* vous attend, en pause là où vous l'avez laissé. Dites `\(prefix)resume` ici pour continuer."
                    )
                    : language.pick(
                        "\(name), a reminder: *\(title)* is waiting for your answers here. Say *repeat* to see your question again.",
                        "\(name), un rappel : *\(title)* attend vos réponses ici. Dites *répéter* pour revoir votre question."),
                to: nil, roomID: roomID, mentions: [run.userID])
        }
    }

    /// Sends whose reminder is due, oldest first.
    static func dueSends(_ db: Database, now: Date) throws -> [Int64] {
        try Int64.fetchAll(
            db.cachedStatement(
                sql: "SELECT id FROM dialogue_send WHERE reminded_at IS NULL AND remind_at IS NOT NULL AND remind_at <= ? ORDER BY id"),
            arguments: [now.timeIntervalSince1970])
    }

    static func names(_ members: [RoomMember]) -> String { names(members.map(\.name)) }

    static func names(_ names: [String]) -> String { names.map(Markdown.escape).joined(separator: ", ") }

    /// `2 days`, `36 hours`, `90 minutes`, in the person's language.
    static func duration(_ seconds: TimeInterval, _ language: Language) -> String {
        func plural(_ n: Int, _ en: String, _ fr: String) -> String {
            "\(n) " + language.pick(n == 1 ? en : en + "s", n == 1 ? fr : fr + "s")
        }
        let s = Int(seconds.rounded())
        if s % 86400 == 0 { return plural(s / 86400, "day", "jour") }
        if s % 3600 == 0 { return plural(s / 3600, "hour", "heure") }
        return plural(max(1, s / 60), "minute", "minute")
    }
}
