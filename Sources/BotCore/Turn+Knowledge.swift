import Foundation
import GRDB
import KnowledgeBase

/// Questions answered from the knowledge base: `!ask`, `!more`, and questions addressed to the bot.
extension Turn {
    /// - Parameter quietWhenUnsure: say nothing instead of "I don't know" (another reply follows).
    mutating func ask(_ question: String, message: IncomingMessage, offset: Int, quietWhenUnsure: Bool = false) throws {
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
        let response = try knowledge.search(db, query, limit: pageSize + 1, offset: offset, language: nil)
        try db.execute(
            sql: """
                INSERT INTO ask_state(room_id, user_id, query, next_offset) VALUES (?, ?, ?, ?)
                ON CONFLICT(room_id, user_id) DO UPDATE SET query = excluded.query, next_offset = excluded.next_offset
                """,
            arguments: [message.roomID, message.senderID, query, offset + pageSize])
        guard response.confident || offset > 0, !response.results.isEmpty else {
            if offset > 0 {
                reply(language.pick("No more results for that question.", "Pas d'autres résultats pour cette question."), to: message)
                return
            }
            if quietWhenUnsure { return }
            let topics = try knowledge.topics(db, language: language.rawValue).prefix(8)
            var text = language.pick(
                "I don't know the answer to that from \(wording.resources).",
                "Je ne connais pas la réponse à cela d'après \(wording.resources).")
            if !topics.isEmpty {
                text += language.pick(" Topics I can help with:", " Les sujets sur lesquels je peux aider :") + "\n"
                text += topics.map { "- \(Markdown.escape($0))" }.joined(separator: "\n")
            }
            if let hint = wording.whenUnanswered { text += "\n" + hint }
            reply(text, to: message)
            return
        }
        for result in response.results.prefix(pageSize) {
            var text = "**\(Markdown.escape(result.document))**"
            if !result.heading.isEmpty, result.heading != result.document { text += " › " + Markdown.escape(result.heading) }
            text += "\n" + result.snippet
            var source = language.pick("Source: ", "Source : ") + Markdown.escape(Self.readableSource(result.source))
            if let territory = result.territory {
                source += language.pick(" (shared by \(Markdown.escape(territory)))", " (partagé par \(Markdown.escape(territory)))")
            }
            text += "\n_" + source + "_"
            reply(text, to: message)
        }
        if response.results.count > pageSize {
            reply(language.pick("Say `\(prefix)more` for other results.", "Dites `\(prefix)more` pour d'autres résultats."), to: message)
        }
    }

    /// A source as a reader should see it: URLs whole, file paths without the machine's folders.
    static func readableSource(_ source: String) -> String {
        guard source.hasPrefix("/") else { return source }
        let parts = source.split(separator: "/")
        if let k = parts.lastIndex(of: "knowledge") { return parts[k...].joined(separator: "/") }
        return parts.suffix(2).joined(separator: "/")
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
        try ask(row["query"], message: message, offset: row["next_offset"])
    }
}
