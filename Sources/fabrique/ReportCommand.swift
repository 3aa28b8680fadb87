import ArgumentParser
import BotCore
import Factory
import Foundation

/// `fabrique report inventory|signatories|pebbles --territory NAME --format md|html|csv|json`.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write a facilitator's report for one territory: the inventory, the signatories or the white pebbles.",
        discussion: """
            A report only ever reads the answers, signatures and pebbles of the territory named with --territory. \
            The HTML report is a single page with an inline chart of the territory's profile, readable offline; \
            CSV (one row per answer, signature or pebble) and JSON are complete and meant for other tools.
            Example: fabrique report inventory --territory "Vallée de la Drôme" --format html --output inventory.html
            """)

    @OptionGroup var common: CommonOptions

    @Argument(help: ArgumentHelp("inventory, signatories or pebbles.", valueName: "kind"))
    var kind: ReportKind

    @Option(help: ArgumentHelp("The territory, exactly as set with `!territory set` or `--territory`.", valueName: "name"))
    var territory: String

    @Option(help: "md, html, csv or json.")
    var format: ReportFormat = .md

    @Option(help: ArgumentHelp("Language of the report's own words: fr or en.", valueName: "lang"))
    var lang: String = "en"

    @Option(name: .shortAndLong, help: ArgumentHelp("Write to this file instead of standard output.", valueName: "path"))
    var output: String?

    func validate() throws {
        guard Language(rawValue: lang) != nil else { throw ValidationError("--lang must be fr or en, not '\(lang)'.") }
        guard !territory.trimmingCharacters(in: .whitespaces).isEmpty else { throw ValidationError("--territory cannot be empty.") }
    }

    func run() throws {
        let catalog = try loadCatalog(DefaultPaths.dialogues(common.dialogues))
        let store = try openStore(common)
        let known = try store.writer.read { db in try FactoryReports.territories(db) }
        if !known.contains(territory) {
            let list = known.isEmpty ? "none yet" : known.joined(separator: ", ")
            FileHandle.standardError.write(
                Data("fabrique: nothing recorded for territory '\(territory)' (territories in this database: \(list))\n".utf8))
        }
        let text = try FactoryReports.render(
            kind, format: format, territory: territory, store: store, catalog: catalog, language: Language(rawValue: lang) ?? .en,
            now: Date())
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
