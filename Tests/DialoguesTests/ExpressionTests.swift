import XCTest

@testable import Dialogues

/// Foundation has an `Expression` too.
typealias Expression = Dialogues.Expression

/// The condition language of `next: - if: ...`: parsing, precedence, limits, types and evaluation.
final class ExpressionTests: XCTestCase {
    let types: [String: ValueType] = [
        "score": .number, "sector": .text, "agrees": .bool, "pebbles": .list, "fields": .list,
    ]

    func parse(_ source: String, file: StaticString = #filePath, line: UInt = #line) throws -> Expression {
        do {
            return try Expression.parse(source)
        } catch {
            XCTFail("'\(source)' does not parse: \(error.message) at \(error.offset)", file: file, line: line)
            throw error
        }
    }

    func parseError(_ source: String, file: StaticString = #filePath, line: UInt = #line) -> ExpressionError? {
        do {
            let expression = try Expression.parse(source)
            XCTFail("'\(source)' parsed as \(expression)", file: file, line: line)
            return nil
        } catch {
            XCTAssertFalse(error.isTypeError, file: file, line: line)
            return error
        }
    }

    func evaluate(_ source: String, _ answers: [String: AnswerValue]) throws -> Bool {
        try parse(source).evaluate(answers)
    }

    // MARK: Parsing

    func testLiteralsAndWords() throws {
        XCTAssertEqual(try parse("3.5"), .number(3.5))
        XCTAssertEqual(try parse("'food'"), .string("food"))
        XCTAssertEqual(try parse("\"food\""), .string("food"))
        for word in ["true", "yes", "oui", "vrai", "TRUE"] { XCTAssertEqual(try parse(word), .bool(true), word) }
        for word in ["false", "no", "non", "faux"] { XCTAssertEqual(try parse(word), .bool(false), word) }
        XCTAssertEqual(try parse("[1, 'a', true]"), .list([.number(1), .string("a"), .bool(true)]))
        XCTAssertEqual(try parse("[]"), .list([]))
        XCTAssertEqual(try parse("count(pebbles)"), .count("pebbles"))
        XCTAssertEqual(try parse("answered(sector)"), .answered("sector"))
        XCTAssertEqual(try parse("first_answer"), .variable("first_answer"))
    }

    func testAndBindsTighterThanOr() throws {
        XCTAssertEqual(
            try parse("a or b and c"),
            .or(.variable("a"), .and(.variable("b"), .variable("c"))))
        XCTAssertEqual(
            try parse("(a or b) and c"),
            .and(.or(.variable("a"), .variable("b")), .variable("c")))
    }

    func testNotAppliesToAWholeComparison() throws {
        XCTAssertEqual(try parse("not score > 2"), .not(.compare(.variable("score"), .greater, .number(2))))
        XCTAssertEqual(
            try parse("not a and b"),
            .and(.not(.variable("a")), .variable("b")))
        XCTAssertEqual(try parse("not not a"), .not(.not(.variable("a"))))
    }

    func testComparisonsBindTighterThanAnd() throws {
        XCTAssertEqual(
            try parse("score >= 3 and sector in ['food', 'energy']"),
            .and(
                .compare(.variable("score"), .greaterOrEqual, .number(3)),
                .compare(.variable("sector"), .isIn, .list([.string("food"), .string("energy")]))))
        for op in ["==", "!=", "<", "<=", ">", ">="] {
            guard case .compare(_, let parsed, _) = try parse("score \(op) 1") else { return XCTFail(op) }
            XCTAssertEqual(parsed.rawValue, op)
        }
        XCTAssertEqual(try parse("a AND b OR c"), .or(.and(.variable("a"), .variable("b")), .variable("c")), "keywords ignore case")
    }

    func testErrorsCarryTheOffsetOfTheProblem() {
        // Offsets are 1-based columns within the condition text.
        let cases: [(String, Int)] = [
            ("score = 3", 7),  // '=' instead of '=='
            ("score > ", 9),  // ends too early: one past the end
            ("score > 3 3", 11),  // something after a complete condition
            ("and score", 1),  // 'and' with nothing before it
            ("(score > 3", 11),  // unclosed parenthesis
            ("'food", 1),  // unclosed text
            ("score # 3", 7),  // unknown character
            ("1.2.3 > score", 1),  // not a number
            ("count(3)", 7),  // count takes a name
            ("score > )", 9),  // unexpected symbol
            ("[1, 2", 6),  // unclosed list
        ]
        for (source, offset) in cases {
            XCTAssertEqual(parseError(source)?.offset, offset, source)
        }
        XCTAssertEqual(parseError("score = 3")?.message.contains("=="), true, "says how to compare")
    }

    func testNestingIsLimited() throws {
        let deepest = String(repeating: "(", count: 63) + "a" + String(repeating: ")", count: 63)
        XCTAssertNoThrow(try Expression.parse(deepest))
        let tooDeep = String(repeating: "(", count: 64) + "a" + String(repeating: ")", count: 64)
        XCTAssertEqual(parseError(tooDeep)?.message.contains("nested too deeply"), true)
        let manyNots = String(repeating: "not ", count: 100) + "a"
        XCTAssertEqual(parseError(manyNots)?.message.contains("nested too deeply"), true)
        let deepLists = String(repeating: "[", count: 100) + "1" + String(repeating: "]", count: 100)
        XCTAssertEqual(parseError("a in " + deepLists)?.message.contains("nested too deeply"), true)
    }

    func testLengthIsLimited() throws {
        let long = Array(repeating: "a", count: 667).joined(separator: " or ")  // 3,331 characters
        XCTAssertEqual(parseError(long)?.message.contains("too long"), true)
        let fits = Array(repeating: "a", count: 400).joined(separator: " or ")  // 1,996 characters
        XCTAssertNoThrow(try Expression.parse(fits))
    }

    func testVariablesListsEveryAnswerRead() throws {
        XCTAssertEqual(
            try parse("count(pebbles) > 0 and not (sector in [other]) or answered(agrees)").variables,
            ["pebbles", "sector", "other", "agrees"])
    }

    // MARK: Types

    func checkError(_ source: String, file: StaticString = #filePath, line: UInt = #line) throws -> String? {
        let expression = try parse(source, file: file, line: line)
        do {
            let type = try expression.check(types)
            XCTFail("'\(source)' type-checks as \(type)", file: file, line: line)
            return nil
        } catch {
            XCTAssertTrue(error.isTypeError, file: file, line: line)
            return error.message
        }
    }

    func testWellTypedConditions() throws {
        let good = [
            "score >= 3 and agrees", "sector == 'food'", "'food' in fields", "sector in ['food', 'energy']",
            "fields in ['food', 'energy']", "count(pebbles) > 2", "answered(sector) or not agrees", "agrees == yes",
            "sector in 'food and energy'", "score != 2",
        ]
        for source in good { XCTAssertEqual(try parse(source).check(types), .bool, source) }
        XCTAssertEqual(try parse("score").check(types), .number, "the validator, not check, rejects a non-yes/no condition")
    }

    func testTypeErrors() throws {
        XCTAssertEqual(try checkError("agrees == 3"), "cannot compare a yes/no with a number")
        XCTAssertEqual(try checkError("sector > 2")?.contains("compares numbers"), true)
        XCTAssertEqual(try checkError("agrees < 2")?.contains("compares numbers"), true)
        XCTAssertEqual(try checkError("ghost == 1")?.contains("'ghost'"), true)
        XCTAssertEqual(try checkError("count(ghost) > 1")?.contains("'ghost'"), true)
        XCTAssertEqual(try checkError("answered(ghost)")?.contains("'ghost'"), true)
        XCTAssertEqual(try checkError("not score")?.contains("'not'"), true)
        XCTAssertEqual(try checkError("score and agrees")?.contains("'and'/'or'"), true)
        XCTAssertEqual(try checkError("agrees in 3")?.contains("'in'"), true)
        XCTAssertEqual(try checkError("score in ['a', 'b']")?.contains("cannot look for a number"), true)
        XCTAssertEqual(try checkError("sector == agrees"), "cannot compare a text with a yes/no")
    }

    // MARK: Evaluation

    func testEvaluation() throws {
        let answers: [String: AnswerValue] = [
            "score": .scale(3), "sector": .choice("Food"), "agrees": .yesno(true), "pebbles": .list(["a", "b"]),
            "fields": .multi(["food", "energy"]), "people": .number(40),
        ]
        let truths = [
            "score >= 3", "score == 3", "score != 2", "not score < 3", "people > 39.5",
            "sector == 'food'",  // texts compare without case or accents
            "sector in ['food', 'energy']", "'food' in fields", "fields in ['mobility', 'energy']",
            "'ene' in 'renewable ENERGY'", "count(pebbles) == 2", "count(sector) == 1", "count(ghost) == 0",
            "answered(agrees)", "not answered(ghost)", "agrees", "agrees == yes", "agrees and score > 1 or ghost",
            "ghost or agrees", "not ghost",
        ]
        for source in truths { XCTAssertTrue(try evaluate(source, answers), source) }
        let falsehoods = [
            "score > 3", "sector == 'energy'", "'mobility' in fields", "fields in ['mobility']", "not agrees",
            "ghost", "ghost == 1", "ghost > 0", "ghost < 1", "agrees and ghost", "score in ['3']",
            "sector in [1, 2]", "count(pebbles) > 2",
        ]
        for source in falsehoods { XCTAssertFalse(try evaluate(source, answers), source) }
    }

    func testEvaluationFollowsPrecedence() throws {
        // With a=true, b=false, c=false: `a or b and c` is a or (b and c) = true, (a or b) and c = false.
        let answers: [String: AnswerValue] = ["a": .yesno(true), "b": .yesno(false), "c": .yesno(false)]
        XCTAssertTrue(try evaluate("a or b and c", answers))
        XCTAssertFalse(try evaluate("(a or b) and c", answers))
        XCTAssertFalse(try evaluate("not a or b", answers), "not binds tighter than or")
        XCTAssertTrue(try evaluate("not (a and b)", answers))
    }
}
