import BotCore
import FabriqueTesting
import Foundation
import GRDB
import XCTest

@testable import MatrixAdapter

extension MatrixEncryptionTests {
    /// `!send` in an encrypted room, with people on matrix-nio (`send` in `Tests/Peers/e2e_peer.py`): the
    /// script checks that each member is pinged with their own first question and that their answer moves
    /// their own run; this test checks that the store keeps each person's answer under their own run.
    func testSendInAnEncryptedRoomGivesEachMemberTheirOwnRun() async throws {
        let python = try Self.peerPython()
        let botUser = try await person("bot")
        let bot = try makeBot(botUser, environment: ["FABRIQUE_MATRIX_PICKLE_KEY": Self.pickleKey])
        try bot.start()
        try await eventually("the bot's keys are ready", bot: bot) { bot.output.contains("end-to-end encryption ready") }

        let result = try await runPeers(python, bot: botUser, ["send"], botLog: { bot.output })
        let room = try XCTUnwrap(result["room"]?.string)
        let bob = try XCTUnwrap(result["bob"]?.string), carol = try XCTUnwrap(result["carol"]?.string)

        let store = try StateStore(path: workDirectory.appendingPathComponent("bot.sqlite").path)
        let answers = try await store.writer.read { db in
            try Row.fetchAll(db, sql: "SELECT author_id, session_key, step_id, event_id FROM answer ORDER BY id").map {
                [$0["author_id"] as String, $0["session_key"] as String, $0["step_id"] as String, $0["event_id"] as String]
            }
        }
        XCTAssertEqual(
            answers,
            [
                [bob, SessionKey.person(room, bob).rawValue, "role", try XCTUnwrap(result["answers"]?["bob"]?.string)],
                [carol, SessionKey.person(room, carol).rawValue, "role", try XCTUnwrap(result["answers"]?["carol"]?.string)],
            ], "each answer under its person's own run in the room")
        let sent = try await store.writer.read { db in
            try String.fetchAll(db, sql: "SELECT user_id FROM dialogue_send_member ORDER BY user_id")
        }
        XCTAssertEqual(sent, [bob, carol].sorted(), "the facilitator and the bot are not among those it was sent to")
    }
}
