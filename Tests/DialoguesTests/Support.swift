import Foundation
import XCTest

@testable import Dialogues
import FabriqueJSON

/// The shared scales most test dialogues use, as a scales file.
let sharedScalesYAML = """
    scales:
      maturity:
        - value: 1
          label: {en: "Not yet", fr: "Pas encore"}
        - value: 2
          label: {en: "Beginnings", fr: "Premiers pas"}
        - value: 3
          label: {en: "Under way", fr: "En marche"}
        - value: 4
          label: {en: "Well established", fr: "Bien établi"}
    """

/// What the engine these tests imagine offers besides the core names: one variable and one `on_end` action.
let testVocabulary = DialogueVocabulary.core.adding(variables: ["signatories"], actions: ["record_signature"])

/// Loads one dialogue from YAML text, with the shared scales, as `fabrique dialogues check` would.
/// - Returns: the script (nil when the file has errors that make it unusable) and every diagnostic.
func load(_ yaml: String, file: String = "test.yaml") -> (script: DialogueScript?, diagnostics: [Diagnostic]) {
    var loader = DialogueLoader(vocabulary: testVocabulary)
    loader.loadScales(yaml: sharedScalesYAML, file: "scales.yaml")
    XCTAssertEqual(loader.diagnostics, [], "the shared scales must load cleanly")
    let script = loader.loadDialogue(yaml: yaml, file: file)
    return (script, loader.diagnostics)
}

/// Loads a dialogue that must have no diagnostic at all (not even a warning).
func loadClean(_ yaml: String, file: StaticString = #filePath, line: UInt = #line) throws -> DialogueScript {
    let (script, diagnostics) = load(yaml)
    XCTAssertEqual(diagnostics.map(\.description), [], "unexpected diagnostics", file: file, line: line)
    return try XCTUnwrap(script, file: file, line: line)
}

/// A dialogue around `steps` (YAML list items indented by two spaces), ending with a `bye` step.
func dialogue(id: String = "test", scope: String = "person", steer: String = "anyone", steps: String, end: String = "") -> String {
    """
    id: \(id)
    title: {en: "Test run", fr: "Essai"}
    scope: \(scope)
    steer: \(steer)
    steps:
    \(steps)
      - id: bye
        say: {en: "Bye.", fr: "Au revoir."}
    \(end)
    """
}

/// What a test expects of one diagnostic: everything but the wording.
struct Expected: Hashable, CustomStringConvertible {
    var severity: Diagnostic.Severity
    var code: DiagnosticCode
    var line: Int
    var column: Int

    init(_ severity: Diagnostic.Severity, _ code: DiagnosticCode, _ line: Int, _ column: Int) {
        self.severity = severity
        self.code = code
        self.line = line
        self.column = column
    }

    init(_ diagnostic: Diagnostic) {
        self.init(diagnostic.severity, diagnostic.code, diagnostic.location.line, diagnostic.location.column)
    }

    var description: String { "\(line):\(column): \(severity.rawValue) \(code.rawValue)" }
}

/// Asserts that `diagnostics` are exactly `expected` (order ignored), printing both sides on failure.
func assertDiagnostics(
    _ diagnostics: [Diagnostic], _ expected: [Expected], file: StaticString = #filePath, line: UInt = #line
) {
    let actual = diagnostics.map(Expected.init).sorted { ($0.line, $0.column, $0.code.rawValue) < ($1.line, $1.column, $1.code.rawValue) }
    let wanted = expected.sorted { ($0.line, $0.column, $0.code.rawValue) < ($1.line, $1.column, $1.code.rawValue) }
    XCTAssertEqual(actual, wanted, "\n" + diagnostics.map(\.description).joined(separator: "\n"), file: file, line: line)
}

/// People who talk to dialogues in the tests.
enum People {
    static let ann = Speaker(id: "@ann:test", name: "ann", isFacilitator: false)
    static let alice = Speaker(id: "@alice:test", name: "alice", isFacilitator: true)
    static let bob = Speaker(id: "@bob:test", name: "bob", isFacilitator: false)
    static let carol = Speaker(id: "@carol:test", name: "carol", isFacilitator: false)
}

/// Drives one dialogue turn by turn, like BotCore does, with a hand-advanced clock.
struct Bench {
    var script: DialogueScript
    var session: DialogueSession?
    var language: Language
    var speaker: Speaker
    var variables: [String: String]
    var now = Date(timeIntervalSince1970: 1_800_000_000)
    /// Whether the messages are addressed to the bot (a mention, its name).
    var addressed = false
    /// Every turn played, oldest first.
    var turns: [DialogueTurn] = []

    init(_ script: DialogueScript, language: Language = .en, speaker: Speaker = People.ann, variables: [String: String] = [:]) {
        self.script = script
        self.language = language
        self.speaker = speaker
        self.variables = ["sender": speaker.name].merging(variables) { $1 }
    }

    /// Plays `input`; the clock advances a minute per turn.
    @discardableResult
    mutating func send(_ input: DialogueInput, as who: Speaker? = nil) -> DialogueTurn {
        now += 60
        var context = TurnContext(language: language, speaker: who ?? speaker, variables: variables, now: now)
        context.addressed = addressed
        let turn = DialogueInterpreter(script).turn(session, input, context)
        session = turn.session
        turns.append(turn)
        return turn
    }

    @discardableResult
    mutating func start() -> DialogueTurn { send(.start) }

    @discardableResult
    mutating func say(_ text: String, as who: Speaker? = nil) -> DialogueTurn { send(.text(text), as: who) }

    /// The current session, failing the test when there is none.
    var state: DialogueSession {
        guard let session else {
            XCTFail("no session yet")
            return DialogueSession(dialogueID: "", revision: "", now: now)
        }
        return session
    }

    var stepID: String? { session?.stepID }

    /// The answers saved by the last turn, as values.
    var lastSaved: [AnswerValue] { Self.saved(turns.last?.effects ?? []) }

    static func saved(_ effects: [DialogueEffect]) -> [AnswerValue] {
        effects.compactMap { if case .saveAnswer(_, _, let value, _, _, _) = $0 { value } else { nil } }
    }

    /// The last turn's replies, as one text.
    var lastText: String { turns.last?.replies.map(\.markdown).joined(separator: "\n") ?? "" }

    /// Stores the session as JSON and reads it back, as after a process restart, and reloads the script
    /// from `yaml` so that nothing is carried over in memory.
    mutating func restart(reloading yaml: String) throws {
        session = try DialogueSession(stored: XCTUnwrap(JSON.parse(state.storedText)))
        script = try XCTUnwrap(load(yaml).script)
    }
}

extension DialogueTurn {
    var text: String { replies.map(\.markdown).joined(separator: "\n") }
    var saved: [AnswerValue] { Bench.saved(effects) }
}
