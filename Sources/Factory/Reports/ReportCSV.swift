import BotCore
import Foundation

/// Reports as CSV (RFC 4180: comma-separated, CRLF line ends, fields quoted when needed), one row per
/// answer, signature or pebble, with a header row. Values are written as stored, never reformatted.
enum ReportCSV {
    /// One cell. A value a spreadsheet would read as a formula (`=`, `+`, `-`, `@`, or a tab or carriage
    /// return first) gets a leading `'`, so `=HYPERLINK(…)` typed in an answer stays text (OWASP's advice).
    /// A Matrix user id is left as it is: its grammar has no room for a call, and ids must match.
    static func field(_ value: String) -> String {
        var value = value
        if let first = value.unicodeScalars.first, formulaStarts.contains(first), !isMatrixUserID(value) { value = "'" + value }
        // By scalar: "\r\n" is one Character, equal to neither "\r" nor "\n".
        guard value.unicodeScalars.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return value }
        return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    static let formulaStarts: Set<Unicode.Scalar> = ["=", "+", "-", "@", "\t", "\r"]

    /// `@localpart:server` with the spec's characters only (no parenthesis, quote, `!` or `|`).
    static func isMatrixUserID(_ value: String) -> Bool {
        let scalars = value.unicodeScalars
        guard scalars.first == "@", let colon = scalars.firstIndex(of: ":"), colon > scalars.index(after: scalars.startIndex) else {
            return false
        }
        let localpart = scalars[scalars.index(after: scalars.startIndex)..<colon]
        let server = scalars[scalars.index(after: colon)...]
        return !server.isEmpty && localpart.allSatisfy { "abcdefghijklmnopqrstuvwxyz0123456789._=-/+".unicodeScalars.contains($0) }
            && server.allSatisfy {
                $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || ".-:[]".unicodeScalars.contains($0))
            }
    }

    static func table(_ header: [String], _ rows: [[String]]) -> String {
        ([header] + rows).map { $0.map(field).joined(separator: ",") + "\r\n" }.joined()
    }

    /// One row per answer; a question nobody answered still has one row, with empty answer fields. Answers
    /// their authors replaced since come after, with `replaced` set.
    static func inventory(_ report: InventoryReport) -> String {
        let header = [
            "territory", "question_number", "question_id", "question_title", "question", "discussed",
            "author", "author_id", "value", "label", "comment", "answered_at", "room", "replaced", "removed_by",
        ]
        var rows: [[String]] = []
        for q in report.questions {
            let lead = [report.territory, String(q.number), q.id, q.title, q.text, q.discussed ? "yes" : "no"]
            if q.answers.isEmpty { rows.append(lead + ["", "", "", "", "", "", "", "", ""]) }
            for (a, replaced) in q.answers.map({ ($0, false) }) + q.history.map({ ($0, true) }) {
                rows.append(
                    lead + [
                        a.author, a.authorID, a.value.map(String.init) ?? "", a.label, a.comment ?? "",
                        ReportDates.iso(a.answeredAt), a.room, replaced && a.removedBy == nil ? "yes" : "no", a.removedBy ?? "",
                    ])
            }
        }
        return table(header, rows)
    }

    static func signatories(_ report: SignatoriesReport) -> String {
        table(
            ["territory", "name", "id", "organisation", "role", "signed_at", "room"],
            report.signatures.map {
                [report.territory, $0.signerName, $0.signerID, $0.organisation, $0.role ?? "", ReportDates.iso($0.signedAt), $0.roomID]
            })
    }

    static func pebbles(_ report: PebblesReport) -> String {
        table(
            [
                "territory", "room", "number", "title", "carrier", "target_date", "status", "overdue", "created_by", "created_at",
                "done_at", "done_by", "room_name",
            ],
            report.pebbles.map { item in
                let p = item.pebble
                return [
                    report.territory, p.roomID, String(p.number), p.title, p.carrier ?? "", p.targetDate ?? "", p.status.rawValue,
                    item.overdue ? "yes" : "no", p.createdBy, ReportDates.iso(p.createdAt), p.doneAt.map(ReportDates.iso) ?? "",
                    p.doneBy ?? "", report.roomNames[p.roomID] ?? "",
                ]
            })
    }
}
