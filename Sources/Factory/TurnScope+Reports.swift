import Foundation
import BotCore
import GRDB

/// `!report inventory|signatories|pebbles` (facilitators) and `!signatories` (everyone), for the room's territory.
extension TurnScope {
    mutating func reportCommand(_ argument: String, _ message: IncomingMessage, _ language: Language) throws {
        guard message.senderIsFacilitator else {
            reply(
                language.pick("Only a facilitator can post a report.", "Seul·e un·e facilitateur·rice peut afficher un rapport."),
                to: message)
            return
        }
        guard let kind = ReportKind(words: argument) else {
            reply(
                language.pick(
                    "Which report? `\(prefix)report inventory`, `\(prefix)report signatories` or `\(prefix)report pebbles`.",
                    "Quel rapport ? `\(prefix)report inventory`, `\(prefix)report signatories` ou `\(prefix)report pebbles`."), to: message)
            return
        }
        guard let territory else {
            reply(
                language.pick(
                    "This room is not bound to a territory, and reports never mix territories. Say `\(prefix)territory set NAME` first.",
                    "Ce salon n'est lié à aucun territoire, et un rapport ne mélange jamais les territoires. Dites d'abord `\(prefix)territory set NOM`."
                ),
                to: message)
            return
        }
        let text: String
        switch kind {
        case .inventory:
            let report = try FactoryReports.inventory(db, territory: territory, catalog: catalog, language: language, now: now)
            text = ReportMarkdown.inventory(report, compact: true)
        case .signatories:
            text = ReportMarkdown.signatories(
                try FactoryReports.signatories(db, territory: territory, language: language, now: now), chat: true)
        case .pebbles:
            text = ReportMarkdown.pebbles(try FactoryReports.pebbles(db, territory: territory, language: language, now: now), chat: true)
        }
        reply(text.trimmingCharacters(in: .newlines), to: message)
    }

    mutating func signatoriesCommand(_ message: IncomingMessage, _ language: Language) throws {
        guard let territory else {
            reply(
                language.pick(
                    "This room is not bound to a territory, so I cannot tell whose signatories to show. A facilitator can say `\(prefix)territory set NAME`.",
                    "Ce salon n'est lié à aucun territoire : je ne sais pas de quels signataires parler. Un·e facilitateur·rice peut dire `\(prefix)territory set NOM`."
                ),
                to: message)
            return
        }
        let signatures = try FactoryStore.signatures(territory: territory, db)
        var lines = ["**" + ReportMarkdown.countLine(signatures.count, territory: territory, language) + "**"]
        for signature in signatures { lines.append("- " + ReportMarkdown.signatureLine(signature, language)) }
        lines.append(
            signatures.isEmpty
                ? language.pick(
                    "Nobody has signed yet: `\(prefix)start ally` explains the Charter and leads to an informed signature.",
                    "Personne n'a encore signé : `\(prefix)start ally` présente la Charte et mène à une signature éclairée.")
                : language.pick(
                    "_The more actors sign, the better a collective approach can succeed. `\(prefix)start ally` to join them._",
                    "_Plus les acteurs sont nombreux à signer, plus une démarche collective a de chances de réussir. `\(prefix)start ally` pour les rejoindre._"
                ))
        reply(lines.joined(separator: "\n"), to: message)
    }
}
