@testable import BotCore
@testable import Factory
import FabriqueTesting
import Foundation
import GRDB
import XCTest

/// A territory is an entity with an id (issue 21): rooms and data point at the id, names are labels.
final class TerritoryEntityTests: XCTestCase {
    func testRenamingKeepsTheDataAndEveryReportFollowsTheNewName() throws {
        var bench = try FactoryBench()
        try bench.twoInventories()
        let before = try bench.territory("Diois")
        let answers = try bench.read {
            try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM answer WHERE territory = ?", arguments: [before.id])
        }

        XCTAssertTrue(
            try bench.say("!territory rename Biovallée", from: "bob", in: "diois").joined().contains("Only a facilitator"), "not a member")
        XCTAssertEqual(
            try bench.say("!territory rename Pays  Basque", in: "diois"),
            ["Pays Basque is another territory's name (or was): choose another."])
        XCTAssertTrue(try bench.say("!territory rename Bio\u{202E}vallée", in: "diois").joined().contains("invisible"))
        XCTAssertEqual(
            try bench.say("!territory rename Biovallée", in: "diois"),
            ["Diois is now called Biovallée, in every room and report of the territory."])

        let after = try bench.territory("Biovallée")
        XCTAssertEqual(after.id, before.id, "the same territory")
        XCTAssertEqual(try bench.territory("diois"), after, "the former name still finds it")
        XCTAssertEqual(
            try bench.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM answer WHERE territory = ?", arguments: [after.id]) },
            answers, "no answer moved")
        XCTAssertEqual(try bench.say("!territory", from: "bob", in: "diois"), ["This room works for Biovallée."])
        let report = try bench.read {
            try FactoryReports.inventory($0, territory: after, catalog: bench.engine.catalog, language: .en, now: bench.clock.now)
        }
        XCTAssertEqual(report.territory, "Biovallée")
        XCTAssertEqual(report.questions[0].answers.map(\.author), ["bob", "carol"], "Diois's answers, under the new name")
        XCTAssertTrue(try bench.say("!report inventory", in: "diois").joined().contains("Inventory of Biovallée"))

        // The former name stays reserved: another room cannot take it, nor can the other territory.
        XCTAssertTrue(try bench.say("!territory set DIOIS", in: "elsewhere").joined().contains("already used by another room"))
        XCTAssertTrue(try bench.say("!territory rename Diois", in: "basque").joined().contains("another territory's name"))
        // Its own room may go back to it.
        XCTAssertEqual(
            try bench.say("!territory rename Diois", in: "diois"),
            ["Biovallée is now called Diois, in every room and report of the territory."])
        let log = try bench.read {
            try Row.fetchAll($0, sql: "SELECT before, after, territory FROM correction WHERE action = 'territory.rename' ORDER BY id")
        }
        XCTAssertEqual(
            log.map { "\($0["before"] as String)→\($0["after"] as String)@\($0["territory"] as String)" },
            [
                "Diois→Biovallée@\(before.id)", "Biovallée→Diois@\(before.id)",
            ])
    }

    func testARoomJoinedWithACodeSeesTheRenameToo() throws {
        var bench = try FactoryBench()
        try bench.bind("diois", to: "Diois")
        _ = try bench.send("hello", from: "alice", in: "dm-alice", kind: .direct)
        try bench.say("!territory invite room-2", in: "diois")
        let code = try XCTUnwrap(try bench.read { try String.fetchOne($0, sql: "SELECT code FROM territory_invitation") })
        XCTAssertEqual(try bench.say("!territory join \(code)", in: "room-2"), ["This room now works for Diois."])
        try bench.say("!territory rename Val de Drôme", in: "diois")
        XCTAssertEqual(try bench.say("!territory", from: "bob", in: "room-2"), ["This room works for Val de Drôme."])
        XCTAssertEqual(try bench.read { try Territory.all($0).map(\.name) }, ["Val de Drôme"], "one territory, renamed")
    }

    /// A database from before territories had ids: names in every table become one territory per name
    /// (whatever the spelling), the room's spelling as its label.
    func testADatabaseFromBeforeIDsIsMigrated() throws {
        let queue = try DatabaseQueue()
        try StateStore.migrator().migrate(queue, upTo: "v7-private-invitations")
        var factoryOnly = DatabaseMigrator()
        FactoryStore.registerMigrations(&factoryOnly)
        try factoryOnly.migrate(queue, upTo: "factory-v2-experience-review")
        try queue.write { db in
            try db.execute(
                sql: """
                    INSERT INTO room_setting(room_id, territory) VALUES ('diois', 'Vallée de la Drôme'), ('basque', 'Pays Basque');
                    INSERT INTO answer(session_key, dialogue_id, room_id, territory, step_id, variable, value, display, author_id,
                        author_name, event_id, answered_at)
                    VALUES ('k', 'inventory', 'diois', 'vallee de la drome', 'q1', 'q1', '2', '2', '@bob:x', 'bob', '$1', 1),
                           ('k', 'inventory', 'basque', 'Pays Basque', 'q1', 'q1', '3', '3', '@dan:x', 'dan', '$2', 2);
                    INSERT INTO factory_signature(territory, signer_id, signer_name, organisation, role, room_id, event_id, signed_at)
                    VALUES ('Vallée de la Drôme', '@bob:x', 'bob', 'Commune', NULL, 'diois', '$3', 3),
                           ('VALLEE DE LA DROME', '@bob:x', 'bob', 'Communauté', NULL, 'diois', '$4', 4),
                           ('Gone Territory', '@eve:x', 'eve', 'Asso', NULL, 'old-room', '$5', 5);
                    INSERT INTO factory_pebble(room_id, number, territory, title, status, created_by, created_at)
                    VALUES ('basque', 1, 'Pays Basque', 'Repair café', 'open', 'dan', 6);
                    """)
        }
        try StateStore.migrator(extensions: [FactoryExtension()]).migrate(queue)

        try queue.read { db in
            let territories = try Territory.all(db)
            XCTAssertEqual(territories.map(\.name), ["Gone Territory", "Pays Basque", "Vallée de la Drôme"])
            let drome = try XCTUnwrap(try Territory.named("vallée de la drome", db))
            let basque = try XCTUnwrap(try Territory.named("Pays Basque", db))
            XCTAssertEqual(drome.name, "Vallée de la Drôme", "the room's spelling")
            XCTAssertEqual(try String.fetchOne(db, sql: "SELECT territory FROM room_setting WHERE room_id = 'diois'"), drome.id)
            XCTAssertEqual(try String.fetchAll(db, sql: "SELECT territory FROM answer ORDER BY id"), [drome.id, basque.id])
            XCTAssertEqual(
                try String.fetchAll(db, sql: "SELECT organisation FROM factory_signature WHERE territory = ?", arguments: [drome.id]),
                ["Communauté"], "two spellings of one territory: one signature per person, the later")
            XCTAssertEqual(try String.fetchAll(db, sql: "SELECT territory FROM factory_pebble"), [basque.id])
            XCTAssertNotNil(try Territory.named("gone territory", db), "data alone keeps a territory")
        }
    }
}
