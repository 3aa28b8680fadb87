import BotCore
import Foundation
import GRDB

/// Every answer to one dialogue, any dialogue (an author's survey, a workshop debrief): one row per person
/// and question, with who, when, the value and how it reads, the comment, the room and the run.
///
/// Answers to anonymous questions come with no one's name: the store itself does not know it.
public struct AnswersReport: Sendable, Codable, Equatable {
    public struct Row: Sendable, Codable, Equatable {
        /// 1-based position among the dialogue's questions; nil for a question the dialogue no longer has.
        public var questionNumber: Int?
        public var questionID: String
        /// The question's short name (its bold lead, else its id).
        public var question: String
        public var anonymous: Bool
        /// Who answered (their name then, and their id); nil for an anonymous question.
        public var author: String?
        public var authorID: String?
        /// For an anonymous answer, the day only (midnight UTC).
        public var answeredAt: Date
        /// The value as stored, in words: `3`, `yes`, `bike; bus`, the text itself.
        public var value: String
        /// How it reads: the option's or level's label in the report's language.
        public var label: String
        public var comment: String?
        /// The room it was given in; empty for an anonymous answer given in a direct room.
        public var room: String
        /// The run of its session (1 for answers kept from before runs were numbered); nil when anonymous.
        public var run: Int?
        /// Its author answered the same question of the same run again later: kept as history, not counted.
        public var replaced: Bool
        /// Taken out by a correction (`!answers remove`), by whom: kept, struck out, not counted.
        public var removedBy: String? = nil

        /// Counted: neither replaced nor removed.
        public var counts: Bool { !replaced && removedBy == nil }
    }

    public var dialogue: String
    public var title: String
    public var territory: String?
    public var room: String?
    public var language: Language
    public var generatedAt: Date
    public var rows: [Row]
    /// Room id → the name people know it by, for the rooms that have one.
    public var roomNames: [String: String] = [:]

    /// People who answered (anonymous answers not counted: they are nobody's).
    public var respondentCount: Int { Set(rows.compactMap(\.authorID)).count }
}

extension FactoryReports {
    /// The answers to `dialogue`, in the order of its questions, then by time. `territory` and `room`
    /// narrow them down; a chat command always gives the territory (reports never mix territories).
    public static func answers(
        _ db: Database, dialogue: String, territory: Territory?, room: String?, catalog: DialogueCatalog, language: Language, now: Date
    ) throws -> AnswersReport {
        var conditions = ["dialogue_id = ?"]
        var arguments: [any DatabaseValueConvertible] = [dialogue]
        if let territory {
            conditions.append("territory = ?")
            arguments.append(territory.id)
        }
        if let room {
            conditions.append("room_id = ?")
            arguments.append(room)
        }
        let rows = try Row.fetchAll(
            db,
            sql: """
                SELECT id, session_key, run, step_id, value, display, comment, author_id, author_name, room_id, answered_at, removed_by
                FROM answer WHERE \(conditions.joined(separator: " AND ")) ORDER BY answered_at, id
                """,
            arguments: StatementArguments(arguments))
        let script = catalog.scripts[dialogue]
        let questions = script?.questions ?? []
        // The latest answer per person, question and run counts; an anonymous row is nobody's, never replaced.
        var latest: [String: Int64] = [:]
        func key(_ row: Row) -> String? {
            let author: String = row["author_id"]
            guard !author.isEmpty else { return nil }
            return "\(row["session_key"] as String)\u{1F}\((row["run"] as Int?) ?? 1)\u{1F}\(row["step_id"] as String)\u{1F}\(author)"
        }
        for row in rows { if let key = key(row) { latest[key] = max(latest[key] ?? 0, row["id"]) } }

        var report: [AnswersReport.Row] = []
        for row in rows {
            let stepID: String = row["step_id"]
            let index = questions.firstIndex { $0.id == stepID }
            let step = index.map { questions[$0] }
            let anonymous = step?.anonymous == true || (row["author_id"] as String).isEmpty
            let stored = AnswerValue(storedText: row["value"])
            let comment: String? = row["comment"]
            report.append(
                AnswersReport.Row(
                    questionNumber: index.map { $0 + 1 }, questionID: stepID,
                    question: step.map {
                        questionName(
                            Interpolation.render(
                                $0.text.resolve(language), ["territory": territory?.name ?? language.pick("the territory", "le territoire")]
                            ),
                            fallback: stepID)
                    } ?? stepID, anonymous: anonymous,
                    author: anonymous ? nil : row["author_name"], authorID: anonymous ? nil : row["author_id"],
                    answeredAt: Date(timeIntervalSince1970: row["answered_at"]), value: stored.map(plain) ?? row["value"],
                    label: label(stored, step: step, script: script, language: language) ?? row["display"],
                    comment: anonymous || comment?.isEmpty != false ? nil : comment, room: row["room_id"],
                    run: anonymous ? nil : ((row["run"] as Int?) ?? 1),
                    replaced: key(row).map { latest[$0] != row["id"] } ?? false, removedBy: row["removed_by"]))
        }
        // In the order of the questions (gone ones last), then as answered.
        let order = report.enumerated().sorted { a, b in
            let (qa, qb) = (a.element.questionNumber ?? Int.max, b.element.questionNumber ?? Int.max)
            return qa != qb ? qa < qb : a.offset < b.offset
        }
        return AnswersReport(
            dialogue: dialogue, title: script?.title.resolve(language) ?? dialogue, territory: territory?.name, room: room,
            language: language,
            generatedAt: now, rows: order.map(\.element), roomNames: try roomNames(db))
    }

    /// A question's short name: its bold lead, else its first sentence (up to 80 characters), else `fallback`.
    static func questionName(_ markdown: String, fallback: String) -> String {
        if markdown.hasPrefix("**") { return shortTitle(markdown, fallback: fallback) }
        let plain = Markdown.plainText(markdown).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !plain.isEmpty else { return fallback }
        let sentence = plain.firstIndex(where: { $0 == "?" || $0 == "." || $0 == "!" }).map { String(plain[...$0]) } ?? plain
        return sentence.count > 80 ? String(sentence.prefix(79)) + "…" : sentence
    }

    /// A value in words, without the dialogue: what a spreadsheet wants in its `value` column. List items
    /// are joined with ` | `: a pebble's own text holds semicolons.
    static func plain(_ value: AnswerValue) -> String {
        switch value {
        case .text(let s), .choice(let s): s
        case .multi(let items), .list(let items): items.joined(separator: " | ")
        case .yesno(let b): b ? "yes" : "no"
        case .scale(let n): String(n)
        case .number(let n): n.rounded() == n && abs(n) < 1e15 ? String(Int64(n)) : String(n)
        }
    }

    /// How a value reads in `language`: its option's or level's label; nil to keep the stored display.
    static func label(_ value: AnswerValue?, step: Step?, script: DialogueScript?, language: Language) -> String? {
        guard let value, let step else { return nil }
        switch (value, step.kind) {
        case (.choice(let chosen), .choice(let options)):
            return options.first { $0.value == chosen }?.label.resolve(language)
        case (.multi(let chosen), .multi(let options)):
            return chosen.map { c in options.first { $0.value == c }?.label.resolve(language) ?? c }.joined(separator: " | ")
        case (.scale(let n), .scale(let name)):
            return script?.scales[name]?.levels.first { $0.value == n }?.label.resolve(language)
        case (.yesno(let b), _):
            return b ? language.pick("yes", "oui") : language.pick("no", "non")
        default:
            return nil
        }
    }
}
