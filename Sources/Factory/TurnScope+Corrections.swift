import BotCore
import Foundation
import GRDB

/// Facilitators correct the Factory's data from the chat: the room's star (`!star TEXT`), a pebble's title
/// (`!pebble rename N TITLE`) or carrier (`!pebble carrier N NAME`). Each correction is logged with who
/// made it, when, and what it was before (``TurnScope/recordCorrection(_:target:before:after:by:)``).
extension TurnScope {
    mutating func starCommand(_ argument: String, _ message: IncomingMessage, _ language: Language) throws {
        let current = try FactoryStore.star(roomID: message.roomID, db)
        guard !argument.isEmpty else {
            reply(
                current.map { language.pick("⭐ **Star:** ", "⭐ **Étoile :** ") + Markdown.escape($0.text) }
                    ?? language.pick(
                        "This room has no star yet. A facilitator can set one with `\(prefix)star TEXT`, or the room chooses it with `\(prefix)start first-steps`.",
                        "Ce salon n'a pas encore d'étoile. Un·e facilitateur·rice peut la fixer avec `\(prefix)star TEXTE`, ou le salon la choisit avec `\(prefix)start first-steps`."
                    ), to: message)
            return
        }
        guard message.senderIsFacilitator else {
            reply(
                language.pick("Only a facilitator can set the room's star.", "Seul·e un·e facilitateur·rice peut fixer l'étoile du salon."),
                to: message)
            return
        }
        guard argument.count <= 500, !argument.contains(where: \.isNewline) else {
            reply(
                language.pick(
                    "A star is one or two sentences, up to 500 characters.",
                    "Une étoile tient en une ou deux phrases, 500 caractères au plus."),
                to: message)
            return
        }
        try FactoryStore.setStar(
            Star(roomID: message.roomID, territoryID: territory?.id, text: argument, author: message.senderName, setAt: now), db)
        try recordCorrection(
            current == nil ? "star.set" : "star.change", target: message.roomID, before: current?.text, after: argument, by: message)
        reply(
            (current == nil
                ? language.pick("⭐ The room's star is set: ", "⭐ L'étoile du salon est fixée : ")
                : language.pick("⭐ The room's star is now: ", "⭐ L'étoile du salon est désormais : ")) + Markdown.escape(argument),
            to: message)
    }

    /// `rename N TITLE` or `carrier N NAME`: `field` says which.
    mutating func correctPebble(_ text: String, field: PebbleField, _ message: IncomingMessage, _ language: Language) throws {
        guard message.senderIsFacilitator else {
            reply(
                language.pick("Only a facilitator can correct a pebble.", "Seul·e un·e facilitateur·rice peut corriger un caillou."),
                to: message)
            return
        }
        guard let pebble = try pebble(numbered: text, message, language) else { return }
        let value = text.split(separator: " ", maxSplits: 1).dropFirst().first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        guard !value.isEmpty, value.count <= 200, !value.contains(where: \.isNewline) else {
            reply(
                field == .title
                    ? language.pick(
                        "Give the new title after the number: `\(prefix)pebble rename \(pebble.number) TITLE`.",
                        "Donnez le nouveau titre après le numéro : `\(prefix)pebble rename \(pebble.number) TITRE`.")
                    : language.pick(
                        "Give who carries it after the number: `\(prefix)pebble carrier \(pebble.number) NAME`.",
                        "Donnez qui le porte après le numéro : `\(prefix)pebble carrier \(pebble.number) NOM`."), to: message)
            return
        }
        switch field {
        case .title:
            try db.execute(sql: "UPDATE factory_pebble SET title = ? WHERE id = ?", arguments: [value, pebble.id])
            try recordCorrection("pebble.rename", target: String(pebble.id), before: pebble.title, after: value, by: message)
            reply(
                language.pick(
                    "Pebble \(pebble.number) is now *\(Markdown.escape(value))* (was *\(Markdown.escape(pebble.title))*).",
                    "Le caillou \(pebble.number) s'appelle désormais *\(Markdown.escape(value))* (avant : *\(Markdown.escape(pebble.title))*)."
                ),
                to: message)
        case .carrier:
            try db.execute(sql: "UPDATE factory_pebble SET carrier = ? WHERE id = ?", arguments: [value, pebble.id])
            try recordCorrection("pebble.carrier", target: String(pebble.id), before: pebble.carrier, after: value, by: message)
            reply(
                language.pick(
                    "Pebble \(pebble.number) (*\(Markdown.escape(pebble.title))*) is now carried by \(Markdown.escape(value)).",
                    "Le caillou \(pebble.number) (*\(Markdown.escape(pebble.title))*) est désormais porté par \(Markdown.escape(value))."),
                to: message)
        }
    }

    enum PebbleField { case title, carrier }
}
