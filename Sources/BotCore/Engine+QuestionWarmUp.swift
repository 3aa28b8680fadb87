import Dialogues
import Foundation

extension Engine {
    /// Embeds the question an event asks (`!ask …`, or a message addressed to the bot), outside any
    /// transaction, so that the turn's search finds its vector in the knowledge base's cache: the sentence
    /// model's tens of milliseconds are then not spent holding the database's writer. Only an optimisation:
    /// a question guessed wrong is embedded again in the turn, as without this call. Does nothing without
    /// the sentence model.
    public func warmUpQuestion(for event: IncomingEvent) {
        guard let knowledge, knowledge.sentenceModel != nil, case .message(let message) = event else { return }
        let text = message.text.trimmingCharacters(in: .whitespacesAndNewlines)
        let prefix = configuration.commandPrefix
        var question: String?
        if text.hasPrefix(prefix) {
            let parts = text.dropFirst(prefix.count).split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
            if parts.count == 2, Turn.askCommandWords.contains(TextMatching.fold(String(parts[0]))) {
                question = String(parts[1]).trimmingCharacters(in: .whitespacesAndNewlines)
            }
        } else if message.mentionsBot || message.roomKind == .direct {
            question = text
        }
        guard let question, !question.isEmpty else { return }
        knowledge.warmUp(question: String(question.prefix(10_000)))
    }
}
