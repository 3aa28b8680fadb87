/// A language Fabrique speaks.
public enum Language: String, Sendable, Codable, CaseIterable, Hashable, Comparable {
    case fr
    case en

    public static func < (lhs: Language, rhs: Language) -> Bool { lhs.rawValue < rhs.rawValue }

    /// Parses `fr`, `en`, `français`, `english`… (case and accents ignored).
    public init?(words: String) {
        switch TextMatching.fold(words) {
        case "fr", "francais", "french", "fr-fr": self = .fr
        case "en", "english", "anglais", "en-gb", "en-us": self = .en
        default: return nil
        }
    }
}

/// A user-visible text in French and English.
///
/// Fallback rule: the requested language, else English, else French. The validator warns about every
/// text that lacks a language, so the fallback is a safety net, not a habit.
public struct LocalizedText: Sendable, Hashable, Codable {
    public var values: [Language: String]

    public init(_ values: [Language: String]) { self.values = values }
    public init(en: String, fr: String) { self.values = [.en: en, .fr: fr] }

    /// The same text for every language (used for names and numbers, never for prose).
    public init(invariant: String) { self.values = [.en: invariant, .fr: invariant] }

    public func resolve(_ language: Language) -> String {
        values[language] ?? values[.en] ?? values[.fr] ?? ""
    }

    /// Languages with no text.
    public var missing: [Language] { Language.allCases.filter { values[$0] == nil } }
}

extension Language {
    /// The English or French text, whichever this language is: for the bot's own short messages.
    public func pick(_ en: String, _ fr: String) -> String { self == .fr ? fr : en }
}
