/// A position in a dialogue file, 1-based.
public struct SourceLocation: Sendable, Hashable, Codable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    public var description: String { "\(file):\(line):\(column)" }
}

/// One problem found in a dialogue file, with a stable code (see docs/diagnostics.md).
public struct Diagnostic: Sendable, Hashable, CustomStringConvertible {
    public enum Severity: String, Sendable, Hashable { case error, warning }

    public var severity: Severity
    public var code: DiagnosticCode
    public var message: String
    public var location: SourceLocation

    public init(_ severity: Severity, _ code: DiagnosticCode, _ message: String, at location: SourceLocation) {
        self.severity = severity
        self.code = code
        self.message = message
        self.location = location
    }

    /// `file:line:column: error FBQ012: message`, the format editors and CI understand.
    public var description: String { "\(location): \(severity.rawValue) \(code.rawValue): \(message)" }
}

/// Stable diagnostic codes. Never renumber: add new codes at the end. Documented in docs/diagnostics.md.
public enum DiagnosticCode: String, Sendable, Hashable, CaseIterable {
    /// The file is not valid YAML.
    case yamlSyntax = "FBQ001"
    /// A key that the format does not know (with a did-you-mean).
    case unknownKey = "FBQ002"
    /// A required key is missing.
    case missingKey = "FBQ003"
    /// A value has the wrong shape or type (a list where a text is expected, a bad number…).
    case invalidValue = "FBQ004"
    /// Two steps share an id.
    case duplicateStepID = "FBQ005"
    /// `next`, `goto` or `on_fail` names a step that does not exist.
    case unknownStep = "FBQ006"
    /// No path from the first step reaches this step.
    case unreachableStep = "FBQ007"
    /// From this step the dialogue can never reach its end.
    case cannotEnd = "FBQ008"
    /// A text lacks its French or English version.
    case missingTranslation = "FBQ009"
    /// A condition does not parse.
    case badExpression = "FBQ010"
    /// A condition compares values of different types, or names an unknown variable.
    case typeError = "FBQ011"
    /// A scale step names a scale that is not defined.
    case unknownScale = "FBQ012"
    /// Two dialogues share a trigger (command or keyword) or an id.
    case duplicateTrigger = "FBQ013"
    /// A step is missing something its kind needs (options for a choice…).
    case incompleteStep = "FBQ014"
    /// A `{variable}` in a text is not known.
    case unknownVariable = "FBQ015"
    /// A validation rule is malformed (bad pattern, min above max).
    case badRule = "FBQ016"
    /// The dialogue has no steps.
    case noSteps = "FBQ017"
}

extension Array where Element == Diagnostic {
    public var hasErrors: Bool { contains { $0.severity == .error } }
}
