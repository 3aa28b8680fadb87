import Foundation

/// Why an answer was not accepted, in words for the person who gave it.
struct Rejection: Error {
    var en: String
    var fr: String
    func text(_ language: Language) -> String { language == .fr ? fr : en }
}

/// Reads a chat message as the answer to one question, with the kind's built-in checks and the step's rules.
struct AnswerParser {
    let step: Step
    let scales: [String: Scale]
    let language: Language
    /// The day relative dates are read from (`tomorrow`, `next month`).
    var today = Date(timeIntervalSince1970: 0)

    /// Longest answer kept; longer text is rejected rather than silently cut.
    static let maxLength = 4_000

    func parse(_ raw: String) -> Result<AnswerValue, Rejection> {
        let text = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty else { return .failure(Rejection(en: "Please type an answer.", fr: "Merci d'écrire une réponse.")) }
        guard text.count <= Self.maxLength else {
            return .failure(
                Rejection(
                    en: "That answer is too long (over \(Self.maxLength) characters).",
                    fr: "Cette réponse est trop longue (plus de \(Self.maxLength) caractères)."))
        }
        let folded = TextMatching.fold(text)
        switch step.kind {
        case .say:
            return .failure(Rejection(en: "Nothing to answer here.", fr: "Rien à répondre ici."))
        case .text:
            return checkRules(text).map { .text(text) }
        case .list:
            return checkRules(text).map { .list([text]) }
        case .date:
            if let iso = DateAnswer.parse(text, today: today) { return .success(.text(iso)) }
            return .failure(
                Rejection(
                    en: "Please give a date, such as *15 March 2027*, *15/03/2027* or *next month*.",
                    fr: "Merci d'indiquer une date, par exemple *15 mars 2027*, *15/03/2027* ou *le mois prochain*."))
        case .yesno:
            if Phrase.yes.contains(folded) { return .success(.yesno(true)) }
            if Phrase.no.contains(folded) { return .success(.yesno(false)) }
            return .failure(Rejection(en: "Please answer *yes* or *no*.", fr: "Merci de répondre *oui* ou *non*."))
        case .choice(let options):
            if let option = Self.option(folded, options) { return .success(.choice(option.value)) }
            return .failure(
                Rejection(
                    en: "Please answer with a number from 1 to \(options.count), or the words of an option.",
                    fr: "Merci de répondre par un numéro de 1 à \(options.count), ou les mots d'une option."))
        case .multi(let options):
            let parts = folded.replacingOccurrences(of: " and ", with: ",").replacingOccurrences(of: " et ", with: ",")
                .split(whereSeparator: { $0 == "," || $0 == ";" || $0 == "/" })
                .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            var chosen: [String] = []
            for part in parts {
                guard let option = Self.option(part, options) else {
                    return .failure(
                        Rejection(
                            en:
                                "I don't know the option “\(Markdown.escape(part))”. Use numbers from 1 to \(options.count), separated by commas.",
                            fr:
                                "Je ne connais pas l'option « \(Markdown.escape(part)) ». Utilisez des numéros de 1 à \(options.count), séparés par des virgules."
                        ))
                }
                if !chosen.contains(option.value) { chosen.append(option.value) }
            }
            guard !chosen.isEmpty else {
                return .failure(
                    Rejection(
                        en: "Please answer with numbers from 1 to \(options.count), separated by commas.",
                        fr: "Merci de répondre par des numéros de 1 à \(options.count), séparés par des virgules."))
            }
            return .success(.multi(chosen))
        case .scale(let name):
            let levels = scales[name]?.levels ?? []
            if let n = Int(folded), let level = levels.first(where: { $0.value == n }) { return .success(.scale(level.value)) }
            if let level = levels.first(where: {
                TextMatching.fold($0.label.resolve(language)) == folded
                    || TextMatching.fold($0.label.resolve(language == .fr ? .en : .fr)) == folded
            }) {
                return .success(.scale(level.value))
            }
            let values = levels.map { String($0.value) }
            return .failure(
                Rejection(
                    en: "Please answer with one of \(values.joined(separator: ", ")).",
                    fr: "Merci de répondre par \(values.joined(separator: ", "))."))
        case .number(let min, let max, let integer):
            guard let n = Self.number(text, language: language), n.isFinite else {
                return .failure(Rejection(en: "Please answer with a number.", fr: "Merci de répondre par un nombre."))
            }
            if integer, n != n.rounded() {
                return .failure(Rejection(en: "Please give a whole number.", fr: "Merci de donner un nombre entier."))
            }
            if let min, n < min {
                return .failure(
                    Rejection(
                        en: "The number must be at least \(Self.format(min)).", fr: "Le nombre doit être au moins \(Self.format(min))."))
            }
            if let max, n > max {
                return .failure(
                    Rejection(en: "The number must be at most \(Self.format(max)).", fr: "Le nombre doit être au plus \(Self.format(max)).")
                )
            }
            return .success(.number(n))
        }
    }

    static func format(_ n: Double) -> String { n == n.rounded() ? String(Int64(n)) : String(n) }

    /// A number as people type it: spaces group thousands ("1 000"); with both "," and ".", the last one is
    /// the decimal mark ("1,234.5", "1.234,5"); a mark repeated groups thousands ("1,000,000"). A single
    /// comma before exactly three digits ("1,000", "12,500") groups thousands in English and is a decimal
    /// comma in French; any other single comma is a decimal comma ("3,5").
    static func number(_ text: String, language: Language) -> Double? {
        // From the unfolded text: folding trims punctuation at both ends, which would drop a minus sign.
        var s = text.filter { !$0.isWhitespace }
        while let last = s.last, last.isPunctuation || last.isSymbol { s.removeLast() }
        let commas = s.filter { $0 == "," }.count, dots = s.filter { $0 == "." }.count
        func grouped(_ separator: Character) -> Bool {
            // Digits in groups of three after the first: "1,000", "-12.500.000".
            let body = s.hasPrefix("-") || s.hasPrefix("+") ? s.dropFirst() : s[...]
            let groups = body.split(separator: separator, omittingEmptySubsequences: false)
            guard let first = groups.first, (1...3).contains(first.count) else { return false }
            return groups.allSatisfy { $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }
                && groups.dropFirst().allSatisfy { $0.count == 3 }
        }
        if commas > 0, dots > 0 {
            let decimal: Character = s.lastIndex(of: ",")! > s.lastIndex(of: ".")! ? "," : "."
            let grouping: Character = decimal == "," ? "." : ","
            guard s.filter({ $0 == decimal }).count == 1 else { return nil }
            s = s.filter { $0 != grouping }.replacingOccurrences(of: String(decimal), with: ".")
        } else if commas > 1 || dots > 1 {
            guard grouped(commas > 1 ? "," : ".") else { return nil }
            s = s.filter { $0 != "," && $0 != "." }
        } else if commas == 1 {
            s = language == .en && grouped(",") ? s.replacingOccurrences(of: ",", with: "") : s.replacingOccurrences(of: ",", with: ".")
        }
        return Double(s)
    }

    /// An option by number, by value, by label in either language, by alias, or by a unique word prefix.
    static func option(_ folded: String, _ options: [ChoiceOption]) -> ChoiceOption? {
        if let n = Int(folded) { return n >= 1 && n <= options.count ? options[n - 1] : nil }
        func names(_ o: ChoiceOption) -> [String] {
            ([o.value] + o.label.values.values + o.aliases).map(TextMatching.fold)
        }
        if let exact = options.first(where: { names($0).contains(folded) }) { return exact }
        guard folded.count >= 3 else { return nil }
        let partial = options.filter { names($0).contains { $0.hasPrefix(folded) } }
        return partial.count == 1 ? partial[0] : nil
    }

    func checkRules(_ text: String) -> Result<Void, Rejection> {
        for rule in step.rules {
            switch rule {
            case .minLength(let n) where text.count < n:
                return .failure(Rejection(en: "Please write at least \(n) characters.", fr: "Merci d'écrire au moins \(n) caractères."))
            case .maxLength(let n) where text.count > n:
                return .failure(Rejection(en: "Please keep it under \(n + 1) characters.", fr: "Merci de rester sous \(n + 1) caractères."))
            case .pattern(let pattern, let message):
                guard let regex = try? NSRegularExpression(pattern: "^(?:\(pattern))$") else { continue }
                let range = NSRange(text.startIndex..., in: text)
                if regex.firstMatch(in: text, range: range) == nil {
                    let en = message?.resolve(.en) ?? "That answer does not have the expected form."
                    let fr = message?.resolve(.fr) ?? "Cette réponse n'a pas la forme attendue."
                    return .failure(Rejection(en: en, fr: fr))
                }
            default: continue
            }
        }
        return .success(())
    }
}
