import BotCore
import Foundation
import GRDB
import KnowledgeBase

/// The `on_end` actions: `record_signature`, `create_pebbles`, `publish_experience`.
///
/// Each reads answers by variable name, so a dialogue author only has to keep those names:
/// - `record_signature`: `sign` and `confirm` (yes/no; a no on either records nothing), `organisation`, `role`;
/// - `create_pebbles`: `pebbles` (a list of `title; carrier; date`), `star` (text);
/// - `publish_experience`: `publish` (yes/no), `title`, `field`, `tried`, `worked`, `obstacles`, `lesson`, `contact`; the
///   page then waits for a facilitator of the territory to approve it (`!experience approve N`).
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
            territoryID: territory.id, signerID: message.senderID, signerName: message.senderName, organisation: organisation,
            role: answers["role"]?.display, roomID: message.roomID, signedAt: now)
        let renewed = try FactoryStore.sign(signature, eventID: message.eventID, db)
        let count = try FactoryStore.signatureCount(territory: territory, db)
        let place = Markdown.escape(territory.name)
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
            try FactoryStore.setStar(
                Star(roomID: run.roomID, territoryID: territory?.id, text: star, author: message.senderName, setAt: now), db)
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
        let tags = ["experience", answers["field"].flatMap { if case .choice(let v) = $0.value { v } else { nil } }].compactMap { $0 }
        try db.execute(
            sql: """
                INSERT INTO factory_experience_pending(territory, title, language, tags, markdown, author_id, author_name, room_id, submitted_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                territory.id, title, language.rawValue, tags.joined(separator: ","),
                Self.experienceMarkdown(title: title, territory: territory.name, answers: answers, day: today, language), message.senderID,
                message.senderName, message.roomID, now.timeIntervalSince1970,
            ])
        let number = db.lastInsertedRowID
        reply(
            language.pick(
                "📝 Thank you. Before *\(Markdown.escape(title))* goes into the knowledge base, a facilitator of \(Markdown.escape(territory.name)) reviews it: in a room of the territory, `\(prefix)experience \(number)` shows it, then `\(prefix)experience approve \(number)` publishes it (or `\(prefix)experience reject \(number)`).",
                "📝 Merci. Avant que *\(Markdown.escape(title))* entre dans la base de connaissances, un·e facilitateur·rice de \(Markdown.escape(territory.name)) la relit : dans un salon du territoire, `\(prefix)experience \(number)` l'affiche, puis `\(prefix)experience approve \(number)` la publie (ou `\(prefix)experience reject \(number)`)."
            ),
            to: message)
    }

    // MARK: Reviewing shared experiences

    /// `!experience [N | approve N | reject N]`: a facilitator of a room of the territory lists, reads,
    /// publishes or drops the experiences its people shared.
    mutating func experienceCommand(_ argument: String, _ message: IncomingMessage, _ language: Language) throws {
        guard message.senderIsFacilitator else {
            reply(
                language.pick(
                    "Only a facilitator can review shared experiences.",
                    "Seul·e un·e facilitateur·rice peut relire les expériences partagées."),
                to: message)
            return
        }
        guard let territory else {
            noTerritory(language.pick("show the experiences waiting for review", "afficher les expériences à relire"), message)
            return
        }
        let words = argument.split(separator: " ").map { TextMatching.fold(String($0)) }
        let verb = words.count == 2 ? words[0] : ""
        guard words.count <= 2, let number = words.last.map({ Int64($0) }) ?? Int64(0), words.count != 2 || number > 0,
            ["", "approve", "approuver", "publish", "publier", "reject", "refuser", "rejeter"].contains(verb)
        else {
            reply(
                language.pick(
                    "Say `\(prefix)experience` for the list, `\(prefix)experience N` to read one, `\(prefix)experience approve N` or `\(prefix)experience reject N`.",
                    "Dites `\(prefix)experience` pour la liste, `\(prefix)experience N` pour en lire une, `\(prefix)experience approve N` ou `\(prefix)experience reject N`."
                ), to: message)
            return
        }
        if words.isEmpty {
            let waiting = try Row.fetchAll(
                db, sql: "SELECT id, title, author_name, submitted_at FROM factory_experience_pending WHERE territory = ? ORDER BY id",
                arguments: [territory.id])
            guard !waiting.isEmpty else {
                reply(
                    language.pick(
                        "No shared experience of \(Markdown.escape(territory.name)) is waiting for review.",
                        "Aucune expérience partagée de \(Markdown.escape(territory.name)) n'attend de relecture."), to: message)
                return
            }
            let lines = waiting.map { row in
                "- \(row["id"] as Int64). *\(Markdown.escape(row["title"]))* — \(Markdown.escape(row["author_name"])), "
                    + Self.day(Date(timeIntervalSince1970: row["submitted_at"]))
            }
            reply(
                language.pick("Waiting for review:", "À relire :") + "\n" + lines.joined(separator: "\n"), to: message)
            return
        }
        guard
            let row = try Row.fetchOne(
                db, sql: "SELECT * FROM factory_experience_pending WHERE id = ? AND territory = ?", arguments: [number, territory.id])
        else {
            reply(
                language.pick(
                    "No experience \(number) of \(Markdown.escape(territory.name)) is waiting for review.",
                    "Aucune expérience \(number) de \(Markdown.escape(territory.name)) n'attend de relecture."), to: message)
            return
        }
        let title: String = row["title"]
        switch verb {
        case "":
            // The page as it would be published, each line quoted and escaped: its words, never its markup.
            let page = (row["markdown"] as String).split(separator: "\n").map { "> " + Markdown.escape(String($0)) }
            reply(
                language.pick(
                    "Experience \(number), shared by \(Markdown.escape(row["author_name"])):",
                    "Expérience \(number), partagée par \(Markdown.escape(row["author_name"])) :")
                    + "\n" + page.joined(separator: "\n"), to: message)
        case "reject", "refuser", "rejeter":
            try db.execute(sql: "DELETE FROM factory_experience_pending WHERE id = ?", arguments: [number])
            reply(
                language.pick(
                    "*\(Markdown.escape(title))* is not published.", "*\(Markdown.escape(title))* n'est pas publiée."), to: message)
        default:
            guard let knowledge else {
                reply(
                    language.pick(
                        "No knowledge base is loaded, so the experience could not be published; it keeps waiting.",
                        "Aucune base de connaissances n'est chargée : l'expérience n'a pas pu être publiée ; elle reste en attente."),
                    to: message)
                return
            }
            let published = (try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(id), 0) + 1 FROM factory_experience") ?? 1)
            let source = "fabrique:experience/\(published)"
            let document = NewDocument(
                title: title, source: source, language: row["language"], territory: territory.name,
                tags: (row["tags"] as String).split(separator: ",").map(String.init), markdown: row["markdown"])
            try knowledge.addDocument(db, document)
            try db.execute(
                sql: """
                    INSERT INTO factory_experience(id, territory, source, title, language, author_id, author_name, room_id, published_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    published, territory.id, source, title, row["language"], row["author_id"], row["author_name"], row["room_id"],
                    now.timeIntervalSince1970,
                ])
            try db.execute(sql: "DELETE FROM factory_experience_pending WHERE id = ?", arguments: [number])
            reply(
                language.pick(
                    "📚 Published in the knowledge base: *\(Markdown.escape(title))*, shared by \(Markdown.escape(territory.name)). Other territories will find it with `\(prefix)ask`.",
                    "📚 Publiée dans la base de connaissances : *\(Markdown.escape(title))*, partagée par \(Markdown.escape(territory.name)). Les autres territoires la trouveront avec `\(prefix)ask`."
                ),
                to: message)
        }
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
