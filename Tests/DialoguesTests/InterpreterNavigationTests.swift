import XCTest

@testable import Dialogues

/// Moving through a person's dialogue: navigation words in both languages, failures, comments, branches,
/// texts with variables, the ending.
final class InterpreterNavigationTests: XCTestCase {
    static let yaml = """
        id: nav
        title: {en: "Navigation", fr: "Navigation"}
        steps:
          - id: hello
            say: {en: "Hello {sender}!", fr: "Bonjour {sender} !"}
          - id: name
            ask: text
            question: {en: "Your first name?", fr: "Votre prénom ?"}
            help: {en: "Just the first name, {sender}.", fr: "Juste le prénom, {sender}."}
          - id: colour
            ask: choice
            question: {en: "Favourite colour?", fr: "Couleur préférée ?"}
            skippable: true
            options:
              - {value: red, label: {en: "Red", fr: "Rouge"}}
              - {value: green, label: {en: "Green", fr: "Vert"}}
          - id: agree
            ask: yesno
            question: {en: "Do you agree?", fr: "Êtes-vous d'accord ?"}
            attempts: 2
        end:
          text: {en: "See you, {name}.", fr: "À bientôt, {name}."}
        """

    func bench(_ language: Language = .en) throws -> Bench {
        Bench(try loadClean(Self.yaml), language: language, speaker: People.ann)
    }

    // MARK: Start

    func testStartSaysTheTitleAndStepsThenAsksTheFirstQuestion() throws {
        var bench = try bench()
        let turn = bench.start()
        XCTAssertEqual(turn.replies.count, 3, turn.text)
        XCTAssertTrue(turn.replies[0].markdown.contains("Navigation"))
        XCTAssertEqual(turn.replies[1].markdown, "Hello ann!")
        XCTAssertTrue(turn.replies[2].markdown.contains("Your first name?"))
        XCTAssertEqual(bench.stepID, "name")
        XCTAssertEqual(bench.state.history, ["name"])
        XCTAssertEqual(turn.effects, [])
    }

    func testStartingAgainWhileUnderWayKeepsTheSession() throws {
        var bench = try bench()
        bench.start()
        bench.say("Ann")
        let before = bench.state
        let turn = bench.start()
        XCTAssertEqual(bench.state.answers, before.answers)
        XCTAssertEqual(bench.stepID, "colour")
        XCTAssertTrue(turn.text.contains("Favourite colour?"), "re-asks the current question")
    }

    // MARK: back

    func testBackReturnsToThePreviousQuestionAndKeepsItsAnswerUntilChanged() throws {
        var bench = try bench()
        bench.start()
        bench.say("Ann")
        XCTAssertEqual(bench.stepID, "colour")
        let turn = bench.say("back")
        XCTAssertEqual(bench.stepID, "name")
        XCTAssertTrue(turn.text.contains("Your first name?"))
        XCTAssertFalse(turn.text.contains("Hello"), "going back does not replay `say` steps")
        XCTAssertEqual(bench.state.answers["name"], .text("Ann"))
        XCTAssertEqual(bench.say("Bea").saved, [.text("Bea")])
        XCTAssertEqual(bench.stepID, "colour")
    }

    func testBackTwiceInFrench() throws {
        var bench = try bench(.fr)
        bench.start()
        bench.say("Ann")
        bench.say("2")
        XCTAssertEqual(bench.stepID, "agree")
        bench.say("Retour")
        XCTAssertEqual(bench.stepID, "colour")
        bench.say("précédent")
        XCTAssertEqual(bench.stepID, "name")
    }

    func testBackOnTheFirstQuestionStays() throws {
        var bench = try bench()
        bench.start()
        let turn = bench.say("back")
        XCTAssertEqual(bench.stepID, "name")
        XCTAssertTrue(turn.text.contains("Your first name?"))
        XCTAssertEqual(turn.effects, [])
    }

    // MARK: skip

    func testSkipWhereAllowed() throws {
        var bench = try bench()
        bench.start()
        bench.say("Ann")
        let turn = bench.say("skip")
        XCTAssertEqual(turn.saved, [])
        XCTAssertEqual(bench.stepID, "agree")
        XCTAssertNil(bench.state.answers["colour"])
    }

    func testSkipInFrench() throws {
        var bench = try bench(.fr)
        bench.start()
        bench.say("Ann")
        bench.say("je passe")
        XCTAssertEqual(bench.stepID, "agree")
    }

    func testSkipWhereNotAllowedStaysWithoutCountingAnAttempt() throws {
        var bench = try bench()
        bench.start()
        let turn = bench.say("skip")
        XCTAssertEqual(bench.stepID, "name")
        XCTAssertEqual(bench.state.attempts, 0)
        XCTAssertEqual(turn.saved, [], "'skip' is not taken as a name")
        XCTAssertFalse(turn.replies.isEmpty)
    }

    // MARK: repeat, help

    func testRepeatAsksAgainAndKeepsTheAttemptCount() throws {
        var bench = try bench()
        bench.start()
        bench.say("Ann")
        bench.say("skip")
        bench.say("maybe")
        XCTAssertEqual(bench.state.attempts, 1)
        let turn = bench.say("repeat")
        XCTAssertTrue(turn.text.contains("Do you agree?"), turn.text)
        XCTAssertTrue(turn.text.contains("yes / no"), turn.text)
        XCTAssertEqual(bench.state.attempts, 1)
        XCTAssertEqual(bench.stepID, "agree")
    }

    func testRepeatInFrench() throws {
        var bench = try bench(.fr)
        bench.start()
        XCTAssertTrue(bench.say("Répéter").text.contains("Votre prénom ?"))
    }

    func testHelpShowsTheStepHelpWithVariables() throws {
        var bench = try bench()
        bench.start()
        let turn = bench.say("help")
        XCTAssertTrue(turn.text.contains("Just the first name, ann."), turn.text)
        XCTAssertEqual(bench.stepID, "name")
        XCTAssertEqual(bench.state.attempts, 0)
        XCTAssertTrue(bench.say("?").text.contains("Just the first name"), "'?' asks for help")
        var french = try self.bench(.fr)
        french.start()
        XCTAssertTrue(french.say("aide").text.contains("Juste le prénom, ann."))
    }

    func testHelpWithoutHelpTextStillAnswers() throws {
        var bench = try bench()
        bench.start()
        bench.say("Ann")
        let turn = bench.say("help")
        XCTAssertFalse(turn.replies.isEmpty)
        XCTAssertEqual(bench.stepID, "colour")
        XCTAssertTrue(turn.text.contains("skip"), "mentions skip where the step allows it")
    }

    // MARK: stop, resume, expire

    func testStopThenResumeAtTheSameQuestionWithTheSameAttempts() throws {
        var bench = try bench()
        bench.start()
        bench.say("Ann")
        bench.say("skip")
        bench.say("maybe")
        XCTAssertEqual(bench.state.attempts, 1)
        let stop = bench.say("stop")
        XCTAssertEqual(stop.effects, [.paused])
        XCTAssertEqual(bench.state.status, .paused)
        XCTAssertFalse(bench.state.isWaiting)

        let ignored = bench.say("yes")
        XCTAssertEqual(ignored.replies, [], "a paused dialogue does not read answers")
        XCTAssertEqual(ignored.effects, [])
        XCTAssertEqual(bench.state.status, .paused)

        let resumed = bench.send(.resume)
        XCTAssertEqual(bench.state.status, .active)
        XCTAssertEqual(bench.stepID, "agree")
        XCTAssertEqual(bench.state.attempts, 1)
        XCTAssertTrue(resumed.text.contains("Do you agree?"))
        // The second failure is the last allowed one (attempts: 2): the question is left.
        bench.say("perhaps")
        XCTAssertNil(bench.state.answers["agree"])
        XCTAssertEqual(bench.state.status, .ended)
    }

    func testPauseWordsInBothLanguages() throws {
        for (language, word) in [(Language.en, "pause"), (.en, "later"), (.fr, "plus tard"), (.fr, "Arrêter")] {
            var bench = try bench(language)
            bench.start()
            XCTAssertEqual(bench.say(word).effects, [.paused], word)
            XCTAssertEqual(bench.state.status, .paused, word)
        }
    }

    func testStartOnAPausedDialogueSaysItIsPaused() throws {
        var bench = try bench()
        bench.start()
        bench.say("stop")
        let turn = bench.start()
        XCTAssertEqual(bench.state.status, .paused)
        XCTAssertTrue(turn.text.contains("!resume"), turn.text)
    }

    func testIdleSessionExpiresIntoAPause() throws {
        var bench = try bench()
        bench.start()
        bench.say("Ann")
        let turn = bench.send(.expire)
        XCTAssertEqual(turn.effects, [.paused])
        XCTAssertEqual(bench.state.status, .paused)
        XCTAssertFalse(turn.replies.isEmpty, "the room is told gently")
        XCTAssertEqual(bench.send(.expire).replies, [], "expiring twice says nothing more")
        bench.send(.resume)
        XCTAssertEqual(bench.stepID, "colour")
        XCTAssertEqual(bench.state.answers["name"], .text("Ann"))
    }

    // MARK: restart

    func testRestartClearsAnswersAndStartsOver() throws {
        var bench = try bench()
        bench.start()
        bench.say("Ann")
        bench.say("1")
        let turn = bench.say("restart")
        XCTAssertEqual(Set(turn.effects), [.clearAnswers(step: "name"), .clearAnswers(step: "colour")])
        XCTAssertEqual(bench.state.answers, [:])
        XCTAssertEqual(bench.state.history, ["name"])
        XCTAssertEqual(bench.stepID, "name")
        XCTAssertTrue(turn.text.contains("Hello ann!"), "starting over replays the opening")
        var french = try self.bench(.fr)
        french.start()
        french.say("Ann")
        french.say("recommencer")
        XCTAssertEqual(french.stepID, "name")
        XCTAssertEqual(french.state.answers, [:])
    }

    // MARK: summary, change

    func testSummaryThenChangeAnAnswerAndComeBack() throws {
        var bench = try bench()
        bench.start()
        bench.say("Ann")
        bench.say("red")
        XCTAssertEqual(bench.stepID, "agree")
        let summary = bench.say("summary")
        XCTAssertEqual(bench.state.phase, .choosingChange)
        XCTAssertTrue(summary.text.contains("1. Your first name? — **Ann**"), summary.text)
        XCTAssertTrue(summary.text.contains("2. Favourite colour? — **Red**"), summary.text)
        XCTAssertFalse(summary.text.contains("Do you agree?"), "unanswered questions are not listed")

        let change = bench.say("1")
        XCTAssertEqual(bench.stepID, "name")
        XCTAssertTrue(change.text.contains("Your first name?"))
        XCTAssertEqual(bench.say("Bea").saved, [.text("Bea")])
        XCTAssertEqual(bench.stepID, "agree", "back where the person was, not at the question after the changed one")
        XCTAssertEqual(bench.state.answers["colour"], .choice("red"))
        XCTAssertNil(bench.state.returnTo)
    }

    func testChangeNumberDirectlyInFrench() throws {
        var bench = try bench(.fr)
        bench.start()
        bench.say("Ann")
        bench.say("rouge")
        bench.say("modifier 2")
        XCTAssertEqual(bench.stepID, "colour")
        bench.say("vert")
        XCTAssertEqual(bench.stepID, "agree")
        XCTAssertEqual(bench.state.answers["colour"], .choice("green"))
    }

    func testSummaryFollowedByOtherWordsIsNotAnAnswer() throws {
        var bench = try bench()
        bench.start()
        bench.say("Ann")
        bench.say("résumé")
        let turn = bench.say("Bea")
        XCTAssertEqual(turn.saved, [], "a word after the summary only closes it")
        XCTAssertEqual(bench.stepID, "colour")
        XCTAssertEqual(bench.state.phase, .answer)
        XCTAssertTrue(turn.text.contains("Favourite colour?"))
    }

    func testChangingAMissingAnswerStays() throws {
        var bench = try bench()
        bench.start()
        bench.say("Ann")
        bench.say("change 3")
        XCTAssertEqual(bench.stepID, "colour")
        XCTAssertNil(bench.state.returnTo)
    }

    // MARK: failures

    /// `desk` is reached only when `on_fail` names it; otherwise the loader warns that it is unreachable.
    func onFailScript(_ onFail: String) throws -> DialogueScript {
        let (script, diagnostics) = load(
            dialogue(
                steps: """
                      - id: code
                        ask: number
                        question: {en: "Code?", fr: "Code ?"}
                        invalid: {en: "Not a code.", fr: "Pas un code."}
                        attempts: 3
                        on_fail: \(onFail)
                        next: after
                      - id: desk
                        ask: text
                        question: {en: "Desk?", fr: "Accueil ?"}
                        next: after
                      - id: after
                        ask: text
                        question: {en: "After?", fr: "Après ?"}
                    """))
        XCTAssertEqual(diagnostics.map(\.code), onFail == "desk" ? [] : [.unreachableStep])
        return try XCTUnwrap(script)
    }

    func testRejectionRepromptsWithTheStepMessageAndCountsAttempts() throws {
        var bench = Bench(try onFailScript("skip"))
        bench.start()
        let first = bench.say("abc")
        XCTAssertEqual(bench.state.attempts, 1)
        XCTAssertEqual(first.replies.count, 1)
        XCTAssertTrue(first.text.hasPrefix("Not a code. "), first.text)
        bench.say("def")
        XCTAssertEqual(bench.state.attempts, 2)
        XCTAssertEqual(bench.stepID, "code")
        bench.say("12")
        XCTAssertEqual(bench.state.attempts, 0, "an accepted answer resets the count")
        XCTAssertEqual(bench.stepID, "after")
    }

    func testOnFailSkip() throws {
        var bench = Bench(try onFailScript("skip"))
        bench.start()
        for _ in 1...3 { bench.say("abc") }
        XCTAssertEqual(bench.stepID, "after")
        XCTAssertNil(bench.state.answers["code"])
        XCTAssertEqual(bench.state.attempts, 0)
    }

    func testOnFailStop() throws {
        var bench = Bench(try onFailScript("stop"))
        bench.start()
        bench.say("abc")
        bench.say("abc")
        let last = bench.say("abc")
        XCTAssertEqual(last.effects, [.abandoned], "a stopped dialogue runs no on_end action")
        XCTAssertEqual(bench.state.status, .ended)
        XCTAssertNil(bench.stepID)
        XCTAssertTrue(last.text.contains("!start test"), "says how to try again")
    }

    func testOnFailGoto() throws {
        var bench = Bench(try onFailScript("desk"))
        bench.start()
        for _ in 1...3 { bench.say("abc") }
        XCTAssertEqual(bench.stepID, "desk")
        XCTAssertEqual(bench.state.attempts, 0)
    }

    // MARK: comments

    func commentScript() throws -> DialogueScript {
        try loadClean(
            dialogue(
                steps: """
                      - id: level
                        ask: scale
                        scale: maturity
                        question: {en: "Level?", fr: "Niveau ?"}
                        comment: {en: "Why?", fr: "Pourquoi ?"}
                      - id: next_one
                        ask: text
                        question: {en: "Next?", fr: "Suivante ?"}
                    """))
    }

    func testOptionalCommentAfterTheAnswer() throws {
        var bench = Bench(try commentScript())
        bench.start()
        let answer = bench.say("2")
        XCTAssertEqual(answer.saved, [.scale(2)])
        XCTAssertEqual(bench.state.phase, .comment)
        XCTAssertEqual(bench.stepID, "level")
        XCTAssertTrue(answer.text.contains("Why?"))
        let comment = bench.say("  We rarely meet.  ")
        XCTAssertEqual(comment.effects, [.comment(step: "level", text: "We rarely meet.", speaker: People.ann)])
        XCTAssertEqual(bench.stepID, "next_one")
        XCTAssertEqual(bench.state.phase, .answer)
    }

    func testDecliningTheComment() throws {
        for (language, word) in [(Language.en, "no"), (.en, "No comment"), (.fr, "non"), (.fr, "rien"), (.en, "skip"), (.fr, "passer")] {
            var bench = Bench(try commentScript(), language: language)
            bench.start()
            bench.say("2")
            let turn = bench.say(word)
            XCTAssertEqual(turn.effects, [], word)
            XCTAssertEqual(bench.stepID, "next_one", word)
            XCTAssertEqual(bench.state.answers["level"], .scale(2), word)
        }
    }

    // MARK: branches

    func branchScript() throws -> DialogueScript {
        try loadClean(
            dialogue(
                steps: """
                      - id: ready
                        ask: yesno
                        question: {en: "Ready?", fr: "Prêt ?"}
                        next:
                          - if: ready
                            goto: how_many
                          - goto: why_not
                      - id: how_many
                        ask: number
                        question: {en: "How many?", fr: "Combien ?"}
                        next:
                          - if: how_many >= 10 and not answered(why_not)
                            goto: big
                          - goto: bye
                      - id: big
                        say: {en: "Big!", fr: "Beaucoup !"}
                        next: end
                      - id: why_not
                        ask: text
                        question: {en: "Why not?", fr: "Pourquoi pas ?"}
                        next: how_many
                    """))
    }

    func testBranchingFollowsTheFirstConditionThatHolds() throws {
        var yes = Bench(try branchScript())
        yes.start()
        yes.say("yes")
        XCTAssertEqual(yes.stepID, "how_many")
        let big = yes.say("12")
        XCTAssertTrue(big.text.contains("Big!"))
        XCTAssertFalse(big.text.contains("Bye."), "`next: end` skips the remaining steps")
        XCTAssertEqual(yes.state.status, .ended)

        var no = Bench(try branchScript())
        no.start()
        no.say("no")
        XCTAssertEqual(no.stepID, "why_not")
        no.say("Too busy")
        XCTAssertEqual(no.stepID, "how_many")
        let small = no.say("12")
        XCTAssertFalse(small.text.contains("Big!"), "answered(why_not) makes the first condition false")
        XCTAssertTrue(small.text.contains("Bye."))
        XCTAssertEqual(no.state.status, .ended)
    }

    func testBackFollowsThePathActuallyTaken() throws {
        var bench = Bench(try branchScript())
        bench.start()
        bench.say("no")
        bench.say("Too busy")
        XCTAssertEqual(bench.stepID, "how_many")
        bench.say("back")
        XCTAssertEqual(bench.stepID, "why_not", "the question answered last, not the one above in the file")
        bench.say("back")
        XCTAssertEqual(bench.stepID, "ready")
    }

    func testAQuestionGivenUpOnCountsAsUnansweredInConditions() throws {
        let script = try loadClean(
            dialogue(
                steps: """
                      - id: ready
                        ask: yesno
                        question: {en: "Ready?", fr: "Prêt ?"}
                        attempts: 1
                        next:
                          - if: ready or not answered(ready)
                            goto: unsure
                          - goto: bye
                      - id: unsure
                        say: {en: "Unsure.", fr: "Incertain."}
                    """))
        var bench = Bench(script)
        bench.start()
        let turn = bench.say("maybe")
        XCTAssertNil(bench.state.answers["ready"])
        XCTAssertTrue(turn.text.contains("Unsure."), turn.text)
    }

    // MARK: texts

    func testVariablesAreEscapedMarkdown() throws {
        let script = try loadClean(
            dialogue(
                steps: """
                      - id: name
                        ask: text
                        question: {en: "Name?", fr: "Nom ?"}
                      - id: greet
                        say: {en: "Nice to meet you, {name} from {territory}.", fr: "Enchanté, {name} de {territory}."}
                    """))
        var bench = Bench(script, variables: ["territory": "Drôme_[sud]"])
        bench.start()
        let turn = bench.say("*Ann* [me](http://x)")
        XCTAssertTrue(
            turn.text.contains(#"Nice to meet you, \*Ann\* \[me\]\(http://x\) from Drôme\_\[sud\]."#), turn.text)
    }

    func testEndingShowsTheSummaryAndTheEndingText() throws {
        var bench = try bench()
        bench.start()
        bench.say("Ann")
        bench.say("2")
        let end = bench.say("yes")
        XCTAssertEqual(end.effects.filter { $0 == .ended }.count, 1)
        XCTAssertEqual(end.saved, [.yesno(true)])
        XCTAssertTrue(end.text.contains("- Your first name? — **Ann**"), end.text)
        XCTAssertTrue(end.text.contains("- Do you agree? — **yes**"), end.text)
        XCTAssertTrue(end.text.contains("See you, Ann."), end.text)
        XCTAssertEqual(bench.state.status, .ended)
        XCTAssertEqual(bench.say("hello").replies, [], "an ended dialogue reads nothing")
    }

    func testEndingWithoutSummary() throws {
        let script = try loadClean(
            dialogue(
                steps: """
                      - id: name
                        ask: text
                        question: {en: "Name?", fr: "Nom ?"}
                    """,
                end: """
                    end:
                      summary: false
                    """))
        var bench = Bench(script)
        bench.start()
        let end = bench.say("Ann")
        XCTAssertEqual(end.effects.last, .ended)
        XCTAssertFalse(end.text.contains("**Ann**"), end.text)
    }

    func testLanguageFallbackRequestedThenEnglishThenFrench() throws {
        XCTAssertEqual(LocalizedText([.fr: "Bonjour", .en: "Hello"]).resolve(.fr), "Bonjour")
        XCTAssertEqual(LocalizedText([.en: "Hello"]).resolve(.fr), "Hello")
        XCTAssertEqual(LocalizedText([.fr: "Bonjour"]).resolve(.en), "Bonjour")
        XCTAssertEqual(LocalizedText([:]).resolve(.en), "")

        let (script, diagnostics) = load(
            dialogue(
                steps: """
                      - id: only_fr
                        ask: text
                        question: {fr: "Seulement en français ?"}
                      - id: only_en
                        ask: text
                        question: "Only in English?"
                    """))
        XCTAssertEqual(Set(diagnostics.map(\.code)), [.missingTranslation])
        var english = Bench(try XCTUnwrap(script), language: .en)
        XCTAssertTrue(english.start().text.contains("Seulement en français ?"))
        var french = Bench(try XCTUnwrap(script), language: .fr)
        french.start()
        XCTAssertTrue(french.say("oui").text.contains("Only in English?"))
        XCTAssertTrue(french.say("help").text.contains("Répondez"), "the bot's own words follow the person's language")
    }

    func testDisplayAndParseAnswerForEdits() throws {
        let script = try loadClean(Self.yaml)
        let interpreter = DialogueInterpreter(script)
        let colour = try XCTUnwrap(script.step("colour"))
        XCTAssertEqual(interpreter.parseAnswer("vert", step: colour, language: .fr), .choice("green"))
        XCTAssertNil(interpreter.parseAnswer("purple", step: colour, language: .en))
        let context = TurnContext(language: .fr, speaker: People.ann, now: Date(timeIntervalSince1970: 0))
        XCTAssertEqual(interpreter.display(.choice("green"), variable: "colour", context), "Vert")
        XCTAssertEqual(interpreter.display(.yesno(true), variable: "agree", context), "oui")
        XCTAssertEqual(interpreter.display(.number(3), variable: "x", context), "3")
        XCTAssertEqual(interpreter.display(.number(2.5), variable: "x", context), "2.5")
    }
}

/// Items given to a list question survive changing another answer from the summary.
final class ListDraftTests: XCTestCase {
    func testChangingAnotherAnswerKeepsTheListItems() throws {
        var loader = DialogueLoader()
        let script = try XCTUnwrap(
            loader.loadDialogue(
                yaml: """
                    id: drafts
                    title: {en: D, fr: D}
                    steps:
                      - id: name
                        ask: text
                        question: {en: "Name?", fr: "Nom ?"}
                      - id: items
                        ask: list
                        question: {en: "Items?", fr: "Éléments ?"}
                    """, file: "d.yaml"))
        let interpreter = DialogueInterpreter(script)
        let context = TurnContext(
            language: .en, speaker: Speaker(id: "a", name: "A", isFacilitator: false), now: Date(timeIntervalSince1970: 0))
        var session = interpreter.turn(nil, .start, context).session
        for input in ["Ann", "first", "second", "summary", "1", "Anna"] {
            session = interpreter.turn(session, .text(input), context).session
        }
        XCTAssertEqual(session.stepID, "items", "back at the list after the change")
        XCTAssertEqual(session.listDraft, ["first", "second"])
        let done = interpreter.turn(session, .text("done"), context)
        XCTAssertEqual(done.session.answers["items"], .list(["first", "second"]))
        XCTAssertEqual(done.session.answers["name"], .text("Anna"))
    }
}
