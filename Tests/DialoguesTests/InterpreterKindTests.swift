import XCTest

@testable import Dialogues

/// Each question kind: what it accepts, what it rejects, and what is saved.
final class InterpreterKindTests: XCTestCase {
    /// Starts a dialogue made of `step` (then `bye`), gives `answer` and returns what was saved, or nil when the
    /// answer was rejected (then the session must still be on the question, one attempt further).
    func saved(
        _ answer: String, step: String, language: Language = .en, file: StaticString = #filePath, line: UInt = #line
    ) throws -> AnswerValue? {
        var bench = Bench(try loadClean(dialogue(steps: step), file: file, line: line), language: language)
        bench.start()
        let question = try XCTUnwrap(bench.stepID, file: file, line: line)
        let turn = bench.say(answer)
        if let value = turn.saved.first {
            XCTAssertEqual(turn.saved.count, 1, file: file, line: line)
            XCTAssertNotEqual(bench.stepID, question, "an accepted answer moves on", file: file, line: line)
            return value
        }
        XCTAssertEqual(bench.stepID, question, "a rejected answer stays on the question", file: file, line: line)
        XCTAssertEqual(bench.state.attempts, 1, "a rejected answer counts as an attempt", file: file, line: line)
        XCTAssertFalse(turn.replies.isEmpty, "a rejected answer is explained", file: file, line: line)
        return nil
    }

    // MARK: text

    let textStep = """
          - id: name
            ask: text
            question: {en: "Your name?", fr: "Votre nom ?"}
            rules:
              - min_length: 2
              - max_length: 10
              - pattern: "[A-Za-z ]+"
                message: {en: "Letters only.", fr: "Des lettres seulement."}
        """

    func testTextKeepsTheTrimmedAnswer() throws {
        XCTAssertEqual(try saved("  Ann Lee \n", step: textStep), .text("Ann Lee"))
    }

    func testTextRules() throws {
        XCTAssertNil(try saved("A", step: textStep), "min_length")
        XCTAssertNil(try saved("Abcdefghijk", step: textStep), "max_length")
        XCTAssertEqual(try saved("Abcdefghij", step: textStep), .text("Abcdefghij"), "max_length is inclusive")
        XCTAssertEqual(try saved("Al", step: textStep), .text("Al"), "min_length is inclusive")
        XCTAssertNil(try saved("R2D2", step: textStep), "pattern")
        XCTAssertNil(try saved("Ann!", step: textStep), "the pattern must match the whole answer")
        XCTAssertNil(try saved("   ", step: textStep), "an empty answer")
    }

    func testPatternRuleSaysItsOwnMessageInTheSessionLanguage() throws {
        for (language, message) in [(Language.en, "Letters only."), (.fr, "Des lettres seulement.")] {
            var bench = Bench(try loadClean(dialogue(steps: textStep)), language: language)
            bench.start()
            XCTAssertTrue(bench.say("R2D2").text.contains(message), bench.lastText)
        }
    }

    func testTextLongerThanTheLimitIsRejectedNotCut() throws {
        let step = """
              - id: story
                ask: text
                question: {en: "Tell", fr: "Racontez"}
            """
        XCTAssertNil(try saved(String(repeating: "a", count: 4_001), step: step))
        XCTAssertEqual(try saved(String(repeating: "a", count: 4_000), step: step), .text(String(repeating: "a", count: 4_000)))
    }

    // MARK: choice

    let choiceStep = """
          - id: colour
            ask: choice
            question: {en: "Colour?", fr: "Couleur ?"}
            options:
              - {value: red, label: {en: "Red", fr: "Rouge"}, aliases: [crimson]}
              - {value: green, label: {en: "Green", fr: "Vert"}}
              - {value: grey, label: {en: "Grey", fr: "Gris"}}
              - {value: blue, label: {en: "Deep blue", fr: "Bleu profond"}}
        """

    func testChoiceByNumber() throws {
        XCTAssertEqual(try saved("2", step: choiceStep), .choice("green"))
        XCTAssertEqual(try saved("4.", step: choiceStep), .choice("blue"))
        XCTAssertNil(try saved("5", step: choiceStep), "out of range")
        XCTAssertNil(try saved("0", step: choiceStep), "out of range")
    }

    func testChoiceByWords() throws {
        XCTAssertEqual(try saved("deep BLUE", step: choiceStep), .choice("blue"), "the label, case ignored")
        XCTAssertEqual(try saved("Rouge", step: choiceStep), .choice("red"), "the label in the other language")
        XCTAssertEqual(try saved("bleu profond", step: choiceStep, language: .fr), .choice("blue"))
        XCTAssertEqual(try saved("crimson", step: choiceStep), .choice("red"), "an alias")
        XCTAssertEqual(try saved("grey", step: choiceStep), .choice("grey"), "the value")
        XCTAssertEqual(try saved("Deep", step: choiceStep), .choice("blue"), "a unique prefix")
        XCTAssertEqual(try saved("gree", step: choiceStep), .choice("green"), "a unique prefix")
        XCTAssertNil(try saved("gre", step: choiceStep), "a prefix of two options")
        XCTAssertNil(try saved("de", step: choiceStep), "prefixes need three letters")
        XCTAssertNil(try saved("purple", step: choiceStep))
    }

    func testChoiceOffersNumberedOptionsInTheSessionLanguage() throws {
        var bench = Bench(try loadClean(dialogue(steps: choiceStep)), language: .fr)
        let question = try XCTUnwrap(bench.start().replies.last)
        XCTAssertEqual(question.choices, ["Rouge", "Vert", "Gris", "Bleu profond"])
        XCTAssertTrue(question.markdown.contains("1. Rouge"), question.markdown)
        XCTAssertTrue(question.markdown.contains("4. Bleu profond"), question.markdown)
    }

    // MARK: multi

    let multiStep = """
          - id: fields
            ask: multi
            question: {en: "Fields?", fr: "Domaines ?"}
            options:
              - {value: mobility, label: {en: "Mobility", fr: "Mobilité"}}
              - {value: food, label: {en: "Food", fr: "Alimentation"}}
              - {value: energy, label: {en: "Energy", fr: "Énergie"}}
        """

    func testMultiByNumbersAndWords() throws {
        XCTAssertEqual(try saved("1, 3", step: multiStep), .multi(["mobility", "energy"]))
        XCTAssertEqual(try saved("3;1;3", step: multiStep), .multi(["energy", "mobility"]), "in the order given, once each")
        XCTAssertEqual(try saved("food and energy", step: multiStep), .multi(["food", "energy"]))
        XCTAssertEqual(try saved("énergie et mobilité", step: multiStep, language: .fr), .multi(["energy", "mobility"]))
        XCTAssertEqual(try saved("2", step: multiStep), .multi(["food"]))
        XCTAssertNil(try saved("1, 9", step: multiStep), "one unknown option rejects the answer")
        XCTAssertNil(try saved("food, pizza", step: multiStep))
        XCTAssertNil(try saved(",", step: multiStep), "separators alone choose nothing")
        XCTAssertNil(try saved(" ; / ", step: multiStep), "separators alone choose nothing")
    }

    // MARK: yesno

    let yesnoStep = """
          - id: agree
            ask: yesno
            question: {en: "Agree?", fr: "D'accord ?"}
        """

    func testYesNoInBothLanguages() throws {
        for word in ["yes", "Yes!", "y", "ok", "sure"] { XCTAssertEqual(try saved(word, step: yesnoStep), .yesno(true), word) }
        for word in ["no", "NO.", "n", "not at all"] { XCTAssertEqual(try saved(word, step: yesnoStep), .yesno(false), word) }
        for word in ["oui", "Oui !", "d'accord", "bien sûr"] {
            XCTAssertEqual(try saved(word, step: yesnoStep, language: .fr), .yesno(true), word)
        }
        for word in ["non", "Non.", "pas du tout"] {
            XCTAssertEqual(try saved(word, step: yesnoStep, language: .fr), .yesno(false), word)
        }
        XCTAssertNil(try saved("maybe", step: yesnoStep))
        XCTAssertNil(try saved("peut-être", step: yesnoStep, language: .fr))
    }

    // MARK: scale

    let scaleStep = """
          - id: level
            ask: scale
            scale: maturity
            question: {en: "Level?", fr: "Niveau ?"}
        """

    func testScaleByNumberOrLabel() throws {
        XCTAssertEqual(try saved("3", step: scaleStep), .scale(3))
        XCTAssertEqual(try saved("under WAY", step: scaleStep), .scale(3))
        XCTAssertEqual(try saved("Premiers pas", step: scaleStep), .scale(2), "the label in the other language")
        XCTAssertEqual(try saved("bien établi", step: scaleStep, language: .fr), .scale(4))
        XCTAssertNil(try saved("5", step: scaleStep))
        XCTAssertNil(try saved("0", step: scaleStep))
        XCTAssertNil(try saved("quite good", step: scaleStep))
    }

    func testScaleShowsItsLevels() throws {
        var bench = Bench(try loadClean(dialogue(steps: scaleStep)))
        let question = try XCTUnwrap(bench.start().replies.last)
        XCTAssertEqual(question.choices, ["Not yet", "Beginnings", "Under way", "Well established"])
    }

    // MARK: number

    let wholeStep = """
          - id: people
            ask: number
            min: 1
            max: 100
            integer: true
            question: {en: "How many?", fr: "Combien ?"}
        """

    let signedStep = """
          - id: balance
            ask: number
            min: -10
            max: 10
            question: {en: "Balance?", fr: "Solde ?"}
        """

    func testNumberBoundsAndWholeNumbers() throws {
        XCTAssertEqual(try saved("42", step: wholeStep), .number(42))
        XCTAssertEqual(try saved("1", step: wholeStep), .number(1), "bounds are inclusive")
        XCTAssertEqual(try saved("100", step: wholeStep), .number(100), "bounds are inclusive")
        XCTAssertNil(try saved("0", step: wholeStep))
        XCTAssertNil(try saved("101", step: wholeStep))
        XCTAssertNil(try saved("2.5", step: wholeStep), "integer: true")
        XCTAssertNil(try saved("forty", step: wholeStep))
        XCTAssertNil(try saved("nan", step: wholeStep))
    }

    func testNumberWithFrenchDecimalCommaAndSpaces() throws {
        XCTAssertEqual(try saved("3,5", step: signedStep, language: .fr), .number(3.5))
        XCTAssertEqual(try saved("3.5", step: signedStep), .number(3.5))
        XCTAssertEqual(
            try saved(
                "1 000",
                step: """
                      - id: big
                        ask: number
                        question: {en: "Big?", fr: "Grand ?"}
                    """), .number(1_000))
    }

    /// "1,000" is a thousand to an English speaker and one to a French one; separators that can only group
    /// thousands do; a number whose separators make no sense is refused rather than misread.
    func testThousandsSeparatorsAndDecimalMarks() throws {
        let big = """
              - id: big
                ask: number
                question: {en: "Big?", fr: "Grand ?"}
            """
        for (text, language, expected) in [
            ("1,000", Language.en, 1_000.0), ("1,000", .fr, 1.0), ("12,500", .en, 12_500), ("12,500", .fr, 12.5),
            ("3,5", .en, 3.5), ("1,234.5", .en, 1_234.5), ("1.234,5", .fr, 1_234.5), ("1,000,000", .en, 1_000_000),
            ("1.000.000", .fr, 1_000_000), ("1 000 000", .fr, 1_000_000), ("-1,250", .en, -1_250), ("1000.", .en, 1_000),
        ] {
            XCTAssertEqual(try saved(text, step: big, language: language), .number(expected), "\(text) in \(language)")
        }
        for text in ["1,00,000", "1,2,3", "1.2.3", "1,234,5.6.7", "1,2.3,4"] {
            XCTAssertNil(try saved(text, step: big), text)
        }
    }

    func testNegativeNumbersKeepTheirSign() throws {
        XCTAssertEqual(try saved("-4", step: signedStep), .number(-4))
        XCTAssertEqual(try saved("-2,5", step: signedStep, language: .fr), .number(-2.5))
        XCTAssertNil(try saved("-11", step: signedStep), "below the minimum once the sign is read")
        XCTAssertEqual(try saved("0,5", step: signedStep, language: .fr), .number(0.5))
    }

    // MARK: list

    let listStep = """
          - id: ideas
            ask: list
            min: 2
            max: 3
            question: {en: "Ideas?", fr: "Idées ?"}
            rules:
              - min_length: 3
        """

    func testListCollectsUntilDone() throws {
        var bench = Bench(try loadClean(dialogue(steps: listStep)))
        bench.start()
        XCTAssertEqual(bench.say("a market").saved, [])
        XCTAssertEqual(bench.state.listDraft, ["a market"])
        XCTAssertEqual(bench.say("done").saved, [], "fewer than min items")
        XCTAssertEqual(bench.stepID, "ideas")
        XCTAssertEqual(bench.state.attempts, 0, "asking for more is not a failed attempt")
        XCTAssertEqual(bench.say("ab").saved, [], "each item follows the rules")
        XCTAssertEqual(bench.state.attempts, 1)
        XCTAssertEqual(bench.state.listDraft, ["a market"])
        XCTAssertEqual(bench.say("a repair café").saved, [])
        XCTAssertEqual(bench.say("Done!").saved, [.list(["a market", "a repair café"])])
        XCTAssertEqual(bench.state.status, .ended)
    }

    func testListStopsAtMax() throws {
        var bench = Bench(try loadClean(dialogue(steps: listStep)))
        bench.start()
        bench.say("one")
        bench.say("two")
        XCTAssertEqual(bench.say("three").saved, [.list(["one", "two", "three"])])
        XCTAssertNil(bench.stepID)
    }

    func testListDoneInFrench() throws {
        var bench = Bench(try loadClean(dialogue(steps: listStep)), language: .fr)
        bench.start()
        bench.say("un marché")
        bench.say("une ressourcerie")
        XCTAssertEqual(bench.say("fini").saved, [.list(["un marché", "une ressourcerie"])])
    }

    func testDoneIsAnOrdinaryAnswerOutsideLists() throws {
        XCTAssertEqual(try saved("done", step: textStep), .text("done"))
    }
}
