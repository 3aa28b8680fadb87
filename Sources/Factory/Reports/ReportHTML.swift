import BotCore
import Foundation

/// Reports as standalone HTML pages: no script, no external font or image, so they open offline and print
/// well. The markup is also well-formed XML (XHTML-style), which tests check with a parser.
enum ReportHTML {
    /// Escapes text for element content and attribute values.
    static func h(_ text: String) -> String {
        // Control characters other than tab and newline are not allowed in XML: each becomes a space (a
        // lone carriage return still separates words), then the chat renderer's escaping (one definition
        // of what HTML text needs).
        let kept = String(String.UnicodeScalarView(text.unicodeScalars.map { $0.value < 0x20 && $0 != "\t" && $0 != "\n" ? " " : $0 }))
        return HTMLText.escape(kept)
    }

    static let style = """
        body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #222; line-height: 1.45; }
        h1 { font-size: 1.6rem; margin-bottom: 0.2rem; }
        .meta { color: #666; margin-top: 0; }
        table { border-collapse: collapse; width: 100%; margin: 0.5rem 0 1.5rem; }
        th, td { border-bottom: 1px solid #ddd; padding: 0.3rem 0.5rem; text-align: left; vertical-align: top; }
        th { background: #f4f4f0; }
        .q { margin-top: 1.8rem; }
        .q h2 { font-size: 1.1rem; margin-bottom: 0.2rem; }
        .tag { display: inline-block; background: #e6f2e6; color: #245c24; border-radius: 0.6rem; padding: 0 0.5rem; font-size: 0.85rem; }
        .late { color: #a33; font-weight: bold; }
        .nowrap { white-space: nowrap; }
        figure { margin: 1rem 0 2rem; }
        figcaption { color: #555; font-size: 0.9rem; }
        """

    static func page(title: String, language: Language, body: [String]) -> String {
        var out = "<!DOCTYPE html>\n"
        out += "<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"\(language.rawValue)\">\n<head>\n"
        out += "<meta charset=\"utf-8\"/>\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n"
        out += "<title>\(h(title))</title>\n<style>\n\(style)\n</style>\n</head>\n<body>\n"
        out += body.joined(separator: "\n")
        out += "\n</body>\n</html>\n"
        return out
    }

    static func inventory(_ report: InventoryReport) -> String {
        let l = report.language
        let title = l.pick("Territory inventory: \(report.territory)", "État des lieux du territoire : \(report.territory)")
        var body = ["<h1>\(h(title))</h1>"]
        body.append(
            "<p class=\"meta\">"
                + h(ReportMarkdown.counts(report, separator: " · ") + " · \(ReportDates.minute(report.generatedAt)) UTC") + "</p>")
        body.append(
            "<p>" + h(l.pick("Levels: ", "Niveaux : ") + report.levels.map { "\($0.value) = \($0.label)" }.joined(separator: " · "))
                + "</p>")
        body.append("<figure>")
        body.append(ProfileChart.svg(report))
        body.append(
            "<figcaption>"
                + h(
                    l.pick(
                        "Profile of the territory: for each question, the grey band spans the answers given, dots are individual answers and the line joins the means.",
                        "Profil du territoire : pour chaque question, la bande grise couvre les réponses données, les points sont les réponses individuelles et la ligne relie les moyennes."
                    )) + "</figcaption>")
        body.append("</figure>")
        for question in report.questions {
            body.append("<section class=\"q\" id=\"q-\(h(question.id))\">")
            var heading = "<h2>\(question.number). \(h(question.title))"
            if question.discussed { heading += " <span class=\"tag\">\(h(l.pick("discussed", "discutée")))</span>" }
            body.append(heading + "</h2>")
            body.append("<p>\(h(question.text))</p>")
            if let spread = question.spread {
                let distribution = zip(report.levels, spread.distribution).map { "\($0.value): \($1)" }.joined(separator: " · ")
                body.append(
                    "<p><strong>"
                        + h(
                            l.pick(
                                "Mean \(ReportDates.number(spread.mean)), "
                                    + (spread.min == spread.max
                                        ? "\(spread.count) answer\(spread.count == 1 ? "" : "s, all \(spread.min)")"
                                        : "from \(spread.min) to \(spread.max), \(spread.count) answers"),
                                "Moyenne \(ReportDates.number(spread.mean).replacingOccurrences(of: ".", with: ",")), "
                                    + (spread.min == spread.max
                                        ? "\(spread.count) réponse\(spread.count > 1 ? "s, toutes à \(spread.min)" : "")"
                                        : "de \(spread.min) à \(spread.max), \(spread.count) réponses")
                            ))
                        + "</strong> — " + h(l.pick("spread ", "répartition ") + distribution) + "</p>")
            }
            if question.answers.isEmpty {
                body.append("<p class=\"meta\">\(h(l.pick("No answer yet.", "Pas encore de réponse.")))</p>")
            } else {
                body.append("<table>")
                body.append(
                    "<thead><tr><th>\(h(l.pick("Who", "Qui")))</th><th>\(h(l.pick("Answer", "Réponse")))</th><th>\(h(l.pick("Comment", "Commentaire")))</th><th>\(h(l.pick("When", "Quand")))</th></tr></thead>"
                )
                body.append("<tbody>")
                for answer in question.answers {
                    let value = answer.value.map { "\($0) — \(answer.label)" } ?? answer.label
                    body.append(
                        "<tr><td>\(h(answer.who))</td><td>\(h(value))</td><td>\(h(answer.comment ?? ""))</td><td>\(h(ReportDates.minute(answer.answeredAt)))</td></tr>"
                    )
                }
                for answer in question.history {
                    let value = answer.value.map { "\($0) — \(answer.label)" } ?? answer.label
                    body.append(
                        "<tr class=\"replaced\"><td><s>\(h(answer.who))</s></td><td><s>\(h(value))</s> \(h(AnswerRemoval.note(answer.removedBy, l)))</td><td>\(h(answer.comment ?? ""))</td><td>\(h(ReportDates.minute(answer.answeredAt)))</td></tr>"
                    )
                }
                body.append("</tbody>")
                body.append("</table>")
            }
            body.append("</section>")
        }
        return page(title: title, language: l, body: body)
    }

    static func signatories(_ report: SignatoriesReport) -> String {
        let l = report.language
        let title = l.pick("Signatories of the Charter: \(report.territory)", "Signataires de la Charte : \(report.territory)")
        var body = ["<h1>\(h(title))</h1>"]
        body.append(
            "<p class=\"meta\">\(h(l.pick("\(report.count) signatories", "\(report.count) signataires"))) · \(h(ReportDates.minute(report.generatedAt))) UTC</p>"
        )
        if report.signatures.isEmpty {
            body.append(
                "<p>\(h(l.pick("Nobody has signed the Charter for this territory yet.", "Personne n'a encore signé la Charte pour ce territoire.")))</p>"
            )
            return page(title: title, language: l, body: body)
        }
        body.append("<table>")
        body.append(
            "<thead><tr><th>\(h(l.pick("Name", "Nom")))</th><th>\(h(l.pick("Organisation", "Organisation")))</th><th>\(h(l.pick("Role", "Rôle")))</th><th>\(h(l.pick("Signed on", "Signé le")))</th></tr></thead>"
        )
        body.append("<tbody>")
        for s in report.signatures {
            body.append(
                "<tr><td>\(h(ReportPeople.label(name: s.signerName, id: s.signerID)))</td><td>\(h(s.organisation))</td><td>\(h(s.role ?? ""))</td><td>\(h(ReportDates.day(s.signedAt)))</td></tr>"
            )
        }
        body.append("</tbody>")
        body.append("</table>")
        return page(title: title, language: l, body: body)
    }

    static func pebbles(_ report: PebblesReport) -> String {
        let l = report.language
        let title = l.pick("White pebbles: \(report.territory)", "Cailloux blancs : \(report.territory)")
        var body = ["<h1>\(h(title))</h1>"]
        body.append(
            "<p class=\"meta\">"
                + h(
                    l.pick(
                        "\(report.pebbles.count) pebbles · \(report.doneCount) laid · \(report.openCount) open · \(report.overdueCount) overdue · \(ReportDates.minute(report.generatedAt)) UTC",
                        "\(report.pebbles.count) cailloux · \(report.doneCount) posés · \(report.openCount) en cours · \(report.overdueCount) en retard · \(ReportDates.minute(report.generatedAt)) UTC"
                    )) + "</p>")
        for star in report.stars {
            body.append("<p><strong>\(h(l.pick("Star", "Étoile"))) (\(h(report.room(star.roomID))))</strong>: \(h(star.text))</p>")
        }
        body.append("<table>")
        body.append(
            "<thead><tr><th>\(h(l.pick("Room", "Salon")))</th><th>#</th><th>\(h(l.pick("Pebble", "Caillou")))</th><th>\(h(l.pick("Carried by", "Porté par")))</th><th>\(h(l.pick("Target date", "Date visée")))</th><th>\(h(l.pick("Status", "État")))</th></tr></thead>"
        )
        body.append("<tbody>")
        for item in report.pebbles {
            let p = item.pebble
            var status =
                p.status == .done ? l.pick("laid", "posé") + (p.doneAt.map { " " + ReportDates.day($0) } ?? "") : l.pick("open", "en cours")
            if item.overdue { status = l.pick("overdue", "en retard") }
            let statusCell = item.overdue ? "<span class=\"late\">\(h(status))</span>" : h(status)
            body.append(
                "<tr><td>\(h(report.room(p.roomID)))</td><td>\(p.number)</td><td>\(h(p.title))</td><td>\(h(p.carrier ?? ""))</td><td>\(h(p.targetDate ?? ""))</td><td>\(statusCell)</td></tr>"
            )
        }
        body.append("</tbody>")
        body.append("</table>")
        return page(title: title, language: l, body: body)
    }
}

/// The territory's profile across the inventory's questions, as an SVG drawn by hand (no library, no script).
enum ProfileChart {
    static let labelWidth = 230.0
    static let plotWidth = 380.0
    static let rowHeight = 24.0
    static let top = 34.0

    /// - Parameter heading: write the territory's name and the date above the chart, for the picture
    ///   posted on its own in a chat room (the HTML page has its own title).
    static func svg(_ report: InventoryReport, heading: Bool = false) -> String {
        let h = ReportHTML.h
        let top = Self.top + (heading ? 30 : 0)
        let levels = report.levels.map(\.value)
        let low = Double(levels.min() ?? 1), high = Double(levels.max() ?? 4)
        let span = max(high - low, 1)
        func x(_ value: Double) -> Double { labelWidth + 10 + (value - low) / span * (plotWidth - 20) }
        func f(_ v: Double) -> String { String(format: "%.1f", v) }
        let height = top + Double(report.questions.count) * rowHeight + 10
        // Room on the right for the last level's label, centred on its guide.
        let width = labelWidth + plotWidth + 70
        let l = report.language
        var out: [String] = []
        out.append(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(f(width))\" height=\"\(f(height))\" viewBox=\"0 0 \(f(width)) \(f(height))\" role=\"img\" aria-labelledby=\"profile-title\" font-family=\"system-ui, sans-serif\" font-size=\"12\">"
        )
        out.append("<title id=\"profile-title\">\(h(l.pick("Profile of \(report.territory)", "Profil de \(report.territory)")))</title>")
        if heading {
            // A white ground: the picture is read on its own, in light and dark chat themes alike.
            out.append("<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>")
            out.append(
                "<text x=\"10\" y=\"20\" font-size=\"15\" font-weight=\"bold\" fill=\"#222\">\(h(l.pick("Profile of \(report.territory)", "Profil de \(report.territory)"))) · \(h(ReportDates.day(report.generatedAt)))</text>"
            )
        }
        // Level guides and their labels.
        for level in report.levels {
            let lx = x(Double(level.value))
            out.append("<line x1=\"\(f(lx))\" y1=\"\(f(top - 6))\" x2=\"\(f(lx))\" y2=\"\(f(height - 6))\" stroke=\"#ddd\"/>")
            out.append(
                "<text x=\"\(f(lx))\" y=\"\(f(top - 12))\" text-anchor=\"middle\" fill=\"#555\">\(level.value) \(h(level.label))</text>")
        }
        var means: [(Double, Double)] = []
        // The line joins consecutive answered questions only: it never runs across one nobody answered.
        var runs: [[(Double, Double)]] = [[]]
        for (row, question) in report.questions.enumerated() {
            let y = top + Double(row) * rowHeight + rowHeight / 2
            let title = question.title.count > 34 ? String(question.title.prefix(33)) + "…" : question.title
            out.append(
                "<text x=\"\(f(labelWidth))\" y=\"\(f(y + 4))\" text-anchor=\"end\" fill=\"#222\">\(question.number). \(h(title))</text>")
            guard let spread = question.spread else {
                out.append("<text x=\"\(f(x(low)))\" y=\"\(f(y + 4))\" fill=\"#999\">\(h(l.pick("no answer", "sans réponse")))</text>")
                if runs.last?.isEmpty == false { runs.append([]) }
                continue
            }
            out.append(
                "<rect x=\"\(f(x(Double(spread.min)) - 6))\" y=\"\(f(y - 6))\" width=\"\(f(x(Double(spread.max)) - x(Double(spread.min)) + 12))\" height=\"12\" rx=\"6\" fill=\"#e4e4dc\"/>"
            )
            for (level, count) in zip(levels, spread.distribution) where count > 0 {
                out.append(
                    "<circle cx=\"\(f(x(Double(level))))\" cy=\"\(f(y))\" r=\"\(f(min(3 + Double(count), 9)))\" fill=\"#7aa37a\" fill-opacity=\"0.7\"><title>\(h("\(level): \(count)"))</title></circle>"
                )
            }
            means.append((x(spread.mean), y))
            runs[runs.count - 1].append((x(spread.mean), y))
        }
        for run in runs where run.count > 1 {
            out.append(
                "<polyline points=\"\(run.map { "\(f($0.0)),\(f($0.1))" }.joined(separator: " "))\" fill=\"none\" stroke=\"#245c24\" stroke-width=\"2\"/>"
            )
        }
        for (mx, my) in means {
            out.append("<circle cx=\"\(f(mx))\" cy=\"\(f(my))\" r=\"3.5\" fill=\"#245c24\"/>")
        }
        out.append("</svg>")
        return out.joined(separator: "\n")
    }
}
