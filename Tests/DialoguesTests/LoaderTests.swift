import XCTest

@testable import Dialogues

/// What the loader makes of a file: suggestions for typos, defaults, scales and the catalog across files.
final class LoaderTests: XCTestCase {
    func suggestion(in yaml: String, file: StaticString = #filePath, line: UInt = #line) -> String? {
        let diagnostics = load(yaml).diagnostics.filter { $0.code == .unknownKey || $0.code == .invalidValue || $0.code == .unknownStep }
        XCTAssertEqual(diagnostics.count, 1, "\(diagnostics)", file: file, line: line)
        guard let message = diagnostics.first?.message, let range = message.range(of: "did you mean '") else { return nil }
        return String(message[range.upperBound...].prefix { $0 != "'" })
    }

    func testDidYouMeanOnUnknownKeys() {
        XCTAssertEqual(
            suggestion(
                in: """
                    id: k
                    title: {en: "K", fr: "K"}
                    tittle: {en: "K", fr: "K"}
                    steps:
                      - id: a
                        say: {en: "S", fr: "S"}
                    """), "title")
        XCTAssertEqual(
            suggestion(
                in: """
                    id: k
                    title: {en: "K", fr: "K"}
                    steps:
                      - id: a
                        ask: text
                        question: {en: "Q", fr: "Q"}
                        skipable: true
                    """), "skippable")
        XCTAssertEqual(
            suggestion(
                in: """
                    id: k
                    title: {en: "K", fr: "K"}
                    steps:
                      - id: a
                        ask: text
                        question: {en: "Q", fr: "Q"}
                        rules:
                          - {min_lenght: 3}
                    """), "min_length")
        XCTAssertEqual(
            suggestion(
                in: """
                    id: k
                    title: {en: "K", fr: "K", frr: "K"}
                    steps:
                      - id: a
                        say: {en: "S", fr: "S"}
                    """), "fr")
    }

    func testDidYouMeanForSwappedLetters() {
        // A transposition is one typo: `stpes` is closer to `steps` than to `steer`.
        XCTAssertEqual(
            suggestion(
                in: """
                    id: k
                    title: {en: "K", fr: "K"}
                    stpes:
                      - id: a
                        say: {en: "S", fr: "S"}
                    steps:
                      - id: a
                        say: {en: "S", fr: "S"}
                    """), "steps")
    }

    func testDidYouMeanOnValues() {
        XCTAssertEqual(
            suggestion(
                in: """
                    id: k
                    title: {en: "K", fr: "K"}
                    scope: rooms
                    steps:
                      - id: a
                        say: {en: "S", fr: "S"}
                    """), "room")
        XCTAssertEqual(
            suggestion(
                in: """
                    id: k
                    title: {en: "K", fr: "K"}
                    steps:
                      - id: a
                        ask: yes-no
                        question: {en: "Q", fr: "Q"}
                    """), "yesno")
        XCTAssertEqual(
            suggestion(
                in: """
                    id: k
                    title: {en: "K", fr: "K"}
                    steps:
                      - id: first
                        ask: text
                        question: {en: "Q", fr: "Q"}
                        next: frist
                    """), "first")
    }

    func testNoSuggestionWhenNothingIsClose() {
        XCTAssertNil(
            suggestion(
                in: """
                    id: k
                    title: {en: "K", fr: "K"}
                    colour: blue
                    steps:
                      - id: a
                        say: {en: "S", fr: "S"}
                    """))
    }

    func testDefaultsAndModel() throws {
        let script = try loadClean(
            """
            id: model
            title: {en: "Model", fr: "Modèle"}
            description: {en: "D", fr: "D"}
            scope: room
            start: facilitators
            triggers:
              commands: [Go, model-run]
              keywords: {en: [model time], fr: [le modèle]}
            scales:
              stars:
                - {label: {en: "One", fr: "Une"}}
                - {label: {en: "Two", fr: "Deux"}}
            steps:
              - id: a
                ask: choice
                question: {en: "Q", fr: "Q"}
                options:
                  - {label: {en: "Red", fr: "Rouge"}}
                  - {value: b, label: {en: "Blue", fr: "Bleu"}, aliases: [navy]}
              - id: b
                ask: scale
                scale: stars
                save: rating
                question: {en: "Q", fr: "Q"}
                collect: many
              - id: c
                ask: list
                question: {en: "Q", fr: "Q"}
                on_fail: a
                attempts: 5
            end:
              summary: false
            on_end: [record_signature]
            """)
        XCTAssertEqual(script.scope, .room)
        XCTAssertEqual(script.starters, .facilitators)
        XCTAssertEqual(script.steering, .facilitators, "steer defaults to who may start")
        XCTAssertEqual(script.triggers.commands, ["go", "model-run"], "commands are lower-cased")
        XCTAssertEqual(script.triggers.keywords[.fr], ["le modèle"])
        XCTAssertEqual(script.scales["stars"]?.levels.map(\.value), [1, 2], "levels number themselves from 1")
        XCTAssertNotNil(script.scales["maturity"], "shared scales are visible")
        guard case .choice(let options) = script.steps[0].kind else { return XCTFail("\(script.steps[0].kind)") }
        XCTAssertEqual(options.map(\.value), ["Red", "b"], "an option's value defaults to its English label")
        XCTAssertEqual(options[1].aliases, ["navy"])
        XCTAssertEqual(script.steps[0].variable, "a", "answers are saved under the step id by default")
        XCTAssertEqual(script.steps[0].maxAttempts, 3)
        XCTAssertEqual(script.steps[0].onFail, .skip)
        XCTAssertFalse(script.steps[0].skippable)
        XCTAssertEqual(script.steps[1].variable, "rating")
        XCTAssertTrue(script.steps[1].collectsMany)
        XCTAssertEqual(script.variableTypes, ["a": .text, "rating": .number, "c": .list])
        guard case .list(let min, let max) = script.steps[2].kind else { return XCTFail() }
        XCTAssertEqual(min, 1, "a list wants one item unless told otherwise")
        XCTAssertNil(max)
        XCTAssertEqual(script.steps[2].onFail, .goto("a"))
        XCTAssertEqual(script.steps[2].maxAttempts, 5)
        XCTAssertFalse(script.ending.summary)
        XCTAssertEqual(script.actions, ["record_signature"])
        XCTAssertEqual(script.steps.map(\.location.line), [14, 20, 26])
    }

    func testRevisionChangesWithTheText() throws {
        let yaml = dialogue(
            steps: """
                  - id: a
                    ask: text
                    question: {en: "Q", fr: "Q"}
                """)
        let first = try loadClean(yaml), again = try loadClean(yaml), edited = try loadClean(yaml + "\n# edited\n")
        XCTAssertEqual(first.revision, again.revision)
        XCTAssertNotEqual(first.revision, edited.revision)
    }

    func testScalesFileIsRecognised() {
        XCTAssertTrue(DialogueLoader.isScalesFile(sharedScalesYAML))
        XCTAssertFalse(DialogueLoader.isScalesFile("id: x\nscales: {}\n"))
        var loader = DialogueLoader()
        loader.loadScales(yaml: "scales:\n  one:\n    - {label: {en: A, fr: A}}\nextra: 1\n", file: "s.yaml")
        assertDiagnostics(
            loader.diagnostics,
            [
                Expected(.error, .incompleteStep, 3, 5),  // a single level
                Expected(.error, .unknownKey, 4, 1),
            ])
    }

    func testCatalogLoadsFoldersWithScalesFirstAndFindsDialogues() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        // `a-dialogue.yaml` sorts before `z-scales.yaml`: scales must still be read first.
        try folder.write(
            "a-dialogue.yaml",
            """
            id: rate
            title: {en: "Rate", fr: "Noter"}
            triggers:
              commands: [grade]
              keywords: {en: [rate us], fr: [notez-nous]}
            steps:
              - id: level
                ask: scale
                scale: stars
                question: {en: "Q", fr: "Q"}
            """)
        try folder.write(
            "z-scales.yaml",
            """
            scales:
              stars:
                - {label: {en: "One", fr: "Une"}}
                - {label: {en: "Two", fr: "Deux"}}
            """)
        try folder.write("notes.txt", "not yaml: [")
        let (catalog, diagnostics) = DialogueCatalog.load(paths: [folder.path])
        XCTAssertEqual(diagnostics, [])
        XCTAssertEqual(catalog.all.map(\.id), ["rate"])
        XCTAssertEqual(catalog.script(named: "GRADE")?.id, "rate")
        XCTAssertEqual(catalog.script(named: "rate")?.id, "rate")
        XCTAssertNil(catalog.script(named: "other"))
        XCTAssertEqual(catalog.dialogue(forKeywordsIn: "Could I RATE US, please?")?.id, "rate")
        XCTAssertEqual(catalog.dialogue(forKeywordsIn: "Notez-nous !")?.id, "rate")
        XCTAssertNil(catalog.dialogue(forKeywordsIn: "hello"))
    }

    /// A byte that is not UTF-8 is reported at its own line and column, and the other files still load.
    func testInvalidUTF8IsReportedAtItsLine() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        var bytes = Array("id: latin\ntitle: {en: T, fr: T}\nsteps:\n  - id: q\n    say: {en: \"Caf".utf8)
        bytes += [0xE9]  // "é" in Latin-1
        bytes += Array("\", fr: F}\n".utf8)
        try Data(bytes).write(to: URL(fileURLWithPath: folder.path).appendingPathComponent("latin.yaml"))
        try folder.write("good.yaml", "id: good\ntitle: {en: G, fr: G}\nsteps:\n  - id: s\n    say: {en: Hi, fr: Salut}\n")
        let (catalog, diagnostics) = DialogueCatalog.load(paths: [folder.path])
        XCTAssertEqual(diagnostics.map { "\($0.location.line):\($0.location.column) \($0.code.rawValue)" }, ["5:19 FBQ001"])
        XCTAssertTrue(diagnostics.first?.message.contains("save the file as UTF-8") == true)
        XCTAssertEqual(catalog.all.map(\.id), ["good"])
    }

    /// The loader knows no action and no variable of its own beyond the core ones: the shipped dialogues
    /// that use the Factory's (checked clean with them in FactoryActionTests) are refused without them,
    /// for exactly those names, each at its place, and the others load.
    func testActionsAndVariablesComeFromTheVocabulary() {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let (catalog, diagnostics) = DialogueCatalog.load(paths: [root.appendingPathComponent("dialogues").path])
        let problems = diagnostics.map { "\(($0.location.file as NSString).lastPathComponent) \($0.code.rawValue) \($0.message)" }
        XCTAssertEqual(
            problems,
            [
                "ally.yaml FBQ015 step 'later' uses {signatories}, which is not a saved answer or a built-in variable",
                "ally.yaml FBQ004 unknown action 'record_signature' in on_end (no action is available here)",
                "first-steps.yaml FBQ004 unknown action 'create_pebbles' in on_end (no action is available here)",
                "share.yaml FBQ004 unknown action 'publish_experience' in on_end (no action is available here)",
            ])
        XCTAssertTrue(catalog.all.contains { $0.id == "demo" })
        XCTAssertFalse(catalog.all.contains { $0.id == "ally" })

        var loader = DialogueLoader(vocabulary: .core.adding(actions: ["notify", "archive"]))
        _ = loader.loadDialogue(
            yaml: """
                id: x
                title: {en: "X", fr: "X"}
                on_end: [notfy]
                steps:
                  - id: a
                    say: {en: "S", fr: "S"}
                """, file: "x.yaml")
        XCTAssertEqual(
            loader.diagnostics.map(\.message), ["unknown action 'notfy' in on_end (one of archive, notify); did you mean 'notify'?"])
    }
}

/// The cross-file report and the dialogue as a picture.
final class CatalogAndGraphTests: XCTestCase {
    func testCrossFileReportIsInAStableOrder() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let text = { (id: String) in
            """
            id: \(id)
            title: {en: "K", fr: "K"}
            triggers:
              commands: [delta, alpha, charlie, bravo]
            steps:
              - id: a
                say: {en: "S", fr: "S"}
            """
        }
        try folder.write("one.yaml", text("one"))
        try folder.write("two.yaml", text("two"))
        let (_, diagnostics) = DialogueCatalog.load(paths: [folder.path])
        // Four problems at the same position: the report must not depend on hashing order.
        XCTAssertEqual(
            diagnostics.map { $0.message.split(separator: "'")[1] }, ["alpha", "bravo", "charlie", "delta"])
    }

    func testGraphShowsBranchesFailuresAndTheEnd() throws {
        let script = try loadClean(
            dialogue(
                steps: """
                      - id: ready
                        ask: yesno
                        question: {en: "Ready \\"now\\"?", fr: "Prêt ?"}
                        on_fail: stop
                        next:
                          - if: ready == true
                            goto: how-many
                          - goto: end
                      - id: how-many
                        ask: number
                        question: {en: "How many?", fr: "Combien ?"}
                    """))
        let mermaid = DialogueGraphRenderer.render(script, format: .mermaid)
        XCTAssertTrue(mermaid.hasPrefix("flowchart TD\n"), mermaid)
        for line in [
            "start((start)) --> s_ready",
            #"s_ready{{"ready [yesno]: Ready 'now'?"}}"#,
            #"s_ready -->|"ready == true"| s_how_many"#,
            "s_ready --> finish",
            #"s_ready -->|"on fail"| finish"#,
            "s_how_many --> s_bye",
            #"s_bye["bye: Bye."]"#,
            "s_bye --> finish",
        ] {
            XCTAssertTrue(mermaid.contains("  " + line + "\n"), "missing \(line) in\n\(mermaid)")
        }
        let dot = DialogueGraphRenderer.render(script, format: .dot)
        XCTAssertTrue(dot.hasPrefix("digraph \"test\" {"), dot)
        XCTAssertTrue(dot.contains("  s_ready -> s_how_many [label=\"ready == true\"];\n"), dot)
        XCTAssertTrue(dot.contains("  s_ready [shape=diamond"), dot)
        XCTAssertTrue(dot.contains("  s_bye [shape=box"), dot)
        XCTAssertTrue(dot.hasSuffix("}\n"))
    }

    func testGraphOfBranchesWithoutFallbackShowsOtherwise() throws {
        let (script, _) = load(
            dialogue(
                steps: """
                      - id: ready
                        ask: yesno
                        question: {en: "Ready?", fr: "Prêt ?"}
                        next:
                          - if: ready
                            goto: end
                    """))
        let graph = DialogueGraph(try XCTUnwrap(script))
        XCTAssertTrue(graph.edges.contains { $0.from == "ready" && $0.to == .step("bye") && $0.label == "otherwise" })
        XCTAssertEqual(graph.stepsThatCanEnd(), ["ready", "bye"])
        XCTAssertEqual(graph.reachable(from: "ready"), ["ready", "bye"])
    }
}
