import ArgumentParser
import BotCore
import Foundation

struct DialoguesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dialogues",
        abstract: "Check dialogue files and draw them.",
        subcommands: [Check.self, Graph.self, List.self])

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Report every problem in dialogue files as file:line:column: severity FBQ###: message.",
            discussion: "Exit status 0 when there is no error (warnings allowed, unless --strict), 1 otherwise. Codes: docs/diagnostics.md."
        )

        @Argument(help: ArgumentHelp("Dialogue files or folders (default: the shipped dialogues).", valueName: "path"))
        var paths: [String] = []

        @Flag(help: "Treat warnings as errors.")
        var strict = false

        func run() throws {
            let paths = DefaultPaths.dialogues(self.paths)
            for path in paths where !FileManager.default.fileExists(atPath: path) {
                throw UserFacingError(description: "no such file or folder: \(path)")
            }
            let (catalog, diagnostics) = DialogueCatalog.load(paths: paths, vocabulary: deployment.vocabulary)
            for diagnostic in diagnostics { print(diagnostic) }
            let errors = diagnostics.filter { $0.severity == .error }.count
            let warnings = diagnostics.count - errors
            let summary =
                "\(catalog.all.count) dialogue\(catalog.all.count == 1 ? "" : "s") loaded, \(errors) error\(errors == 1 ? "" : "s"), \(warnings) warning\(warnings == 1 ? "" : "s")"
            FileHandle.standardError.write(Data((summary + "\n").utf8))
            if errors > 0 || (strict && warnings > 0) { throw ExitCode(1) }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the dialogues with their scope and triggers.")

        @Option(help: ArgumentHelp("Dialogue files or folders.", valueName: "path"))
        var dialogues: [String] = []

        func run() throws {
            let catalog = try loadCatalog(DefaultPaths.dialogues(dialogues))
            for script in catalog.all {
                print(
                    "\(script.id)\t\(script.scope.rawValue)\t\(script.questions.count) questions\t\(script.title.resolve(.en)) / \(script.title.resolve(.fr))"
                )
            }
        }
    }

    struct Graph: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a dialogue as a Mermaid or Graphviz (dot) graph.")

        @Argument(help: ArgumentHelp("The dialogue id.", valueName: "id"))
        var id: String

        @Option(help: "mermaid or dot.")
        var format: GraphFormat = .mermaid

        @Option(help: ArgumentHelp("Dialogue files or folders.", valueName: "path"))
        var dialogues: [String] = []

        func run() throws {
            let catalog = try loadCatalog(DefaultPaths.dialogues(dialogues))
            guard let script = catalog.script(named: id) else {
                throw UserFacingError(description: "no dialogue '\(id)'; known: \(catalog.all.map(\.id).joined(separator: ", "))")
            }
            print(DialogueGraphRenderer.render(script, format: format == .mermaid ? .mermaid : .dot), terminator: "")
        }
    }
}

enum GraphFormat: String, ExpressibleByArgument, CaseIterable {
    case mermaid, dot
}
