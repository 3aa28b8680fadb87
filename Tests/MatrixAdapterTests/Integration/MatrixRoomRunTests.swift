import BotCore
import FabriqueTesting
import Foundation
import GRDB
import Synchronization
import XCTest

@testable import MatrixAdapter

/// Room runs over a real Synapse (issue 15): a facilitator and three members take the shipped `inventory`
/// (and `first-steps`) together in one room, the way people do — late replies, thread replies, reactions,
/// side chat, questions for the bot, comments, second thoughts — and every answer lands where its author
/// put it. Each scenario reads where the answers are stored (the bot's SQLite store, and the report that
/// `fabrique report … --format json` writes from it) and what each person sees (the bot's messages and
/// what they reply to). The rooms' bot and human events add up to the figure printed at the end.
final class MatrixRoomRunTests: MatrixIntegrationCase {
    override func setUp() async throws { try await setUp(ratelimited: false) }

    /// Bot messages and human events over every room of the suite (see ``count(_:)``).
    static let tally = Mutex((bot: 0, human: 0))

    override class func tearDown() {
        let (bot, human) = tally.withLock { $0 }
        if human > 0 {
            let ratio = String(format: "%.2f", Double(bot) / Double(human))
            print("room-run: \(bot) bot messages for \(human) human messages (ratio \(ratio))")
        }
        super.tearDown()
    }

    // MARK: Scenarios

    /// Question 1 stays addressable after the facilitator moved on: a rich reply, a thread reply and a
    /// reaction to its message answer question 1, not question 2; a second answer replaces its author's
    /// first (kept as history); a reaction that is no answer, and reactions generally, get no reply.
    func testLateAnswersLandOnTheQuestionTheyReplyTo() async throws {
        let w = try await open("Late answers", territory: "Vallée de la Drôme")
        let (_, q1) = try await turn(w, w.ana, "!start inventory")
        XCTAssertTrue(q1.body.contains("Question 1 of 20 · 0 answered") && q1.body.contains("Metabolism."), q1.body)
        XCTAssertTrue(q1.body.contains("Let's take stock of Vallée de la Drôme together."), "intro and question in one message: \(q1.body)")
        XCTAssertEqual(q1.msgtype, "m.notice")
        let anchor1 = try XCTUnwrap(q1.content["org.fabrique.anchor"]?.string, "a question carries its anchor")
        let seeded = try await w.ana.history(w.id).contains { $0["type"]?.string == "m.reaction" && $0["sender"]?.string == w.bot.userID }
        XCTAssertFalse(seeded, "no reactions seeded unless the room asks for them")

        let (_, bo1) = try await turn(w, w.bo, "3")
        XCTAssertEqual(bo1.body, "Noted, \(nick(w.bo)) (1 answer so far). Others can answer too; a facilitator says next to move on.")
        let (_, q2) = try await turn(w, w.ana, "next")
        XCTAssertTrue(q2.body.contains("Question 2 of 20 · 1 answered") && q2.body.contains("Intangible capital."), q2.body)
        XCTAssertNotEqual(q2.content["org.fabrique.anchor"]?.string, anchor1)

        // Late answers to question 1, after the facilitator said next: by rich reply, in its thread, by reaction.
        let (cyLate, cyAck) = try await turn(w, w.cy, "2", replyTo: q1.eventID)
        XCTAssertEqual(cyAck.body, "Noted for question 1, \(nick(w.cy)) (2 answers so far).")
        let (deeLate, deeAck) = try await turn(w, w.dee, "4", thread: q1.eventID)
        XCTAssertEqual(deeAck.body, "Noted for question 1, \(nick(w.dee)) (3 answers so far).")
        XCTAssertEqual(deeAck.thread, q1.eventID, "a thread reply is answered in the thread")
        let anaReaction = try await w.ana.react(w.id, to: q1.eventID, "2️⃣")
        try await assertQuiet(anaReaction, in: w, "a reaction answers without a word")
        let party = try await w.bo.react(w.id, to: q1.eventID, "🎉")
        try await assertQuiet(party, in: w, "a reaction that is no answer")
        // Ana changes her mind: she adds 3️⃣, then takes her 2️⃣ back.
        let anaThree = try await w.ana.react(w.id, to: q1.eventID, "3️⃣")
        try await assertQuiet(anaThree, in: w, "a second reaction")
        let unreact = try await w.ana.redact(w.id, anaReaction)
        try await assertQuiet(unreact, in: w, "a reaction taken back")
        XCTAssertEqual(try answerEvents(w, author: w.dee, step: "metabolism"), [deeLate], "the thread reply is dee's answer")
        // Dee takes her answer back; bo thinks again about question 1: his new answer replaces his first.
        let takeBack = try await w.dee.redact(w.id, deeLate)
        try await assertQuiet(takeBack, in: w, "a redaction")
        let (boAgain, boAck) = try await turn(w, w.bo, "4", replyTo: q1.eventID)
        XCTAssertEqual(boAck.body, "Noted for question 1, \(nick(w.bo)) (3 answers so far).", "bo, cy and ana: people, not messages")
        // The room is still on question 2, where cy answers as usual.
        let (_, cyQ2) = try await turn(w, w.cy, "3")
        XCTAssertEqual(cyQ2.body, "Noted, \(nick(w.cy)) (1 answer so far). Others can answer too; a facilitator says next to move on.")
        let (_, summary) = try await turn(w, w.bo, "summary")
        XCTAssertTrue(
            summary.body.contains("— 3 answers: 2 — Beginnings ×1, 3 — Under way ×1, 4 — Well established ×1 (mean 3)"),
            "the spread, not one person's value: \(summary.body)")

        XCTAssertEqual(
            try answers(w),
            [
                "bo metabolism=3 — Under way", "cy metabolism=2 — Beginnings", "ana metabolism=3 — Under way",
                "bo metabolism=4 — Well established",
                "cy intangible_capital=3 — Under way",
            ])
        XCTAssertEqual(try answerEvents(w, author: w.cy, step: "metabolism"), [cyLate])
        XCTAssertEqual(try answerEvents(w, author: w.dee, step: "metabolism"), [], "the redacted answer is gone")
        XCTAssertEqual(
            try answerEvents(w, author: w.ana, step: "metabolism"), [anaThree],
            "the reaction is the answer's event; the one taken back is gone")
        XCTAssertEqual(try answerEvents(w, author: w.bo, step: "metabolism").last, boAgain)

        let report = try await inventoryReport(w, territory: "Vallée de la Drôme")
        XCTAssertEqual(levels(report, question: 1), ["ana": 3, "bo": 4, "cy": 2], "each person's latest answer")
        XCTAssertEqual(question(report, 1)?["spread"]?["count"]?.int, 3)
        XCTAssertEqual(history(report, question: 1), ["bo 3"], "the replaced answer is history, not counted")
        XCTAssertEqual(levels(report, question: 2), ["cy": 3])
        try await count(w)
    }

    /// What is not an answer is not stored: side chat is left alone, questions for the bot get the
    /// knowledge base mid-run. A number with words after it is an answer with its comment; a reply to the
    /// question by someone who answered is their comment, which editing updates and redacting removes.
    /// A re-prompt names its person and counts that person's tries only.
    func testSideChatQuestionsForTheBotAndComments() async throws {
        let w = try await open("Side chat", territory: "Diois")
        let (_, q1) = try await turn(w, w.ana, "!start inventory")

        let chat = try await w.cy.say(w.id, "I'll send the figures tonight")
        try await assertQuiet(chat, in: w, "side chat")
        let chatEdit = try await w.cy.edit(w.id, chat, to: "3, and I'll send the figures tomorrow")
        try await assertQuiet(chatEdit, in: w, "an edit is never read as a new message")
        let (_, named) = try await turn(w, w.dee, "fabrique: what does Under way mean?")
        XCTAssertTrue(isKnowledgeAnswer(named.body), "a question for the bot, answered from the knowledge base: \(named.body)")
        let (_, mentioned) = try await turn(w, w.bo, "\(nick(w.bot)): what is a white pebble?", mentions: [w.bot.userID])
        XCTAssertTrue(isKnowledgeAnswer(mentioned.body), mentioned.body)

        // Re-prompts are per person and name them.
        let (_, boTry) = try await turn(w, w.bo, "lots", replyTo: q1.eventID)
        XCTAssertTrue(boTry.body.hasPrefix("\(nick(w.bo)): ") && !boTry.body.contains("last try"), boTry.body)
        XCTAssertEqual(boTry.content["m.mentions"]?["user_ids"]?.array, [], "named in plain text, not pinged")
        let (_, cyTry) = try await turn(w, w.cy, "hmm", replyTo: q1.eventID)
        XCTAssertTrue(cyTry.body.hasPrefix("\(nick(w.cy)): ") && !cyTry.body.contains("last try"), "bo's try is not cy's: \(cyTry.body)")
        let (_, boTryAgain) = try await turn(w, w.bo, "loads", replyTo: q1.eventID)
        XCTAssertTrue(boTryAgain.body.hasPrefix("\(nick(w.bo)): ") && boTryAgain.body.hasSuffix("(last try)"), boTryAgain.body)

        let (_, boAck) = try await turn(w, w.bo, "2 I think, it's patchy")
        XCTAssertEqual(boAck.body, "Noted, \(nick(w.bo)) (1 answer so far). Others can answer too; a facilitator says next to move on.")
        let (_, cyAck) = try await turn(w, w.cy, "3")
        XCTAssertEqual(cyAck.body, "Noted, \(nick(w.cy)) (2 answers so far).")
        let (comment, commentAck) = try await turn(w, w.cy, "the water committee measures it", replyTo: q1.eventID)
        XCTAssertEqual(commentAck.body, "Comment noted, \(nick(w.cy)).")
        XCTAssertEqual(try answers(w).last, "cy metabolism=3 — Under way / the water committee measures it")
        let edit = try await w.cy.edit(w.id, comment, to: "the water board measures it")
        try await assertQuiet(edit, in: w, "an edited comment is updated without a word")
        XCTAssertEqual(try answers(w).last, "cy metabolism=3 — Under way / the water board measures it")
        let redaction = try await w.cy.redact(w.id, comment)
        try await assertQuiet(redaction, in: w, "a redaction")
        XCTAssertEqual(try answers(w).last, "cy metabolism=3 — Under way", "the redacted comment is gone, the answer stays")

        let steer = try await w.dee.say(w.id, "next")
        try await assertQuiet(steer, in: w, "a member's next, not addressed, is chat")
        let (_, deeAck) = try await turn(w, w.dee, "4")
        XCTAssertEqual(deeAck.body, "Noted, \(nick(w.dee)) (3 answers so far).", "still question 1")
        let (_, boAgain) = try await turn(w, w.bo, "3")
        XCTAssertEqual(boAgain.body, "Updated, \(nick(w.bo)) (3 answers so far).")
        let (_, summary) = try await turn(w, w.dee, "summary")
        XCTAssertTrue(summary.body.contains("— 3 answers: 3 — Under way ×2, 4 — Well established ×1 (mean 3.3)"), summary.body)

        XCTAssertEqual(
            try answers(w),
            [
                "bo metabolism=2 — Beginnings / I think, it's patchy", "cy metabolism=3 — Under way", "dee metabolism=4 — Well established",
                "bo metabolism=3 — Under way",
            ])
        let report = try await inventoryReport(w, territory: "Diois")
        XCTAssertEqual(levels(report, question: 1), ["bo": 3, "cy": 3, "dee": 4])
        XCTAssertEqual(history(report, question: 1), ["bo 2 (I think, it's patchy)"])
        let comments = (question(report, 1)?["answers"]?.array ?? []).compactMap { $0["comment"]?.string }
        XCTAssertEqual(comments, [], "the redacted comment is not in the report")
        try await count(w)
    }

    /// Only facilitators steer (power level 50 makes one); `stop` pauses with the place and answers kept,
    /// `!start` offers to resume, and only `!stop end` from a facilitator ends the run, after which its
    /// questions refuse answers (by reply in words, by reaction in silence).
    func testOnlyFacilitatorsSteerAndStopPauses() async throws {
        let w = try await open("Steering", territory: "Royans")
        let (_, memberStart) = try await turn(w, w.bo, "!start inventory")
        XCTAssertEqual(memberStart.body, "Only a facilitator can start Territory inventory.")
        let (_, q1) = try await turn(w, w.ana, "!start inventory")
        let quietNext = try await w.bo.say(w.id, "next")
        try await assertQuiet(quietNext, in: w, "a member's next, not addressed, is chat")
        let (_, refused) = try await turn(w, w.bo, "fabrique: next")
        XCTAssertEqual(refused.body, "\(nick(w.bo)): only a facilitator can steer this dialogue; your answers are welcome, though.")
        let (_, stopRefused) = try await turn(w, w.bo, "!stop")
        XCTAssertEqual(stopRefused.body, "Only a facilitator can stop this dialogue.")
        let (_, boAck) = try await turn(w, w.bo, "3")
        XCTAssertTrue(boAck.body.hasPrefix("Noted, \(nick(w.bo)) (1 answer so far)."), "still question 1: \(boAck.body)")

        let (_, reactionsOn) = try await turn(w, w.ana, "!reactions on")
        XCTAssertEqual(reactionsOn.body, "Questions here now offer 1️⃣ 2️⃣ … to answer with a reaction.")
        let (_, q3) = try await turn(w, w.ana, "question 3")
        XCTAssertTrue(q3.body.contains("Question 3 of 20") && q3.body.contains("What a territory is."), q3.body)
        try await eventually("1️⃣ 2️⃣ 3️⃣ 4️⃣ under question 3", room: w.id, viewer: w.ana, bot: w.process) {
            try await self.botReactions(on: q3.eventID, in: w) == ["1️⃣", "2️⃣", "3️⃣", "4️⃣"]
        }
        let onQ1 = try await botReactions(on: q1.eventID, in: w)
        XCTAssertEqual(onQ1, [], "asked before the room turned reactions on")
        let (_, back) = try await turn(w, w.ana, "back")
        XCTAssertTrue(back.body.contains("Question 1 of 20"), back.body)
        // After the jump and back, bo answers question 1 again: his answer replaces his first, counted once.
        let (_, boAgain) = try await turn(w, w.bo, "4")
        XCTAssertEqual(boAgain.body, "Updated, \(nick(w.bo)) (1 answer so far).")
        let (_, discussed) = try await turn(w, w.ana, "discussed")
        XCTAssertTrue(discussed.body.hasPrefix("Marked as discussed.") && discussed.body.contains("Question 2 of 20"), discussed.body)
        // Dee becomes a facilitator (power level 50): now she steers.
        try await w.ana.setPowerLevel(50, for: w.dee.userID, in: w.id)
        let (_, deeSteers) = try await turn(w, w.dee, "next")
        XCTAssertTrue(deeSteers.body.contains("Question 3 of 20"), deeSteers.body)
        let (_, cyAck) = try await turn(w, w.cy, "2")
        XCTAssertTrue(cyAck.body.hasPrefix("Noted, \(nick(w.cy)) (1 answer so far)."), cyAck.body)

        let (_, paused) = try await turn(w, w.ana, "stop")
        XCTAssertEqual(paused.body, "Paused. Your answers are kept; say !resume to continue.")
        let whilePaused = try await w.bo.say(w.id, "4")
        try await assertQuiet(whilePaused, in: w, "nobody is asked while the run is paused")
        let (_, offer) = try await turn(w, w.ana, "!start inventory")
        XCTAssertTrue(offer.body.hasPrefix("Territory inventory is paused here, with its place and answers kept. Say !resume"), offer.body)
        let (_, notYours) = try await turn(w, w.cy, "!resume")
        XCTAssertEqual(notYours.body, "Only a facilitator can resume this dialogue.")
        let (_, resumed) = try await turn(w, w.ana, "!resume")
        XCTAssertTrue(
            resumed.body.hasPrefix("Welcome back to Territory inventory.") && resumed.body.contains("Question 3 of 20 · 2 answered"),
            resumed.body)
        let (_, endRefused) = try await turn(w, w.bo, "!stop end")
        XCTAssertTrue(endRefused.body.hasPrefix("Only a facilitator can"), endRefused.body)
        let (_, ended) = try await turn(w, w.ana, "!stop end")
        XCTAssertEqual(ended.body, "Stopped Territory inventory. The answers given so far are kept.")

        let (_, closed) = try await turn(w, w.cy, "1", replyTo: q1.eventID)
        XCTAssertEqual(closed.body, "That question belongs to a dialogue that is over, so your answer was not recorded.")
        let closedReaction = try await w.dee.react(w.id, to: q3.eventID, "1️⃣")
        try await assertQuiet(closedReaction, in: w, "a reaction on a closed run's question is refused in silence")

        XCTAssertEqual(
            try answers(w), ["bo metabolism=3 — Under way", "bo metabolism=4 — Well established", "cy territory_definition=2 — Beginnings"])
        let report = try await inventoryReport(w, territory: "Royans")
        XCTAssertEqual(question(report, 1)?["discussed"]?.bool, true)
        XCTAssertEqual(levels(report, question: 1), ["bo": 4])
        XCTAssertEqual(history(report, question: 1), ["bo 3"])
        XCTAssertEqual(question(report, 1)?["spread"]?["mean"]?.number, 4, "the replaced answer is not in the mean")
        XCTAssertEqual(levels(report, question: 3), ["cy": 2])
        XCTAssertEqual((report["questions"]?.array ?? []).filter { !($0["answers"]?.array ?? []).isEmpty }.count, 2)
        try await count(w)
    }

    /// A member's own `ally` run in the room: another member's 1️⃣ on its question is refused in silence
    /// (and a reply in words), not taken as an inventory answer; its owner's reaction answers it. The
    /// inventory was started before the room had a territory: `!territory set` later gives it every answer.
    func testAnotherPersonsQuestionAndATerritorySetLate() async throws {
        let w = try await open("Ally and territory", territory: nil)
        let (_, q1) = try await turn(w, w.ana, "!start inventory")
        XCTAssertTrue(
            q1.body.hasPrefix("Note: this room is not bound to a territory yet.") && q1.body.contains("Question 1 of 20"),
            "the warning and the question in one message: \(q1.body)")

        let (_, allyQuestion) = try await turn(w, w.cy, "!start ally")
        XCTAssertTrue(allyQuestion.body.contains("Which of these ideas would you most like to discuss"), allyQuestion.body)
        XCTAssertNotNil(allyQuestion.content["org.fabrique.anchor"]?.string)
        let boReaction = try await w.bo.react(w.id, to: allyQuestion.eventID, "1️⃣")
        try await assertQuiet(boReaction, in: w, "a reaction on someone else's question is refused in silence")
        let (_, notYours) = try await turn(w, w.bo, "1", replyTo: allyQuestion.eventID)
        XCTAssertEqual(notYours.body, "That question was asked to someone else, so your answer was not recorded.")
        XCTAssertEqual(try placedAnswers(w), [], "neither an ally answer nor an inventory answer for bo")

        let (_, boAck) = try await turn(w, w.bo, "3")
        XCTAssertTrue(boAck.body.hasPrefix("Noted, \(nick(w.bo)) (1 answer so far)."), "bo's 3 is his inventory answer: \(boAck.body)")
        // Cy answers her own question by reaction: her run moves on, with a message that replies to no reaction.
        let before = try await botMessages(w.id, bot: w.bot, viewer: w.ana).count
        let cyReaction = try await w.cy.react(w.id, to: allyQuestion.eventID, "2️⃣")
        let after = try await waitForBotMessages(atLeast: before + 1, in: w.id, bot: w.bot, viewer: w.ana, process: w.process)
        let discussedQuestion = try XCTUnwrap(after.last)
        XCTAssertTrue(discussedQuestion.body.contains("Have these ideas already been discussed"), discussedQuestion.body)
        XCTAssertNil(after.first { $0.replyTo == cyReaction }, "a reaction is never replied to as a message")
        let thumb = try await w.cy.react(w.id, to: discussedQuestion.eventID, "👍")
        try await eventually("cy's 👍 handled", room: w.id, viewer: w.ana, bot: w.process) { try self.handled(thumb, in: w) }
        XCTAssertEqual(try placedAnswers(w).last, "cy ally:discussed=yes @-", "👍 answers a yes/no question")
        let obstacles = try await waitForBotMessages(atLeast: after.count + 1, in: w.id, bot: w.bot, viewer: w.ana, process: w.process)
        XCTAssertNil(obstacles.last?.replyTo, "nor a 👍: \(obstacles.last?.body ?? "")")
        let (_, stopped) = try await turn(w, w.cy, "!stop")
        XCTAssertTrue(stopped.body.hasPrefix("Stopped Becoming an ally."), "cy's own run, not the room's: \(stopped.body)")
        let (_, cyAck) = try await turn(w, w.cy, "2")
        XCTAssertTrue(cyAck.body.hasPrefix("Noted, \(nick(w.cy)) (2 answers so far)."), cyAck.body)
        let (_, deeAck) = try await turn(w, w.dee, "4")
        XCTAssertTrue(deeAck.body.hasPrefix("Noted, \(nick(w.dee)) (3 answers so far)."), deeAck.body)
        let (_, discussed) = try await turn(w, w.ana, "discussed")
        XCTAssertTrue(discussed.body.hasPrefix("Marked as discussed."), discussed.body)

        let (_, bound) = try await turn(w, w.ana, "!territory set Trièves")
        XCTAssertEqual(bound.body, "This room now works for Trièves.")
        XCTAssertEqual(
            try placedAnswers(w),
            [
                "bo inventory:metabolism=3 — Under way @Trièves",
                "cy ally:thesis=The central role of territories in the transition @Trièves",
                "cy ally:discussed=yes @Trièves", "cy inventory:metabolism=2 — Beginnings @Trièves",
                "dee inventory:metabolism=4 — Well established @Trièves",
            ])
        let report = try await inventoryReport(w, territory: "Trièves")
        XCTAssertEqual(levels(report, question: 1), ["bo": 3, "cy": 2, "dee": 4], "the answers from before the territory was set")
        XCTAssertEqual(question(report, 1)?["discussed"]?.bool, true, "and the mark")
        try await count(w)
    }

    /// First steps in a room: everyone answers the collective questions, but the star and the pebble list
    /// are the facilitator's; the members' remarks there are conversation, their replies are told so, and
    /// a member's `done` does not close the list.
    func testFirstStepsDecisionsAreTheFacilitators() async throws {
        let w = try await open("First steps", territory: "Vercors")
        let (_, awareness) = try await turn(w, w.ana, "!start first-steps")
        XCTAssertTrue(awareness.body.contains("Question 1 of 4 · 0 answered"), awareness.body)
        _ = try await turn(w, w.bo, "2")
        _ = try await turn(w, w.cy, "3 the farmers talk about it")
        let (_, star) = try await turn(w, w.ana, "next")
        XCTAssertTrue(star.body.contains("The star."), star.body)
        let moon = try await w.bo.say(w.id, "Let's aim for the moon, with ice cream for everyone")
        try await assertQuiet(moon, in: w, "a member's remark on the star is conversation")
        let (_, notTheirs) = try await turn(w, w.bo, "A valley where everyone eats ice cream", replyTo: star.eventID)
        XCTAssertEqual(notTheirs.body, "\(nick(w.bo)): the facilitator gives the room's answer to this question.")
        let (_, allies) = try await turn(w, w.ana, "A valley that feeds itself and where young people want to stay")
        XCTAssertTrue(allies.body.contains("Question 3 of 4") && allies.body.contains("Allies."), allies.body)
        _ = try await turn(w, w.bo, "1, 2")
        _ = try await turn(w, w.dee, "3")
        let (_, pebbles) = try await turn(w, w.ana, "next")
        XCTAssertTrue(pebbles.body.contains("The white pebbles."), pebbles.body)
        for text in ["Ice cream for everyone; Bo; 2030-06-05", "done"] {
            let said = try await w.bo.say(w.id, text)
            try await assertQuiet(said, in: w, "the pebble list is the facilitator's: \(text)")
        }
        let (_, doneRefused) = try await turn(w, w.bo, "fabrique: done")
        XCTAssertEqual(doneRefused.body, "\(nick(w.bo)): only a facilitator can steer this dialogue; your answers are welcome, though.")
        let (_, added) = try await turn(w, w.ana, "Shared vegetable garden at the school; Marie; 2030-06-30")
        XCTAssertEqual(added.body, "Added (1). Another one, or done.")
        let (_, end) = try await turn(w, w.ana, "done")
        XCTAssertTrue(end.body.contains("The room's star is set.") && end.body.contains("Shared vegetable garden at the school"), end.body)
        XCTAssertFalse(end.body.contains("Ice cream") || end.body.contains("moon"), end.body)

        XCTAssertEqual(
            try answers(w),
            [
                "bo awareness=2 — Beginnings", "cy awareness=3 — Under way / the farmers talk about it",
                "ana star=A valley that feeds itself and where young people want to stay",
                "bo allies=Elected representatives, Local public services", "dee allies=Associations and citizens",
                "ana pebbles=Shared vegetable garden at the school; Marie; 2030-06-30",
            ])
        let report = try await runReport(["report", "pebbles", "--territory", "Vercors"], in: w)
        let stars = report["stars"]?.array ?? []
        XCTAssertEqual(stars.compactMap { $0["text"]?.string }, ["A valley that feeds itself and where young people want to stay"])
        XCTAssertEqual(stars.compactMap { $0["author"]?.string }, [nick(w.ana)])
        let pebbleList = (report["pebbles"]?.array ?? []).compactMap { $0["pebble"] }
        XCTAssertEqual(pebbleList.compactMap { $0["title"]?.string }, ["Shared vegetable garden at the school"])
        XCTAssertEqual(pebbleList.compactMap { $0["createdBy"]?.string }, [nick(w.ana)])
        try await count(w)
    }

    /// A SIGKILL between an anchored answer's commit and its reply loses nothing and doubles nothing; one
    /// before the commit neither. The bot is stopped, a late answer to question 1 is sent, and a bot started
    /// with `FABRIQUE_CRASH_AT=after-commit:EVENT` (or `before-commit:`) kills itself at that point of its
    /// turn; the bot started next must leave exactly one answer on question 1 and exactly one reply.
    /// Each person follows their own branch: bo's and dee's "yes" open a follow-up for each of them alone,
    /// named for them; bo's next message answers his, cy's number is side chat; the room keeps to its main
    /// line; once it moved on, dee answers hers by replying to it, and cy's reply to it is refused.
    func testFollowUpsArePerPerson() async throws {
        let survey = ["--dialogues", Repo.path("dialogues"), "--dialogues", Repo.path("Tests/Fixtures/dialogues-room")]
        let w = try await open("Follow-ups", territory: "Diois", extra: survey)
        let (_, signed) = try await turn(w, w.ana, "!start survey")
        XCTAssertTrue(signed.body.contains("Has your organisation signed the Charter?"), signed.body)
        let (_, boYes) = try await turn(w, w.bo, "yes")
        XCTAssertTrue(boYes.body.contains("Thank you for signing."), boYes.body)
        XCTAssertTrue(boYes.body.contains("\(nick(w.bo)), a question for you:\nIn which year did it sign?"), boYes.body)
        XCTAssertNotNil(boYes.content["org.fabrique.anchor"]?.string, "the follow-up can be replied to")
        let (_, cyNo) = try await turn(w, w.cy, "no")
        XCTAssertEqual(cyNo.body, "Noted, \(nick(w.cy)) (2 answers so far).")
        let cySide = try await w.cy.say(w.id, "2019")
        try await assertQuiet(cySide, in: w, "a number from someone with no follow-up")
        let (_, boYear) = try await turn(w, w.bo, "2019")
        XCTAssertEqual(boYear.body, "Noted, \(nick(w.bo)).")
        let (_, deeYes) = try await turn(w, w.dee, "yes")
        XCTAssertTrue(deeYes.body.contains("\(nick(w.dee)), a question for you:"), deeYes.body)
        let (_, hopes) = try await turn(w, w.ana, "next")
        XCTAssertTrue(hopes.body.contains("What do you hope from the network?"), "the room's main line: \(hopes.body)")
        let (_, refused) = try await turn(w, w.cy, "2021", replyTo: deeYes.eventID)
        XCTAssertEqual(refused.body, "\(nick(w.cy)): that follow-up question was for someone else, so your answer was not recorded.")
        let (_, deeYear) = try await turn(w, w.dee, "2021", replyTo: deeYes.eventID)
        XCTAssertEqual(deeYear.body, "Noted, \(nick(w.dee)).")
        XCTAssertEqual(
            try answers(w), ["bo signed=yes", "cy signed=no", "bo year=2019", "dee signed=yes", "dee year=2021"],
            "each answer under its author and question")
        try await count(w)
    }

    func testAKillAroundAnAnchoredAnswersCommitLosesNothingAndDoublesNothing() async throws {
        let w = try await open("Crash", territory: "Bauges")
        let (_, q1) = try await turn(w, w.ana, "!start inventory")
        _ = try await turn(w, w.bo, "3")
        _ = try await turn(w, w.ana, "next")

        /// Sends `say`'s event while the bot is down, then runs a bot that kills itself at `point` of its turn.
        func crash(at point: String, _ say: () async throws -> String) async throws -> String {
            for bot in bots { await bot.stop() }
            let event = try await say()
            let crashing = try makeBot(w.bot, environment: ["FABRIQUE_CRASH_AT": "\(point):\(event)"])
            try crashing.start()
            let status = await crashing.waitForExit(timeout: 60)
            XCTAssertEqual(status, SIGKILL, "the bot killed itself \(point)")
            return event
        }
        func restart() throws { try makeBot(w.bot).start() }

        let late = try await crash(at: "after-commit") { try await w.cy.say(w.id, "2 we meet now and then", replyTo: q1.eventID) }
        XCTAssertEqual(try answerEvents(w, author: w.cy, step: "metabolism"), [late], "committed before the kill")
        let unsent = try await w.store.writer.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM outbox WHERE cause_event_id = ? AND delivered_at IS NULL", arguments: [late])
        }
        XCTAssertEqual(unsent, 1, "its reply committed, not sent")
        try restart()
        let lateReply = try await waitForReply(to: late, in: w.id, bot: w.bot, viewer: w.ana, process: bots.last)
        XCTAssertEqual(lateReply.body, "Noted for question 1, \(nick(w.cy)) (2 answers so far).")

        let thread = try await crash(at: "before-commit") { try await w.dee.say(w.id, "4", thread: q1.eventID) }
        XCTAssertFalse(try handled(thread, in: w), "nothing of it committed")
        XCTAssertEqual(try answerEvents(w, author: w.dee, step: "metabolism"), [])
        try restart()
        let threadReply = try await waitForReply(to: thread, in: w.id, bot: w.bot, viewer: w.ana, process: bots.last)
        XCTAssertEqual(threadReply.body, "Noted for question 1, \(nick(w.dee)) (3 answers so far).")

        let reaction = try await crash(at: "after-commit") { try await w.ana.react(w.id, to: q1.eventID, "2️⃣") }
        try restart()
        // A marker turn after the reaction: once it is answered, the restarted bot has done all it would.
        let (_, marker) = try await turn(w, w.bo, "summary")
        XCTAssertTrue(marker.body.contains("— 4 answers:"), marker.body)
        try await Task.sleep(for: .seconds(2))  // a straggling duplicate would land now

        for event in [late, thread] { try await assertOneMessage(for: event, in: w) }
        XCTAssertEqual(try queued(for: reaction, in: w), 0, "a reaction gets no reply, before or after a crash")
        XCTAssertEqual(
            try answers(w),
            [
                "bo metabolism=3 — Under way", "cy metabolism=2 — Beginnings / we meet now and then", "dee metabolism=4 — Well established",
                "ana metabolism=2 — Beginnings",
            ], "one answer each, on question 1")
        for (who, event) in [(w.cy, late), (w.dee, thread), (w.ana, reaction)] {
            XCTAssertEqual(try answerEvents(w, author: who, step: "metabolism"), [event])
        }
        let pending = try await w.store.writer.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL")
        }
        XCTAssertEqual(pending, 0)
    }

    // MARK: The room and its people

    /// One scenario's room: ana created it (so she facilitates), bo, cy and dee are members, the bot joined.
    struct Workshop {
        let id: String
        let ana, bo, cy, dee, bot: TestUser
        let process: FabriqueProcess
        let store: StateStore
        let database: String
        /// Short names ("bo") by user id, for reading stored answers.
        let names: [String: String]
    }

    /// Opens a room with its four people and a bot; with a territory, ana binds the room to it first.
    func open(_ title: String, territory: String?, extra: [String] = []) async throws -> Workshop {
        let ana = try await person("ana"), bo = try await person("bo"), cy = try await person("cy"), dee = try await person("dee")
        let botUser = try await person("fab")
        let room = try await ana.createRoom(name: "\(title) \(tag)", invite: [bo.userID, cy.userID, dee.userID, botUser.userID])
        for member in [bo, cy, dee] { try await member.join(room) }
        let bot = try makeBot(botUser, extra: extra)
        try bot.start()
        try await waitForJoin(botUser, room, viewer: ana, process: bot)
        let database = workDirectory.appendingPathComponent("bot.sqlite").path
        let workshop = Workshop(
            id: room, ana: ana, bo: bo, cy: cy, dee: dee, bot: botUser, process: bot, store: try StateStore(path: database),
            database: database,
            names: Dictionary(uniqueKeysWithValues: [("ana", ana), ("bo", bo), ("cy", cy), ("dee", dee)].map { ($1.userID, $0) }))
        if let territory {
            let (_, bound) = try await turn(workshop, ana, "!territory set \(territory)")
            XCTAssertEqual(bound.body, "This room now works for \(territory).")
        }
        return workshop
    }

    /// The name the bot calls a person by (their display name: Synapse's default is the localpart).
    func nick(_ user: TestUser) -> String {
        String(user.userID.dropFirst().prefix { $0 != ":" })
    }

    /// `who` says `text`; returns the event and the bot's one message replying to it.
    func turn(
        _ w: Workshop, _ who: TestUser, _ text: String, replyTo: String? = nil, thread: String? = nil, mentions: [String] = [],
        file: StaticString = #filePath, line: UInt = #line
    ) async throws -> (event: String, reply: BotMessage) {
        let event = try await who.say(w.id, text, thread: thread, replyTo: replyTo, mentions: mentions)
        let reply = try await waitForReply(to: event, in: w.id, bot: w.bot, viewer: w.ana, process: w.process, file: file, line: line)
        try await assertOneMessage(for: event, in: w, file: file, line: line)
        return (event, reply)
    }

    /// Whether the bot has handled `event`: its turn committed, whatever it decided.
    func handled(_ event: String, in w: Workshop) throws -> Bool {
        try w.store.writer.read { db in
            try Bool.fetchOne(db, sql: "SELECT 1 FROM processed_event WHERE event_id = ?", arguments: [event]) ?? false
        }
    }

    /// How many messages the bot queued for `event` (its turn and its replies are one transaction).
    func queued(for event: String, in w: Workshop) throws -> Int {
        try w.store.writer.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM outbox WHERE cause_event_id = ?", arguments: [event]) ?? 0
        }
    }

    /// The bot handled `event` and said nothing about it.
    func assertQuiet(_ event: String, in w: Workshop, _ what: String, file: StaticString = #filePath, line: UInt = #line) async throws {
        try await eventually("\(what) handled", room: w.id, viewer: w.ana, bot: w.process, file: file, line: line) {
            try self.handled(event, in: w)
        }
        XCTAssertEqual(try queued(for: event, in: w), 0, "\(what): the bot queued a reply", file: file, line: line)
        let replies = try await botMessages(w.id, bot: w.bot, viewer: w.ana).filter { $0.replyTo == event }
        XCTAssertEqual(replies.map(\.body), [], "\(what): the bot replied", file: file, line: line)
    }

    /// One turn, one message: the bot queued exactly one message for `event`, and the room shows one reply to it.
    func assertOneMessage(for event: String, in w: Workshop, file: StaticString = #filePath, line: UInt = #line) async throws {
        XCTAssertEqual(try queued(for: event, in: w), 1, "one message per turn", file: file, line: line)
        let replies = try await botMessages(w.id, bot: w.bot, viewer: w.ana).filter { $0.replyTo == event }
        XCTAssertEqual(replies.count, 1, replies.map(\.body).joined(separator: "\n---\n"), file: file, line: line)
    }

    /// The keys the bot itself reacted with on `event`, in order.
    func botReactions(on event: String, in w: Workshop) async throws -> [String] {
        try await w.ana.history(w.id).filter {
            $0["type"]?.string == "m.reaction" && $0["sender"]?.string == w.bot.userID
                && $0["content"]?["m.relates_to"]?["event_id"]?.string == event
        }.compactMap { $0["content"]?["m.relates_to"]?["key"]?.string }
    }

    func isKnowledgeAnswer(_ body: String) -> Bool {
        body.contains("Source: ") || body.hasPrefix("I don't know the answer to that from")
    }

    // MARK: Where the answers are

    /// The room's stored answers, oldest first: `bo metabolism=3 — Under way / a comment`.
    func answers(_ w: Workshop) throws -> [String] {
        try storedAnswers(w).map { "\($0.who) \($0.step)=\($0.display)" + ($0.comment.map { " / \($0)" } ?? "") }
    }

    /// The room's stored answers with their dialogue and territory: `bo inventory:metabolism=3 — Under way @Diois`.
    func placedAnswers(_ w: Workshop) throws -> [String] {
        try storedAnswers(w).map { "\($0.who) \($0.dialogue):\($0.step)=\($0.display) @\($0.territory ?? "-")" }
    }

    func storedAnswers(
        _ w: Workshop
    ) throws -> [(who: String, dialogue: String, step: String, display: String, comment: String?, territory: String?)] {
        let rows = try w.store.writer.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT dialogue_id, author_id, step_id, display, comment, (SELECT name FROM territory WHERE id = answer.territory) AS territory
                    FROM answer WHERE room_id = ? ORDER BY id
                    """,
                arguments: [w.id])
        }
        return rows.map { row in
            (
                w.names[row["author_id"] as String] ?? row["author_id"], row["dialogue_id"], row["step_id"], row["display"], row["comment"],
                row["territory"]
            )
        }
    }

    /// The events that carried `author`'s answers to `step`, oldest first.
    func answerEvents(_ w: Workshop, author: TestUser, step: String) throws -> [String] {
        try w.store.writer.read { db in
            try String.fetchAll(
                db, sql: "SELECT event_id FROM answer WHERE room_id = ? AND author_id = ? AND step_id = ? ORDER BY id",
                arguments: [w.id, author.userID, step])
        }
    }

    /// `fabrique ARGUMENTS --format json --db DB`, run as facilitators do, read back as JSON.
    func runReport(_ arguments: [String], in w: Workshop, file: StaticString = #filePath, line: UInt = #line) async throws -> JSON {
        let run = try FabriqueProcess.launch(arguments + ["--format", "json", "--db", w.database])
        _ = await run.waitForExit(timeout: 60)
        let status = run.finish()
        XCTAssertEqual(status, 0, run.errorOutput, file: file, line: line)
        return try XCTUnwrap(JSON.parse(run.output), "not JSON: \(run.output)", file: file, line: line)
    }

    func inventoryReport(_ w: Workshop, territory: String) async throws -> JSON {
        let report = try await runReport(["report", "inventory", "--territory", territory], in: w)
        XCTAssertEqual(report["territory"]?.string, territory)
        return report
    }

    /// Question `number` (1-based) of an inventory report.
    func question(_ report: JSON, _ number: Int) -> JSON? {
        (report["questions"]?.array ?? []).first { $0["number"]?.int == number }
    }

    /// Question `number`'s counted answers in a report: short name → level.
    func levels(_ report: JSON, question number: Int) -> [String: Int] {
        let asked = question(report, number)
        var levels: [String: Int] = [:]
        for answer in asked?["answers"]?.array ?? [] {
            levels[String((answer["author"]?.string ?? "?").prefix { $0 != "-" })] = answer["value"]?.int
        }
        return levels
    }

    /// Question `number`'s replaced answers in a report: `bo 3 (comment)`.
    func history(_ report: JSON, question number: Int) -> [String] {
        return (question(report, number)?["history"]?.array ?? []).map { answer in
            let who = String((answer["author"]?.string ?? "?").prefix { $0 != "-" })
            return "\(who) \(answer["value"]?.int.map(String.init) ?? "?")" + (answer["comment"]?.string.map { " (\($0))" } ?? "")
        }
    }

    // MARK: How much the bot says

    /// Adds the room's bot messages (not the reactions it seeds under questions) and the human events the
    /// bot could see (after its join: messages, edits, reactions, redactions) to the suite's tally, and
    /// prints the room's own figure.
    func count(_ w: Workshop) async throws {
        let events = try await w.ana.history(w.id)
        guard
            let joined = events.firstIndex(where: {
                $0["type"]?.string == "m.room.member" && $0["state_key"]?.string == w.bot.userID
                    && $0["content"]?["membership"]?.string == "join"
            })
        else { return XCTFail("the bot's join is not in the room's history") }
        var bot = 0, seeded = 0, human = 0
        for event in events[(joined + 1)...] {
            let type = event["type"]?.string ?? ""
            if event["sender"]?.string == w.bot.userID {
                if type == "m.room.message" { bot += 1 }
                if type == "m.reaction" { seeded += 1 }
            } else if ["m.room.message", "m.reaction", "m.room.redaction"].contains(type) {
                human += 1
            }
        }
        XCTAssertLessThanOrEqual(bot, human, "never more than one message per human event")
        print("room-run \(self.name): \(bot) bot messages (and \(seeded) seeded reactions) for \(human) human messages")
        Self.tally.withLock {
            $0.bot += bot; $0.human += human
        }
    }
}
