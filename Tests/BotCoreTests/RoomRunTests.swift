@testable import BotCore
import FabriqueTesting
import GRDB
import XCTest

/// A room run through the engine: question messages carry anchors, and a reply or a reaction answers the
/// question it points at, whatever the run's position; what is not for the run is left alone, or answered
/// from the knowledge base when it was addressed. Every turn is one transaction (the bench checks).
final class RoomRunTests: XCTestCase {
    /// The workshop fixture started by alice; bob, carol and dave are members.
    func started() throws -> (TestBench, question: OutgoingMessage) {
        var bench = try TestBench()
        let replies = try bench.handle(.message(bench.message("!start workshop")))
        XCTAssertEqual(replies.count, 1, "one message per turn in a group room")
        let question = try XCTUnwrap(replies.last)
        XCTAssertNotNil(question.anchor, "a question carries its anchor")
        XCTAssertTrue(question.plain.contains("Welcome to the Drôme workshop.") && question.plain.contains("Which fields matter most?"))
        return (bench, question)
    }

    func answers(_ bench: TestBench) throws -> [String] {
        try bench.store.writer.read { db in
            try String.fetchAll(
                db, sql: "SELECT author_id || ':' || step_id || '=' || display || COALESCE(' / ' || comment, '') FROM answer ORDER BY id")
        }
    }

    func reply(
        _ bench: inout TestBench, _ text: String, from user: String, to question: OutgoingMessage, facilitator: Bool = false
    ) throws -> [String] {
        var message = bench.message(text, from: user, facilitator: facilitator)
        message.anchor = question.anchor
        message.repliesToBot = true
        return try bench.handle(.message(message)).map(\.plain)
    }

    func react(_ bench: inout TestBench, _ key: String, from user: String, on question: OutgoingMessage) throws -> [OutgoingMessage] {
        var reaction = bench.message(key, from: user, facilitator: false)
        reaction.anchor = question.anchor
        return try bench.handle(.reaction(reaction))
    }

    func testALateReplyAnswersItsOwnQuestionNotTheCurrentOne() throws {
        var (bench, _) = try started()
        let rating = try XCTUnwrap(try bench.handle(.message(bench.message("1, 2"))).last)
        try bench.say("2", from: "carol", facilitator: false)
        let next = try bench.say("next")
        XCTAssertTrue(next.joined().contains("How many people could join?"))
        // bob replies to the rating question after the room moved on: it is a rating, not a head count.
        let late = try reply(&bench, "3", from: "bob", to: rating)
        XCTAssertEqual(late, ["Noted for question 2, Bob (2 answers so far)."])
        XCTAssertEqual(try answers(bench), ["alice:priorities=Mobility, Food", "carol:rating=2 — Beginnings", "bob:rating=3 — Under way"])
        // A reply by someone who answered, that is no answer: their comment.
        _ = try reply(&bench, "we meet every month", from: "bob", to: rating)
        XCTAssertEqual(try answers(bench).last, "bob:rating=3 — Under way / we meet every month")
    }

    func testAReactionAnswersSilentlyAndNeverAsAMessage() throws {
        var (bench, _) = try started()
        let rating = try XCTUnwrap(try bench.handle(.message(bench.message("1"))).last)
        XCTAssertEqual(try react(&bench, "3️⃣", from: "bob", on: rating), [], "the reaction shows it was taken")
        XCTAssertEqual(try react(&bench, "🎉", from: "carol", on: rating), [], "not an answer: nothing")
        XCTAssertEqual(
            try react(&bench, "4️⃣", from: "dave", on: OutgoingMessage(id: "x", roomID: "room-1", markdown: "hi")), [],
            "a reaction on a message that asks nothing: nothing")
        XCTAssertEqual(try answers(bench), ["alice:priorities=Mobility", "bob:rating=3 — Under way"])
    }

    func testAReactionOnOnesOwnQuestionMovesOnWithoutQuotingTheReaction() throws {
        var bench = try TestBench()
        let question = try XCTUnwrap(try bench.handle(.message(bench.message("!start demo", from: "eve", facilitator: false))).last)
        let replies = try react(&bench, "1️⃣", from: "eve", on: question)
        XCTAssertEqual(replies.count, 1)
        XCTAssertNil(replies.first?.replyToEventID, "a reaction is never replied to as if it were a message")
        XCTAssertTrue(replies.first?.plain.contains("transition approach") == true, "\(replies)")
        XCTAssertEqual(try answers(bench), ["eve:role=I am an elected representative"])
    }

    func testAnAnchorFromAnotherRunOrPersonIsRefused() throws {
        var (bench, first) = try started()
        try bench.say("1")
        try bench.say("!stop end")
        XCTAssertTrue(try reply(&bench, "2", from: "bob", to: first, facilitator: true).joined().contains("dialogue that is over"))
        // A person's own dialogue in the room: another member's reply to its question is not theirs to answer.
        let demo = try XCTUnwrap(try bench.handle(.message(bench.message("!start demo", from: "eve", facilitator: false))).last)
        XCTAssertNotNil(demo.anchor)
        XCTAssertTrue(try reply(&bench, "1", from: "bob", to: demo).joined().contains("asked to someone else"))
        XCTAssertEqual(try react(&bench, "1️⃣", from: "bob", on: demo), [], "and a reaction is refused silently")
        XCTAssertEqual(try answers(bench), ["alice:priorities=Mobility"])
    }

    func testAddressedQuestionsMidRunAreNotAnswersAndSideChatIsSilent() throws {
        var (bench, _) = try started()
        try bench.say("1")
        XCTAssertEqual(try bench.say("I'll send the figures tonight", from: "carol", facilitator: false), [])
        let asked = try bench.say("fabrique: what does Under way mean?", from: "dave", facilitator: false)
        XCTAssertEqual(
            asked, ["No knowledge base is loaded, so I cannot answer questions."], "asked of the knowledge base, not read as an answer")
        XCTAssertEqual(try answers(bench), ["alice:priorities=Mobility"])
    }

    func testStopPausesTheRoomAndOnlyAFacilitatorEndsIt() throws {
        var (bench, _) = try started()
        try bench.say("1")
        XCTAssertTrue(try bench.say("!stop").joined().contains("Paused"))
        XCTAssertTrue(try bench.say("!start workshop").joined().contains("is paused here"), "starting again would lose the place")
        XCTAssertTrue(try bench.say("!stop end", from: "bob", facilitator: false).joined().contains("Only a facilitator"))
        XCTAssertTrue(try bench.say("!resume").joined().contains("How do we cooperate today?"), "the place is kept")
        XCTAssertTrue(try bench.say("!stop end").joined().contains("Stopped Workshop"))
    }

    func testAnswersGivenBeforeTheTerritoryWasSetCountForIt() throws {
        var bench = try TestBench()
        let start = try bench.say("!start workshop", in: "room-9").joined()
        XCTAssertFalse(start.contains("not bound"), "the bench's rooms default to Drôme")
        try bench.say("1", in: "room-9")
        try bench.store.writer.write { try $0.execute(sql: "UPDATE answer SET territory = NULL") }
        try bench.say("!territory set Diois", in: "room-9")
        let territories = try bench.store.writer.read {
            try String.fetchAll($0, sql: "SELECT t.name FROM answer a JOIN territory t ON t.id = a.territory")
        }
        XCTAssertEqual(territories, ["Diois"])
    }

    func testReactionsAreOfferedOnlyWhereTheRoomAskedForThem() throws {
        var (bench, question) = try started()
        XCTAssertFalse(question.offersReactions, "quiet by default")
        try bench.say("!reactions on")
        try bench.say("!stop end")
        let again = try XCTUnwrap(try bench.handle(.message(bench.message("!start workshop"))).last)
        XCTAssertTrue(again.offersReactions)
        XCTAssertEqual(again.choices.count, 3)
    }

    /// A new run's answers never replace an earlier run's: the history of a room's runs is kept.
    func testANewRunKeepsTheEarlierRunsAnswers() throws {
        var (bench, _) = try started()
        try bench.say("1")
        try bench.say("!stop end")
        try bench.say("!start workshop")
        try bench.say("2")
        let rows = try bench.store.writer.read { try String.fetchAll($0, sql: "SELECT run || ':' || display FROM answer ORDER BY id") }
        XCTAssertEqual(rows, ["1:Mobility", "2:Food"])
    }

    func testReactionKeysReadAsAnswers() {
        XCTAssertEqual(Turn.reactionAnswer("1️⃣"), "1")
        XCTAssertEqual(Turn.reactionAnswer("4\u{20E3}"), "4")
        XCTAssertEqual(Turn.reactionAnswer("🔟"), "10")
        XCTAssertEqual(Turn.reactionAnswer("👍"), "yes")
        XCTAssertEqual(Turn.reactionAnswer("👎🏽"), "no")
        XCTAssertNil(Turn.reactionAnswer("🎉"))
        XCTAssertNil(Turn.reactionAnswer("12"))
    }

    func testAnchorsReadBackAndRefuseForgeries() {
        let anchor = QuestionAnchor(key: .person("!r:x", "@a:b:c"), run: 3, step: "q:1")
        XCTAssertEqual(QuestionAnchor(rawValue: anchor.rawValue), anchor)
        XCTAssertEqual(QuestionAnchor(rawValue: QuestionAnchor(key: .room("r"), run: 1, step: "s").rawValue)?.key, .room("r"))
        for forged in ["", "q1:", "q1:x:1:s:room:1:r", "q1:1:9:s:room:1:r", "q1:1:1:s:room:5:r", "q2:1:1:s:room:1:r", "q1:1:1:s:nope:1:r"] {
            XCTAssertNil(QuestionAnchor(rawValue: forged), forged)
        }
    }
}
