/// The small, safe condition language used in `next: - if: ...`.
///
///     score >= 3 and not (sector in ["food", "energy"])
///     count(pebbles) > 0 or agrees == true
///
/// Values: numbers, 'strings' or "strings", true/false, [lists], saved answers by name,
/// `count(name)` (items of a list answer; 0 when unanswered), `answered(name)`.
/// Operators: `== != < <= > >=`, `in`, `and`, `or`, `not`, parentheses. Parsed and type-checked
/// when the file loads, so a running dialogue never meets a bad expression.
public indirect enum Expression: Sendable, Hashable {
    case number(Double)
    case string(String)
    case bool(Bool)
    case list([Expression])
    case variable(String)
    case count(String)
    case answered(String)
    case not(Expression)
    case and(Expression, Expression)
    case or(Expression, Expression)
    case compare(Expression, Comparison, Expression)

    public enum Comparison: String, Sendable, Hashable {
        case equal = "==", notEqual = "!=", less = "<", lessOrEqual = "<=", greater = ">", greaterOrEqual = ">="
        case isIn = "in"
    }
}

/// What an expression or an answer holds, for type checking.
public enum ValueType: String, Sendable, Hashable {
    case number, text, bool, list, unknown

    var readable: String {
        switch self {
        case .number: "a number"
        case .text: "a text"
        case .bool: "a yes/no"
        case .list: "a list"
        case .unknown: "a value"
        }
    }
}

/// A parse or type error, with the column (1-based, within the expression text) where it was found.
public struct ExpressionError: Error, Sendable, Hashable {
    public var message: String
    public var offset: Int
    public var isTypeError: Bool
}

// MARK: - Parsing

extension Expression {
    /// Parses `source`. Bounded: at most 2,000 characters and 64 levels of nesting.
    public static func parse(_ source: String) throws(ExpressionError) -> Expression {
        guard source.count <= 2_000 else {
            throw ExpressionError(message: "condition is too long (over 2000 characters)", offset: 1, isTypeError: false)
        }
        var parser = ExpressionParser(tokens: try ExpressionLexer.tokens(source), end: source.count + 1)
        let expression = try parser.parseOr(depth: 0)
        if let extra = parser.peek {
            throw ExpressionError(message: "unexpected '\(extra.text)'", offset: extra.offset, isTypeError: false)
        }
        return expression
    }

    /// Names of the answers the expression reads.
    public var variables: Set<String> {
        switch self {
        case .number, .string, .bool: []
        case .list(let items): items.reduce(into: []) { $0.formUnion($1.variables) }
        case .variable(let name), .count(let name), .answered(let name): [name]
        case .not(let e): e.variables
        case .and(let a, let b), .or(let a, let b), .compare(let a, _, let b): a.variables.union(b.variables)
        }
    }
}

struct ExpressionToken: Sendable {
    enum Kind { case number(Double), string(String), word(String), symbol(String) }
    var kind: Kind
    var text: String
    var offset: Int
}

enum ExpressionLexer {
    static func tokens(_ source: String) throws(ExpressionError) -> [ExpressionToken] {
        var tokens: [ExpressionToken] = []
        let chars = Array(source)
        var i = 0
        while i < chars.count {
            let c = chars[i]
            let offset = i + 1
            if c.isWhitespace {
                i += 1
            } else if c.isNumber, c.isASCII {
                var j = i
                while j < chars.count, (chars[j].isASCII && chars[j].isNumber) || chars[j] == "." { j += 1 }
                let text = String(chars[i..<j])
                guard let value = Double(text) else {
                    throw ExpressionError(message: "'\(text)' is not a number", offset: offset, isTypeError: false)
                }
                tokens.append(.init(kind: .number(value), text: text, offset: offset))
                i = j
            } else if c == "'" || c == "\"" {
                var j = i + 1
                var value = ""
                while j < chars.count, chars[j] != c {
                    value.append(chars[j])
                    j += 1
                }
                guard j < chars.count else {
                    throw ExpressionError(message: "text starting here is not closed with \(c)", offset: offset, isTypeError: false)
                }
                tokens.append(.init(kind: .string(value), text: String(chars[i...j]), offset: offset))
                i = j + 1
            } else if c.isLetter || c == "_" {
                var j = i
                while j < chars.count, chars[j].isLetter || chars[j].isNumber || chars[j] == "_" || chars[j] == "." { j += 1 }
                let text = String(chars[i..<j])
                tokens.append(.init(kind: .word(text), text: text, offset: offset))
                i = j
            } else {
                let two = i + 1 < chars.count ? String(chars[i...i + 1]) : ""
                if ["==", "!=", "<=", ">="].contains(two) {
                    tokens.append(.init(kind: .symbol(two), text: two, offset: offset))
                    i += 2
                } else if "<>()[],".contains(c) {
                    tokens.append(.init(kind: .symbol(String(c)), text: String(c), offset: offset))
                    i += 1
                } else if c == "=" {
                    throw ExpressionError(message: "use '==' to compare, not '='", offset: offset, isTypeError: false)
                } else {
                    throw ExpressionError(message: "unexpected character '\(c)'", offset: offset, isTypeError: false)
                }
            }
        }
        return tokens
    }
}

struct ExpressionParser {
    var tokens: [ExpressionToken]
    var position = 0
    let end: Int

    init(tokens: [ExpressionToken], end: Int) {
        self.tokens = tokens
        self.end = end
    }

    var peek: ExpressionToken? { position < tokens.count ? tokens[position] : nil }

    mutating func next() -> ExpressionToken? {
        defer { position += 1 }
        return peek
    }

    func isWord(_ word: String) -> Bool {
        if case .word(let w)? = peek?.kind, w.lowercased() == word { return true }
        return false
    }

    func isSymbol(_ symbol: String) -> Bool {
        if case .symbol(let s)? = peek?.kind, s == symbol { return true }
        return false
    }

    func error(_ message: String) -> ExpressionError {
        ExpressionError(message: message, offset: peek?.offset ?? end, isTypeError: false)
    }

    mutating func expect(_ symbol: String) throws(ExpressionError) {
        guard isSymbol(symbol) else {
            throw error(peek.map { "expected '\(symbol)' but found '\($0.text)'" } ?? "expected '\(symbol)' at the end")
        }
        position += 1
    }

    mutating func parseOr(depth: Int) throws(ExpressionError) -> Expression {
        guard depth < 64 else { throw error("condition is nested too deeply") }
        var lhs = try parseAnd(depth: depth)
        while isWord("or") {
            position += 1
            lhs = .or(lhs, try parseAnd(depth: depth))
        }
        return lhs
    }

    mutating func parseAnd(depth: Int) throws(ExpressionError) -> Expression {
        var lhs = try parseNot(depth: depth)
        while isWord("and") {
            position += 1
            lhs = .and(lhs, try parseNot(depth: depth))
        }
        return lhs
    }

    mutating func parseNot(depth: Int) throws(ExpressionError) -> Expression {
        if isWord("not") {
            position += 1
            guard depth < 64 else { throw error("condition is nested too deeply") }
            return .not(try parseNot(depth: depth + 1))
        }
        return try parseComparison(depth: depth)
    }

    mutating func parseComparison(depth: Int) throws(ExpressionError) -> Expression {
        let lhs = try parsePrimary(depth: depth)
        if isWord("in") {
            position += 1
            return .compare(lhs, .isIn, try parsePrimary(depth: depth))
        }
        if case .symbol(let s)? = peek?.kind, let op = Expression.Comparison(rawValue: s) {
            position += 1
            return .compare(lhs, op, try parsePrimary(depth: depth))
        }
        return lhs
    }

    mutating func parsePrimary(depth: Int) throws(ExpressionError) -> Expression {
        guard let token = next() else { throw ExpressionError(message: "condition ends too early", offset: end, isTypeError: false) }
        switch token.kind {
        case .number(let n): return .number(n)
        case .string(let s): return .string(s)
        case .symbol("("):
            guard depth < 64 else { throw error("condition is nested too deeply") }
            let inner = try parseOr(depth: depth + 1)
            try expect(")")
            return inner
        case .symbol("["):
            guard depth < 64 else { throw error("condition is nested too deeply") }
            var items: [Expression] = []
            if isSymbol("]") {
                position += 1
                return .list(items)
            }
            repeat {
                if isSymbol(",") { position += 1 }
                items.append(try parsePrimary(depth: depth + 1))
            } while isSymbol(",")
            try expect("]")
            return .list(items)
        case .symbol(let s):
            position -= 1
            throw error("unexpected '\(s)'")
        case .word(let word):
            switch word.lowercased() {
            case "true", "yes", "oui", "vrai": return .bool(true)
            case "false", "no", "non", "faux": return .bool(false)
            case "and", "or", "not", "in":
                position -= 1
                throw error("'\(word)' needs a value before it")
            case "count", "answered":
                try expect("(")
                guard case .word(let name)? = peek?.kind else { throw error("\(word)( ) takes the name of an answer") }
                position += 1
                try expect(")")
                return word.lowercased() == "count" ? .count(name) : .answered(name)
            default:
                return .variable(word)
            }
        }
    }
}

// MARK: - Types

extension Expression {
    /// Checks that the expression is well-typed given the types of the answers it may read.
    /// - Returns: the type of the expression.
    public func check(_ types: [String: ValueType]) throws(ExpressionError) -> ValueType {
        func fail(_ message: String) -> ExpressionError { ExpressionError(message: message, offset: 1, isTypeError: true) }
        switch self {
        case .number: return .number
        case .string: return .text
        case .bool: return .bool
        case .list(let items):
            for item in items { _ = try item.check(types) }
            return .list
        case .variable(let name):
            guard let type = types[name] else { throw fail("no answer is saved as '\(name)'") }
            return type
        case .count(let name):
            guard types[name] != nil else { throw fail("no answer is saved as '\(name)'") }
            return .number
        case .answered(let name):
            guard types[name] != nil else { throw fail("no answer is saved as '\(name)'") }
            return .bool
        case .not(let e):
            let t = try e.check(types)
            guard t == .bool || t == .unknown else { throw fail("'not' needs a yes/no, but this is \(t.readable)") }
            return .bool
        case .and(let a, let b), .or(let a, let b):
            for side in [a, b] {
                let t = try side.check(types)
                guard t == .bool || t == .unknown else { throw fail("'and'/'or' join yes/no conditions, but this is \(t.readable)") }
            }
            return .bool
        case .compare(let a, let op, let b):
            let ta = try a.check(types), tb = try b.check(types)
            switch op {
            case .isIn:
                guard tb == .list || tb == .text || tb == .unknown else {
                    throw fail("'in' looks into a list or a text, but the right side is \(tb.readable)")
                }
                if case .list(let items) = b, ta != .unknown {
                    for item in items {
                        let ti = try item.check(types)
                        if ti != ta, ti != .unknown, ta != .list {
                            throw fail("cannot look for \(ta.readable) among \(ti.readable)s")
                        }
                    }
                }
            case .less, .lessOrEqual, .greater, .greaterOrEqual:
                guard (ta == .number || ta == .unknown) && (tb == .number || tb == .unknown) else {
                    throw fail("'\(op.rawValue)' compares numbers, not \(ta == .number ? tb.readable : ta.readable)")
                }
            case .equal, .notEqual:
                guard ta == tb || ta == .unknown || tb == .unknown else {
                    throw fail("cannot compare \(ta.readable) with \(tb.readable)")
                }
            }
            return .bool
        }
    }
}

// MARK: - Evaluation

extension Expression {
    /// Evaluates against saved answers. Never throws: an unanswered value is false / 0 / empty.
    public func evaluate(_ answers: [String: AnswerValue]) -> Bool {
        value(answers).truthy
    }

    func value(_ answers: [String: AnswerValue]) -> EvaluatedValue {
        switch self {
        case .number(let n): return .number(n)
        case .string(let s): return .text(s)
        case .bool(let b): return .bool(b)
        case .list(let items): return .list(items.map { $0.value(answers) })
        case .variable(let name): return answers[name].map(EvaluatedValue.init) ?? .missing
        case .count(let name): return .number(Double(answers[name]?.count ?? 0))
        case .answered(let name): return .bool(answers[name] != nil)
        case .not(let e): return .bool(!e.value(answers).truthy)
        case .and(let a, let b): return .bool(a.value(answers).truthy && b.value(answers).truthy)
        case .or(let a, let b): return .bool(a.value(answers).truthy || b.value(answers).truthy)
        case .compare(let a, let op, let b):
            let va = a.value(answers), vb = b.value(answers)
            switch op {
            case .equal: return .bool(va.matches(vb))
            case .notEqual: return .bool(!va.matches(vb))
            case .less, .lessOrEqual, .greater, .greaterOrEqual:
                guard case .number(let x) = va, case .number(let y) = vb else { return .bool(false) }
                switch op {
                case .less: return .bool(x < y)
                case .lessOrEqual: return .bool(x <= y)
                case .greater: return .bool(x > y)
                default: return .bool(x >= y)
                }
            case .isIn:
                switch vb {
                case .list(let items):
                    if case .list(let chosen) = va { return .bool(chosen.contains { c in items.contains { $0.matches(c) } }) }
                    return .bool(items.contains { $0.matches(va) })
                case .text(let haystack):
                    guard case .text(let needle) = va else { return .bool(false) }
                    return .bool(TextMatching.fold(haystack).contains(TextMatching.fold(needle)))
                default: return .bool(false)
                }
            }
        }
    }
}

enum EvaluatedValue: Equatable {
    case number(Double), text(String), bool(Bool), list([EvaluatedValue]), missing

    init(_ answer: AnswerValue) {
        switch answer {
        case .text(let s), .choice(let s): self = .text(s)
        case .number(let n): self = .number(n)
        case .scale(let n): self = .number(Double(n))
        case .yesno(let b): self = .bool(b)
        case .multi(let items), .list(let items): self = .list(items.map { .text($0) })
        }
    }

    var truthy: Bool {
        switch self {
        case .bool(let b): b
        case .number(let n): n != 0
        case .text(let s): !s.isEmpty
        case .list(let l): !l.isEmpty
        case .missing: false
        }
    }

    func matches(_ other: EvaluatedValue) -> Bool {
        switch (self, other) {
        case (.text(let a), .text(let b)): TextMatching.fold(a) == TextMatching.fold(b)
        default: self == other
        }
    }
}

// MARK: - Texts compared with answers

extension Expression {
    /// The (answer name, text) pairs the condition compares: `best == 'dinner'`, `'food' in sectors`,
    /// `best in ['a', 'b']`. The validator checks such texts against a choice question's options.
    func comparedTexts() -> [(String, String)] {
        switch self {
        case .not(let e): return e.comparedTexts()
        case .and(let a, let b), .or(let a, let b): return a.comparedTexts() + b.comparedTexts()
        case .compare(.variable(let v), .equal, .string(let s)), .compare(.variable(let v), .notEqual, .string(let s)),
            .compare(.string(let s), .equal, .variable(let v)), .compare(.string(let s), .notEqual, .variable(let v)),
            .compare(.string(let s), .isIn, .variable(let v)):
            return [(v, s)]
        case .compare(.variable(let v), .isIn, .list(let items)):
            return items.compactMap { if case .string(let s) = $0 { (v, s) } else { nil } }
        default: return []
        }
    }
}
