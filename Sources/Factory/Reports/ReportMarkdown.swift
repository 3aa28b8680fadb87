import BotCore
import Foundation

/// Reports as chat Markdown. Everything people typed (names, comments, titles, territories) is escaped.
enum ReportMarkdown {
    static func e(_ text: String) -> String { Markdown.escape(text) }

    /// "2 people, 3 answers, 2 of 20 questions answered", in the report's language, singular where it is one;
    /// plain text (no markup), parts joined by `separator`. The chat, the Markdown file and the HTML page say it.
    static func counts(_ report: InventoryReport, separator: String) -> String {
        let answered = report.questions.filter { !$0.answers.isEmpty }.count
        let people = report.respondents.count, answers = report.answerCount
        let l = report.language
        return [
            l.pick("\(people) \(people == 1 ? "person" : "people")", "\(people) personne\(people > 1 ? "s" : "")"),
            l.pick("\(answers) answer\(answers == 1 ? "" : "s")", "\(answers) réponse\(answers > 1 ? "s" : "")"),
            l.pick(
                "\(answered) of \(report.questions.count) questions answered",
                "\(answered) question\(answered > 1 ? "s" : "") sur \(report.questions.count) traitée\(answered > 1 ? "s" : "")"),
        ].joined(separator: separator)
    }

    /// - Parameter compact: one line per question (for a chat room); otherwise every answer and comment.
    static func inventory(_ report: InventoryReport, compact: Bool) -> String {
        let l = report.language
        var lines: [String] = []
        let header = counts(report, separator: ", ")
        if compact {
            lines.append(l.pick("**Inventory of \(e(report.territory))**", "**État des lieux de \(e(report.territory))**") + " — " + header)
        } else {
            lines.append(
                "# " + l.pick("Territory inventory: \(e(report.territory))", "État des lieux du territoire : \(e(report.territory))"))
            lines.append("")
            lines.append("_" + header + " · " + ReportDates.minute(report.generatedAt) + " UTC_")
            lines.append("")
            lines.append(l.pick("Levels: ", "Niveaux : ") + report.levels.map { "\($0.value) = \(e($0.label))" }.joined(separator: " · "))
        }
        for question in report.questions {
            let discussed = question.discussed ? l.pick(" · discussed", " · discutée") : ""
            let summary: String
            if let spread = question.spread, spread.min == spread.max {
                summary = l.pick(
                    "\(ReportDates.number(spread.mean)) (\(spread.count) answer\(spread.count == 1 ? "" : "s")\(spread.count == 1 ? "" : ", all \(spread.min)"))",
                    "\(ReportDates.number(spread.mean).replacingOccurrences(of: ".", with: ",")) (\(spread.count) réponse\(spread.count > 1 ? "s, toutes à \(spread.min)" : ""))"
                )
            } else if let spread = question.spread {
                summary = l.pick(
                    "\(ReportDates.number(spread.mean)) (range \(spread.min)–\(spread.max), \(spread.count) answer\(spread.count == 1 ? "" : "s"))",
                    "\(ReportDates.number(spread.mean).replacingOccurrences(of: ".", with: ",")) (de \(spread.min) à \(spread.max), \(spread.count) réponse\(spread.count > 1 ? "s" : ""))"
                )
            } else if !question.answers.isEmpty {
                summary = l.pick("\(question.answers.count) answers", "\(question.answers.count) réponses")
            } else {
                summary = l.pick("no answer yet", "pas encore de réponse")
            }
            if compact {
                guard !question.answers.isEmpty else { continue }
                var line = "\(question.number). **\(e(question.title))**\(l.pick(":", " :")) \(summary)\(discussed)"
                if !question.answers.isEmpty {
                    line +=
                        " — "
                        + question.answers.map { "\(e($0.who)) \($0.value.map(String.init) ?? e($0.label))" }.joined(separator: ", ")
                }
                lines.append(line)
                continue
            }
            lines.append("")
            lines.append("## \(question.number). \(e(question.title))")
            lines.append("")
            lines.append(e(question.text))
            lines.append("")
            lines.append("**" + summary + "**" + discussed)
            if let spread = question.spread {
                let bars = zip(report.levels, spread.distribution).map { level, count in "\(level.value): \(count)" }.joined(
                    separator: " · ")
                lines.append("")
                lines.append(l.pick("Spread: ", "Répartition : ") + bars)
            }
            if !question.answers.isEmpty { lines.append("") }
            for answer in question.answers {
                var line = "- \(e(answer.who)), \(ReportDates.day(answer.answeredAt)): "
                line += answer.value.map { "**\($0) — \(e(answer.label))**" } ?? e(answer.label)
                if let comment = answer.comment { line += " — “\(e(comment))”" }
                lines.append(line)
            }
            for answer in question.history {
                var line = "- ~~\(e(answer.who)), \(ReportDates.day(answer.answeredAt)): "
                line += answer.value.map { "\($0) — \(e(answer.label))" } ?? e(answer.label)
                lines.append(
                    line + "~~ "
                        + AnswerRemoval.note(answer.removedBy, l, escape: e))
            }
        }
        if compact {
            let waiting = report.questions.filter(\.answers.isEmpty).map(\.number)
            if !waiting.isEmpty {
                lines.append(l.pick("No answer yet: ", "Pas encore de réponse : ") + ranges(waiting) + ".")
            }
            lines.append(
                l.pick(
                    "_The full report, with every comment and the profile chart, follows as files._",
                    "_Le rapport complet, avec tous les commentaires et le profil, suit en fichiers._"))
        }
        return lines.joined(separator: "\n") + (compact ? "" : "\n")
    }

    /// `[4, 5, 6, 8, 10, 11]` → `4–6, 8, 10–11`.
    static func ranges(_ numbers: [Int]) -> String {
        var parts: [String] = []
        var start: Int?
        var previous: Int?
        for n in numbers.sorted() + [Int.max] {
            if let p = previous, n == p + 1 {
                previous = n
                continue
            }
            if let s = start, let p = previous { parts.append(s == p ? "\(s)" : "\(s)–\(p)") }
            start = n
            previous = n
        }
        return parts.joined(separator: ", ")
    }

    /// A document title: `# Title` in a file, `**Title**` in a chat room.
    static func title(_ text: String, chat: Bool) -> [String] {
        chat ? ["**" + text + "**"] : ["# " + text, ""]
    }

    static func signatories(_ report: SignatoriesReport, chat: Bool = false) -> String {
        let l = report.language
        var lines = title(
            l.pick("Signatories of the Charter: \(e(report.territory))", "Signataires de la Charte : \(e(report.territory))"), chat: chat)
        lines.append(countLine(report.count, territory: report.territory, l))
        if !report.signatures.isEmpty, !chat { lines.append("") }
        for s in report.signatures { lines.append("- " + signatureLine(s, l)) }
        return lines.joined(separator: "\n") + "\n"
    }

    static func countLine(_ count: Int, territory: String, _ l: Language) -> String {
        l.pick(
            "\(e(territory)): \(count) signator\(count == 1 ? "y" : "ies")", "\(e(territory)) : \(count) signataire\(count > 1 ? "s" : "")")
    }

    static func signatureLine(_ s: Signature, _ l: Language) -> String {
        var line = "\(e(ReportPeople.label(name: s.signerName, id: s.signerID))) — \(e(s.organisation))"
        if let role = s.role { line += " (\(e(role)))" }
        return line + l.pick(", signed on ", ", signé le ") + ReportDates.day(s.signedAt)
    }

    static func pebbles(_ report: PebblesReport, chat: Bool = false) -> String {
        let l = report.language
        var lines = title(l.pick("White pebbles: \(e(report.territory))", "Cailloux blancs : \(e(report.territory))"), chat: chat)
        lines.append(
            l.pick(
                "\(report.pebbles.count) pebble\(report.pebbles.count == 1 ? "" : "s"): \(report.doneCount) laid, \(report.openCount) open, \(report.overdueCount) overdue",
                "\(report.pebbles.count) caillou\(report.pebbles.count > 1 ? "x" : "") : \(report.doneCount) posé\(report.doneCount > 1 ? "s" : ""), \(report.openCount) en cours, \(report.overdueCount) en retard"
            ))
        for star in report.stars {
            if !chat { lines.append("") }
            lines.append(l.pick("⭐ Star (", "⭐ Étoile (") + e(report.room(star.roomID)) + l.pick("): ", ") : ") + e(star.text))
        }
        if !report.pebbles.isEmpty, !chat { lines.append("") }
        for item in report.pebbles {
            lines.append(
                "- " + e(report.room(item.pebble.roomID)) + " #" + String(item.pebble.number) + " "
                    + pebbleLine(item.pebble, today: report.today, l))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// `✅ Title — carried by X, by 2026-04-01 (laid on …)`.
    static func pebbleLine(_ p: Pebble, today: String, _ l: Language) -> String {
        var line = (p.status == .done ? "✅ " : "⬜ ") + "**\(e(p.title))**"
        var details: [String] = []
        if let carrier = p.carrier { details.append(l.pick("carried by ", "porté par ") + e(carrier)) }
        if let date = p.targetDate { details.append(l.pick("by ", "pour le ") + date) }
        if !details.isEmpty { line += " — " + details.joined(separator: ", ") }
        if p.status == .done, let done = p.doneAt {
            line += l.pick(" (laid on ", " (posé le ") + ReportDates.day(done) + ")"
        } else if p.isOverdue(today: today) {
            line += l.pick(" (overdue)", " (en retard)")
        }
        return line
    }
}
