import Foundation
import Testing

@testable import Dialogues

/// `ask: date` reads the ways people write dates in French and English, against the turn's day.
@Suite struct DateAnswerTests {
    /// Monday 7 December 2026, noon UTC.
    let today = Date(timeIntervalSince1970: 1_796_644_800)

    @Test(
        arguments: [
            ("2027-03-15", "2027-03-15"), ("15/03/2027", "2027-03-15"), ("15.03.27", "2027-03-15"), ("15 March 2027", "2027-03-15"),
            ("March 15, 2027", "2027-03-15"), ("15 mars 2027", "2027-03-15"), ("le 1er mars", "2027-03-01"), ("March 1st", "2027-03-01"),
            ("24 décembre", "2026-12-24"), ("7/12", "2026-12-07"), ("tomorrow", "2026-12-08"), ("après-demain", "2026-12-09"),
            ("aujourd'hui", "2026-12-07"), ("in 3 weeks", "2026-12-28"), ("dans deux mois", "2027-02-07"), ("next month", "2027-01-01"),
            ("le mois prochain", "2027-01-01"), ("fin du mois", "2026-12-31"), ("end of the year", "2026-12-31"),
            ("lundi prochain", "2026-12-14"), ("friday", "2026-12-11"), ("l'année prochaine", "2027-01-01"),
        ])
    func readsADate(_ written: String, _ iso: String) {
        #expect(DateAnswer.parse(written, today: today) == iso, "\(written)")
    }

    @Test(arguments: ["31/02/2027", "13/13/2027", "banana", "March March", "15 16 mars", "", "in many weeks"])
    func refusesWhatIsNoDate(_ written: String) {
        #expect(DateAnswer.parse(written, today: today) == nil, "\(written)")
    }

    @Test func displaysInTheLanguage() {
        #expect(DateAnswer.display("2027-03-01", language: .fr) == "1er mars 2027")
        #expect(DateAnswer.display("2027-03-01", language: .en) == "1 March 2027")
    }

    /// In a dialogue: stored as an ISO date, shown as words, a wrong date re-asked.
    @Test func aDateQuestion() throws {
        let (script, diagnostics) = load(
            dialogue(
                steps: """
                      - id: due
                        ask: date
                        question: {en: "By when?", fr: "Pour quand ?"}
                    """))
        #expect(diagnostics.isEmpty, "\(diagnostics)")
        var bench = Bench(try #require(script))
        bench.now = today
        #expect(bench.start().text.contains("(a date: 15 March 2027, 15/03/2027, next month…)"))
        let wrong = bench.say("someday")
        #expect(wrong.saved.isEmpty)
        #expect(wrong.text.contains("Please give a date"))
        let answered = bench.say("next month")
        #expect(answered.saved == [.text("2027-01-01")])
        #expect(bench.state.answers["due"] == .text("2027-01-01"))
        let run = DialogueInterpreter(bench.script)
        let context = TurnContext(language: .fr, speaker: People.ann, now: today)
        #expect(run.display(.text("2027-01-01"), variable: "due", context) == "1er janvier 2027")
    }
}
