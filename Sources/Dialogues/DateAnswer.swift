import Foundation

/// Dates as people write them in French and English: `2027-03-15`, `15/03/2027` (day first), `15 March`,
/// `March 15, 2027`, `le 1er mars`, `tomorrow`, `après-demain`, `in 3 weeks`, `dans deux mois`, `next month`,
/// `la semaine prochaine`, `fin du mois`, `lundi prochain`… Read against a given day (the turn's clock), so a
/// transcript replays the same; stored as an ISO date (`2027-03-15`).
public enum DateAnswer {
    /// The Gregorian calendar in UTC: a date answer names a day, not an instant.
    static let calendar: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()

    static let months: [String: Int] = {
        var months: [String: Int] = [:]
        let names: [[String]] = [
            ["january", "jan", "janvier", "janv"], ["february", "feb", "fevrier", "fevr", "fev"], ["march", "mar", "mars"],
            ["april", "apr", "avril", "avr"], ["may", "mai"], ["june", "jun", "juin"], ["july", "jul", "juillet", "juil"],
            ["august", "aug", "aout"], ["september", "sep", "sept", "septembre"], ["october", "oct", "octobre"],
            ["november", "nov", "novembre"], ["december", "dec", "decembre"],
        ]
        for (index, words) in names.enumerated() { for word in words { months[word] = index + 1 } }
        return months
    }()

    static let weekdays: [String: Int] = [
        "sunday": 1, "dimanche": 1, "monday": 2, "lundi": 2, "tuesday": 3, "mardi": 3, "wednesday": 4, "mercredi": 4,
        "thursday": 5, "jeudi": 5, "friday": 6, "vendredi": 6, "saturday": 7, "samedi": 7,
    ]

    static let numbers: [String: Int] = [
        "a": 1, "an": 1, "one": 1, "un": 1, "une": 1, "two": 2, "deux": 2, "three": 3, "trois": 3, "four": 4, "quatre": 4,
        "five": 5, "cinq": 5, "six": 6, "seven": 7, "sept": 7, "eight": 8, "huit": 8, "nine": 9, "neuf": 9, "ten": 10, "dix": 10,
        "eleven": 11, "onze": 11, "twelve": 12, "douze": 12,
    ]

    /// The ISO date `text` names, read on `today`; nil when it names none.
    public static func parse(_ text: String, today: Date) -> String? {
        let folded = TextMatching.fold(text)
            .replacingOccurrences(of: ",", with: " ").replacingOccurrences(of: "'", with: " ")
        let words = folded.split(separator: " ").map(String.init).filter {
            !["the", "on", "le", "la", "l", "du", "de", "of", "in", "by", "d", "for", "pour", "au", "a"].contains($0) || numbers[$0] != nil
        }
        guard !words.isEmpty else { return nil }
        let start = calendar.startOfDay(for: today)
        func iso(_ date: Date) -> String {
            let c = calendar.dateComponents([.year, .month, .day], from: date)
            return String(format: "%04d-%02d-%02d", c.year!, c.month!, c.day!)
        }
        func adding(_ component: Calendar.Component, _ n: Int) -> String? {
            calendar.date(byAdding: component, value: n, to: start).map(iso)
        }
        let joined = words.joined(separator: " ")
        switch joined {
        case "today", "aujourd hui", "aujourdhui": return iso(start)
        case "tomorrow", "demain": return adding(.day, 1)
        case "after tomorrow", "day after tomorrow", "apres demain", "apres-demain": return adding(.day, 2)
        case "yesterday", "hier": return adding(.day, -1)
        case "next week", "semaine prochaine": return adding(.day, 7)
        case "next month", "mois prochain":
            guard let next = calendar.date(byAdding: .month, value: 1, to: start) else { return nil }
            return calendar.date(from: calendar.dateComponents([.year, .month], from: next)).map(iso)
        case "next year", "annee prochaine":
            let year = calendar.component(.year, from: start) + 1
            return calendar.date(from: DateComponents(year: year, month: 1, day: 1)).map(iso)
        case "end month", "end this month", "fin mois", "fin ce mois":
            guard let first = calendar.date(from: calendar.dateComponents([.year, .month], from: start)),
                let next = calendar.date(byAdding: .month, value: 1, to: first)
            else { return nil }
            return calendar.date(byAdding: .day, value: -1, to: next).map(iso)
        case "end year", "end this year", "fin annee", "fin cette annee":
            return calendar.date(from: DateComponents(year: calendar.component(.year, from: start), month: 12, day: 31)).map(iso)
        default: break
        }
        // "in 3 weeks", "dans deux mois", "3 days"
        var rest = words
        if rest.first == "dans" { rest.removeFirst() }
        if rest.count == 2, let n = Int(rest[0]) ?? numbers[rest[0]] {
            switch rest[1] {
            case "day", "days", "jour", "jours": return adding(.day, n)
            case "week", "weeks", "semaine", "semaines": return adding(.day, 7 * n)
            case "month", "months", "mois": return adding(.month, n)
            case "year", "years", "an", "ans", "annee", "annees": return adding(.year, n)
            default: break
            }
        }
        // "monday", "next monday", "lundi prochain"
        let dayWords = words.filter { $0 != "next" && $0 != "prochain" && $0 != "prochaine" }
        if dayWords.count == 1, let weekday = weekdays[dayWords[0]] {
            let current = calendar.component(.weekday, from: start)
            let ahead = (weekday - current + 7) % 7
            return adding(.day, ahead == 0 ? 7 : ahead)
        }
        return absolute(joined, words: words, today: start).map(iso)
    }

    /// A written date: ISO, day/month/year with `/`, `.` or `-`, or words with a month name.
    static func absolute(_ joined: String, words: [String], today: Date) -> Date? {
        let thisYear = calendar.component(.year, from: today)
        func make(_ year: Int?, _ month: Int, _ day: Int) -> Date? {
            guard (1...12).contains(month), (1...31).contains(day) else { return nil }
            func exact(_ y: Int) -> Date? {
                let components = DateComponents(year: y, month: month, day: day)
                guard let date = calendar.date(from: components),
                    calendar.component(.day, from: date) == day, calendar.component(.month, from: date) == month
                else { return nil }
                return date
            }
            if let year { return exact(year < 100 ? 2000 + year : year) }
            // No year: the next such day, today included.
            if let date = exact(thisYear), date >= today { return date }
            return exact(thisYear + 1)
        }
        let digits = joined.split(whereSeparator: { "/.-".contains($0) }).map(String.init)
        if digits.count == 3, digits.allSatisfy({ Int($0) != nil }), !joined.contains(" ") {
            let n = digits.map { Int($0)! }
            if digits[0].count == 4 { return make(n[0], n[1], n[2]) }
            return make(n[2], n[1], n[0])
        }
        if digits.count == 2, digits.allSatisfy({ Int($0) != nil }), !joined.contains(" ") {
            return make(nil, Int(digits[1])!, Int(digits[0])!)
        }
        // Words: a month name, a day (1, 1er, 1st, 2nd…) and perhaps a year, in either order.
        var month: Int?
        var day: Int?
        var year: Int?
        for word in words {
            if let m = months[word] {
                guard month == nil else { return nil }
                month = m
                continue
            }
            let trimmed = word.replacingOccurrences(of: "er", with: "").replacingOccurrences(of: "st", with: "")
                .replacingOccurrences(of: "nd", with: "").replacingOccurrences(of: "rd", with: "").replacingOccurrences(of: "th", with: "")
            guard let n = Int(trimmed) else { return nil }
            if n > 31 {
                guard year == nil else { return nil }
                year = n
            } else if day == nil {
                day = n
            } else {
                return nil
            }
        }
        guard let month else { return nil }
        return make(year, month, day ?? 1)
    }

    /// How an ISO date reads: `15 March 2027`, `15 mars 2027`.
    public static func display(_ iso: String, language: Language) -> String {
        let parts = iso.split(separator: "-").compactMap { Int($0) }
        guard parts.count == 3, (1...12).contains(parts[1]) else { return iso }
        let en = [
            "January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December",
        ]
        let fr = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"]
        let month = (language == .fr ? fr : en)[parts[1] - 1]
        let day = language == .fr && parts[2] == 1 ? "1er" : String(parts[2])
        return "\(day) \(month) \(parts[0])"
    }
}
