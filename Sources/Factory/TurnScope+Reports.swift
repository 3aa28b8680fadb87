import Foundation
import BotCore
import GRDB

/// `!report inventory|signatories|pebbles` (facilitators) and `!signatories` (everyone), for the room's territory.
extension TurnScope {
    /// `!report KIND`: a short summary in the chat, then the report itself as files (HTML, CSV and, for
    /// the inventory, the profile chart as a PNG picture), committed with the turn like any reply.
    ///
    /// Which territory: the room's. In a facilitator's direct room with the bot, the direct room's own
    /// territory: a direct room gets one the way any room joins a territory, with a code a facilitator of
    /// one of the territory's rooms gives (`!territory invite`, then `!territory join CODE`). Being a
    /// facilitator of one's own direct room proves nothing (everyone is), so a direct room never reaches a
    /// territory by a name alone.
    mutating func reportCommand(_ argument: String, _ message: IncomingMessage, _ language: Language) throws {
        guard message.senderIsFacilitator else {
            reply(
                language.pick("Only a facilitator can post a report.", "Seul·e un·e facilitateur·rice peut afficher un rapport."),
                to: message)
            return
        }
        let words = argument.split(separator: " ", maxSplits: 1).map(String.init)
        guard let kind = ReportKind(words: argument) ?? words.first.flatMap(ReportKind.init(words:)) else {
            reply(
                language.pick(
                    "Which report? `\(prefix)report inventory`, `\(prefix)report signatories`, `\(prefix)report pebbles` or `\(prefix)report answers DIALOGUE`.",
                    "Quel rapport ? `\(prefix)report inventory`, `\(prefix)report signatories`, `\(prefix)report pebbles` ou `\(prefix)report answers DIALOGUE`."
                ), to: message)
            return
        }
        var dialogue: String?
        if kind == .answers {
            let name = words.count > 1 ? words[1].trimmingCharacters(in: .whitespaces) : ""
            guard let script = catalog.script(named: name) else {
                let known = catalog.all.map { "`\($0.id)`" }.joined(separator: ", ")
                reply(
                    name.isEmpty
                        ? language.pick(
                            "Which dialogue's answers? `\(prefix)report answers DIALOGUE`, with one of: \(known).",
                            "Les réponses de quel dialogue ? `\(prefix)report answers DIALOGUE`, avec l'un de : \(known).")
                        : language.pick(
                            "There is no dialogue called \(Markdown.escape(name)). Dialogues: \(known).",
                            "Il n'y a pas de dialogue appelé \(Markdown.escape(name)). Dialogues : \(known)."), to: message)
                return
            }
            dialogue = script.id
        }
        guard let territory else {
            reply(
                message.roomKind == .direct
                    ? language.pick(
                        "This direct room is not bound to a territory, and reports never mix territories. Ask for the report in one of your territory's rooms, or bring the territory here: say `\(prefix)territory invite` in one of its rooms, then `\(prefix)territory join CODE` here.",
                        "Ce salon direct n'est lié à aucun territoire, et un rapport ne mélange jamais les territoires. Demandez le rapport dans un salon de votre territoire, ou amenez le territoire ici : dites `\(prefix)territory invite` dans l'un de ses salons, puis `\(prefix)territory join CODE` ici."
                    )
                    : language.pick(
                        "This room is not bound to a territory, and reports never mix territories. Say `\(prefix)territory set NAME` first.",
                        "Ce salon n'est lié à aucun territoire, et un rapport ne mélange jamais les territoires. Dites d'abord `\(prefix)territory set NOM`."
                    ),
                to: message)
            return
        }
        let files = try ReportFiles.make(kind, territory: territory, dialogue: dialogue, db, catalog: catalog, language: language, now: now)
        var summary = files.summary
        if kind == .inventory, !files.files.contains(where: \.isImage) {
            summary +=
                "\n"
                + language.pick(
                    "_(No profile picture: `rsvg-convert` is not installed on the server.)_",
                    "_(Pas d'image du profil : `rsvg-convert` n'est pas installé sur le serveur.)_")
        }
        reply(summary, to: message)
        for file in files.files { send(file, caption: file.fileName, to: message) }
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
        var lines = ["**" + ReportMarkdown.countLine(signatures.count, territory: territory.name, language) + "**"]
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
