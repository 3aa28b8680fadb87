/// Checks a loaded dialogue as a whole: references, reachability, termination, conditions, variables.
public enum DialogueValidator {
    public static func validate(_ script: DialogueScript, vocabulary: DialogueVocabulary = .core) -> [Diagnostic] {
        validate(script, positions: SourcePositions(), vocabulary: vocabulary)
    }

    static func validate(_ script: DialogueScript, positions: SourcePositions, vocabulary: DialogueVocabulary) -> [Diagnostic] {
        var diagnostics: [Diagnostic] = []
        func report(_ severity: Diagnostic.Severity, _ code: DiagnosticCode, _ message: String, _ at: SourceLocation) {
            diagnostics.append(Diagnostic(severity, code, message, at: at))
        }

        var seen: [String: SourceLocation] = [:]
        for step in script.steps {
            if let first = seen[step.id] {
                report(.error, .duplicateStepID, "step id '\(step.id)' is already used at line \(first.line)", step.location)
            } else {
                seen[step.id] = step.location
            }
        }
        let ids = Set(script.steps.map(\.id))
        func checkTarget(_ target: String, _ at: SourceLocation, _ role: String) -> Bool {
            if ids.contains(target) { return true }
            let hint = TextMatching.suggestion(for: target, among: ids).map { "; did you mean '\($0)'?" } ?? ""
            report(.error, .unknownStep, "\(role) points to '\(target)', which is not a step\(hint)", at)
            return false
        }

        let types = script.variableTypes
        var optionValues: [String: [String]] = [:]
        for step in script.steps {
            switch step.kind {
            case .choice(let options), .multi(let options): optionValues[step.variable] = options.map(\.value)
            default: break
            }
        }
        let knownVariables = Set(types.keys).union(vocabulary.variables)
        for step in script.steps {
            switch step.next {
            case .step(let target): _ = checkTarget(target, positions.next[step.location] ?? step.location, "`next` of step '\(step.id)'")
            case .branches(let branches):
                for branch in branches {
                    if let target = branch.target { _ = checkTarget(target, branch.location, "a branch of step '\(step.id)'") }
                    if let condition = branch.condition {
                        for (variable, value) in condition.comparedTexts() {
                            guard let options = optionValues[variable], !options.contains(value) else { continue }
                            let hint = TextMatching.suggestion(for: value, among: Set(options)).map { "; did you mean '\($0)'?" } ?? ""
                            report(
                                .error, .typeError,
                                "'\(value)' is not an option of '\(variable)' (\(options.joined(separator: ", "))), so this condition never holds\(hint)",
                                branch.location)
                        }
                        do {
                            let type = try condition.check(types)
                            if type != .bool && type != .unknown {
                                report(.error, .typeError, "the condition must be yes or no, but it is \(type.readable)", branch.location)
                            }
                        } catch {
                            report(.error, .typeError, "condition '\(branch.conditionSource ?? "")': \(error.message)", branch.location)
                        }
                    }
                }
                if !branches.isEmpty, branches.allSatisfy({ $0.condition != nil }) {
                    report(
                        .warning, .cannotEnd,
                        "step '\(step.id)': no branch applies when every condition is false; add a last `- goto:` without `if`",
                        step.location)
                }
            case .following, .end: break
            }
            if case .goto(let target) = step.onFail {
                _ = checkTarget(target, positions.onFail[step.location] ?? step.location, "`on_fail` of step '\(step.id)'")
            }
            var labels: [LocalizedText] = []
            if case .choice(let options) = step.kind { labels = options.map(\.label) }
            if case .multi(let options) = step.kind { labels = options.map(\.label) }
            for text in [step.text, step.help, step.comment, step.invalid].compactMap({ $0 }) + labels {
                for name in Interpolation.variables(in: text) where !knownVariables.contains(name) {
                    let hint = TextMatching.suggestion(for: name, among: knownVariables).map { "; did you mean '{\($0)}'?" } ?? ""
                    report(
                        .error, .unknownVariable,
                        "step '\(step.id)' uses {\(name)}, which is not a saved answer or a built-in variable\(hint)", step.location)
                }
            }
        }
        if let endText = script.ending.text {
            for name in Interpolation.variables(in: endText) where !knownVariables.contains(name) {
                report(
                    .error, .unknownVariable, "the ending uses {\(name)}, which is not a saved answer or a built-in variable",
                    positions.ending ?? script.location)
            }
        }

        // Reachability and termination over the step graph.
        guard let first = script.steps.first else { return diagnostics }
        let graph = DialogueGraph(script)
        let reachable = graph.reachable(from: first.id)
        for step in script.steps where !reachable.contains(step.id) && seen[step.id] == step.location {
            report(.warning, .unreachableStep, "step '\(step.id)' can never be reached", step.location)
        }
        let canEnd = graph.stepsThatCanEnd()
        for step in script.steps where reachable.contains(step.id) && !canEnd.contains(step.id) && seen[step.id] == step.location {
            report(.error, .cannotEnd, "from step '\(step.id)' the dialogue can never end (it loops forever)", step.location)
        }
        return diagnostics
    }
}

/// Where some keys are written in the file, so that a diagnostic about them points there rather than at
/// the step. Steps are known by the location of their id.
struct SourcePositions {
    var next: [SourceLocation: SourceLocation] = [:]
    var onFail: [SourceLocation: SourceLocation] = [:]
    var ending: SourceLocation?
    /// Where each step says `anonymous:`, keyed by the step's location.
    var anonymous: [SourceLocation: SourceLocation] = [:]
}

/// The dialogue as a graph of steps: who may follow whom.
public struct DialogueGraph: Sendable {
    public enum Target: Hashable, Sendable { case step(String), end }
    public struct Edge: Hashable, Sendable {
        public var from: String
        public var to: Target
        /// The condition, or a label such as "on fail".
        public var label: String?
    }

    public let edges: [Edge]

    public init(_ script: DialogueScript) {
        var edges: [Edge] = []
        for (i, step) in script.steps.enumerated() {
            let following: Target = i + 1 < script.steps.count ? .step(script.steps[i + 1].id) : .end
            switch step.next {
            case .following: edges.append(Edge(from: step.id, to: following))
            case .end: edges.append(Edge(from: step.id, to: .end))
            case .step(let id): edges.append(Edge(from: step.id, to: .step(id)))
            case .branches(let branches):
                for b in branches { edges.append(Edge(from: step.id, to: b.target.map(Target.step) ?? .end, label: b.conditionSource)) }
                if branches.isEmpty || branches.allSatisfy({ $0.condition != nil }) {
                    edges.append(Edge(from: step.id, to: following, label: "otherwise"))
                }
            }
            if step.kind.isQuestion {
                switch step.onFail {
                case .skip: break
                case .stop: edges.append(Edge(from: step.id, to: .end, label: "on fail"))
                case .goto(let id): edges.append(Edge(from: step.id, to: .step(id), label: "on fail"))
                }
            }
        }
        self.edges = edges
    }

    /// Steps `start` leads to, itself included: one pass over the edges (each step's successors are
    /// grouped first), so checking grows linearly with the dialogue.
    public func reachable(from start: String) -> Set<String> {
        var successors: [String: [String]] = [:]
        for edge in edges {
            if case .step(let next) = edge.to { successors[edge.from, default: []].append(next) }
        }
        var seen: Set<String> = [start]
        var queue = [start]
        while let current = queue.popLast() {
            for next in successors[current] ?? [] where seen.insert(next).inserted {
                queue.append(next)
            }
        }
        return seen
    }

    /// Steps from which some path leads to the end: a walk backwards from the steps that end, each edge
    /// followed once.
    public func stepsThatCanEnd() -> Set<String> {
        var predecessors: [String: [String]] = [:]
        var result: Set<String> = []
        for edge in edges {
            switch edge.to {
            case .end: result.insert(edge.from)
            case .step(let next): predecessors[next, default: []].append(edge.from)
            }
        }
        var queue = Array(result)
        while let current = queue.popLast() {
            for previous in predecessors[current] ?? [] where result.insert(previous).inserted {
                queue.append(previous)
            }
        }
        return result
    }
}
