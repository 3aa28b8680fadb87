import BotCore
import Foundation

/// The answers report in each format: Markdown (a chat summary, or the whole table), a standalone HTML
/// page, CSV (one row per answer) and JSON (the value itself).
extension AnswersReport {
    /// Whose answers, in the report's language: "Vallée de la Drôme", "room-1", or "every territory".
    var scopeName: String {
        [territory, room.map { language.pick("room \($0)", "salon \($0)") }].compactMap { $0 }.joined(separator: ", ").nonEmpty
            ?? language.pick("every territory", "tous les territoires")
    }

    var who: (Row) -> String {
        { row in
            row.anonymous
                ? self.language.pick("(anonymous)", "(anonyme)") : ReportPeople.label(name: row.author ?? "", id: row.authorID ?? "")
        }
    }

    /// Why a row does not count, in words.
    func struckNote(_ row: Row) -> String {
        AnswerRemoval.note(row.removedBy, language)
    }

    func countLine() -> String {
        let l = language
        let counted = rows.filter(\.counts).count
        return l.pick(
            "\(counted) answer\(counted == 1 ? "" : "s") from \(respondentCount) \(respondentCount == 1 ? "person" : "people")",
            "\(counted) réponse\(counted > 1 ? "s" : "") de \(respondentCount) personne\(respondentCount > 1 ? "s" : "")")
            + (rows.contains(where: \.anonymous) ? l.pick(" (and anonymous answers)", " (et des réponses anonymes)") : "")
    }

    /// - Parameter chat: a short summary (per question, how many answered and the most frequent answers).
    func markdown(chat: Bool) -> String {
        let l = language, e = Markdown.escape
        let title = l.pick("Answers to “\(title)” — \(scopeName)", "Réponses à « \(title) » — \(scopeName)")
        var lines = ReportMarkdown.title(e(title), chat: chat)
        lines.append((chat ? "" : "_") + countLine() + (chat ? "" : " · " + ReportDates.minute(generatedAt) + " UTC_"))
        var questions: [(String, [Row])] = []
        for row in rows {
            if let last = questions.last, last.0 == row.questionID {
                questions[questions.count - 1].1.append(row)
            } else {
                questions.append((row.questionID, [row]))
            }
        }
        for (_, answers) in questions {
            let first = answers[0]
            let heading = (first.questionNumber.map { "\($0). " } ?? "") + e(first.question)
            let current = answers.filter(\.counts)
            if chat {
                var counts: [String: Int] = [:]
                for row in current { counts[row.label, default: 0] += 1 }
                let top = counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.prefix(3)
                    .map { "\(e(String($0.key.prefix(60)))) ×\($0.value)" }.joined(separator: ", ")
                lines.append("- **\(heading)** (\(current.count)): \(top)")
                continue
            }
            lines.append("")
            lines.append("## " + heading + (first.anonymous ? l.pick(" (anonymous)", " (anonyme)") : ""))
            lines.append("")
            for row in answers {
                var line = "- \(e(who(row))), \(ReportDates.day(row.answeredAt)): **\(e(row.label))**"
                if let comment = row.comment { line += " — “\(e(comment))”" }
                lines.append(row.counts ? line : "- ~~" + line.dropFirst(2) + "~~ " + struckNote(row))
            }
        }
        if chat {
            lines.append(
                l.pick(
                    "_Every answer, with its comment, follows as files._",
                    "_Toutes les réponses, avec leurs commentaires, suivent en fichiers._"))
        }
        return lines.joined(separator: "\n") + (chat ? "" : "\n")
    }

    func html() -> String {
        let l = language, h = ReportHTML.h
        let title = l.pick("Answers to “\(title)” — \(scopeName)", "Réponses à « \(title) » — \(scopeName)")
        var body = ["<h1>\(h(title))</h1>"]
        body.append("<p class=\"meta\">\(h(countLine())) · \(h(ReportDates.minute(generatedAt))) UTC</p>")
        body.append("<table>")
        body.append(
            "<thead><tr><th>#</th><th>\(h(l.pick("Question", "Question")))</th><th>\(h(l.pick("Who", "Qui")))</th><th>\(h(l.pick("Answer", "Réponse")))</th><th>\(h(l.pick("Comment", "Commentaire")))</th><th>\(h(l.pick("When", "Quand")))</th><th>\(h(l.pick("Room", "Salon")))</th></tr></thead>"
        )
        body.append("<tbody>")
        for row in rows {
            let when = row.anonymous ? ReportDates.day(row.answeredAt) : ReportDates.minute(row.answeredAt)
            func struck(_ text: String) -> String { row.counts ? h(text) : "<s>\(h(text))</s>" }
            body.append(
                "<tr\(row.counts ? "" : " class=\"replaced\"")><td>\(row.questionNumber.map(String.init) ?? "")</td><td>\(h(row.question))</td><td>\(struck(who(row)))</td><td>\(struck(row.label))\(row.counts ? "" : " " + h(struckNote(row)))</td><td>\(h(row.comment ?? ""))</td><td class=\"nowrap\">\(h(when))</td><td class=\"nowrap\">\(h(roomNames[row.room] ?? row.room))</td></tr>"
            )
        }
        body.append("</tbody>")
        body.append("</table>")
        return ReportHTML.page(title: title, language: l, body: body)
    }

    /// One row per answer. An anonymous answer has empty `author` and `author_id`, `anonymous` set, and
    /// its day as `answered_at`.
    func csv() -> String {
        ReportCSV.table(
            [
                "dialogue", "territory", "question_number", "question_id", "question", "anonymous", "author", "author_id", "answered_at",
                "value", "label", "comment", "room", "run", "replaced", "removed_by", "room_name",
            ],
            rows.map { row in
                [
                    dialogue, territory ?? "", row.questionNumber.map(String.init) ?? "", row.questionID, row.question,
                    row.anonymous ? "yes" : "no", row.author ?? "", row.authorID ?? "",
                    row.anonymous ? ReportDates.day(row.answeredAt) : ReportDates.iso(row.answeredAt), row.value, row.label,
                    row.comment ?? "", row.room, row.run.map(String.init) ?? "", row.replaced ? "yes" : "no", row.removedBy ?? "",
                    roomNames[row.room] ?? "",
                ]
            })
    }
}

extension String {
    fileprivate var nonEmpty: String? { isEmpty ? nil : self }
}
