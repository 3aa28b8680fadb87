import BotCore
import Foundation
import GRDB

/// What a facilitator can ask a report about.
public enum ReportKind: String, Sendable, CaseIterable, Codable {
    case inventory
    case signatories
    case pebbles
    /// Every answer to one dialogue (named apart: `answers DIALOGUE`, `--dialogue ID`).
    case answers

    /// `inventory`, `inventaire`, `signataires`, `cailloux`, `réponses`… (case and accents ignored).
    public init?(words: String) {
        switch TextMatching.fold(words) {
        case "inventory", "inventaire", "etat des lieux", "etat-des-lieux": self = .inventory
        case "signatories", "signataires", "signatures": self = .signatories
        case "pebbles", "cailloux", "pebble", "caillou": self = .pebbles
        case "answers", "reponses", "answer", "reponse": self = .answers
        default: return nil
        }
    }
}

/// How a report is written out.
public enum ReportFormat: String, Sendable, CaseIterable, Codable {
    /// Markdown, as posted in a chat room.
    case md
    /// A standalone HTML page with an inline SVG chart, readable offline.
    case html
    /// One row per answer, signature or pebble (RFC 4180).
    case csv
    /// Everything, machine-readable.
    case json
}

/// The territory inventory as facilitators read it: per question, every answer with its author, the spread,
/// and whether the group marked it discussed. Built from one territory's answers only.
public struct InventoryReport: Sendable, Codable, Equatable {
    public struct Level: Sendable, Codable, Equatable {
        public var value: Int
        public var label: String
    }

    public struct Answer: Sendable, Codable, Equatable {
        public var author: String
        public var authorID: String
        /// The level chosen, nil when the stored answer is not a scale level.
        public var value: Int?
        /// The level's label in the report's language (or the stored display).
        public var label: String
        public var comment: String?
        public var answeredAt: Date
        public var room: String
        /// Taken out by a correction (`!answers remove`): kept and shown struck out, never counted.
        public var removedBy: String? = nil

        /// How reports name the author: by id, with the name beside it when it differs.
        public var who: String { ReportPeople.label(name: author, id: authorID) }
    }

    /// The spread of one question's answers.
    public struct Spread: Sendable, Codable, Equatable {
        public var count: Int
        public var min: Int
        public var max: Int
        public var mean: Double
        /// How many answers chose each level, in the order of ``InventoryReport/levels``.
        public var distribution: [Int]
    }

    public struct Question: Sendable, Codable, Equatable {
        /// 1-based position in the dialogue.
        public var number: Int
        public var id: String
        /// A short name ("Metabolism").
        public var title: String
        /// The question as asked, without formatting.
        public var text: String
        public var discussed: Bool
        /// Each person's latest answer in each run: what the spread and the chart count.
        public var answers: [Answer]
        /// Earlier answers their authors replaced since, and answers removed by a correction: kept, shown as
        /// history, never counted.
        public var history: [Answer] = []
        /// Nil when nobody gave a level.
        public var spread: Spread?
    }

    public var territory: String
    public var dialogue: String
    public var language: Language
    public var generatedAt: Date
    public var levels: [Level]
    public var questions: [Question]

    /// Everyone who answered at least once, in order of first answer: counted by id (two people may
    /// share a display name, and anyone can take another's), named by ``Answer/who``.
    public var respondents: [String] {
        var seen: Set<String> = []
        var names: [String] = []
        for answer in questions.flatMap(\.answers).sorted(by: { $0.answeredAt < $1.answeredAt }) where seen.insert(answer.authorID).inserted
        {
            names.append(answer.who)
        }
        return names
    }

    public var answerCount: Int { questions.reduce(0) { $0 + $1.answers.count } }
}

/// A territory's signatories of the Charter.
public struct SignatoriesReport: Sendable, Codable, Equatable {
    public var territory: String
    public var language: Language
    public var generatedAt: Date
    public var count: Int
    public var signatures: [Signature]
}

/// A territory's stars and pebbles, with what is overdue.
public struct PebblesReport: Sendable, Codable, Equatable {
    public struct Item: Sendable, Codable, Equatable {
        public var pebble: Pebble
        public var overdue: Bool
    }

    public var territory: String
    public var language: Language
    public var generatedAt: Date
    /// The day overdue is judged against (`YYYY-MM-DD`, UTC).
    public var today: String
    public var stars: [Star]
    public var pebbles: [Item]
    /// Room id → the name people know it by, for the rooms that have one.
    public var roomNames: [String: String] = [:]

    /// A room as the report shows it: its name, else its id.
    public func room(_ id: String) -> String { roomNames[id] ?? id }

    public var openCount: Int { pebbles.filter { $0.pebble.status == .open }.count }
    public var doneCount: Int { pebbles.filter { $0.pebble.status == .done }.count }
    public var overdueCount: Int { pebbles.filter(\.overdue).count }
}

/// Builds reports from the state store. Every query is filtered on one territory.
public enum FactoryReports {
    /// The dialogue whose answers make the inventory.
    public static let inventoryDialogue = "inventory"

    public static func inventory(
        _ db: Database, territory: Territory, catalog: DialogueCatalog, language: Language, now: Date, dialogue: String = inventoryDialogue
    ) throws -> InventoryReport {
        let script = catalog.scripts[dialogue]
        let rows = try Row.fetchAll(
            db,
            sql: """
                SELECT id, session_key, COALESCE(run, 1) AS run, step_id, value, display, comment, author_id, author_name, room_id, answered_at,
                    removed_by
                FROM answer WHERE dialogue_id = ? AND territory = ? ORDER BY answered_at, id
                """,
            arguments: [dialogue, territory.id])

        // Questions: the script's, in order; answers to steps the script no longer has come after.
        var steps: [(id: String, text: String, scale: Scale?)] = []
        if let script {
            for step in script.questions {
                var scale: Scale?
                if case .scale(let name) = step.kind { scale = script.scales[name] }
                steps.append((step.id, Interpolation.render(step.text.resolve(language), ["territory": territory.name]), scale))
            }
        }
        for row in rows {
            let id: String = row["step_id"]
            if !steps.contains(where: { $0.id == id }) { steps.append((id, id, nil)) }
        }
        let levelScale = steps.compactMap(\.scale).first
        let levels =
            levelScale?.levels.map { InventoryReport.Level(value: $0.value, label: $0.label.resolve(language)) }
            ?? (1...4).map { InventoryReport.Level(value: $0, label: String($0)) }

        // Marks are stored apart from sessions, so a later dialogue in the same room does not erase them.
        let discussed = Set(
            try String.fetchAll(
                db, sql: "SELECT step_id FROM discussed_step WHERE dialogue_id = ? AND territory = ?", arguments: [dialogue, territory.id]))

        // One answer per person per question and run: the latest; the earlier ones are history.
        var latest: [String: Int64] = [:]
        for row in rows {
            let key =
                "\(row["session_key"] as String)\u{1F}\(row["run"] as Int)\u{1F}\(row["step_id"] as String)\u{1F}\(row["author_id"] as String)"
            latest[key] = max(latest[key] ?? 0, row["id"])
        }
        func isCurrent(_ row: Row) -> Bool {
            latest[
                "\(row["session_key"] as String)\u{1F}\(row["run"] as Int)\u{1F}\(row["step_id"] as String)\u{1F}\(row["author_id"] as String)"
            ] == row["id"]
        }

        var questions: [InventoryReport.Question] = []
        for (index, step) in steps.enumerated() {
            let all = rows.filter { ($0["step_id"] as String) == step.id }.map { row -> (Bool, InventoryReport.Answer) in
                let stored = AnswerValue(storedText: row["value"])
                var value: Int?
                var label: String = row["display"]
                if case .scale(let n)? = stored {
                    value = n
                    if let level = step.scale?.levels.first(where: { $0.value == n }) { label = level.label.resolve(language) }
                }
                let comment: String? = row["comment"]
                let removedBy: String? = row["removed_by"]
                return (
                    isCurrent(row) && removedBy == nil,
                    InventoryReport.Answer(
                        author: row["author_name"], authorID: row["author_id"], value: value, label: label,
                        comment: comment?.isEmpty == true ? nil : comment, answeredAt: Date(timeIntervalSince1970: row["answered_at"]),
                        room: row["room_id"], removedBy: removedBy)
                )
            }
            let answers = all.filter(\.0).map(\.1), history = all.filter { !$0.0 }.map(\.1)
            let values = answers.compactMap(\.value)
            let spread =
                values.isEmpty
                ? nil
                : InventoryReport.Spread(
                    count: values.count, min: values.min()!, max: values.max()!,
                    mean: Double(values.reduce(0, +)) / Double(values.count),
                    distribution: levels.map { level in values.filter { $0 == level.value }.count })
            let plain = Markdown.plainText(withoutLead(step.text))
            questions.append(
                InventoryReport.Question(
                    number: index + 1, id: step.id, title: shortTitle(step.text, fallback: step.id), text: plain,
                    discussed: discussed.contains(step.id), answers: answers, history: history, spread: spread))
        }
        return InventoryReport(
            territory: territory.name, dialogue: dialogue, language: language, generatedAt: now, levels: levels, questions: questions)
    }

    /// The question without its bold lead ("**Metabolism.** How well…" → "How well…"): the title says it already.
    static func withoutLead(_ markdown: String) -> String {
        guard markdown.hasPrefix("**"), let end = markdown.dropFirst(2).range(of: "**") else { return markdown }
        let rest = markdown[end.upperBound...].trimmingCharacters(in: .whitespaces)
        return rest.isEmpty ? markdown : rest
    }

    /// The bold lead of a question ("**Metabolism.** How well…" → "Metabolism"), else `fallback`.
    static func shortTitle(_ markdown: String, fallback: String) -> String {
        guard markdown.hasPrefix("**"), let end = markdown.dropFirst(2).range(of: "**") else { return fallback }
        var title = String(markdown.dropFirst(2)[..<end.lowerBound]).trimmingCharacters(in: .whitespaces)
        while let last = title.last, last == "." || last == ":" { title.removeLast() }
        return title.isEmpty ? fallback : Markdown.plainText(title)
    }

    public static func signatories(_ db: Database, territory: Territory, language: Language, now: Date) throws -> SignatoriesReport {
        let signatures = try FactoryStore.signatures(territory: territory, db)
        return SignatoriesReport(
            territory: territory.name, language: language, generatedAt: now, count: signatures.count, signatures: signatures)
    }

    public static func pebbles(_ db: Database, territory: Territory, language: Language, now: Date) throws -> PebblesReport {
        let today = TurnScope.day(now)
        let pebbles = try FactoryStore.pebbles(territory: territory, db)
        return PebblesReport(
            territory: territory.name, language: language, generatedAt: now, today: today,
            stars: try FactoryStore.stars(territory: territory, db),
            pebbles: pebbles.map { PebblesReport.Item(pebble: $0, overdue: $0.isOverdue(today: today)) }, roomNames: try roomNames(db))
    }

    /// Builds and writes one report.
    /// - Parameters:
    ///   - territory: required by every kind but `answers`, which reads every territory without one.
    ///   - dialogue: the dialogue of an `answers` report.
    ///   - room: narrows an `answers` report to one room.
    public static func render(
        _ kind: ReportKind, format: ReportFormat, territory: Territory?, dialogue: String? = nil, room: String? = nil, _ db: Database,
        catalog: DialogueCatalog, language: Language, now: Date
    ) throws -> String {
        if kind == .answers {
            let report = try answers(
                db, dialogue: dialogue ?? "", territory: territory, room: room, catalog: catalog, language: language, now: now)
            switch format {
            case .md: return report.markdown(chat: false)
            case .html: return report.html()
            case .csv: return report.csv()
            case .json: return try ReportJSON.encode(report)
            }
        }
        guard let territory else { return "" }
        switch kind {
        case .inventory:
            let report = try inventory(db, territory: territory, catalog: catalog, language: language, now: now)
            switch format {
            case .md: return ReportMarkdown.inventory(report, compact: false)
            case .html: return ReportHTML.inventory(report)
            case .csv: return ReportCSV.inventory(report)
            case .json: return try ReportJSON.encode(report)
            }
        case .signatories:
            let report = try signatories(db, territory: territory, language: language, now: now)
            switch format {
            case .md: return ReportMarkdown.signatories(report)
            case .html: return ReportHTML.signatories(report)
            case .csv: return ReportCSV.signatories(report)
            case .json: return try ReportJSON.encode(report)
            }
        case .pebbles:
            let report = try pebbles(db, territory: territory, language: language, now: now)
            switch format {
            case .md: return ReportMarkdown.pebbles(report)
            case .html: return ReportHTML.pebbles(report)
            case .csv: return ReportCSV.pebbles(report)
            case .json: return try ReportJSON.encode(report)
            }
        case .answers:
            return ""  // written above
        }
    }

    /// The same, reading the store.
    public static func render(
        _ kind: ReportKind, format: ReportFormat, territory: Territory?, dialogue: String? = nil, room: String? = nil, store: StateStore,
        catalog: DialogueCatalog, language: Language, now: Date
    ) throws -> String {
        try store.writer.read { db in
            try render(
                kind, format: format, territory: territory, dialogue: dialogue, room: room, db, catalog: catalog, language: language,
                now: now)
        }
    }

    /// Room id → the name its adapter last saw, for the rooms that have one.
    public static func roomNames(_ db: Database) throws -> [String: String] {
        var names: [String: String] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT room_id, name FROM room_setting WHERE name IS NOT NULL") {
            names[row["room_id"]] = row["name"]
        }
        return names
    }
}

/// How reports name people: by their id, which no one else can take, with the name they chose beside it
/// when it differs (`@bob:example.org (Bob)`; in the terminal, where the two are one, just `bob`).
enum ReportPeople {
    static func label(name: String, id: String) -> String {
        name.isEmpty || name == id ? id : "\(id) (\(name))"
    }
}

enum ReportDates {
    static func day(_ date: Date) -> String { TurnScope.day(date) }

    /// `2026-03-01 09:00` (UTC).
    static func minute(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm"
        return formatter.string(from: date)
    }

    /// ISO 8601 with seconds, UTC.
    static func iso(_ date: Date) -> String {
        ISO8601DateFormatter().string(from: date)
    }

    static func number(_ value: Double) -> String {
        String(format: "%.1f", value)
    }
}
