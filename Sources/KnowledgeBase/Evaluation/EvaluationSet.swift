import Foundation

/// A question of the evaluation set, with the documents that answer it.
///
/// The set is a tab-separated file (`Benchmarks/kb/eval/questions.tsv`): part, kind, language, expected
/// documents, question; `#` starts a comment line.
public struct EvaluationQuestion: Sendable, Equatable {
    /// Thresholds may be tuned on the calibration part, never on the reported one.
    public enum Part: String, Sendable, CaseIterable {
        case calibration, reported
    }

    public enum Kind: String, Sendable, CaseIterable {
        /// In the words of the passage that answers it.
        case easy
        /// In other words than the passage's.
        case paraphrase
        /// Searched only among passages in the other language than the question's.
        case cross
        /// Nothing in the knowledge base answers it: the right answer is "I don't know".
        case offTopic = "off-topic"
    }

    public var part: Part
    public var kind: Kind
    /// "en" or "fr": the question's language.
    public var language: String
    /// Documents that answer it, as `LANGUAGE/FILE` without the extension ("en/charter"); empty off topic.
    public var expected: [String]
    public var question: String

    /// The language passages are searched in: the other one for a cross-lingual question, else every one.
    public var searchLanguage: String? {
        guard kind == .cross else { return nil }
        return expected.first.map { String($0.prefix { $0 != "/" }) }
    }

    /// `LANGUAGE/FILE` for a document source: the last folder and the file name without its extension.
    public static func documentKey(forSource source: String) -> String {
        let url = URL(fileURLWithPath: source)
        return url.deletingLastPathComponent().lastPathComponent + "/" + url.deletingPathExtension().lastPathComponent
    }
}

public enum EvaluationSet {
    /// Why a line of the evaluation set cannot be read, with its line number.
    public struct ParseError: Error, CustomStringConvertible, Sendable {
        public var line: Int
        public var reason: String
        public var description: String { "line \(line): \(reason)" }
    }

    /// - Throws: ``ParseError`` for the first malformed line.
    public static func parse(_ text: String) throws -> [EvaluationQuestion] {
        var questions: [EvaluationQuestion] = []
        for (offset, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if line.trimmingWhitespace.isEmpty || line.hasPrefix("#") { continue }
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard fields.count == 5 else {
                throw ParseError(line: offset + 1, reason: "expected 5 tab-separated fields, found \(fields.count)")
            }
            guard let part = EvaluationQuestion.Part(rawValue: fields[0]) else {
                throw ParseError(line: offset + 1, reason: "unknown part \(fields[0]) (calibration or reported)")
            }
            guard let kind = EvaluationQuestion.Kind(rawValue: fields[1]) else {
                throw ParseError(line: offset + 1, reason: "unknown kind \(fields[1]) (easy, paraphrase, cross or off-topic)")
            }
            guard TextAnalysis.languages.contains(fields[2]) else {
                throw ParseError(line: offset + 1, reason: "unknown language \(fields[2]) (en or fr)")
            }
            let expected = fields[3] == "-" ? [] : fields[3].split(separator: "|").map(String.init)
            guard expected.isEmpty == (kind == .offTopic) else {
                throw ParseError(line: offset + 1, reason: "an off-topic question expects -, any other a document")
            }
            questions.append(
                EvaluationQuestion(part: part, kind: kind, language: fields[2], expected: expected, question: fields[4]))
        }
        return questions
    }
}
