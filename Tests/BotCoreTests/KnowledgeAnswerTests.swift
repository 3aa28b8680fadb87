@testable import BotCore
import FabriqueTesting
import Foundation
import KnowledgeBase
import XCTest

/// What a confident answer shows: the passage whole, only the question's meaningful words in bold, and a
/// source a reader can follow (title, section, the document's address when it has one).
final class KnowledgeAnswerTests: XCTestCase {
    private var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("answers-" + UUID().uuidString)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try """
        ---
        title: Seasons of a garden
        language: en
        url: https://example.org/garden
        ---

        # Seasons of a garden

        ## How long a hedge takes to grow

        A hedge takes years to grow thick. Planting it is the work of one winter; waiting for it is the work of five \
        summers, and the gardener who planted it rarely sees it at its best.

        ## Watering

        Water the young plants in the evening, when the soil is cool and the water does not evaporate at once.
        """.write(to: folder.appendingPathComponent("garden.md"), atomically: true, encoding: .utf8)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    private func engine() throws -> Engine {
        let store = try StateStore(path: nil)
        let knowledge = try KnowledgeIndex(writer: store.writer)
        // Beside the starter knowledge base, so that scores are on the scale the thresholds were calibrated on.
        _ = try knowledge.importPaths([folder.path, Repo.root.appendingPathComponent("knowledge").path])
        return try TestBench.makeEngine(store: store, catalog: DialogueCatalog([]), knowledge: knowledge)
    }

    private func ask(_ engine: Engine, _ text: String, id: String) throws -> [OutgoingMessage] {
        try engine.handle(
            .message(IncomingMessage(roomID: "dm-a", senderID: "a", text: text, eventID: id, timestamp: Date(), roomKind: .direct)))
    }

    func testAConfidentAnswerIsThePassageWholeWithItsSourceAndAddress() throws {
        let replies = try ask(try engine(), "!ask how long does a hedge take to grow?", id: "q1")
        let answer = try XCTUnwrap(replies.first).markdown
        XCTAssertTrue(answer.contains("rarely sees it at its best."), "the passage is shown to its end: \(answer)")
        XCTAssertFalse(answer.contains("…"), answer)
        XCTAssertTrue(
            answer.contains("Source: Seasons of a garden › How long a hedge takes to grow, https://example.org/garden"), answer)
    }

    func testOnlyTheQuestionsMeaningfulWordsAreHighlighted() throws {
        let answer = try XCTUnwrap(try ask(try engine(), "!ask how long does a hedge take to grow?", id: "q1").first).markdown
        let body = try XCTUnwrap(answer.components(separatedBy: "\n").first)
        XCTAssertTrue(body.contains("**hedge**"), body)
        XCTAssertTrue(body.contains("**grow**"), body)
        for phrasing in ["**takes**", "**long**", "**does**", "**how**", "**A**", "**to**"] {
            XCTAssertFalse(body.contains(phrasing), "\(phrasing) only phrases the question: \(body)")
        }
    }
}
