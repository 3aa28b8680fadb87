import Foundation
import Yams

/// Reads dialogue files into ``DialogueScript``s, collecting every problem instead of stopping at the first.
///
/// Loading never throws for bad content: a file that cannot be used yields diagnostics and no script.
public struct DialogueLoader {
    /// The variables and `on_end` actions dialogues may name besides their own answers.
    public let vocabulary: DialogueVocabulary

    public private(set) var diagnostics: [Diagnostic] = []
    var sharedScales: [String: Scale] = [:]

    /// - Parameter vocabulary: what the engine that runs these dialogues offers (its extensions' actions
    ///   and variables); a name outside it is an error.
    public init(vocabulary: DialogueVocabulary = .core) {
        self.vocabulary = vocabulary
    }

    /// Loads shared scales from a file whose top level is `scales:` (no `id`).
    public mutating func loadScales(yaml: String, file: String) {
        guard let root = parse(yaml: yaml, file: file) else { return }
        loadScales(root: root, file: file)
    }

    /// Loads shared scales from a scales file's parsed tree.
    mutating func loadScales(root: Node, file: String) {
        var reader = NodeReader(file: file)
        guard let mapping = reader.mapping(root, what: "the scales file") else { return }
        reader.checkKeys(mapping, allowed: ["scales"], context: "a scales file")
        if let scalesNode = mapping["scales"] {
            for scale in reader.scales(scalesNode) { sharedScales[scale.id] = scale }
        }
        diagnostics += reader.collected
    }

    /// Loads one dialogue. Returns nil when the file has errors that make it unusable.
    public mutating func loadDialogue(yaml: String, file: String) -> DialogueScript? {
        guard let root = parse(yaml: yaml, file: file) else { return nil }
        return loadDialogue(root: root, yaml: yaml, file: file)
    }

    /// Loads one dialogue from its parsed tree (`yaml` is its text, for the revision).
    mutating func loadDialogue(root: Node, yaml: String, file: String) -> DialogueScript? {
        var reader = NodeReader(file: file, vocabulary: vocabulary)
        let script = reader.dialogue(root, sharedScales: sharedScales, revision: Self.revision(of: yaml))
        diagnostics += reader.collected
        if let script { diagnostics += DialogueValidator.validate(script, positions: reader.positions, vocabulary: vocabulary) }
        return reader.collected.hasErrors ? nil : script
    }

    /// Whether a YAML text is a scales file rather than a dialogue (top-level `scales:` without `id:`).
    public static func isScalesFile(_ yaml: String) -> Bool {
        guard let root = try? Yams.compose(yaml: yaml) else { return false }
        return isScales(root)
    }

    static func isScales(_ root: Node) -> Bool {
        guard case .mapping(let m) = root else { return false }
        return m["scales"] != nil && m["id"] == nil
    }

    /// Where the first byte that is not UTF-8 sits, as a line and a column (in characters), or nil when the
    /// whole of `data` is valid UTF-8.
    static func firstInvalidUTF8(in data: Data) -> (line: Int, column: Int)? {
        var bytes = data.makeIterator()
        var decoder = UTF8()
        var line = 1
        var column = 1
        while true {
            switch decoder.decode(&bytes) {
            case .scalarValue(let scalar):
                if scalar == "\n" {
                    line += 1
                    column = 1
                } else {
                    column += 1
                }
            case .emptyInput: return nil
            case .error: return (line, column)
            }
        }
    }

    static func revision(of text: String) -> String {
        // FNV-1a 64: a stable fingerprint (Swift's Hasher is seeded per process).
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return String(hash, radix: 16)
    }

    mutating func parse(yaml: String, file: String) -> Node? {
        do {
            guard let root = try Yams.compose(yaml: yaml) else {
                diagnostics.append(Diagnostic(.error, .yamlSyntax, "the file is empty", at: .init(file: file, line: 1, column: 1)))
                return nil
            }
            return root
        } catch let error as YamlError {
            diagnostics.append(Self.diagnostic(for: error, file: file, yaml: yaml))
            return nil
        } catch {
            diagnostics.append(Diagnostic(.error, .yamlSyntax, "\(error)", at: .init(file: file, line: 1, column: 1)))
            return nil
        }
    }

    /// A YAML error at its own line and column, with a one-line excerpt of that line (never the whole file)
    /// and a fix for the common mistakes.
    static func diagnostic(for error: YamlError, file: String, yaml: String) -> Diagnostic {
        let lines = yaml.split(separator: "\n", omittingEmptySubsequences: false)
        func excerpt(_ line: Int, _ column: Int) -> String {
            guard line >= 1, line <= lines.count else { return "" }
            let text = String(lines[line - 1].prefix(120))
            return
                "\n    \(line) | \(text)\n    \(String(repeating: " ", count: String(line).count)) | \(String(repeating: " ", count: max(column - 1, 0)))^"
        }
        func hint(_ problem: String, line: Int) -> String {
            let text = line >= 1 && line <= lines.count ? String(lines[line - 1]) : ""
            if text.contains("\t") || problem.contains("tab") {
                return " (indent with spaces, not tabs)"
            }
            if problem.contains("mapping values are not allowed") {
                return " (a text that contains a colon must be in quotes: `question: \"Time: how long?\"`)"
            }
            if problem.contains("did not find expected") && (text.contains("[") || text.contains("{")) {
                return " (a list or a set of texts must be closed: check the `]` or `}` at the end)"
            }
            return ""
        }
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            let detail = context.map { "\(problem) \($0.text)" } ?? problem
            return Diagnostic(
                .error, .yamlSyntax, "YAML: \(detail)\(hint(problem, line: mark.line))\(excerpt(mark.line, mark.column))",
                at: .init(file: file, line: mark.line, column: mark.column))
        case .duplicatedKeysInMapping(let duplicates, let context):
            // Yams marks the first occurrence; the mistake is the second one, further down at the same indent.
            let key = duplicates.first ?? "?"
            var line = context.mark.line
            var column = context.mark.column
            let indent = String(repeating: " ", count: max(column - 1, 0))
            if let second = lines.indices.first(where: {
                $0 + 1 > context.mark.line && lines[$0].hasPrefix(indent + key + ":")
                    && !lines[$0].dropFirst(indent.count).hasPrefix(" ")
            }) {
                line = second + 1
            } else {
                column = max(column, 1)
            }
            return Diagnostic(
                .error, .yamlSyntax,
                "YAML: the key '\(key)' appears twice here (first at line \(context.mark.line)): keep one\(excerpt(line, column))",
                at: .init(file: file, line: line, column: column))
        case .reader(let problem, let offset, _, _):
            var line = 1
            var column = 1
            if let offset {
                for character in yaml.unicodeScalars.prefix(offset) {
                    if character == "\n" {
                        line += 1
                        column = 1
                    } else {
                        column += 1
                    }
                }
            }
            return Diagnostic(
                .error, .yamlSyntax, "YAML: \(problem)\(excerpt(line, column))", at: .init(file: file, line: line, column: column))
        default:
            return Diagnostic(.error, .yamlSyntax, "YAML: \(error)", at: .init(file: file, line: 1, column: 1))
        }
    }
}

/// Walks a YAML tree with positions, turning shapes into model values and problems into diagnostics.
struct NodeReader {
    let file: String
    var vocabulary: DialogueVocabulary = .core
    var collected: [Diagnostic] = []
    /// Where `next:`, `on_fail:` and the ending text are written, for the validator's diagnostics.
    var positions = SourcePositions()

    init(file: String, vocabulary: DialogueVocabulary = .core) {
        self.file = file
        self.vocabulary = vocabulary
    }

    func location(_ node: Node?) -> SourceLocation {
        let mark = node?.mark
        return SourceLocation(file: file, line: mark?.line ?? 1, column: mark?.column ?? 1)
    }

    mutating func report(_ severity: Diagnostic.Severity, _ code: DiagnosticCode, _ message: String, _ node: Node?) {
        collected.append(Diagnostic(severity, code, message, at: location(node)))
    }

    mutating func report(_ severity: Diagnostic.Severity, _ code: DiagnosticCode, _ message: String, at location: SourceLocation) {
        collected.append(Diagnostic(severity, code, message, at: location))
    }

    // MARK: Shapes

    mutating func mapping(_ node: Node, what: String) -> Node.Mapping? {
        if case .mapping(let m) = node { return m }
        report(.error, .invalidValue, "\(what) must be a set of `key: value` lines", node)
        return nil
    }

    func keyNode(_ mapping: Node.Mapping, _ key: String) -> Node? {
        mapping.first { $0.key.string == key }?.key
    }

    mutating func checkKeys(_ mapping: Node.Mapping, allowed: [String], context: String) {
        for (key, _) in mapping {
            guard let name = key.string else {
                report(.error, .invalidValue, "keys must be plain words", key)
                continue
            }
            if !allowed.contains(name) {
                let hint = TextMatching.suggestion(for: name, among: allowed).map { "; did you mean '\($0)'?" } ?? ""
                report(.error, .unknownKey, "unknown key '\(name)' in \(context)\(hint)", key)
            }
        }
    }

    mutating func string(_ node: Node?, what: String) -> String? {
        guard let node else { return nil }
        if case .scalar(let s) = node { return s.string }
        report(.error, .invalidValue, "\(what) must be a single value", node)
        return nil
    }

    mutating func int(_ node: Node?, what: String) -> Int? {
        guard let node else { return nil }
        if let value = node.int { return value }
        report(.error, .invalidValue, "\(what) must be a whole number", node)
        return nil
    }

    mutating func double(_ node: Node?, what: String) -> Double? {
        guard let node else { return nil }
        if let value = node.float ?? node.int.map(Double.init) { return value }
        report(.error, .invalidValue, "\(what) must be a number", node)
        return nil
    }

    mutating func bool(_ node: Node?, what: String) -> Bool? {
        guard let node else { return nil }
        if let value = node.bool { return value }
        report(.error, .invalidValue, "\(what) must be true or false", node)
        return nil
    }

    mutating func strings(_ node: Node?, what: String) -> [String] {
        guard let node else { return [] }
        switch node {
        case .scalar(let s): return [s.string]
        case .sequence(let seq): return seq.compactMap { string($0, what: what) }
        default:
            report(.error, .invalidValue, "\(what) must be a list of words", node)
            return []
        }
    }

    /// A text in both languages: `{en: ..., fr: ...}`, or a plain string (then English only, with a warning).
    mutating func text(_ node: Node?, what: String) -> LocalizedText? {
        guard let node else { return nil }
        switch node {
        case .scalar(let s):
            report(.warning, .missingTranslation, "\(what) has no French version (write it as `en:` and `fr:`)", node)
            return LocalizedText([.en: s.string])
        case .mapping(let m):
            var values: [Language: String] = [:]
            for (key, value) in m {
                guard let name = key.string, let language = Language(rawValue: name) else {
                    let hint =
                        key.string.flatMap { TextMatching.suggestion(for: $0, among: ["en", "fr"]) }.map { "; did you mean '\($0)'?" } ?? ""
                    report(.error, .unknownKey, "unknown language '\(key.string ?? "?")' in \(what) (use en and fr)\(hint)", key)
                    continue
                }
                if let s = string(value, what: what) { values[language] = s }
            }
            let text = LocalizedText(values)
            for language in text.missing {
                report(.warning, .missingTranslation, "\(what) has no \(language == .fr ? "French" : "English") version", node)
            }
            return values.isEmpty ? nil : text
        default:
            report(.error, .invalidValue, "\(what) must be a text, or `en:` and `fr:` texts", node)
            return nil
        }
    }

    // MARK: Dialogue

    static let dialogueKeys = [
        "id", "title", "description", "scope", "start", "steer", "triggers", "scales", "steps", "end", "on_end", "remind_after",
    ]
    static let stepKeys = [
        "id", "say", "ask", "question", "help", "save", "comment", "skippable", "rules", "invalid", "attempts", "on_fail",
        "next", "options", "scale", "min", "max", "integer", "learn_more", "collect", "mode", "anonymous",
    ]

    mutating func dialogue(_ root: Node, sharedScales: [String: Scale], revision: String) -> DialogueScript? {
        guard let m = mapping(root, what: "a dialogue file") else { return nil }
        checkKeys(m, allowed: Self.dialogueKeys, context: "a dialogue")
        let id = string(m["id"], what: "id")
        if m["id"] == nil { report(.error, .missingKey, "a dialogue needs an `id`", root) }
        if let id, !Self.isIdentifier(id) {
            report(.error, .invalidValue, "id '\(id)' must be lower-case letters, digits, - or _", m["id"])
        }
        let title = text(m["title"], what: "title")
        if m["title"] == nil { report(.error, .missingKey, "a dialogue needs a `title` (en and fr)", root) }
        let description = text(m["description"], what: "description") ?? LocalizedText([:])
        let scope = enumValue(m["scope"], DialogueScope.self, what: "scope") ?? .person
        let starters = enumValue(m["start"], Audience.self, what: "start") ?? .anyone
        let steering = enumValue(m["steer"], Audience.self, what: "steer") ?? starters
        let triggers = self.triggers(m["triggers"])

        var scales = sharedScales
        if let local = m["scales"] { for scale in self.scales(local) { scales[scale.id] = scale } }

        var steps: [Step] = []
        switch m["steps"] {
        case nil:
            report(.error, .missingKey, "a dialogue needs `steps`", root)
        case .sequence(let seq)?:
            if seq.isEmpty { report(.error, .noSteps, "the dialogue has no steps", m["steps"]) }
            for (index, node) in seq.enumerated() {
                if let step = step(node, index: index, scales: scales) { steps.append(step) }
            }
        case let other?:
            report(.error, .invalidValue, "`steps` must be a list (each step starts with `- id:`)", other)
        }

        var ending = Ending(summary: true, text: nil)
        if let endNode = m["end"], let em = mapping(endNode, what: "end") {
            checkKeys(em, allowed: ["summary", "text"], context: "end")
            ending.summary = bool(em["summary"], what: "summary") ?? true
            ending.text = text(em["text"], what: "the ending text")
            positions.ending = em["text"].map(location)
        }

        var actions: [String] = []
        if let actionsNode = m["on_end"] {
            for name in strings(actionsNode, what: "on_end") {
                if vocabulary.actions.contains(name) {
                    actions.append(name)
                } else {
                    let known = vocabulary.actions
                    let hint = TextMatching.suggestion(for: name, among: known).map { "; did you mean '\($0)'?" } ?? ""
                    let choices = known.isEmpty ? "no action is available here" : "one of \(known.sorted().joined(separator: ", "))"
                    report(.error, .invalidValue, "unknown action '\(name)' in on_end (\(choices))\(hint)", actionsNode)
                }
            }
        }

        // In a room everyone sees who said what: only a person's own run can keep an answer anonymous.
        if scope != .person {
            for step in steps where step.anonymous {
                report(
                    .error, .invalidValue,
                    "`anonymous` needs `scope: person`: in a \(scope.rawValue) dialogue everyone in the room sees who answered",
                    at: positions.anonymous[step.location] ?? step.location)
            }
        }

        var remindAfter: TimeInterval?
        if let node = m["remind_after"], let written = string(node, what: "remind_after") {
            remindAfter = DialogueScript.duration(written)
            if remindAfter == nil {
                report(.error, .invalidValue, "remind_after must be a duration such as `2d`, `36h` or `90m`, not '\(written)'", node)
            } else if scope != .person {
                report(
                    .warning, .invalidValue,
                    "remind_after counts only for a dialogue sent with `!send`, which takes `scope: person` dialogues", node)
            }
        }

        var index: [String: Int] = [:]
        for (i, step) in steps.enumerated() where index[step.id] == nil { index[step.id] = i }

        guard let id, let title else { return nil }
        var script = DialogueScript(
            id: id, title: title, description: description, scope: scope, starters: starters, steering: steering,
            triggers: triggers, steps: steps, ending: ending, actions: actions, revision: revision, location: location(root),
            scales: scales, stepIndex: index)
        script.remindAfter = remindAfter
        return script
    }

    static func isIdentifier(_ s: String) -> Bool {
        !s.isEmpty && s.count <= 64
            && s.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" || $0 == "_" }
    }

    mutating func enumValue<E: RawRepresentable & CaseIterable>(_ node: Node?, _ type: E.Type, what: String) -> E?
    where E.RawValue == String {
        guard let raw = string(node, what: what) else { return nil }
        if let value = E(rawValue: raw) { return value }
        let names = E.allCases.map(\.rawValue)
        let hint = TextMatching.suggestion(for: raw, among: names).map { "; did you mean '\($0)'?" } ?? ""
        report(.error, .invalidValue, "\(what) must be one of \(names.joined(separator: ", ")), not '\(raw)'\(hint)", node)
        return nil
    }

    mutating func triggers(_ node: Node?) -> Triggers {
        guard let node, let m = mapping(node, what: "triggers") else { return Triggers() }
        checkKeys(m, allowed: ["commands", "keywords"], context: "triggers")
        var triggers = Triggers(location: location(node))
        if case .scalar(let written)? = m["commands"], written.string.contains(where: { $0 == "," || $0 == " " }) {
            report(
                .error, .invalidValue,
                "`commands` is one text here ('\(written.string)'): write a list, `commands: [\(written.string.split(whereSeparator: { $0 == "," || $0 == " " }).joined(separator: ", "))]`",
                m["commands"])
        }
        triggers.commands = strings(m["commands"], what: "commands").map { $0.lowercased() }
        if let k = m["keywords"], let km = mapping(k, what: "keywords") {
            for (key, value) in km {
                guard let language = key.string.flatMap(Language.init(rawValue:)) else {
                    report(.error, .unknownKey, "keywords are listed per language: en and fr", key)
                    continue
                }
                triggers.keywords[language] = strings(value, what: "keywords")
            }
        }
        return triggers
    }

    mutating func scales(_ node: Node) -> [Scale] {
        guard let m = mapping(node, what: "scales") else { return [] }
        var result: [Scale] = []
        for (key, value) in m {
            guard let id = key.string else { continue }
            guard case .sequence(let levelsNode) = value else {
                report(.error, .invalidValue, "scale '\(id)' must be a list of levels", value)
                continue
            }
            var levels: [ScaleLevel] = []
            for (i, levelNode) in levelsNode.enumerated() {
                guard let lm = mapping(levelNode, what: "a scale level") else { continue }
                checkKeys(lm, allowed: ["value", "label", "description"], context: "a scale level")
                let value = int(lm["value"], what: "value") ?? (i + 1)
                guard let label = text(lm["label"], what: "the label of level \(value) of scale '\(id)'") else {
                    report(.error, .missingKey, "each level of scale '\(id)' needs a `label`", levelNode)
                    continue
                }
                levels.append(
                    ScaleLevel(
                        value: value, label: label,
                        description: text(lm["description"], what: "the description of level \(value) of scale '\(id)'")))
            }
            if levels.count < 2 { report(.error, .incompleteStep, "scale '\(id)' needs at least two levels", value) }
            result.append(Scale(id: id, levels: levels, location: location(key)))
        }
        return result
    }

    mutating func step(_ node: Node, index: Int, scales: [String: Scale]) -> Step? {
        guard let m = mapping(node, what: "a step") else { return nil }
        checkKeys(m, allowed: Self.stepKeys, context: "a step")
        guard let id = string(m["id"], what: "step id") else {
            report(.error, .missingKey, "step \(index + 1) needs an `id`", node)
            return nil
        }
        if !Self.isIdentifier(id) { report(.error, .invalidValue, "step id '\(id)' must be lower-case letters, digits, - or _", m["id"]) }
        let what = "step '\(id)'"

        let kind: StepKind
        let text: LocalizedText
        if let sayNode = m["say"] {
            if m["ask"] != nil { report(.error, .invalidValue, "\(what) cannot both `say` and `ask`", keyNode(m, "ask")) }
            kind = .say
            text = self.text(sayNode, what: "the text of \(what)") ?? LocalizedText([:])
        } else if let askNode = m["ask"] {
            guard let kindName = string(askNode, what: "ask") else { return nil }
            switch kindName {
            case "text": kind = .text
            case "yesno": kind = .yesno
            case "date": kind = .date
            case "choice", "multi":
                let options = self.options(m["options"], step: id)
                if options.count < 2 { report(.error, .incompleteStep, "\(what) needs at least two `options`", m["options"] ?? node) }
                kind = kindName == "choice" ? .choice(options) : .multi(options)
            case "scale":
                guard let scaleName = string(m["scale"], what: "scale") else {
                    report(.error, .incompleteStep, "\(what) asks on a scale but names none (`scale: NAME`)", node)
                    return nil
                }
                if scales[scaleName] == nil {
                    let hint = TextMatching.suggestion(for: scaleName, among: scales.keys).map { "; did you mean '\($0)'?" } ?? ""
                    report(.error, .unknownScale, "unknown scale '\(scaleName)'\(hint)", m["scale"])
                }
                kind = .scale(scaleName)
            case "number":
                let min = double(m["min"], what: "min"), max = double(m["max"], what: "max")
                if let min, let max, min > max { report(.error, .badRule, "\(what): min (\(min)) is above max (\(max))", m["min"]) }
                kind = .number(min: min, max: max, integer: bool(m["integer"], what: "integer") ?? false)
            case "list":
                let min = int(m["min"], what: "min") ?? 1, max = int(m["max"], what: "max")
                if let max, min > max { report(.error, .badRule, "\(what): min (\(min)) is above max (\(max))", m["min"]) }
                kind = .list(min: min, max: max)
            default:
                let kinds = ["text", "choice", "multi", "yesno", "scale", "number", "list", "date"]
                let hint = TextMatching.suggestion(for: kindName, among: kinds).map { "; did you mean '\($0)'?" } ?? ""
                report(
                    .error, .invalidValue, "unknown question kind '\(kindName)' (one of \(kinds.joined(separator: ", ")))\(hint)", askNode)
                return nil
            }
            guard let question = self.text(m["question"], what: "the question of \(what)") else {
                report(.error, .missingKey, "\(what) asks something but has no `question`", node)
                return nil
            }
            text = question
        } else {
            report(.error, .missingKey, "\(what) needs `say:` or `ask:`", node)
            return nil
        }

        var rules: [Rule] = []
        if let rulesNode = m["rules"] {
            if case .sequence(let seq) = rulesNode {
                for ruleNode in seq { if let rule = rule(ruleNode) { rules.append(rule) } }
                let least = rules.compactMap { if case .minLength(let n) = $0 { n } else { nil } }.max()
                let most = rules.compactMap { if case .maxLength(let n) = $0 { n } else { nil } }.min()
                if let least, let most, least > most {
                    report(
                        .error, .badRule,
                        "no answer can pass these rules: at least \(least) characters and at most \(most)", rulesNode)
                }
            } else {
                report(.error, .invalidValue, "`rules` must be a list", rulesNode)
            }
        }
        let attempts = int(m["attempts"], what: "attempts")
        if let attempts, attempts < 1 {
            report(.error, .invalidValue, "`attempts` must be at least 1 (the first try counts), not \(attempts)", m["attempts"])
        }

        let onFail: FailAction
        switch string(m["on_fail"], what: "on_fail") {
        case nil, "skip"?: onFail = .skip
        case "stop"?: onFail = .stop
        case let target?: onFail = .goto(target)
        }

        let collect = string(m["collect"], what: "collect")
        if let collect, collect != "one", collect != "many" {
            report(.error, .invalidValue, "collect must be `one` or `many`, not '\(collect)'", m["collect"])
        }

        let mode = enumValue(m["mode"], StepMode.self, what: "mode")
        if mode == .decision, collect == "many" {
            report(
                .error, .invalidValue,
                "a `decision` step takes one answer, the facilitator's: remove `collect: many` or choose `mode: collective`", m["mode"])
        }

        var step = Step(
            id: id, kind: kind, text: text, help: self.text(m["help"], what: "the help of \(what)"),
            variable: string(m["save"], what: "save") ?? id,
            comment: self.text(m["comment"], what: "the comment prompt of \(what)"),
            skippable: bool(m["skippable"], what: "skippable") ?? false, rules: rules,
            invalid: self.text(m["invalid"], what: "the rejection message of \(what)"),
            maxAttempts: max(attempts ?? 3, 1), onFail: onFail,
            next: next(m["next"]), learnMore: string(m["learn_more"], what: "learn_more"),
            collectsMany: collect == "many" || mode == .collective || mode == .personal, location: location(m["id"]))
        step.declaredMode = mode
        step.anonymous = bool(m["anonymous"], what: "anonymous") ?? false
        if step.anonymous, case .say = kind {
            report(.error, .invalidValue, "`anonymous` marks a question: a `say` step has no answer to keep apart", m["anonymous"])
        } else if step.anonymous, step.comment != nil {
            report(
                .error, .invalidValue, "an anonymous question takes no comment: a comment would say who answered; remove `comment:`",
                m["anonymous"])
        }
        positions.anonymous[step.location] = m["anonymous"].map(location)
        positions.next[step.location] = m["next"].map(location)
        positions.onFail[step.location] = m["on_fail"].map(location)
        return step
    }

    mutating func options(_ node: Node?, step: String) -> [ChoiceOption] {
        guard let node else { return [] }
        guard case .sequence(let seq) = node else {
            report(.error, .invalidValue, "`options` must be a list", node)
            return []
        }
        var options: [ChoiceOption] = []
        for item in seq {
            guard let om = mapping(item, what: "an option") else { continue }
            checkKeys(om, allowed: ["value", "label", "aliases"], context: "an option")
            guard let label = text(om["label"], what: "an option label of step '\(step)'") else {
                report(.error, .missingKey, "each option needs a `label`", item)
                continue
            }
            let value = string(om["value"], what: "value") ?? label.resolve(.en)
            if options.contains(where: { $0.value == value }) {
                report(
                    .error, .invalidValue, "two options of step '\(step)' have the value '\(value)': each answer must be told apart",
                    om["value"] ?? item)
            }
            options.append(ChoiceOption(value: value, label: label, aliases: strings(om["aliases"], what: "aliases")))
        }
        return options
    }

    mutating func rule(_ node: Node) -> Rule? {
        guard let m = mapping(node, what: "a rule") else { return nil }
        checkKeys(m, allowed: ["min_length", "max_length", "pattern", "message"], context: "a rule")
        if let n = int(m["min_length"], what: "min_length") { return .minLength(n) }
        if let n = int(m["max_length"], what: "max_length") { return .maxLength(n) }
        if let p = string(m["pattern"], what: "pattern") {
            if (try? NSRegularExpression(pattern: p)) == nil {
                report(.error, .badRule, "the pattern '\(p)' is not a valid regular expression", m["pattern"])
                return nil
            }
            return .pattern(p, text(m["message"], what: "the message of a pattern rule"))
        }
        report(.error, .badRule, "a rule needs min_length, max_length or pattern", node)
        return nil
    }

    mutating func next(_ node: Node?) -> Next {
        guard let node else { return .following }
        switch node {
        case .scalar(let s):
            return s.string == "end" ? .end : .step(s.string)
        case .sequence(let seq):
            var branches: [Branch] = []
            for item in seq {
                guard let bm = mapping(item, what: "a branch") else { continue }
                checkKeys(bm, allowed: ["if", "goto"], context: "a branch")
                guard let target = string(bm["goto"], what: "goto") else {
                    report(.error, .missingKey, "each branch needs `goto:` (a step id or `end`)", item)
                    continue
                }
                var condition: Expression?
                let source = string(bm["if"], what: "if")
                if let source, let ifNode = bm["if"] {
                    do {
                        condition = try Expression.parse(source)
                    } catch {
                        var at = location(ifNode)
                        // Point at the offending character when the condition sits on the `if:` line unquoted or quoted.
                        if case .scalar(let scalar) = ifNode,
                            scalar.style == .plain || scalar.style == .singleQuoted || scalar.style == .doubleQuoted
                        {
                            at.column += error.offset - 1 + (scalar.style == .plain ? 0 : 1)
                        }
                        report(.error, .badExpression, "bad condition: \(error.message)", at: at)
                    }
                }
                branches.append(
                    Branch(condition: condition, conditionSource: source, target: target == "end" ? nil : target, location: location(item)))
            }
            return .branches(branches)
        default:
            report(.error, .invalidValue, "`next` must be a step id, `end`, or a list of `- if: ... goto: ...`", node)
            return .following
        }
    }
}
