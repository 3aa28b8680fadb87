import BotCore
import Foundation
import GRDB

/// A report as the chat delivers it: a short summary to post, then the report itself as files (the
/// HTML page, the CSV table, and for the inventory the profile chart as a picture).
struct ReportFiles {
    var summary: String
    var files: [Attachment]

    static let html = "text/html; charset=utf-8"
    static let csv = "text/csv; charset=utf-8"

    static func make(
        _ kind: ReportKind, territory: Territory, dialogue: String? = nil, _ db: Database, catalog: DialogueCatalog, language: Language,
        now: Date
    ) throws -> ReportFiles {
        let what = kind == .answers ? "answers-\(dialogue ?? "")" : kind.rawValue
        func file(_ ext: String, _ type: String, _ text: String) -> Attachment {
            Attachment(fileName: fileName(what, territory: territory.name, now: now, ext: ext), mimeType: type, data: Data(text.utf8))
        }
        switch kind {
        case .answers:
            let report = try FactoryReports.answers(
                db, dialogue: dialogue ?? "", territory: territory, room: nil, catalog: catalog, language: language, now: now)
            return ReportFiles(
                summary: report.markdown(chat: true), files: [file("html", html, report.html()), file("csv", csv, report.csv())])
        case .inventory:
            let report = try FactoryReports.inventory(db, territory: territory, catalog: catalog, language: language, now: now)
            var files = [file("html", html, ReportHTML.inventory(report)), file("csv", csv, ReportCSV.inventory(report))]
            if let picture = ChartPicture.render(svg: ProfileChart.svg(report, heading: true)) {
                files.append(
                    Attachment(
                        fileName: fileName("profile", territory: territory.name, now: now, ext: "png"), mimeType: "image/png",
                        data: picture.data,
                        width: picture.width, height: picture.height))
            }
            return ReportFiles(summary: ReportMarkdown.inventory(report, compact: true), files: files)
        case .signatories:
            let report = try FactoryReports.signatories(db, territory: territory, language: language, now: now)
            return ReportFiles(
                summary: ReportMarkdown.signatories(report, chat: true).trimmingCharacters(in: .newlines),
                files: [file("html", html, ReportHTML.signatories(report)), file("csv", csv, ReportCSV.signatories(report))])
        case .pebbles:
            let report = try FactoryReports.pebbles(db, territory: territory, language: language, now: now)
            return ReportFiles(
                summary: ReportMarkdown.pebbles(report, chat: true).trimmingCharacters(in: .newlines),
                files: [file("html", html, ReportHTML.pebbles(report)), file("csv", csv, ReportCSV.pebbles(report))])
        }
    }

    /// `inventory-vallee-de-la-drome-2026-03-01.html`: what, for whom, which day; ASCII letters, digits
    /// and dashes only, so it saves under that name on every system.
    static func fileName(_ what: String, territory: String, now: Date, ext: String) -> String {
        var slug = ""
        for scalar in TextMatching.fold(territory).unicodeScalars {
            if scalar.isASCII, scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) {
                slug.unicodeScalars.append(scalar)
            } else if !slug.isEmpty, slug.last != "-" {
                slug += "-"
            }
        }
        while slug.last == "-" { slug.removeLast() }
        return [what, String(slug.prefix(60)), TurnScope.day(now)].filter { !$0.isEmpty }.joined(separator: "-") + "." + ext
    }
}
