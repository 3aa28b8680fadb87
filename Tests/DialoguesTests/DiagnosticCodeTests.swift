import XCTest

@testable import Dialogues

/// One deliberately broken file per diagnostic code, asserting the code, severity, line and column of
/// every diagnostic it yields (and that it yields nothing else). Lines and columns are 1-based.
final class DiagnosticCodeTests: XCTestCase {
    func testEveryCodeHasATest() {
        // A new code must come with a broken file below and a row in docs/diagnostics.md.
        XCTAssertEqual(DiagnosticCode.allCases.map(\.rawValue), (1...17).map { String(format: "FBQ%03d", $0) })
    }

    func testFBQ001UnclosedFlowMappingPointsAtWhereTheParserGaveUp() {
        let (script, diagnostics) = load(
            """
            id: broken
            title: {en: "A", fr: "B"
            steps:
              - id: a
            """)
        XCTAssertNil(script)
        assertDiagnostics(diagnostics, [Expected(.error, .yamlSyntax, 3, 1)])
    }

    func testFBQ001BadIndentationPointsAtTheColon() {
        let (script, diagnostics) = load(
            """
            id: broken
            title:
              en: A
               fr: B
            """)
        XCTAssertNil(script)
        assertDiagnostics(diagnostics, [Expected(.error, .yamlSyntax, 4, 6)])
    }

    func testFBQ001EmptyFile() {
        let (script, diagnostics) = load("# nothing but a comment\n")
        XCTAssertNil(script)
        assertDiagnostics(diagnostics, [Expected(.error, .yamlSyntax, 1, 1)])
    }

    func testFBQ002UnknownKeysAtEveryLevel() {
        let (script, diagnostics) = load(
            """
            id: k
            title: {en: "K", fr: "K"}
            sope: room
            steps:
              - id: q
                ask: text
                questoin: {en: "Q", fr: "Q"}
                question: {en: "Q", de: "F"}
            end:
              sumary: false
            """)
        XCTAssertNil(script)
        assertDiagnostics(
            diagnostics,
            [
                Expected(.error, .unknownKey, 3, 1),
                Expected(.error, .unknownKey, 7, 5),
                Expected(.error, .unknownKey, 8, 25),
                Expected(.warning, .missingTranslation, 8, 15),
                Expected(.error, .unknownKey, 10, 3),
            ])
    }

    func testFBQ003MissingKeys() {
        let (script, diagnostics) = load(
            """
            title: {en: "K", fr: "K"}
            steps:
              - id: q
                ask: text
              - say: {en: "S", fr: "S"}
              - id: nothing
            """)
        XCTAssertNil(script)
        assertDiagnostics(
            diagnostics,
            [
                Expected(.error, .missingKey, 1, 1),  // no id
                Expected(.error, .missingKey, 3, 5),  // a question without `question`
                Expected(.error, .missingKey, 5, 5),  // a step without id
                Expected(.error, .missingKey, 6, 5),  // neither say nor ask
            ])
    }

    func testFBQ004InvalidValues() {
        let (script, diagnostics) = load(
            """
            id: Bad Id
            title: {en: "K", fr: "K"}
            scope: everyone
            steps:
              - id: q
                ask: number
                question: {en: "Q", fr: "Q"}
                min: lots
                skippable: perhaps
                collect: all
              - id: r
                ask: essay
                question: {en: "Q", fr: "Q"}
            on_end: [record_signatures]
            """)
        XCTAssertNil(script)
        assertDiagnostics(
            diagnostics,
            [
                Expected(.error, .invalidValue, 1, 5),
                Expected(.error, .invalidValue, 3, 8),
                Expected(.error, .invalidValue, 8, 10),
                Expected(.error, .invalidValue, 9, 16),
                Expected(.error, .invalidValue, 10, 14),
                Expected(.error, .invalidValue, 12, 10),
                Expected(.error, .invalidValue, 14, 9),
            ])
    }

    func testFBQ005DuplicateStepIDPointsAtTheSecondOne() {
        let (_, diagnostics) = load(
            """
            id: k
            title: {en: "K", fr: "K"}
            steps:
              - id: q
                ask: text
                question: {en: "Q", fr: "Q"}
              - id: q
                say: {en: "S", fr: "S"}
            """)
        assertDiagnostics(diagnostics, [Expected(.error, .duplicateStepID, 7, 9)])
    }

    func testFBQ006TargetsThatAreNotSteps() {
        let (_, diagnostics) = load(
            """
            id: k
            title: {en: "K", fr: "K"}
            steps:
              - id: q
                ask: text
                question: {en: "Q", fr: "Q"}
                on_fail: nowhere
                next:
                  - if: q == 'x'
                    goto: qq
                  - goto: r
              - id: r
                ask: yesno
                question: {en: "Q", fr: "Q"}
                next: elsewhere
                on_fail: stop
            """)
        assertDiagnostics(
            diagnostics,
            [
                Expected(.error, .unknownStep, 7, 14),  // on_fail
                Expected(.error, .unknownStep, 9, 9),  // the branch
                Expected(.error, .unknownStep, 15, 11),  // next
            ])
        XCTAssertTrue(diagnostics.contains { $0.message.contains("did you mean 'q'?") }, "\(diagnostics)")
    }

    func testFBQ007UnreachableStepIsAWarning() {
        let (script, diagnostics) = load(
            """
            id: k
            title: {en: "K", fr: "K"}
            steps:
              - id: q
                ask: text
                question: {en: "Q", fr: "Q"}
                next: end
              - id: orphan
                say: {en: "S", fr: "S"}
            """)
        XCTAssertNotNil(script, "a warning does not make the dialogue unusable")
        assertDiagnostics(diagnostics, [Expected(.warning, .unreachableStep, 8, 9)])
    }

    func testFBQ008LoopThatNeverEnds() {
        let (_, diagnostics) = load(
            """
            id: k
            title: {en: "K", fr: "K"}
            steps:
              - id: a
                ask: text
                question: {en: "Q", fr: "Q"}
              - id: b
                say: {en: "S", fr: "S"}
                next: a
            """)
        assertDiagnostics(
            diagnostics,
            [
                Expected(.error, .cannotEnd, 4, 9),
                Expected(.error, .cannotEnd, 7, 9),
            ])
    }

    func testFBQ008BranchesWithoutFallbackAreAWarning() {
        let (_, diagnostics) = load(
            """
            id: k
            title: {en: "K", fr: "K"}
            steps:
              - id: a
                ask: yesno
                question: {en: "Q", fr: "Q"}
                next:
                  - if: a
                    goto: end
            """)
        assertDiagnostics(diagnostics, [Expected(.warning, .cannotEnd, 4, 9)])
    }

    func testFBQ009MissingTranslations() {
        let (script, diagnostics) = load(
            """
            id: k
            title: {en: "K"}
            steps:
              - id: a
                ask: text
                question: "Only English"
                help: {fr: "Seulement en français"}
            """)
        XCTAssertNotNil(script, "missing translations are warnings")
        assertDiagnostics(
            diagnostics,
            [
                Expected(.warning, .missingTranslation, 2, 8),
                Expected(.warning, .missingTranslation, 6, 15),
                Expected(.warning, .missingTranslation, 7, 11),
            ])
    }

    func testFBQ010PointsAtTheOffendingCharacterPlainOrQuoted() {
        let (_, diagnostics) = load(
            """
            id: k
            title: {en: "K", fr: "K"}
            steps:
              - id: a
                ask: number
                question: {en: "Q", fr: "Q"}
                next:
                  - if: a >= 3 and and a < 5
                    goto: end
                  - if: "a = 2"
                    goto: end
                  - if: 'count(a'
                    goto: end
                  - goto: end
            """)
        assertDiagnostics(
            diagnostics,
            [
                Expected(.error, .badExpression, 8, 24),  // the second `and`
                Expected(.error, .badExpression, 10, 16),  // `=`
                Expected(.error, .badExpression, 12, 21),  // just after `count(a`
            ])
    }

    func testFBQ011TypeErrorsInConditions() {
        let (_, diagnostics) = load(
            """
            id: k
            title: {en: "K", fr: "K"}
            steps:
              - id: ok
                ask: yesno
                question: {en: "Q", fr: "Q"}
                next:
                  - if: ok == 3
                    goto: end
                  - if: ghost > 1
                    goto: end
                  - if: count(ok)
                    goto: end
                  - if: ok < 2
                    goto: end
                  - goto: end
            """)
        assertDiagnostics(
            diagnostics,
            [
                Expected(.error, .typeError, 8, 9),  // a yes/no compared with a number
                Expected(.error, .typeError, 10, 9),  // unknown answer
                Expected(.error, .typeError, 12, 9),  // a number where yes/no is needed
                Expected(.error, .typeError, 14, 9),  // ordering a yes/no
            ])
    }

    func testFBQ012UnknownScaleSuggestsTheClosestOne() {
        let (_, diagnostics) = load(
            """
            id: k
            title: {en: "K", fr: "K"}
            steps:
              - id: a
                ask: scale
                scale: maturty
                question: {en: "Q", fr: "Q"}
            """)
        assertDiagnostics(diagnostics, [Expected(.error, .unknownScale, 6, 12)])
        XCTAssertTrue(diagnostics[0].message.contains("did you mean 'maturity'?"), diagnostics[0].message)
    }

    func testFBQ013DuplicatesAcrossFiles() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        try folder.write(
            "a-one.yaml",
            """
            id: one
            title: {en: "K", fr: "K"}
            triggers:
              commands: [go]
              keywords: {en: [lets go], fr: [on y va]}
            steps:
              - id: a
                say: {en: "S", fr: "S"}
            """)
        let second = try folder.write(
            "b-two.yaml",
            """
            id: two
            title: {en: "K", fr: "K"}
            triggers:
              commands: [go, other]
              keywords: {en: [LETS GO], fr: [autre chose]}
            steps:
              - id: a
                say: {en: "S", fr: "S"}
            """)
        let (catalog, diagnostics) = DialogueCatalog.load(paths: [folder.path])
        assertDiagnostics(
            diagnostics,
            [
                Expected(.error, .duplicateTrigger, 4, 3),  // command 'go'
                Expected(.error, .duplicateTrigger, 4, 3),  // keyword 'lets go', case ignored
            ])
        XCTAssertTrue(diagnostics.allSatisfy { $0.location.file == second }, "reported on the later file")
        XCTAssertEqual(catalog.all.map(\.id), ["one"], "a dialogue with errors is not loaded")
    }

    func testFBQ013DuplicateDialogueID() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let text = """
            id: same
            title: {en: "K", fr: "K"}
            steps:
              - id: a
                say: {en: "S", fr: "S"}
            """
        try folder.write("first.yaml", text)
        let second = try folder.write("sub/second.yaml", text)
        let (_, diagnostics) = DialogueCatalog.load(paths: [folder.path])
        // The id is both a duplicate id and a duplicate `!start` name, both on the later file.
        assertDiagnostics(
            diagnostics,
            [
                Expected(.error, .duplicateTrigger, 1, 1),
                Expected(.error, .duplicateTrigger, 1, 1),
            ])
        XCTAssertEqual(Set(diagnostics.map(\.location.file)), [second])
    }

    func testFBQ014IncompleteSteps() {
        let (_, diagnostics) = load(
            """
            id: k
            title: {en: "K", fr: "K"}
            scales:
              tiny:
                - {value: 1, label: {en: "One", fr: "Un"}}
            steps:
              - id: a
                ask: choice
                question: {en: "Q", fr: "Q"}
                options:
                  - {label: {en: "Only", fr: "Seule"}}
              - id: b
                ask: multi
                question: {en: "Q", fr: "Q"}
              - id: c
                ask: scale
                question: {en: "Q", fr: "Q"}
            """)
        assertDiagnostics(
            diagnostics,
            [
                Expected(.error, .incompleteStep, 5, 5),  // a scale with one level
                Expected(.error, .incompleteStep, 11, 7),  // one option
                Expected(.error, .incompleteStep, 12, 5),  // no options at all
                Expected(.error, .incompleteStep, 15, 5),  // no scale named
            ])
    }

    func testFBQ015UnknownVariables() {
        let (_, diagnostics) = load(
            """
            id: k
            title: {en: "K", fr: "K"}
            steps:
              - id: name
                ask: text
                question: {en: "Q", fr: "Q"}
              - id: hi
                say: {en: "Hi {nmae} from {territory}", fr: "Salut {name}"}
            end:
              text: {en: "Bye {who}", fr: "Salut"}
            """)
        assertDiagnostics(
            diagnostics,
            [
                Expected(.error, .unknownVariable, 10, 9),  // the ending text
                Expected(.error, .unknownVariable, 7, 9),
            ])
        XCTAssertTrue(diagnostics.contains { $0.message.contains("did you mean '{name}'?") }, "\(diagnostics)")
    }

    func testFBQ016BadRules() {
        let (_, diagnostics) = load(
            """
            id: k
            title: {en: "K", fr: "K"}
            steps:
              - id: a
                ask: text
                question: {en: "Q", fr: "Q"}
                rules:
                  - pattern: "[a-z"
                  - {message: {en: "x", fr: "y"}}
              - id: n
                ask: number
                question: {en: "Q", fr: "Q"}
                min: 10
                max: 1
              - id: l
                ask: list
                question: {en: "Q", fr: "Q"}
                min: 5
                max: 2
            """)
        assertDiagnostics(
            diagnostics,
            [
                Expected(.error, .badRule, 8, 18),
                Expected(.error, .badRule, 9, 9),
                Expected(.error, .badRule, 13, 10),
                Expected(.error, .badRule, 18, 10),
            ])
    }

    func testFBQ017NoSteps() {
        let (_, diagnostics) = load(
            """
            id: k
            title: {en: "K", fr: "K"}
            steps: []
            """)
        assertDiagnostics(diagnostics, [Expected(.error, .noSteps, 3, 8)])
    }

    func testAFileWithSeveralProblemsReportsThemAllAtOnce() {
        let (script, diagnostics) = load(
            """
            id: many
            title: {en: "Many problems"}
            steps:
              - id: first
                ask: choice
                question: {en: "Pick", fr: "Choisir"}
                optons:
                  - {label: {en: "A", fr: "A"}}
              - id: rate
                ask: scale
                scale: stars
                question: {en: "Rate", fr: "Noter"}
                next:
                  - if: rate >= 'high'
                    goto: finish
                  - if: rate == = 2
                    goto: nowhere
                  - goto: first
              - id: rate
                say: {en: "Hello {somebody}", fr: "Bonjour"}
            """)
        XCTAssertNil(script)
        assertDiagnostics(
            diagnostics,
            [
                Expected(.warning, .missingTranslation, 2, 8),
                Expected(.error, .incompleteStep, 4, 5),  // a choice without options (the key is misspelt)
                Expected(.error, .unknownKey, 7, 5),
                Expected(.error, .unknownScale, 11, 12),
                Expected(.error, .typeError, 14, 9),
                Expected(.error, .unknownStep, 14, 9),
                Expected(.error, .badExpression, 16, 21),
                Expected(.error, .unknownStep, 16, 9),
                Expected(.error, .duplicateStepID, 19, 9),
                Expected(.error, .unknownVariable, 19, 9),
            ])
    }

    func testDescriptionIsTheEditorFormat() {
        let diagnostic = Diagnostic(.error, .unknownScale, "unknown scale 'x'", at: SourceLocation(file: "d/a.yaml", line: 3, column: 7))
        XCTAssertEqual(diagnostic.description, "d/a.yaml:3:7: error FBQ012: unknown scale 'x'")
        XCTAssertTrue([diagnostic].hasErrors)
        XCTAssertFalse([Diagnostic(.warning, .unreachableStep, "", at: diagnostic.location)].hasErrors)
    }
}

/// A temporary folder, removed by the caller's `defer`.
struct TemporaryFolder {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("dialogues-tests-" + UUID().uuidString).path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    /// Writes `text` at `name` (which may include folders). Returns the file's path as the catalog reports it.
    @discardableResult
    func write(_ name: String, _ text: String) throws -> String {
        let file = (path as NSString).appendingPathComponent(name)
        try FileManager.default.createDirectory(atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// docs/diagnostics.md must keep up with the codes.
final class DiagnosticDocumentationTests: XCTestCase {
    func testEveryCodeIsInTheTable() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let table = try String(contentsOf: root.appendingPathComponent("docs/diagnostics.md"), encoding: .utf8)
        for code in DiagnosticCode.allCases {
            XCTAssertTrue(table.contains("| \(code.rawValue) |"), "\(code.rawValue) is missing from docs/diagnostics.md")
            XCTAssertTrue(table.contains("**\(code.rawValue)**"), "\(code.rawValue) has no example in docs/diagnostics.md")
        }
    }
}
