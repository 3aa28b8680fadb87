@testable import BotCore
import FabriqueTesting
import Foundation
import KnowledgeBase
import XCTest

/// The knowledge base from inside a dialogue: "learn more" on a step runs its query and keeps the step.
final class KnowledgeInChatTests: XCTestCase {
    func testLearnMoreRunsTheStepsQueryAndTheQuestionStaysOpen() throws {
        var loader = DialogueLoader()
        let script = try XCTUnwrap(
            loader.loadDialogue(
                yaml: """
                    id: vision
                    title: {en: Vision, fr: Vision}
                    steps:
                      - id: star
                        ask: text
                        question: {en: "What is your star?", fr: "Quelle est votre étoile ?"}
                        learn_more: "the star, a shared vision"
                    """, file: "vision.yaml"))
        let store = try StateStore(path: nil)
        let knowledge = try KnowledgeIndex(writer: store.writer)
        _ = try knowledge.importPaths([Repo.root.appendingPathComponent("knowledge").path])
        let engine = try TestBench.makeEngine(store: store, catalog: DialogueCatalog([script]), knowledge: knowledge)
        var n = 0
        func say(_ text: String) throws -> String {
            n += 1
            return try engine.handle(
                .message(IncomingMessage(roomID: "dm-a", senderID: "a", text: text, eventID: "k\(n)", timestamp: Date(), roomKind: .direct))
            )
            .map(\.plain).joined(separator: "\n")
        }
        XCTAssertTrue(try say("!start vision").contains("say learn more"))
        let more = try say("learn more")
        XCTAssertTrue(more.contains("Scenario 3"), more)
        XCTAssertTrue(more.lowercased().contains("star"), more)
        XCTAssertTrue(try say("A valley that feeds itself").contains("Summary"), "the question was still waiting")
    }
}
