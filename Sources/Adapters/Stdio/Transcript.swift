import Foundation
import Dialogues

/// A golden transcript: lines a bench types, each followed by the lines the bot must answer.
///
///     #! facilitators: alice
///     #! territory: Vallée de la Drôme
///     alice@room-1> !start demo
///     **Demo**
///     What is your name?
///     /wait 2d
///
/// Input lines are `NAME@ROOM> text` or bench commands (`/as`, `/in`, `/dm`, `/wait`…). Every other
/// line, up to the next input, is expected output. `# ` starts a comment; blank lines are ignored on
/// both sides. `#! key: value` lines set the bench: `facilitators`, `members`, `territory`, `lang`, `clock`, `prefix`, `room`, `user`,
/// `idle-timeout`, `dialogues` (any other name is a problem of the transcript).
public struct Transcript: Sendable {
    public struct Step: Sendable {
        public var input: String
        public var expected: [String]
        /// 1-based line of the input in the file.
        public var line: Int
    }

    public var steps: [Step] = []
    public var settings: [String: String] = [:]
    /// What is wrong with the transcript itself (an unknown `#!` setting, no input at all), one message per
    /// problem with its line: such a transcript fails, it never passes as "0 steps".
    public var problems: [String] = []

    /// The `#!` settings the bench knows.
    public static let knownSettings: Set<String> = [
        "clock", "dialogues", "facilitators", "idle-timeout", "lang", "members", "prefix", "room", "territory", "user",
    ]
    public var file: String
    /// The lines before the first input (settings, comments), kept when a transcript is re-recorded.
    public var header: [String] = []

    public init(text: String, file: String) {
        self.file = file
        var lineNumber = 0
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let line = raw.hasSuffix("\r") ? String(raw.dropLast()) : String(raw)
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if steps.isEmpty, !Self.isInput(line) { header.append(line) }
            if trimmed.hasPrefix("#!") {
                let body = trimmed.dropFirst(2)
                if let colon = body.firstIndex(of: ":") {
                    let key = body[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
                    if !Self.knownSettings.contains(key) {
                        let hint = TextMatching.suggestion(for: key, among: Self.knownSettings).map { "; did you mean '\($0)'?" } ?? ""
                        problems.append("\(file):\(lineNumber): unknown setting '\(key)'\(hint)")
                    }
                    settings[key] = body[body.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                } else {
                    problems.append("\(file):\(lineNumber): a setting is written `#! name: value`")
                }
                continue
            }
            if trimmed.isEmpty || trimmed == "#" || trimmed.hasPrefix("# ") { continue }
            if Self.isInput(line) {
                steps.append(Step(input: line, expected: [], line: lineNumber))
            } else if !steps.isEmpty {
                steps[steps.count - 1].expected.append(Self.normalize(line))
            }
        }
        if steps.isEmpty { problems.append("\(file):1: no input line (`name@room> text`): this transcript tests nothing") }
    }

    /// Whether a line is typed by the bench rather than expected from the bot.
    public static func isInput(_ line: String) -> Bool {
        if line.hasPrefix("/") { return true }
        guard let marker = line.range(of: "> "), let at = line[..<marker.lowerBound].firstIndex(of: "@") else { return false }
        return StdioAdapter.isName(String(line[..<at])) && StdioAdapter.isName(String(line[line.index(after: at)..<marker.lowerBound]))
    }

    static func normalize(_ line: String) -> String {
        var s = line
        while let last = s.last, last.isWhitespace { s.removeLast() }
        return s
    }

    /// Output text as lines to compare: trailing spaces dropped, blank lines ignored.
    public static func lines(of output: String) -> [String] {
        output.split(separator: "\n", omittingEmptySubsequences: false).map { normalize(String($0)) }.filter { !$0.isEmpty }
    }

    /// The transcript with `actual` as the expected output of each step (re-recording).
    public func recorded(_ actual: [[String]]) -> String {
        var out = header
        while out.last?.trimmingCharacters(in: .whitespaces).isEmpty == true { out.removeLast() }
        if !out.isEmpty { out.append("") }
        for (step, lines) in zip(steps, actual) {
            out.append(step.input)
            out += lines
        }
        return out.joined(separator: "\n") + "\n"
    }

    /// The input lines only, as piped to `fabrique chat`.
    public var inputText: String { steps.map { $0.input + "\n" }.joined() }

    /// Every expected line, in order.
    public var expectedLines: [String] { steps.flatMap(\.expected) }
}

/// What a transcript run found.
public struct TranscriptOutcome: Sendable {
    public struct Mismatch: Sendable {
        public var step: Transcript.Step
        public var actual: [String]
    }

    public var mismatches: [Mismatch]
    /// What each step printed, in order.
    public var actual: [[String]]
    public var passed: Bool { mismatches.isEmpty }

    /// A unified-style report of each failing step: the input, then `-expected` / `+actual` lines.
    public func report(file: String) -> String {
        mismatches.map { m in
            var out = "\(file):\(m.step.line): transcript differs after `\(m.step.input)`\n"
            out += "--- expected (the transcript)\n+++ actual (the bot now)\n"
            out += LineDiff.render(expected: m.step.expected, actual: m.actual)
            return out
        }.joined(separator: "\n")
    }
}

/// A small line diff (longest common subsequence), enough to show authors what changed.
public enum LineDiff {
    public static func render(expected: [String], actual: [String]) -> String {
        let n = expected.count, m = actual.count
        guard n * m <= 4_000_000 else {
            return expected.map { "-" + $0 + "\n" }.joined() + actual.map { "+" + $0 + "\n" }.joined()
        }
        var table = [[Int]](repeating: [Int](repeating: 0, count: m + 1), count: n + 1)
        for i in stride(from: n - 1, through: 0, by: -1) {
            for j in stride(from: m - 1, through: 0, by: -1) {
                table[i][j] = expected[i] == actual[j] ? table[i + 1][j + 1] + 1 : max(table[i + 1][j], table[i][j + 1])
            }
        }
        var out = ""
        var i = 0, j = 0
        while i < n || j < m {
            if i < n, j < m, expected[i] == actual[j] {
                out += " " + expected[i] + "\n"
                i += 1
                j += 1
            } else if j < m, i == n || table[i][j + 1] >= table[i + 1][j] {
                out += "+" + actual[j] + "\n"
                j += 1
            } else {
                out += "-" + expected[i] + "\n"
                i += 1
            }
        }
        return out
    }
}
