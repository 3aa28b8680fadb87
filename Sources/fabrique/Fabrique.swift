import ArgumentParser
import Foundation

@main
struct Fabrique: AsyncParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "fabrique",
        abstract:
            "A chat assistant for territories in transition: scripted dialogues and a knowledge base, in a terminal or a Matrix room.",
        discussion: """
            With no subcommand, `fabrique` opens the terminal chat on the shipped dialogues and knowledge base.
            Data lives in one SQLite database (default: \(DefaultPaths.database())).
            """,
        version: version,
        subcommands: [ChatCommand.self, DialoguesCommand.self, TestCommand.self, KBCommand.self, MatrixCommand.self, ReportCommand.self],
        defaultSubcommand: ChatCommand.self)

    /// Runs the command, turning every expected failure into one clear line on standard error.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var async = command as? any AsyncParsableCommand {
                try await async.run()
            } else {
                try command.run()
            }
        } catch let error as UserFacingError {
            FileHandle.standardError.write(Data("fabrique: \(error.description)\n".utf8))
            Foundation.exit(error.code)
        } catch {
            exit(withError: error)
        }
    }
}
