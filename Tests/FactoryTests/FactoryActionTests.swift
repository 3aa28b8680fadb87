@testable import BotCore
@testable import Factory
import Foundation
import GRDB
import MatrixAdapter
import KnowledgeBase
import XCTest

/// The `on_end` actions, driven through the shipped dialogues.
final class FactoryActionTests: XCTestCase {
    /// The shipped dialogues load without a diagnostic with the names the Factory offers (its actions and
    /// `{signatories}`), and each Factory action is used by one of them.
    func testShippedDialoguesAreCleanWithTheFactorysVocabulary() {
        let factory = FactoryExtension()
        let (catalog, diagnostics) = DialogueCatalog.load(
            paths: [FactoryBench.root.appendingPathComponent("dialogues").path], vocabulary: [factory].vocabulary)
        XCTAssertEqual(diagnostics.map(\.description), [])
        XCTAssertTrue(catalog.all.contains { $0.id == "demo" })
        XCTAssertEqual(Set(catalog.all.flatMap(\.actions)), factory.endActions)
    }

    /// Walks `user` through the ally dialogue; `sign` and `confirm` are the answers to the two yes/no gates.
    func ally(
        _ bench: inout FactoryBench, _ user: String, in room: String, organisation: String = "Commune", sign: String = "yes",
        confirm: String = "yes"
    ) throws -> [String] {
        try bench.say("!start ally", from: user, in: room)
        try bench.say("1", from: user, in: room)
        try bench.say("yes", from: user, in: room)
        try bench.say("1", from: user, in: room)
        if sign != "yes" { return try bench.say(sign, from: user, in: room) }
        try bench.say(sign, from: user, in: room)
        try bench.say(organisation, from: user, in: room)
        try bench.say("1", from: user, in: room)
        return try bench.say(confirm, from: user, in: room)
    }

    func signatories(_ bench: FactoryBench, room: String) throws -> String? {
        try bench.store.writer.write { db in
            let turn = Turn(engine: bench.engine, db: db, now: bench.clock.now, causeID: "test")
            let message = IncomingMessage(roomID: room, senderID: "x", text: "", eventID: "x", timestamp: bench.clock.now)
            return try turn.context(for: message, language: .en).variables["signatories"]
        }
    }

    func testSignaturesAreCountedPerTerritoryAndOnlyWhenConfirmed() throws {
        var bench = try FactoryBench()
        try bench.bind("diois", to: "Diois")
        try bench.bind("basque", to: "Pays Basque")
        let first = try ally(&bench, "bob", in: "diois", organisation: "Mairie de Die")
        XCTAssertEqual(first.first, "✍️ Signature recorded: bob for Mairie de Die, in Diois, on 2026-03-02. Diois now counts 1 signatory.")
        _ = try ally(&bench, "carol", in: "diois", sign: "no")
        _ = try ally(&bench, "dan", in: "diois", confirm: "no")
        _ = try ally(&bench, "eve", in: "basque")
        XCTAssertEqual(try signatories(bench, room: "diois"), "1", "declining at either gate records nothing")
        XCTAssertEqual(try signatories(bench, room: "basque"), "1")
        XCTAssertEqual(try signatories(bench, room: "elsewhere"), "0")

        // Signing again renews the signature instead of counting it twice, and takes the new organisation.
        let again = try ally(&bench, "bob", in: "diois", organisation: "Communauté de communes")
        XCTAssertTrue(again.first?.hasPrefix("You had already signed for Diois") == true, "\(again)")
        let rows = try bench.read {
            try Row.fetchAll(
                $0,
                sql:
                    "SELECT t.name AS territory, signer_id, organisation FROM factory_signature s JOIN territory t ON t.id = s.territory ORDER BY s.id"
            )
        }
        XCTAssertEqual(
            rows.map { "\($0["territory"] as String)/\($0["signer_id"] as String)/\($0["organisation"] as String)" },
            ["Diois/@bob:example.org/Communauté de communes", "Pays Basque/@eve:example.org/Commune"])

        // Declining in a later run leaves the earlier signature as it was.
        _ = try ally(&bench, "eve", in: "basque", sign: "no")
        XCTAssertEqual(try signatories(bench, room: "basque"), "1")

        // The count is a variable every dialogue text may use.
        try bench.say("!start ally", from: "fay", in: "diois")
        try bench.say("1", from: "fay", in: "diois")
        try bench.say("yes", from: "fay", in: "diois")
        try bench.say("1", from: "fay", in: "diois")
        let later = try bench.say("no", from: "fay", in: "diois").joined(separator: "\n")
        XCTAssertTrue(later.contains("Signatories so far for Diois: 1."), later)
    }

    func testNothingIsRecordedWithoutATerritory() throws {
        var bench = try FactoryBench()
        let replies = try ally(&bench, "bob", in: "unbound")
        XCTAssertTrue(
            replies.first?.hasPrefix("I could not record your signature: this room is not bound to a territory.") == true, "\(replies)")
        XCTAssertEqual(try bench.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM factory_signature") }, 0)
    }

    func share(_ bench: inout FactoryBench, in room: String, publish: String) throws -> [String] {
        try bench.play(
            [
                ("lea", "!start share"),
                ("lea", "A citizen solar cooperative"),
                ("lea", "energy"),
                ("lea", "Inhabitants and the town created a cooperative owning photovoltaic roofs on schools"),
                ("lea", "Forty roofs in three years"),
                ("lea", "# Banks were cautious; a regional fund helped"),
                ("lea", "skip"),
                ("lea", "Jeanne, president"),
            ], in: room)
        return try bench.say(publish, from: "lea", in: room)
    }

    /// A shared experience waits for a facilitator of its territory (issue 21: any member could publish to
    /// every territory's knowledge base); approved, it is searchable at once and signed by its territory.
    func testASharedExperienceIsPublishedOnceAFacilitatorOfItsTerritoryApprovesIt() throws {
        var bench = try FactoryBench()
        try bench.bind("diois", to: "Diois")
        try bench.bind("basque", to: "Pays Basque")
        let replies = try share(&bench, in: "diois", publish: "yes")
        XCTAssertEqual(
            replies.first,
            "📝 Thank you. Before A citizen solar cooperative goes into the knowledge base, a facilitator of Diois reviews it: in a room of the territory, !experience 1 shows it, then !experience approve 1 publishes it (or !experience reject 1)."
        )
        XCTAssertTrue(try bench.knowledge.search("photovoltaic roofs cooperative", limit: 3).results.isEmpty, "not before approval")
        XCTAssertEqual(
            try bench.say("!experience approve 1", from: "lea", in: "diois"), ["Only a facilitator can review shared experiences."])
        XCTAssertEqual(
            try bench.say("!experience approve 1", in: "basque"), ["No experience 1 of Pays Basque is waiting for review."],
            "another territory's facilitator cannot publish it")
        XCTAssertEqual(
            try bench.say("!experience", in: "diois"), ["Waiting for review:\n- 1. A citizen solar cooperative — lea, 2026-03-02"])
        let shown = try bench.say("!experience 1", in: "diois").joined()
        XCTAssertTrue(
            shown.hasPrefix("Experience 1, shared by lea:\n> # A citizen solar cooperative\n> Shared by Diois on 2026-03-02"), shown)
        XCTAssertTrue(try bench.knowledge.search("photovoltaic roofs cooperative", limit: 3).results.isEmpty)

        XCTAssertEqual(
            try bench.say("!experience approve 1", in: "diois"),
            ["📚 Published in the knowledge base: A citizen solar cooperative, shared by Diois. Other territories will find it with !ask."])
        let response = try bench.knowledge.search("photovoltaic roofs cooperative", limit: 3)
        let hit = try XCTUnwrap(response.results.first)
        XCTAssertEqual(hit.document, "A citizen solar cooperative")
        XCTAssertEqual(hit.territory, "Diois")
        XCTAssertEqual(hit.source, "fabrique:experience/1")
        let document = try XCTUnwrap(
            try bench.read {
                try String.fetchOne(
                    $0, sql: "SELECT source FROM factory_experience e JOIN territory t ON t.id = e.territory WHERE t.name = 'Diois'")
            })
        XCTAssertEqual(document, "fabrique:experience/1")
        XCTAssertEqual(try bench.say("!experience approve 1", in: "diois"), ["No experience 1 of Diois is waiting for review."], "once")

        // A second experience does not replace the first; a rejected one is never published.
        _ = try share(&bench, in: "diois", publish: "yes")
        _ = try share(&bench, in: "diois", publish: "yes")
        XCTAssertEqual(try bench.say("!experience reject 2", in: "diois"), ["A citizen solar cooperative is not published."])
        try bench.say("!experience approve 3", in: "diois")
        XCTAssertEqual(
            try bench.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM kb_document WHERE source LIKE 'fabrique:experience/%'") }, 2)
        XCTAssertEqual(try bench.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM factory_experience_pending") }, 0)
    }

    /// Links in a shared experience are shown as text: neither the chat Markdown nor the Matrix HTML of an
    /// answer drawn from it makes them clickable, and the answer says which territory wrote it.
    func testLinksInASharedExperienceAreShownAsText() throws {
        var bench = try FactoryBench()
        // The starter pages too: a lone page scores too low for a confident answer.
        _ = try bench.knowledge.importPaths([FactoryBench.root.appendingPathComponent("knowledge").path])
        try bench.bind("diois", to: "Diois")
        try bench.play(
            [
                ("lea", "!start share"), ("lea", "Send your password to the helpdesk"), ("lea", "governance"),
                ("lea", "Log in at [the official portal](https://evil.example/login) or https://evil.example/now"),
                ("lea", "Everyone logged in at https://evil.example/now"), ("lea", "none"), ("lea", "skip"), ("lea", "mallory"),
                ("lea", "yes"),
            ], in: "diois")
        let approved = try bench.say("!experience approve 1", in: "diois")
        XCTAssertEqual(approved.first?.hasPrefix("📚 Published"), true, "\(approved)")
        bench.counter += 1
        let answer = try bench.engine.handle(
            .message(
                IncomingMessage(
                    roomID: "basque", senderID: "@dan:example.org", senderName: "dan",
                    text: "!ask how do we log in at the official portal?",
                    eventID: "$ask\(bench.counter)", timestamp: bench.clock.now, roomKind: .group)))
        let markdown = answer.map(\.markdown).joined(separator: "\n")
        XCTAssertTrue(markdown.contains("evil.example"), markdown)
        XCTAssertTrue(answer.map(\.plain).joined().contains("(shared by Diois)"), markdown)
        let html = MarkdownHTML.render(markdown)
        XCTAssertFalse(html.contains("<a"), html)
    }

    func testTheExperiencePageKeepsPeoplesWordsButNotTheirHeadings() {
        let answers: [String: RunAnswer] = [
            "tried": RunAnswer(value: .text("## Big plans\nthen small steps"), display: ""),
            "contact": RunAnswer(value: .text("Jeanne"), display: ""),
            "field": RunAnswer(value: .choice("energy"), display: "Energy"),
        ]
        let page = TurnScope.experienceMarkdown(title: "Solar", territory: "Diois", answers: answers, day: "2026-03-02", .en)
        XCTAssertEqual(
            page,
            """
            # Solar

            Shared by Diois on 2026-03-02 — Energy.

            ## What we tried

            Big plans
            then small steps

            ## Contact

            Jeanne

            """)
    }

    func testADeclinedExperienceIsNotPublished() throws {
        var bench = try FactoryBench()
        try bench.bind("diois", to: "Diois")
        let replies = try share(&bench, in: "diois", publish: "no")
        XCTAssertEqual(replies.first, "Understood: nothing is published. Your answers are kept for the facilitators.")
        XCTAssertEqual(try bench.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM factory_experience") }, 0)
        XCTAssertTrue(try bench.knowledge.search("photovoltaic roofs cooperative", limit: 3).results.isEmpty)
    }

    func testFirstStepsCreatesTheStarAndPebblesOfTheRoom() throws {
        var bench = try FactoryBench()
        try bench.bind("diois", to: "Diois")
        try bench.play(
            [
                ("alice", "!start first-steps"),
                ("bob", "2"), ("carol", "3 we talk about it a lot"),
                ("alice", "next"),
                ("carol", "A valley that feeds itself, I'd say"),  // the star is the facilitator's to give
                ("alice", "A valley that feeds itself"),
                ("carol", "1, 2"), ("bob", "3"),
                ("alice", "next"),
                ("bob", "Ice cream for everyone; Bob; 2026-04-01"),  // so is the pebble list
                ("alice", "Garden at the school; Marie; 2026-04-01"),
                ("alice", "Bike survey; Karim; 10/03/2026"),
            ], in: "diois")
        let done = try bench.say("done", from: "alice", in: "diois")
        XCTAssertEqual(
            done.first,
            """
            ⭐ The room's star is set.
            2 white pebbles added:
            1. ⬜ Garden at the school — carried by Marie, by 2026-04-01
            2. ⬜ Bike survey — carried by Karim, by 2026-03-10
            """)
        let diois = try bench.territory("Diois")
        let report = try bench.read { try FactoryReports.pebbles($0, territory: diois, language: .en, now: bench.clock.now) }
        XCTAssertEqual(report.stars.map(\.text), ["A valley that feeds itself"])
        XCTAssertEqual(report.pebbles.map(\.pebble.carrier), ["Marie", "Karim"])
        XCTAssertEqual(report.pebbles.map(\.pebble.territoryID), [diois.id, diois.id])
        XCTAssertEqual(report.territory, "Diois")
    }
}
