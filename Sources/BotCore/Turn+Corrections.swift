import Foundation
import GRDB

/// Corrections from the chat: `!answers` lists the answers of the room's latest run with numbers;
/// `!answers remove N` takes one out (a facilitator any, a member their own), `!answers restore N` brings
/// it back (facilitators). A removed answer stays in the store, marked, and reports show it struck out.
/// Every correction is logged (``Corrections``) with who made it and when.
extension Turn {
    mutating func answersCommand(_ argument: String, _ message: IncomingMessage, _ language: Language) throws {
        let parts = argument.split(separator: " ", maxSplits: 1).map(String.init)
        let verb = parts.first.map(TextMatching.fold) ?? ""
        let rest = parts.count > 1 ? parts[1].trimmingCharacters(in: .whitespaces) : ""
        guard let run = try latestRun(for: message) else {
            reply(
                language.pick(
                    "No answers in this room yet: they come with a dialogue (`\(prefix)dialogues`).",
                    "Pas encore de réponses dans ce salon : elles viennent avec un dialogue (`\(prefix)dialogues`)."), to: message)
            return
        }
        switch verb {
        case "":
            reply(try list(run, language), to: message)
        case "remove", "withdraw", "delete", "retirer", "supprimer", "enlever":
            try remove(rest, in: run, message, language)
        case "restore", "retablir", "restaurer":
            try restore(rest, in: run, message, language)
        default:
            reply(usage(language), to: message)
        }
    }

    func usage(_ language: Language) -> String {
        language.pick(
            "`\(prefix)answers` lists the answers of this room's latest dialogue with numbers; `\(prefix)answers remove N` takes answer N out (your own, or any for a facilitator); `\(prefix)answers restore N` brings it back (facilitators).",
            "`\(prefix)answers` liste les réponses du dernier dialogue du salon, numérotées ; `\(prefix)answers remove N` retire la réponse N (la vôtre, ou n'importe laquelle pour un·e facilitateur·rice) ; `\(prefix)answers restore N` la rétablit (facilitateurs)."
        )
    }

    /// A run: one session's answers in one of its runs.
    struct AnswerRun {
        var sessionKey: String
        var run: Int
        var dialogueID: String
        var rows: [Row]
    }

    /// The run whose answers `!answers` shows: the latest one with answers among the room's shared sessions
    /// (room, threads) and the asker's own session in this room.
    func latestRun(for message: IncomingMessage) throws -> AnswerRun? {
        let own = SessionKey.person(message.roomID, message.senderID).rawValue
        guard
            let last = try Row.fetchOne(
                db,
                sql: """
                    SELECT session_key, COALESCE(run, 1) AS run, dialogue_id FROM answer
                    WHERE room_id = ? AND (session_key = ? OR session_key LIKE 'room:%' OR session_key LIKE 'thread:%')
                    ORDER BY id DESC LIMIT 1
                    """, arguments: [message.roomID, own])
        else { return nil }
        let rows = try Row.fetchAll(
            db,
            sql: """
                SELECT id, step_id, display, comment, author_id, author_name, answered_at, removed_at, removed_by FROM answer
                WHERE session_key = ? AND COALESCE(run, 1) = ? AND room_id = ? ORDER BY id
                """, arguments: [last["session_key"], last["run"], message.roomID])
        return AnswerRun(sessionKey: last["session_key"], run: last["run"], dialogueID: last["dialogue_id"], rows: rows)
    }

    func list(_ run: AnswerRun, _ language: Language) throws -> String {
        let script = engine.catalog.scripts[run.dialogueID]
        let title = script?.title.resolve(language) ?? run.dialogueID
        var lines = [
            language.pick(
                "**Answers of *\(Markdown.escape(title))*** (run \(run.run)):",
                "**Réponses de *\(Markdown.escape(title))*** (passage \(run.run)) :")
        ]
        for (index, row) in run.rows.enumerated() {
            let stepID: String = row["step_id"]
            let number = script?.questions.firstIndex { $0.id == stepID }.map { "Q\($0 + 1)" } ?? stepID
            var line = "\(number) — \(Markdown.escape(row["author_name"])): \(Markdown.escape(row["display"]))"
            if let comment = row["comment"] as String?, !comment.isEmpty { line += " — “\(Markdown.escape(comment))”" }
            if let by = row["removed_by"] as String? {
                line = "~~\(line)~~ " + AnswerRemoval.note(by, language, escape: Markdown.escape)
            }
            lines.append("\(index + 1). " + line)
        }
        lines.append(
            language.pick(
                "_`\(prefix)answers remove N` takes one out; `\(prefix)answers restore N` brings it back._",
                "_`\(prefix)answers remove N` en retire une ; `\(prefix)answers restore N` la rétablit._"))
        return lines.joined(separator: "\n")
    }

    /// The row a number names, or a reply saying why there is none.
    mutating func row(_ text: String, in run: AnswerRun, _ message: IncomingMessage, _ language: Language) -> Row? {
        guard let number = Int(text.trimmingCharacters(in: CharacterSet(charactersIn: "# "))), run.rows.indices.contains(number - 1) else {
            reply(
                language.pick(
                    "Give the answer's number, from 1 to \(run.rows.count), as `\(prefix)answers` shows it.",
                    "Donnez le numéro de la réponse, de 1 à \(run.rows.count), tel que l'affiche `\(prefix)answers`."), to: message)
            return nil
        }
        return run.rows[number - 1]
    }

    mutating func remove(_ text: String, in run: AnswerRun, _ message: IncomingMessage, _ language: Language) throws {
        guard let row = row(text, in: run, message, language) else { return }
        let number = text.trimmingCharacters(in: CharacterSet(charactersIn: "# "))
        guard message.senderIsFacilitator || (row["author_id"] as String) == message.senderID else {
            reply(
                language.pick(
                    "You can only remove your own answers; a facilitator can remove any.",
                    "Vous ne pouvez retirer que vos propres réponses ; un·e facilitateur·rice peut retirer n'importe laquelle."),
                to: message)
            return
        }
        guard row["removed_at"] as Double? == nil else {
            reply(language.pick("Answer \(number) was already removed.", "La réponse \(number) était déjà retirée."), to: message)
            return
        }
        try db.execute(
            sql: "UPDATE answer SET removed_at = ?, removed_by = ? WHERE id = ?",
            arguments: [now.timeIntervalSince1970, message.senderName, row["id"]])
        try Corrections.record(
            "answer.remove", target: String(row["id"] as Int64), before: row["display"], after: nil, roomID: message.roomID,
            territory: try territory(of: message.roomID), by: message, now: now, db)
        try refresh(row, in: run)
        reply(
            language.pick(
                "Removed answer \(number) (\(Markdown.escape(row["author_name"])): \(Markdown.escape(row["display"]))). It no longer counts; reports show it struck out.",
                "Réponse \(number) retirée (\(Markdown.escape(row["author_name"])) : \(Markdown.escape(row["display"]))). Elle ne compte plus ; les rapports la montrent barrée."
            ), to: message)
    }

    mutating func restore(_ text: String, in run: AnswerRun, _ message: IncomingMessage, _ language: Language) throws {
        guard message.senderIsFacilitator else {
            reply(
                language.pick("Only a facilitator can restore an answer.", "Seul·e un·e facilitateur·rice peut rétablir une réponse."),
                to: message)
            return
        }
        guard let row = row(text, in: run, message, language) else { return }
        let number = text.trimmingCharacters(in: CharacterSet(charactersIn: "# "))
        guard row["removed_at"] as Double? != nil else {
            reply(language.pick("Answer \(number) was not removed.", "La réponse \(number) n'était pas retirée."), to: message)
            return
        }
        try db.execute(sql: "UPDATE answer SET removed_at = NULL, removed_by = NULL WHERE id = ?", arguments: [row["id"]])
        try Corrections.record(
            "answer.restore", target: String(row["id"] as Int64), before: nil, after: row["display"], roomID: message.roomID,
            territory: try territory(of: message.roomID), by: message, now: now, db)
        try refresh(row, in: run)
        reply(
            language.pick(
                "Restored answer \(number) (\(Markdown.escape(row["author_name"])): \(Markdown.escape(row["display"]))).",
                "Réponse \(number) rétablie (\(Markdown.escape(row["author_name"])) : \(Markdown.escape(row["display"])))."), to: message)
    }

    /// The session's own copy follows the table (an open run's summary and conditions).
    func refresh(_ row: Row, in run: AnswerRun) throws {
        let step: String = row["step_id"]
        let variable =
            try String.fetchOne(db, sql: "SELECT variable FROM answer WHERE id = ?", arguments: [row["id"]]) ?? step
        try refreshSessionAnswer(sessionKey: run.sessionKey, variable: variable, stepID: step, person: row["author_id"])
    }
}

/// The log of corrections made from the chat: who, when, what, and what it was before.
public enum Corrections {
    /// Records one correction in the caller's transaction.
    public static func record(
        _ action: String, target: String, before: String?, after: String?, roomID: String, territory: Territory?,
        by message: IncomingMessage, now: Date, _ db: Database
    ) throws {
        try db.execute(
            sql: """
                INSERT INTO correction(room_id, territory, by_id, by_name, at, action, target, before, after)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                roomID, territory?.id, message.senderID, message.senderName, now.timeIntervalSince1970, action, target, before, after,
            ])
    }
}
