import BotCore
import FabriqueTesting
import Foundation
import GRDB
import XCTest

@testable import MatrixAdapter

/// `!send` over a real Synapse (issue 19): the adapter lists the room's joined members, the bot starts a run
/// of the dialogue for each of them but itself and the facilitator, each question pings its person, and the
/// store keeps each person's answers under their own run.
extension MatrixRoomRunTests {
    func testSendGivesEachMemberARunOfTheirOwn() async throws {
        let w = try await open("Send", territory: "Diois")
        let before = try await botMessages(w.id, bot: w.bot, viewer: w.ana).count
        // One command, four messages: the note to the facilitator, then each person's first question.
        let send = try await w.ana.say(w.id, "!send demo --remind off")
        let members = [w.bo, w.cy, w.dee].sorted { $0.userID < $1.userID }
        let all = try await waitForBotMessages(atLeast: before + 4, in: w.id, bot: w.bot, viewer: w.ana, process: w.process)
        XCTAssertEqual(all.count, before + 4, "no more than the note and one message per person")
        let note = all[before]
        XCTAssertEqual(note.replyTo, send)
        XCTAssertTrue(
            note.body.hasPrefix("I sent Fabrique tour to \(members.map(nick).joined(separator: ", ")): each answers here"), note.body)
        XCTAssertFalse(note.body.contains(nick(w.bot)), "the bot is no member it sends to")
        let questions = all.suffix(3)
        for (message, person) in zip(questions, members) {
            XCTAssertEqual(message.content["m.mentions"]?["user_ids"]?.array, [.string(person.userID)], message.body)
            XCTAssertTrue(message.body.hasPrefix("\(nick(person)), Fabrique tour is for you"), message.body)
            XCTAssertTrue(message.body.contains("What brings you here?"), message.body)
            XCTAssertNotNil(message.content["org.fabrique.anchor"]?.string, "each question is anchored to its person's run")
        }

        // Each answers in the room, in their own run: bo and cy differently, dee not yet.
        let (_, boNext) = try await turn(w, w.bo, "1")
        XCTAssertTrue(boNext.body.contains("Has your territory already started a transition approach?"), boNext.body)
        let (_, cyNext) = try await turn(w, w.cy, "3")
        XCTAssertTrue(cyNext.body.contains("Has your territory already started a transition approach?"), cyNext.body)
        let (_, boAfter) = try await turn(w, w.bo, "no")
        XCTAssertTrue(boAfter.body.contains("what would you like your territory to become?"), boAfter.body)

        let stored = try await w.store.writer.read { db in
            try Row.fetchAll(db, sql: "SELECT author_id, session_key, variable, display FROM answer ORDER BY id").map {
                "\(w.names[$0["author_id"] as String] ?? "?") \($0["variable"] as String)=\($0["display"] as String)"
                    + (($0["session_key"] as String) == SessionKey.person(w.id, $0["author_id"]).rawValue ? "" : " (not their run)")
            }
        }
        XCTAssertEqual(
            stored, ["bo role=I am an elected representative", "cy role=I am an engaged citizen", "bo ready=no"],
            "each person's answers, under their own run")
        let (_, status) = try await turn(w, w.ana, "!send status")
        XCTAssertTrue(status.body.contains("to 3: 0 finished."), status.body)
        XCTAssertTrue(status.body.contains("Not yet: \(members.map(nick).joined(separator: ", "))"), status.body)
    }
}
