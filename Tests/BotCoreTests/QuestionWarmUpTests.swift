@testable import BotCore
import FabriqueTesting
import Foundation
import KnowledgeBase
import Synchronization
import XCTest

/// Counts the questions it embeds; every text gets the same vector.
final class CountingEmbedder: SentenceEmbedder {
    let identifier = "counting-1"
    let dimension = 2
    private let count = Mutex(0)
    var questions: Int { count.withLock { $0 } }

    func embed(_ text: String, query: Bool) -> [Float]? {
        if query { count.withLock { $0 += 1 } }
        return [1, 0]
    }
}

/// With the sentence model, a question is embedded before its turn's transaction, not while holding the writer.
final class QuestionWarmUpTests: XCTestCase {
    func testAnAskedQuestionIsEmbeddedBeforeItsTurnAndOnlyThen() throws {
        let store = try StateStore(path: nil)
        let embedder = CountingEmbedder()
        let knowledge = try KnowledgeIndex(writer: store.writer, sentenceModel: SentenceModelSource(embedder))
        let engine = try TestBench.makeEngine(store: store, catalog: DialogueCatalog([]), knowledge: knowledge)
        func message(_ text: String, _ id: String, kind: RoomKind = .group, mentions: Bool = false) -> IncomingEvent {
            .message(
                IncomingMessage(
                    roomID: "room-1", senderID: "bob", text: text, eventID: id, timestamp: Date(), mentionsBot: mentions, roomKind: kind))
        }

        let ask = message("!ask how do we start a compost?", "e1")
        engine.warmUpQuestion(for: ask)
        XCTAssertEqual(embedder.questions, 1, "embedded before the turn")
        try engine.handle(ask)
        XCTAssertEqual(embedder.questions, 1, "the turn found it in the cache")

        let addressed = message("what is a white pebble?", "e2", mentions: true)
        engine.warmUpQuestion(for: addressed)
        try engine.handle(addressed)
        XCTAssertEqual(embedder.questions, 2, "a question addressed to the bot too")

        for chatter in [message("see you tomorrow", "e3"), message("!help", "e4"), message("!ask", "e5")] {
            engine.warmUpQuestion(for: chatter)
        }
        XCTAssertEqual(embedder.questions, 2, "side chat and other commands are not embedded")

        let unprepared = message("!ask who are the allies?", "e6")
        try engine.handle(unprepared)
        XCTAssertEqual(embedder.questions, 3, "without the warm-up the turn embeds it itself")
    }
}
