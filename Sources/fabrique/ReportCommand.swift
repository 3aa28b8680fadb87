import ArgumentParser
import BotCore
import Factory
import Foundation

/// `fabrique report inventory|signatories|pebbles --territory NAME` and
/// `fabrique report answers --dialogue ID [--territory NAME] [--room ROOM]`, each `--format md|html|csv|json`.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write a facilitator's report: a territory's inventory, signatories or white pebbles, or any dialogue's answers.",
        discussion: """
            A report on the inventory, the signatories or the pebbles only ever reads the territory named with --territory \
            (its case and accents do not matter: "drome" finds "Drôme"). `answers` lists every answer to one dialogue, \
            one row per person and question (who, when, value, label, comment, room, run), for every territory unless \
            --territory or --room narrows it; answers to anonymous questions name nobody. \
            The HTML report is a single page readable offline; CSV and JSON are complete and meant for other tools.
            Examples: fabrique report inventory --territory "Vallée de la Drôme" --format html --output inventory.html
                      fabrique report answers --dialogue workshop-debrief --format csv
            """)

    @OptionGroup var common: CommonOptions

    @Argument(help: ArgumentHelp("inventory, signatories, pebbles or answers.", valueName: "kind"))
    var kind: ReportKind

    @Option(help: ArgumentHelp("The territory, as set with `!territory set` (case and accents ignored).", valueName: "name"))
    var territory: String?

    @Option(help: ArgumentHelp("For `answers`: the dialogue whose answers to list.", valueName: "id"))
    var dialogue: String?

    @Option(help: ArgumentHelp("For `answers`: only the answers given in this room (its id).", valueName: "room"))
    var room: String?

    @Option(help: "md, html, csv or json.")
    var format: ReportFormat = .md

    @Option(help: ArgumentHelp("Language of the report's own words: fr or en.", valueName: "lang"))
    var lang: String = "en"

    @Option(name: .shortAndLong, help: ArgumentHelp("Write to this file instead of standard output.", valueName: "path"))
    var output: String?

    func validate() throws {
        guard Language(rawValue: lang) != nil else { throw ValidationError("--lang must be fr or en, not '\(lang)'.") }
        if let territory, territory.trimmingCharacters(in: .whitespaces).isEmpty { throw ValidationError("--territory cannot be empty.") }
        if kind == .answers {
            guard dialogue?.isEmpty == false else { throw ValidationError("`report answers` needs --dialogue ID.") }
        } else {
            guard territory != nil else { throw ValidationError("`report \(kind.rawValue)` needs --territory NAME.") }
            guard dialogue == nil, room == nil else { throw ValidationError("--dialogue and --room are for `report answers`.") }
        }
    }

    func run() throws {
        let catalog = try loadCatalog(DefaultPaths.dialogues(common.dialogues))
        let store = try openStore(common)
        var chosen: Territory?
        if let territory {
            let (found, known) = try store.writer.read { db in (try Territory.named(territory, db), try Territory.all(db)) }
            guard let found else {
                let list = known.isEmpty ? "none yet" : known.map(\.name).joined(separator: ", ")
                throw UserFacingError(description: "no territory '\(territory)' in this database (known territories: \(list))")
            }
            chosen = found
        }
        if kind == .answers, let dialogue, catalog.script(named: dialogue) == nil {
            let recorded = try store.writer.read { db in
                try Bool.fetchOne(db, sql: "SELECT 1 FROM answer WHERE dialogue_id = ? LIMIT 1", arguments: [dialogue]) ?? false
            }
            // A dialogue removed since still has its answers; a mistyped one has none.
            guard recorded else {
                throw UserFacingError(
                    description: "no dialogue '\(dialogue)' (dialogues: \(catalog.all.map(\.id).joined(separator: ", ")))")
            }
        }
        let text = try FactoryReports.render(
            kind, format: format, territory: chosen, dialogue: catalog.script(named: dialogue ?? "")?.id ?? dialogue, room: room,
            store: store,
            catalog: catalog, language: Language(rawValue: lang) ?? .en, now: Date())
        if let output {
            do {
                // Owner-only: a report names people and holds what they said.
                try OwnerOnlyFile.write(Data(text.utf8), to: output)
            } catch {
                throw UserFacingError(description: "cannot write \(output): \(error.localizedDescription)")
            }
        } else {
            print(text, terminator: "")
        }
    }
}

extension ReportKind: ExpressibleByArgument {
    public init?(argument: String) { self.init(words: argument) }
    public static var allValueStrings: [String] { allCases.map(\.rawValue) }
}

extension ReportFormat: ExpressibleByArgument {}
