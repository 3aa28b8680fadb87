import Foundation
import GRDB
import KnowledgeBase

/// Questions answered from the knowledge base: `!ask`, `!more`, and questions addressed to the bot.
extension Turn {
    /// - Parameter quietWhenUnsure: say nothing instead of "I don't know" (another reply follows).
    /// - Parameter continuing: `!more`: show the next passages whole, whatever their confidence.
    mutating func ask(
        _ question: String, message: IncomingMessage, offset: Int, continuing: Bool = false, quietWhenUnsure: Bool = false
    ) throws {
        // Unless the person or the room chose a language, answer in the question's.
        let language =
            try chosenLanguage(for: message)
            ?? KnowledgeIndex.guessLanguage(of: question).flatMap(Language.init(rawValue:)) ?? engine.configuration.defaultLanguage
        let prefix = self.prefix
        let wording = engine.extensions.lazy.compactMap { $0.knowledgeWording(language, commandPrefix: prefix) }.first ?? .plain(language)
        guard !question.isEmpty else {
            reply(
                language.pick(
                    "Ask me something after `\(prefix)ask`, for example `\(prefix)ask \(wording.exampleQuestion)`",
                    "Posez-moi une question après `\(prefix)ask`, par exemple `\(prefix)ask \(wording.exampleQuestion)`"), to: message)
            return
        }
        guard let knowledge = engine.knowledge else {
            reply(
                language.pick(
                    "No knowledge base is loaded, so I cannot answer questions.",
                    "Aucune base de connaissances n'est chargée : je ne peux pas répondre aux questions."), to: message)
            return
        }
        let query = String(question.prefix(10_000))
        let pageSize = max(1, engine.configuration.answersPerPage)
        // Enough results for an unsure answer's two lines, and one more to know whether `!more` has any; in the
        // person's language when it answers as well as the others (see `KnowledgeIndex.search`).
        // Documents added from rooms answer only in their territory's rooms.
        let scope = DocumentScope.territory(try territory(of: message.roomID)?.id)
        let response = try knowledge.search(
            db, query, limit: max(pageSize, Self.unsureLines) + 1, offset: offset, language: language.rawValue, scope: scope)
        let kind: SearchResponse.Confidence = continuing ? .confident : response.confidence
        // What `!more` shows next: the passage after the last one shown whole. An unsure answer shows its
        // passages as one line each, and "I don't know" none, so `!more` then starts from the best one.
        let shownWhole = kind == .confident ? min(pageSize, response.results.count) : 0
        try db.execute(
            sql: """
                INSERT INTO ask_state(room_id, user_id, query, next_offset) VALUES (?, ?, ?, ?)
                ON CONFLICT(room_id, user_id) DO UPDATE SET query = excluded.query, next_offset = excluded.next_offset
                """,
            arguments: [message.roomID, message.senderID, query, offset + shownWhole])
        if continuing && response.results.isEmpty {
            reply(language.pick("No more results for that question.", "Pas d'autres résultats pour cette question."), to: message)
            return
        }
        if kind != .confident && quietWhenUnsure { return }
        switch kind {
        case .confident where !response.results.isEmpty:
            for result in response.results.prefix(pageSize) {
                reply(result.answer + "\n_" + Self.sourceLine(result, language) + "_", to: message)
            }
            if response.results.count > pageSize {
                reply(
                    language.pick("Say `\(prefix)more` for other results.", "Dites `\(prefix)more` pour d'autres résultats."), to: message)
            }
        case .unsure where !response.results.isEmpty:
            var text = language.pick("I am not sure, but this may help:", "Je n'ai pas de réponse sûre, mais ceci peut aider :")
            for result in response.results.prefix(Self.unsureLines) {
                text += "\n- " + result.excerpt + " _(" + Self.sourceTitle(result) + ")_"
            }
            reply(text, to: message)
            reply(language.pick("Say `\(prefix)more` to read them in full.", "Dites `\(prefix)more` pour les lire en entier."), to: message)
        default:
            let topics = try knowledge.topics(db, language: language.rawValue, scope: scope).prefix(Self.topicsShown)
            var text = language.pick(
                "I don't know the answer to that from \(wording.resources).",
                "Je ne connais pas la réponse à cela d'après \(wording.resources).")
            if !topics.isEmpty {
                text += language.pick(" Topics I can help with:", " Les sujets sur lesquels je peux aider :") + "\n"
                text += topics.map { "- \(Markdown.escape($0))" }.joined(separator: "\n")
            }
            if let hint = wording.whenUnanswered { text += "\n" + hint }
            reply(text, to: message)
        }
    }

    /// Passages an unsure answer offers, one line each.
    static let unsureLines = 2
    /// Topics listed with "I don't know": every document of a small knowledge base, the first ones of a large one.
    static let topicsShown = 16

    /// "Title › Section", Markdown-escaped: where a passage comes from, as a reader names it.
    static func sourceTitle(_ result: SearchResult) -> String {
        var title = Markdown.escape(result.document)
        if !result.heading.isEmpty, result.heading != result.document { title += " › " + Markdown.escape(result.heading) }
        return title
    }

    /// "Source: Title › Section, page 12, https://…", and the territory that shared it.
    static func sourceLine(_ result: SearchResult, _ language: Language) -> String {
        var source = language.pick("Source: ", "Source : ") + sourceTitle(result)
        if let page = result.page { source += language.pick(", page \(page)", ", page \(page)") }
        if let url = result.url { source += ", " + url }
        if let territory = result.territory {
            source += language.pick(" (shared by \(Markdown.escape(territory)))", " (partagé par \(Markdown.escape(territory)))")
        }
        return source
    }

    mutating func more(_ message: IncomingMessage, _ language: Language) throws {
        guard
            let row = try Row.fetchOne(
                db, sql: "SELECT query, next_offset FROM ask_state WHERE room_id = ? AND user_id = ?",
                arguments: [message.roomID, message.senderID])
        else {
            reply(
                language.pick("Ask a question first with `\(prefix)ask`.", "Posez d'abord une question avec `\(prefix)ask`."), to: message)
            return
        }
        try ask(row["query"], message: message, offset: row["next_offset"], continuing: true)
    }
}
