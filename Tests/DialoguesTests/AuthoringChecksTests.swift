import XCTest

@testable import Dialogues

/// Mistakes authors make, each reported at its own place with a fix (issue 19), and texts that never show a
/// raw `{name}`.
final class AuthoringChecksTests: XCTestCase {
    func messages(_ yaml: String) -> [String] {
        load(yaml).diagnostics.map { "\($0.location.line):\($0.location.column) \($0.code.rawValue) \($0.message)" }
    }

    /// A duplicate key is reported at the second one, with the line, never the whole file.
    func testADuplicateKeyIsReportedWhereItIsRepeated() {
        let found = messages(
            """
            id: dup
            title: {en: D, fr: D}
            steps:
              - id: q
                ask: text
                question: {en: Q, fr: Q}
                ask: text
            """)
        XCTAssertEqual(found.count, 1)
        XCTAssertTrue(found[0].hasPrefix("7:5 FBQ001 YAML: the key 'ask' appears twice here (first at line 5): keep one"), found[0])
        XCTAssertTrue(found[0].hasSuffix("    7 |     ask: text\n      |     ^"), found[0])
        XCTAssertFalse(found[0].contains("title:"), "an excerpt, not the file")
    }

    /// `remind_after` (for `!send`) reads durations people write, and refuses anything else at its place.
    func testRemindAfterTakesADuration() {
        let header = "id: r\ntitle: {en: R, fr: R}\nsteps:\n  - id: q\n    ask: text\n    question: {en: Q, fr: Q}\n"
        XCTAssertEqual(load(header + "remind_after: 36h\n").script?.remindAfter, 36 * 3600)
        XCTAssertEqual(load(header + "remind_after: 2j\n").script?.remindAfter, 2 * 86400)
        XCTAssertNil(load(header).script?.remindAfter)
        XCTAssertEqual(
            messages(header + "remind_after: soon\n"),
            ["7:15 FBQ004 remind_after must be a duration such as `2d`, `36h` or `90m`, not 'soon'"])
        XCTAssertEqual(messages(header + "remind_after: 0d\n").count, 1, "no reminder is written `--remind off`, not 0")
        XCTAssertEqual(
            messages(header + "scope: room\nremind_after: 2d\n"),
            ["8:15 FBQ004 remind_after counts only for a dialogue sent with `!send`, which takes `scope: person` dialogues"])
        XCTAssertEqual(DialogueScript.duration("1.5d"), 1.5 * 86400)
        XCTAssertNil(DialogueScript.duration("d"))
        XCTAssertNil(DialogueScript.duration("3 fortnights"))
    }

    /// The common YAML slips come with their fix.
    func testCommonYAMLSlipsComeWithAFix() {
        let colon = messages("id: c\ntitle: {en: C, fr: C}\nsteps:\n  - id: q\n    ask: text\n    question: Time: how long?\n")
        XCTAssertEqual(colon.count, 1)
        XCTAssertTrue(colon[0].hasPrefix("6:19 FBQ001"), colon[0])
        XCTAssertTrue(colon[0].contains("a text that contains a colon must be in quotes"), colon[0])
        let tab = messages("id: t\ntitle: {en: T, fr: T}\nsteps:\n\t- id: q\n")
        XCTAssertTrue(tab.first?.hasPrefix("4:1 FBQ001") == true && tab.first?.contains("indent with spaces, not tabs") == true, "\(tab)")
    }

    /// Checks that used to pass silently.
    func testMistakesThatUsedToPass() {
        let found = messages(
            """
            id: checks
            title: {en: C, fr: C}
            triggers:
              commands: go, start-here
            steps:
              - id: best
                ask: choice
                attempts: 0
                question: {en: "Best?", fr: "Mieux ?"}
                options:
                  - {value: lunch, label: {en: "Lunch {nmae}", fr: "Déjeuner"}}
                  - {value: dinner, label: {en: "Dinner", fr: "Dîner"}}
                  - {value: dinner, label: {en: "Supper", fr: "Souper"}}
                next:
                  - if: best == 'diner'
                    goto: why
                  - goto: why
              - id: why
                ask: text
                question: {en: "Why?", fr: "Pourquoi ?"}
                rules:
                  - min_length: 10
                  - max_length: 5
            """)
        XCTAssertEqual(
            found.sorted(),
            [
                "4:13 FBQ004 `commands` is one text here ('go, start-here'): write a list, `commands: [go, start-here]`",
                "8:15 FBQ004 `attempts` must be at least 1 (the first try counts), not 0",
                "13:17 FBQ004 two options of step 'best' have the value 'dinner': each answer must be told apart",
                "22:7 FBQ016 no answer can pass these rules: at least 10 characters and at most 5",
                "6:9 FBQ015 step 'best' uses {nmae}, which is not a saved answer or a built-in variable",
                "15:9 FBQ011 'diner' is not an option of 'best' (lunch, dinner, dinner), so this condition never holds; did you mean 'dinner'?",
            ].sorted())
    }

    /// `{name|fallback}` shows the fallback while there is no answer; a plain `{name}` never shows raw; option
    /// labels interpolate too.
    func testVariablesNeverPrintRaw() throws {
        let script = try loadClean(
            dialogue(
                steps: """
                      - id: town
                        ask: text
                        skippable: true
                        question: {en: "Your town?", fr: "Votre ville ?"}
                      - id: plan
                        ask: choice
                        question: {en: "Next step for {town|your town}, {sender}? (about {town})", fr: "Et ensuite pour {town|votre ville} ?"}
                        options:
                          - {value: meet, label: {en: "Meet in {town|town}", fr: "Se réunir à {town|la ville}"}}
                          - {value: wait, label: {en: "Wait", fr: "Attendre"}}
                    """))
        var bench = Bench(script)
        bench.start()
        let skipped = bench.say("skip")
        XCTAssertTrue(skipped.text.contains("Next step for your town, ann? (about (no answer yet))"), skipped.text)
        XCTAssertTrue(skipped.text.contains("1. Meet in town"), skipped.text)
        bench.say("back")
        let answered = bench.say("Die")
        XCTAssertTrue(answered.text.contains("Next step for Die, ann? (about Die)"), answered.text)
        XCTAssertTrue(answered.text.contains("1. Meet in Die"), answered.text)
        XCTAssertEqual(answered.replies.last?.choices.first, "Meet in Die")
    }
}
