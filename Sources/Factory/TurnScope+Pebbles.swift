import Foundation
import BotCore
import GRDB

/// White pebbles in a room: `!pebbles`, `!pebble add|done|reopen|date`, and the reminder when a target date passes.
extension TurnScope {
    mutating func listPebbles(_ message: IncomingMessage, _ language: Language) throws {
        let pebbles = try FactoryStore.pebbles(roomID: message.roomID, db)
        var lines: [String] = []
        if let star = try FactoryStore.star(roomID: message.roomID, db) {
            lines.append(language.pick("⭐ **Star:** ", "⭐ **Étoile :** ") + Markdown.escape(star.text))
        }
        guard !pebbles.isEmpty else {
            lines.append(
                language.pick(
                    "No white pebbles in this room yet. Add one with `\(prefix)pebble add TITLE; CARRIER; YYYY-MM-DD`, or choose them together with `\(prefix)start first-steps`.",
                    "Pas encore de cailloux blancs dans ce salon. Ajoutez-en un avec `\(prefix)pebble add TITRE; PORTEUR; AAAA-MM-JJ`, ou choisissez-les ensemble avec `\(prefix)start first-steps`."
                ))
            reply(lines.joined(separator: "\n"), to: message)
            return
        }
        let done = pebbles.filter { $0.status == .done }.count
        lines.append(
            language.pick(
                "**White pebbles** (\(done) of \(pebbles.count) laid):",
                "**Cailloux blancs** (\(done) posé\(done > 1 ? "s" : "") sur \(pebbles.count)) :"))
        for pebble in pebbles {
            lines.append("\(pebble.number). " + ReportMarkdown.pebbleLine(pebble, today: today, language))
        }
        lines.append(
            language.pick(
                "_`\(prefix)pebble done N` when one is laid · `\(prefix)pebble date N YYYY-MM-DD` to change a date · `\(prefix)pebble add …`_",
                "_`\(prefix)pebble done N` quand l'un est posé · `\(prefix)pebble date N AAAA-MM-JJ` pour changer une date · `\(prefix)pebble add …`_"
            ))
        reply(lines.joined(separator: "\n"), to: message)
    }

    mutating func pebbleCommand(_ argument: String, _ message: IncomingMessage, _ language: Language) throws {
        let parts = argument.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        let verb = parts.first.map { TextMatching.fold(String($0)) } ?? ""
        let rest = parts.count > 1 ? String(parts[1]).trimmingCharacters(in: .whitespacesAndNewlines) : ""
        switch verb {
        case "add", "ajouter", "new", "nouveau":
            try addPebble(rest, message, language)
        case "done", "fait", "pose", "fini":
            try setPebbleStatus(rest, done: true, message, language)
        case "reopen", "rouvrir", "undo", "annuler":
            try setPebbleStatus(rest, done: false, message, language)
        case "date", "report", "reporter":
            try setPebbleDate(rest, message, language)
        case "rename", "renommer", "title", "titre":
            try correctPebble(rest, field: .title, message, language)
        case "carrier", "porteur", "porteuse", "carried":
            try correctPebble(rest, field: .carrier, message, language)
        default:
            reply(pebbleUsage(language), to: message)
        }
    }

    func pebbleUsage(_ language: Language) -> String {
        language.pick(
            """
            White pebbles are the first concrete steps of the room:
            - `\(prefix)pebbles`: the list, with their status
            - `\(prefix)pebble add TITLE; CARRIER; YYYY-MM-DD`: a new one (carrier and date are optional)
            - `\(prefix)pebble done N`: pebble N is laid (`\(prefix)pebble reopen N` to undo)
            - `\(prefix)pebble date N YYYY-MM-DD`: a new target date
            - `\(prefix)pebble rename N TITLE`, `\(prefix)pebble carrier N NAME`: corrections (facilitators)
            """,
            """
            Les cailloux blancs sont les premiers pas concrets du salon :
            - `\(prefix)pebbles` : la liste, avec leur état
            - `\(prefix)pebble add TITRE; PORTEUR; AAAA-MM-JJ` : un nouveau (porteur et date facultatifs)
            - `\(prefix)pebble done N` : le caillou N est posé (`\(prefix)pebble reopen N` pour annuler)
            - `\(prefix)pebble date N AAAA-MM-JJ` : une nouvelle date visée
            - `\(prefix)pebble rename N TITRE`, `\(prefix)pebble carrier N NOM` : corrections (facilitateurs)
            """)
    }

    mutating func addPebble(_ text: String, _ message: IncomingMessage, _ language: Language) throws {
        guard !text.isEmpty else {
            reply(pebbleUsage(language), to: message)
            return
        }
        let count = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM factory_pebble WHERE room_id = ?", arguments: [message.roomID]) ?? 0
        guard count < FactoryStore.maxPebblesPerRoom else {
            reply(
                language.pick(
                    "This room already has \(count) pebbles, the most it can hold.", "Ce salon a déjà \(count) cailloux, le maximum."),
                to: message)
            return
        }
        switch PebbleDraft.parse(text) {
        case .failure(let problem):
            reply(
                PebbleDraft.text(problem, language) + " "
                    + language.pick(
                        "For example: `\(prefix)pebble add Bike survey; Karim; 2026-05-15`.",
                        "Par exemple : `\(prefix)pebble add Enquête vélo; Karim; 15/05/2026`."), to: message)
        case .success(let draft):
            let pebble = try FactoryStore.addPebble(
                roomID: message.roomID, territory: territory, draft, createdBy: message.senderName, now: now, db)
            reply(
                language.pick("Pebble \(pebble.number) added: ", "Caillou \(pebble.number) ajouté : ")
                    + ReportMarkdown.pebbleLine(pebble, today: today, language),
                to: message)
        }
    }

    /// The pebble a `N` argument names in this room, or a reply saying why there is none.
    mutating func pebble(numbered text: String, _ message: IncomingMessage, _ language: Language) throws -> Pebble? {
        let word = text.split(separator: " ").first.map { String($0).trimmingCharacters(in: CharacterSet(charactersIn: "#")) } ?? ""
        guard let number = Int(word) else {
            reply(
                language.pick(
                    "Give the pebble's number, as shown by `\(prefix)pebbles`.",
                    "Donnez le numéro du caillou, tel que l'affiche `\(prefix)pebbles`."), to: message)
            return nil
        }
        guard let pebble = try FactoryStore.pebble(roomID: message.roomID, number: number, db) else {
            reply(
                language.pick(
                    "There is no pebble \(number) in this room; `\(prefix)pebbles` lists them.",
                    "Il n'y a pas de caillou \(number) dans ce salon ; `\(prefix)pebbles` les liste."), to: message)
            return nil
        }
        return pebble
    }

    mutating func setPebbleStatus(_ text: String, done: Bool, _ message: IncomingMessage, _ language: Language) throws {
        guard var pebble = try pebble(numbered: text, message, language) else { return }
        let title = Markdown.escape(pebble.title)
        if (pebble.status == .done) == done {
            reply(
                done
                    ? language.pick(
                        "Pebble \(pebble.number) (*\(title)*) was already laid.",
                        "Le caillou \(pebble.number) (*\(title)*) était déjà posé.")
                    : language.pick(
                        "Pebble \(pebble.number) (*\(title)*) is already open.",
                        "Le caillou \(pebble.number) (*\(title)*) est déjà en cours."), to: message)
            return
        }
        if done {
            try db.execute(
                sql: "UPDATE factory_pebble SET status = 'done', done_at = ?, done_by = ? WHERE id = ?",
                arguments: [now.timeIntervalSince1970, message.senderName, pebble.id])
            pebble.status = .done
            let laid =
                try Int.fetchOne(
                    db, sql: "SELECT COUNT(*) FROM factory_pebble WHERE room_id = ? AND status = 'done'", arguments: [message.roomID]) ?? 0
            let total = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM factory_pebble WHERE room_id = ?", arguments: [message.roomID]) ?? 0
            reply(
                language.pick(
                    "✅ Pebble \(pebble.number) laid: *\(title)*. Well done! \(laid) of \(total) pebbles are laid.",
                    "✅ Caillou \(pebble.number) posé : *\(title)*. Bravo ! \(laid) caillou\(laid > 1 ? "x" : "") posé\(laid > 1 ? "s" : "") sur \(total)."
                ), to: message)
        } else {
            try db.execute(
                sql: "UPDATE factory_pebble SET status = 'open', done_at = NULL, done_by = NULL WHERE id = ?", arguments: [pebble.id])
            reply(
                language.pick(
                    "Pebble \(pebble.number) (*\(title)*) is open again.",
                    "Le caillou \(pebble.number) (*\(title)*) est de nouveau en cours."), to: message)
        }
    }

    mutating func setPebbleDate(_ text: String, _ message: IncomingMessage, _ language: Language) throws {
        guard let pebble = try pebble(numbered: text, message, language) else { return }
        let dateText = text.split(separator: " ", maxSplits: 1).dropFirst().first.map(String.init) ?? ""
        guard let date = PebbleDraft.isoDay(dateText) else {
            reply(PebbleDraft.text(.badDate(dateText), language), to: message)
            return
        }
        // A new date means a new reminder when it passes.
        try db.execute(sql: "UPDATE factory_pebble SET target_date = ?, reminded_at = NULL WHERE id = ?", arguments: [date, pebble.id])
        reply(
            language.pick(
                "Pebble \(pebble.number) (*\(Markdown.escape(pebble.title))*) is now due by \(date).",
                "Le caillou \(pebble.number) (*\(Markdown.escape(pebble.title))*) est désormais prévu pour le \(date)."), to: message)
    }

    /// Tells the pebble's room that its target date has passed, and remembers it did.
    mutating func remind(_ pebble: Pebble) throws {
        let title = Markdown.escape(pebble.title)
        let carrier =
            pebble.carrier.map { language.pick(" (carried by \(Markdown.escape($0)))", " (porté par \(Markdown.escape($0)))") } ?? ""
        let date = pebble.targetDate ?? ""
        reply(
            language.pick(
                "⏰ The target date of pebble \(pebble.number), *\(title)*\(carrier), was \(date). Laid? Say `\(prefix)pebble done \(pebble.number)`. Still on the way? Give it a new date: `\(prefix)pebble date \(pebble.number) YYYY-MM-DD`.",
                "⏰ La date visée du caillou \(pebble.number), *\(title)*\(carrier), était le \(date). Posé ? Dites `\(prefix)pebble done \(pebble.number)`. Toujours en route ? Donnez-lui une nouvelle date : `\(prefix)pebble date \(pebble.number) AAAA-MM-JJ`."
            ),
            to: nil)
        try db.execute(sql: "UPDATE factory_pebble SET reminded_at = ? WHERE id = ?", arguments: [now.timeIntervalSince1970, pebble.id])
    }
}
