@testable import BotCore
import FabriqueTesting
import Foundation
import GRDB
import XCTest

final class SessionTests: XCTestCase {
    func testKeysAreExplicitAndCannotBeForgedByIDsWithSeparators() {
        XCTAssertNotEqual(SessionKey.person("a:b", "c").rawValue, SessionKey.person("a", "b:c").rawValue)
        XCTAssertNotEqual(SessionKey.room("x").rawValue, SessionKey.person("x", "").rawValue)
        XCTAssertEqual(SessionKey.thread("!r:s", "$root").threadID, "$root")
        XCTAssertNil(SessionKey.room("!r:s").threadID)
        let m = IncomingMessage(roomID: "r", senderID: "u", text: "", eventID: "$start", timestamp: Date())
        XCTAssertEqual(
            SessionKey.key(.thread, for: m), .thread("r", "$start"), "a thread dialogue started outside a thread roots at its message")
        XCTAssertEqual(Turn.threadRoot(ofKey: SessionKey.thread("!r:s", "$root:x").rawValue), "$root:x")
    }

    /// Stored keys are found again by this exact form: changing it would orphan every saved session.
    func testStoredKeyFormIsStable() {
        XCTAssertEqual(SessionKey.person("!r:s", "@é:b").rawValue, "person:4:!r:s:5:@é:b", "lengths count UTF-8 bytes")
        XCTAssertEqual(SessionKey.room("room-1").rawValue, "room:6:room-1")
        XCTAssertEqual(SessionKey.thread("!r:s", "$root").rawValue, "thread:4:!r:s:5:$root")
        XCTAssertEqual(SessionKey.person("x", "").rawValue, "person:1:x:0:")
    }

    func testSessionsSurviveARestartOnTheSameFile() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fabrique-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("state.sqlite").path
        do {
            var bench = try TestBench(path: path)
            try bench.say("!start demo", from: "bob")
            try bench.say("nonsense", from: "bob")  // one failed attempt
        }
        var bench = try TestBench(path: path)
        let state = try bench.store.writer.read { db in
            try String.fetchOne(db, sql: "SELECT state FROM session WHERE dialogue_id = 'demo'")
        }.map { try DialogueSession(stored: XCTUnwrap(JSON.parse($0))) }
        XCTAssertEqual(state?.stepID, "role")
        XCTAssertEqual(state?.startedAt, bench.clock.now, "dates survive the round trip through the database")
        XCTAssertEqual(state?.attempts, 1, "the attempt count survives the restart")
        bench.counter = 100
        XCTAssertTrue(try bench.say("3", from: "bob").joined().contains("transition approach"))
    }

    /// A dialogue whose file disappears (or breaks) while someone is in it suspends their run: it is paused
    /// where it stood, with a message saying so, and `!resume` continues it once the file is back.
    func testARunWhoseDialogueDisappearsIsSuspendedNotEnded() throws {
        let store = try StateStore(path: nil)
        let (full, _) = DialogueCatalog.load(paths: [Repo.path("Tests/Fixtures/dialogues"), Repo.path("dialogues/demo.yaml")])
        let (withoutDemo, _) = DialogueCatalog.load(paths: [Repo.path("Tests/Fixtures/dialogues")])
        XCTAssertNotNil(full.scripts["demo"])
        func message(_ text: String, _ id: String) -> IncomingEvent {
            .message(IncomingMessage(roomID: "dm", senderID: "bob", text: text, eventID: id, timestamp: Date(), roomKind: .direct))
        }
        let before = try TestBench.makeEngine(store: store, catalog: full)
        try before.handle(message("!start demo", "$1"))
        try before.handle(message("nonsense", "$2"))
        let place = try store.writer.read { db in try String.fetchOne(db, sql: "SELECT state FROM session WHERE dialogue_id = 'demo'") }
            .map { try DialogueSession(stored: XCTUnwrap(JSON.parse($0))) }

        let without = try TestBench.makeEngine(store: store, catalog: withoutDemo)
        let gone = try without.handle(message("3", "$3")).map(\.plain).joined()
        XCTAssertTrue(gone.contains("is not available right now"), gone)
        let suspended = try store.writer.read { db in try String.fetchOne(db, sql: "SELECT state FROM session WHERE dialogue_id = 'demo'") }
            .map { try DialogueSession(stored: XCTUnwrap(JSON.parse($0))) }
        XCTAssertEqual(suspended?.status, .paused)
        XCTAssertEqual(suspended?.stepID, place?.stepID, "the place is kept")
        XCTAssertEqual(suspended?.run, place?.run)

        let back = try TestBench.makeEngine(store: store, catalog: full)
        let resumed = try back.handle(message("!resume", "$4")).map(\.plain).joined()
        XCTAssertTrue(resumed.contains("Welcome back"), resumed)
        XCTAssertTrue(try back.handle(message("3", "$5")).map(\.plain).joined().contains("transition approach"))
    }

    /// An answer on a branch the run left (an earlier answer changed) stays in the store, set aside: out of
    /// the run's answers, marked for the reports' history.
    func testAnAnswerOnALeftBranchIsSetAsideInTheStore() throws {
        let source = """
            id: branchy
            title: {en: B, fr: B}
            steps:
              - id: signed
                ask: yesno
                question: {en: "Did you sign?", fr: "Signé ?"}
                next:
                  - if: signed == true
                    goto: plans
                  - goto: why_not
              - id: why_not
                ask: text
                question: {en: "Why not?", fr: "Pourquoi ?"}
              - id: plans
                ask: text
                question: {en: "Plans?", fr: "Projets ?"}
            """
        var loader = DialogueLoader()
        let script = try XCTUnwrap(loader.loadDialogue(yaml: source, file: "b.yaml"))
        let store = try StateStore(path: nil)
        let engine = try TestBench.makeEngine(store: store, catalog: DialogueCatalog([script]))
        for (n, text) in ["!start branchy", "no", "too early", "summary", "1", "yes"].enumerated() {
            _ = try engine.handle(
                .message(IncomingMessage(roomID: "dm", senderID: "bob", text: text, eventID: "$\(n)", timestamp: Date(), roomKind: .direct))
            )
        }
        let rows = try store.writer.read { db in
            try Row.fetchAll(db, sql: "SELECT step_id, display, removed_by FROM answer ORDER BY id").map {
                "\($0["step_id"] as String)=\($0["display"] as String) \($0["removed_by"] as String? ?? "-")"
            }
        }
        XCTAssertEqual(rows, ["why_not=too early (branch)", "signed=yes -"])
    }

    func testThreadDialoguesAnswerInTheirThread() throws {
        let source = """
            id: threaded
            title: {en: T, fr: T}
            scope: thread
            steps:
              - id: q
                ask: text
                question: {en: "Why?", fr: "Pourquoi ?"}
            """
        var loader = DialogueLoader()
        let script = try XCTUnwrap(loader.loadDialogue(yaml: source, file: "t.yaml"))
        let engine = try TestBench.makeEngine(store: try StateStore(path: nil), catalog: DialogueCatalog([script]), knowledge: nil)
        let start = IncomingMessage(roomID: "r", senderID: "a", text: "!start threaded", eventID: "$root", timestamp: Date())
        let started = try engine.handle(.message(start))
        XCTAssertEqual(started.map(\.threadID), ["$root"], "one message in a group room: the title and the question together")
        XCTAssertTrue(started.first?.plain.contains("Why?") == true)
        let outside = IncomingMessage(roomID: "r", senderID: "b", text: "because", eventID: "$2", timestamp: Date())
        XCTAssertEqual(try engine.handle(.message(outside)), [], "the thread's dialogue does not hear the main timeline")
        let inside = IncomingMessage(roomID: "r", senderID: "b", text: "because", eventID: "$3", timestamp: Date(), threadID: "$root")
        XCTAssertEqual(try engine.handle(.message(inside)).first?.threadID, "$root")
    }

    func testEditsUpdateAndRedactionsRemoveStoredAnswers() throws {
        var bench = try TestBench()
        try bench.say("!start demo", from: "bob")
        let answer = bench.message("1", from: "bob", id: "$answer")
        try bench.engine.handle(.message(answer))
        let edit = bench.message("citizen", from: "bob", id: "$edit")
        let reply = try bench.engine.handle(.edit(original: "$answer", message: edit))
        XCTAssertTrue(reply.first?.plain.contains("engaged citizen") ?? false, "\(reply)")
        func stored() throws -> [String] {
            try bench.store.writer.read { try String.fetchAll($0, sql: "SELECT value FROM answer WHERE step_id = 'role'") }
        }
        XCTAssertEqual(try stored(), [#"{"choice":{"_0":"citizen"}}"#])
        let badEdit = bench.message("purple", from: "bob", id: "$edit2")
        XCTAssertTrue(
            try bench.engine.handle(.edit(original: "$answer", message: badEdit)).first?.plain.contains("kept your earlier answer") ?? false
        )
        XCTAssertEqual(try stored().count, 1)
        try bench.engine.handle(.redaction(redacted: "$answer", roomID: "room-1", senderID: "bob", eventID: "$red", timestamp: Date()))
        XCTAssertEqual(try stored(), [])
        let summary = try bench.say("summary", from: "bob").joined()
        XCTAssertFalse(summary.contains("citizen"), "the session forgot the redacted answer too: \(summary)")
    }

    /// Nobody changes someone else's answer: an edit or a redaction by another member of the room, or
    /// from another room, leaves it as it was and says nothing; a moderator's redaction removes it.
    func testOnlyTheAuthorOrAModeratorChangesAnAnswer() throws {
        var bench = try TestBench()
        try bench.say("!start demo", from: "bob")
        try bench.engine.handle(.message(bench.message("1", from: "bob", id: "$answer")))
        func stored() throws -> [String] {
            try bench.store.writer.read {
                try String.fetchAll($0, sql: "SELECT author_id || '=' || value FROM answer WHERE step_id = 'role' ORDER BY id")
            }
        }
        let before = try stored()
        XCTAssertEqual(before.count, 1)
        let forged = bench.message("citizen", from: "eve", id: "$forged")
        XCTAssertEqual(try bench.engine.handle(.edit(original: "$answer", message: forged)), [], "not a word to the forger")
        var elsewhere = bench.message("citizen", from: "bob", id: "$elsewhere")
        elsewhere.roomID = "room-2"
        XCTAssertEqual(try bench.engine.handle(.edit(original: "$answer", message: elsewhere)), [])
        try bench.engine.handle(.redaction(redacted: "$answer", roomID: "room-1", senderID: "eve", eventID: "$red1", timestamp: Date()))
        try bench.engine.handle(
            .redaction(redacted: "$answer", roomID: "room-2", senderID: "bob", eventID: "$red2", timestamp: Date(), byModerator: true))
        XCTAssertEqual(try stored(), before, "the answer is bob's, as he gave it")
        XCTAssertTrue(try bench.say("summary", from: "bob").joined().contains("elected representative"), "the session still has it")
        try bench.engine.handle(
            .redaction(redacted: "$answer", roomID: "room-1", senderID: "ana", eventID: "$red3", timestamp: Date(), byModerator: true))
        XCTAssertEqual(try stored(), [], "a moderator removes it")
    }

    func testIdleSessionsArePausedOnceWithAGentleMessage() throws {
        var bench = try TestBench(idleTimeout: 3600)
        try bench.say("!start demo", from: "bob")
        XCTAssertEqual(try bench.engine.tick(), [])
        bench.clock.advance(by: 3601)
        let paused = try bench.engine.tick()
        XCTAssertEqual(paused.count, 1)
        XCTAssertTrue(paused[0].plain.contains("!resume"))
        XCTAssertEqual(paused[0].roomID, "room-1")
        XCTAssertEqual(try bench.engine.tick(), [], "a paused session is not paused again")
        XCTAssertTrue(try bench.say("!resume", from: "bob").joined().contains("What brings you here?"))
    }

    func testAChangedDialogueMigratesOrEndsSessions() throws {
        func script(_ extraStep: Bool, renamed: Bool = false) throws -> DialogueScript {
            var loader = DialogueLoader()
            let yaml = """
                id: change
                title: {en: C, fr: C}
                steps:
                  - id: \(renamed ? "first_renamed" : "first")
                    ask: text
                    question: {en: "One?", fr: "Un ?"}
                  - id: second
                    ask: text
                    question: {en: "Two?", fr: "Deux ?"}
                \(extraStep ? "  - id: third\n    ask: text\n    question: {en: \"Three?\", fr: \"Trois ?\"}" : "")
                """
            return try XCTUnwrap(loader.loadDialogue(yaml: yaml, file: "c.yaml"))
        }
        let store = try StateStore(path: nil)
        let v1 = try TestBench.makeEngine(store: store, catalog: DialogueCatalog([try script(false)]), knowledge: nil)
        func m(_ text: String, _ id: String) -> IncomingEvent {
            .message(IncomingMessage(roomID: "r", senderID: "a", text: text, eventID: id, timestamp: Date(), roomKind: .direct))
        }
        try v1.handle(m("!start change", "1"))
        let v2 = try TestBench.makeEngine(store: store, catalog: DialogueCatalog([try script(true)]), knowledge: nil)
        XCTAssertTrue(try v2.handle(m("yes", "2")).map(\.plain).joined().contains("Two?"), "same step still exists: migrated")
        let v3 = try TestBench.makeEngine(store: store, catalog: DialogueCatalog([try script(true, renamed: true)]), knowledge: nil)
        try v3.handle(m("!stop", "3"))
        try v3.handle(m("!start change", "4"))
        let v4 = try TestBench.makeEngine(store: store, catalog: DialogueCatalog([try script(false)]), knowledge: nil)
        let ended = try v4.handle(m("hello", "5")).map(\.plain).joined()
        XCTAssertTrue(ended.contains("was changed by its authors"), ended)
    }

    func testDiscussedMarksOutliveTheRoomSession() throws {
        var bench = try TestBench()
        try bench.say("!start workshop")
        try bench.say("discussed")
        try bench.say("!stop")
        try bench.say("!start workshop")  // a new run in the same room replaces the session
        let marks = try bench.store.writer.read { db in
            try String.fetchAll(
                db, sql: "SELECT step_id || '@' || IFNULL(t.name, '-') FROM discussed_step d LEFT JOIN territory t ON t.id = d.territory")
        }
        XCTAssertEqual(marks, ["priorities@Drôme"])
    }
}
