import BotCore
import Foundation

/// A pebble as someone typed it: `title; carrier; date`, where carrier and date may be left out.
///
///     PebbleDraft.parse("Bike survey; Karim; 15/05/2026")  // title "Bike survey", carrier "Karim", 2026-05-15
///     PebbleDraft.parse("Bike survey; 2026-05-15")          // no carrier
struct PebbleDraft: Sendable, Hashable {
    var title: String
    var carrier: String?
    /// `YYYY-MM-DD`.
    var targetDate: String?

    static let maxTitle = 160
    static let maxCarrier = 80

    enum Problem: Error, Equatable {
        case noTitle
        case tooLong
        case badDate(String)
        case tooManyParts
    }

    static func parse(_ text: String) -> Result<PebbleDraft, Problem> {
        let parts = text.split(separator: ";", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        guard parts.count <= 3 else { return .failure(.tooManyParts) }
        let title = parts[0]
        guard !title.isEmpty else { return .failure(.noTitle) }
        var carrier: String?
        var dateText: String?
        switch parts.count {
        case 2:
            // `title; date` or `title; carrier`.
            if parts[1].first?.isNumber == true { dateText = parts[1] } else { carrier = parts[1] }
        case 3:
            carrier = parts[1]
            dateText = parts[2]
        default:
            break
        }
        if carrier?.isEmpty == true { carrier = nil }
        guard title.count <= maxTitle, (carrier?.count ?? 0) <= maxCarrier,
            !(title + (carrier ?? "")).contains(where: \.isNewline)
        else { return .failure(.tooLong) }
        var date: String?
        if let dateText, !dateText.isEmpty {
            guard let parsed = isoDay(dateText) else { return .failure(.badDate(dateText)) }
            date = parsed
        }
        return .success(PebbleDraft(title: title, carrier: carrier, targetDate: date))
    }

    /// `2026-05-15` or `15/05/2026` as `2026-05-15`, when it is a real day; nil otherwise.
    static func isoDay(_ text: String) -> String? {
        let t = text.trimmingCharacters(in: .whitespaces)
        let numbers: [Int]
        if t.contains("-") {
            numbers = t.split(separator: "-", omittingEmptySubsequences: false).compactMap { Int($0) }
            guard numbers.count == 3, t.split(separator: "-")[0].count == 4 else { return nil }
        } else if t.contains("/") {
            let dmy = t.split(separator: "/", omittingEmptySubsequences: false).compactMap { Int($0) }
            guard dmy.count == 3, t.split(separator: "/")[2].count == 4 else { return nil }
            numbers = [dmy[2], dmy[1], dmy[0]]
        } else {
            return nil
        }
        let (year, month, day) = (numbers[0], numbers[1], numbers[2])
        guard (2000...2100).contains(year), (1...12).contains(month), day >= 1 else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        guard let date = calendar.date(from: DateComponents(year: year, month: month, day: day)),
            calendar.component(.day, from: date) == day, calendar.component(.month, from: date) == month
        else { return nil }
        return String(format: "%04d-%02d-%02d", year, month, day)
    }

    static func text(_ problem: Problem, _ language: Language) -> String {
        switch problem {
        case .noTitle:
            language.pick("A pebble needs a title.", "Un caillou a besoin d'un titre.")
        case .tooLong:
            language.pick(
                "Keep the title under \(maxTitle + 1) characters and the carrier under \(maxCarrier + 1), on one line.",
                "Gardez le titre sous \(maxTitle + 1) caractères et le porteur sous \(maxCarrier + 1), sur une ligne.")
        case .badDate(let text):
            language.pick(
                "“\(Markdown.escape(String(text.prefix(30))))” is not a date I can read: use YYYY-MM-DD or DD/MM/YYYY.",
                "« \(Markdown.escape(String(text.prefix(30)))) » n'est pas une date que je sais lire : utilisez AAAA-MM-JJ ou JJ/MM/AAAA.")
        case .tooManyParts:
            language.pick("Use at most three parts: `title; carrier; date`.", "Utilisez au plus trois parties : `titre ; porteur ; date`.")
        }
    }
}
