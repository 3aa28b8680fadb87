import ArgumentParser
import BotCore
import Foundation
import KnowledgeBase

/// `fabrique kb`: import, search and inspect the knowledge base from a terminal or a script.
///
/// `kb search --json` is a contract scripts depend on: one JSON object
/// `{"query", "confident", "results": [{"document", "heading", "source", "score", "snippet", "text"}]}`.
struct KBCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kb",
        abstract: "Import, search and inspect the knowledge base.",
        subcommands: [Import.self, Search.self, Stats.self, Remove.self])

    struct DatabaseOptions: ParsableArguments {
        @Option(name: .long, help: ArgumentHelp("Database file (default: the user's data directory).", valueName: "file"))
        var db: String?

        func openIndex() throws -> KnowledgeIndex {
            do {
                let store = try StateStore(path: db ?? DefaultPaths.database())
                return try KnowledgeIndex(writer: store.writer)
            } catch {
                throw UserFacingError(description: "\(error)")
            }
        }
    }

    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import Markdown, text and HTML files or folders; unchanged files are skipped, deleted ones removed.",
            discussion: "A file named synonyms.yaml sets the synonyms used by searches.")

        @Argument(help: ArgumentHelp("Files or folders to import.", valueName: "path"))
        var paths: [String]

        @OptionGroup var database: DatabaseOptions

        func validate() throws {
            if paths.isEmpty { throw ValidationError("Give at least one file or folder to import.") }
        }

        func run() throws {
            let index = try database.openIndex()
            let showsProgress = isatty(FileHandle.standardError.fileDescriptor) != 0
            let report = try index.importPaths(paths) { progress in
                // A progress line only for imports long enough to wait for.
                guard showsProgress, progress.total > 256 else { return }
                let line = "\rimporting: \(progress.processed)/\(progress.total) files"
                FileHandle.standardError.write(Data((progress.processed == progress.total ? line + "\n" : line).utf8))
            }
            for skipped in report.skipped {
                FileHandle.standardError.write(Data("skipped \(skipped.path): \(skipped.reason)\n".utf8))
            }
            var summary = "\(report.added) added, \(report.updated) updated, \(report.unchanged) unchanged, "
            summary += "\(report.removed) removed, \(report.skipped.count) skipped; \(report.passages) passages written"
            if report.synonymsUpdated { summary += "; synonyms updated" }
            print(summary)
        }
    }

    struct Search: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Search the knowledge base with a question, best passages first.")

        @Argument(help: ArgumentHelp("The question (several words are joined).", valueName: "query"))
        var query: [String]

        @OptionGroup var database: DatabaseOptions

        @Option(name: .long, help: "How many results to show.")
        var limit = 5

        @Flag(name: .long, help: "Print one JSON object: query, confident, results.")
        var json = false

        func validate() throws {
            if query.isEmpty { throw ValidationError("Give a question to search for.") }
            if limit < 1 { throw ValidationError("--limit must be at least 1.") }
        }

        func run() throws {
            let question = query.joined(separator: " ")
            let index = try database.openIndex()
            if try index.isEmpty() {
                FileHandle.standardError.write(
                    Data("fabrique: the knowledge base is empty; import documents with `fabrique kb import PATH`\n".utf8))
            }
            let response = try index.search(question, limit: limit)
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
                print(String(decoding: try encoder.encode(SearchOutput(response)), as: UTF8.self))
                return
            }
            if response.results.isEmpty {
                print("No passage matches.")
                return
            }
            if !response.confident { print("Not confident: these are the closest passages.\n") }
            for (rank, result) in response.results.enumerated() {
                let heading = result.heading == result.document ? "" : " › " + result.heading
                print("\(rank + 1). \(result.document)\(heading)  [score \(String(format: "%.2f", result.score))]")
                print("   \(result.snippet)")
                print("   \(result.source)\n")
            }
        }
    }

    struct Stats: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Count documents, passages and synonyms.")

        @OptionGroup var database: DatabaseOptions

        func run() throws {
            let stats = try database.openIndex().stats()
            print("documents: \(stats.documents)")
            for (language, count) in stats.languages.sorted(by: { $0.key < $1.key }) {
                print("  \(language): \(count)")
            }
            print("shared by territories: \(stats.sharedByTerritories)")
            print("passages: \(stats.passages)")
            print("synonym groups: \(stats.synonymGroups)")
            if let last = stats.lastImport { print("last import: \(ISO8601DateFormatter().string(from: last))") }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove a document by its source (the path it was imported from, or its shared source).")

        @Argument(help: ArgumentHelp("The document's source.", valueName: "source"))
        var source: String

        @OptionGroup var database: DatabaseOptions

        func run() throws {
            let index = try database.openIndex()
            // Imported files are known by their absolute path; accept the path as typed too.
            let candidates = [source, KnowledgeIndex.sourceIdentifier(forPath: source)]
            for candidate in candidates where try index.remove(source: candidate) {
                print("removed \(candidate)")
                return
            }
            throw UserFacingError(description: "no document with source \(source) (see `fabrique kb search` for sources)")
        }
    }
}

/// The JSON of `kb search --json`, exactly the keys of the CLI contract.
private struct SearchOutput: Encodable {
    var query: String
    var confident: Bool
    var results: [Result]

    struct Result: Encodable {
        var document: String
        var heading: String
        var source: String
        var score: Double
        var snippet: String
        var text: String
    }

    init(_ response: SearchResponse) {
        query = response.query
        confident = response.confident
        results = response.results.map {
            Result(
                document: $0.document, heading: $0.heading, source: $0.source,
                score: ($0.score * 10_000).rounded() / 10_000, snippet: $0.snippet, text: $0.text)
        }
    }
}
