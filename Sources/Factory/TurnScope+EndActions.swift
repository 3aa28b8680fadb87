import BotCore
import Foundation
import GRDB
import KnowledgeBase

/// The `on_end` actions: `record_signature`, `create_pebbles`, `publish_experience`.
///
/// Each reads answers by variable name, so a dialogue author only has to keep those names:
/// - `record_signature`: `sign` and `confirm` (yes/no; a no on either records nothing), `organisation`, `role`;
/// - `create_pebbles`: `pebbles` (a list of `title; carrier; date`), `star` (text);
/// - `publish_experience`: `publish` (yes/no), `title`, `field`, `tried`, `worked`, `obstacles`, `lesson`, `contact`.
extension TurnScope {
    mutating func noTerritory(_ what: String, _ message: IncomingMessage) {
        reply(
            language.pick(
                "I could not \(what): this room is not bound to a territory. A facilitator can say `\(prefix)territory set NAME`; your answers are kept.",
                "Je n'ai pas pu \(what) : ce salon n'est lié à aucun territoire. Un·e facilitateur·rice peut dire `\(prefix)territory set NOM` ; vos réponses sont gardées."
            ),
            to: message)
    }

    // MARK: record_signature

    mutating func recordSignature(_ run: EndedRun) throws {
        let answers = run.answers, message = run.message
        // Both gates must be an explicit yes: a confirmation that was never given (skipped, failed) is no signature.
        for gate in ["sign", "confirm"] where answers[gate]?.isYes != true { return }
        guard let organisation = answers["organisation"]?.text, !organisation.isEmpty else { return }
        guard let territory else {
            noTerritory(language.pick("record your signature", "enregistrer votre signature"), message)
            return
        }
        let signature = Signature(
            territory: territory, signerID: message.senderID, signerName: message.senderName, organisation: organisation,
            role: answers["role"]?.display, roomID: message.roomID, signedAt: now)
        let renewed = try FactoryStore.sign(signature, eventID: message.eventID, db)
        let count = try FactoryStore.signatureCount(territory: territory, db)
        let place = Markdown.escape(territory)
        let who = Markdown.escape(message.senderName), org = Markdown.escape(organisation)
        let counted = language.pick(
            "**\(place)** now counts **\(count)** signator\(count == 1 ? "y" : "ies").",
            "**\(place)** compte désormais **\(count)** signataire\(count > 1 ? "s" : "").")
        reply(
            renewed
                ? language.pick(
                    "You had already signed for \(place); I updated your signature: \(who) for \(org), on \(today). ",
                    "Vous aviez déjà signé pour \(place) ; j'ai mis à jour votre signature : \(who) au nom de \(org), le \(today). ")
                    + counted
                : language.pick(
                    "✍️ Signature recorded: \(who) for \(org), in \(place), on \(today). ",
                    "✍️ Signature enregistrée : \(who) au nom de \(org), pour \(place), le \(today). ") + counted,
            to: message)
    }

    // MARK: create_pebbles

    mutating func createPebbles(_ run: EndedRun) throws {
        let answers = run.answers, message = run.message
        var lines: [String] = []
        if let star = answers["star"]?.text, !star.isEmpty {
            try FactoryStore.setStar(Star(roomID: run.roomID, territory: territory, text: star, author: message.senderName, setAt: now), db)
            lines.append(language.pick("⭐ The room's star is set.", "⭐ L'étoile du salon est fixée."))
        }
        var items: [String] = []
        if case .list(let list)? = answers["pebbles"]?.value { items = list }
        var added: [Pebble] = []
        var refused: [String] = []
        for item in items {
            switch PebbleDraft.parse(item) {
            case .success(let draft):
                added.append(
                    try FactoryStore.addPebble(roomID: run.roomID, territory: territory, draft, createdBy: message.senderName, now: now, db)
                )
            case .failure(let problem):
                refused.append("- " + Markdown.escape(String(item.prefix(80))) + ": " + PebbleDraft.text(problem, language))
            }
        }
        if !added.isEmpty {
            lines.append(
                language.pick(
                    "**\(added.count) white pebble\(added.count == 1 ? "" : "s") added:**",
                    "**\(added.count) caillou\(added.count == 1 ? "" : "x") blanc\(added.count == 1 ? "" : "s") ajouté\(added.count == 1 ? "" : "s") :**"
                ))
            for pebble in added { lines.append("\(pebble.number). " + ReportMarkdown.pebbleLine(pebble, today: today, language)) }
        }
        if !refused.isEmpty {
            lines.append(
                language.pick("Not added (fix them with `\(prefix)pebble add`):", "Non ajoutés (corrigez-les avec `\(prefix)pebble add`) :")
            )
            lines += refused
        }
        if !lines.isEmpty { reply(lines.joined(separator: "\n"), to: message) }
    }

    // MARK: publish_experience

    mutating func publishExperience(_ run: EndedRun) throws {
        let answers = run.answers, message = run.message
        guard answers["publish"]?.isYes == true else {
            reply(
                language.pick(
                    "Understood: nothing is published. Your answers are kept for the facilitators.",
                    "Entendu : rien n'est publié. Vos réponses sont gardées pour les facilitateurs."), to: message)
            return
        }
        guard let title = answers["title"]?.text, !title.isEmpty else { return }
        guard let territory else {
            noTerritory(language.pick("publish the experience", "publier l'expérience"), message)
            return
        }
        guard let knowledge else {
            reply(
                language.pick(
                    "No knowledge base is loaded, so the experience could not be published; your answers are kept.",
                    "Aucune base de connaissances n'est chargée : l'expérience n'a pas pu être publiée ; vos réponses sont gardées."),
                to: message)
            return
        }
        let number = (try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(id), 0) + 1 FROM factory_experience") ?? 1)
        let source = "fabrique:experience/\(number)"
        let document = NewDocument(
            title: title, source: source, language: language.rawValue, territory: territory,
            tags: ["experience", answers["field"].flatMap { if case .choice(let v) = $0.value { v } else { nil } }].compactMap { $0 },
            markdown: Self.experienceMarkdown(title: title, territory: territory, answers: answers, day: today, language))
        try knowledge.addDocument(db, document)
        try db.execute(
            sql: """
                INSERT INTO factory_experience(id, territory, source, title, language, author_id, author_name, room_id, published_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                number, territory, source, title, language.rawValue, message.senderID, message.senderName, message.roomID,
                now.timeIntervalSince1970,
            ])
        reply(
            language.pick(
                "📚 Published in the knowledge base: *\(Markdown.escape(title))*, shared by \(Markdown.escape(territory)). Other territories will find it with `\(prefix)ask`.",
                "📚 Publiée dans la base de connaissances : *\(Markdown.escape(title))*, partagée par \(Markdown.escape(territory)). Les autres territoires la trouveront avec `\(prefix)ask`."
            ),
            to: message)
    }

    /// The knowledge-base page of a shared experience. People's text keeps its words but cannot add headings.
    static func experienceMarkdown(
        title: String, territory: String, answers: [String: RunAnswer], day: String, _ language: Language
    ) -> String {
        func block(_ text: String) -> String {
            text.split(separator: "\n", omittingEmptySubsequences: false).map { line in
                var l = Substring(line)
                while l.first == "#" || l.first == ">" { l = l.dropFirst() }
                return String(l).trimmingCharacters(in: .whitespaces)
            }.joined(separator: "\n")
        }
        var out = "# \(block(title))\n\n"
        var meta = language.pick("Shared by \(territory) on \(day)", "Partagée par \(territory) le \(day)")
        if let field = answers["field"]?.display { meta += " — " + field }
        out += block(meta) + ".\n"
        let sections: [(String, String, String)] = [
            ("tried", "What we tried", "Ce que nous avons tenté"),
            ("worked", "What worked", "Ce qui a marché"),
            ("obstacles", "Obstacles, and how we dealt with them", "Les obstacles, et comment nous y avons fait face"),
            ("lesson", "Advice to a territory starting out", "Conseil à un territoire qui se lance"),
            ("contact", "Contact", "Contact"),
        ]
        for (variable, en, fr) in sections {
            guard let text = answers[variable]?.text, !text.isEmpty else { continue }
            out += "\n## \(language.pick(en, fr))\n\n\(block(text))\n"
        }
        return out
    }
}
