import ArgumentParser

@main
struct Fabrique: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "fabrique", abstract: "A chat assistant for territories in transition.")
}
