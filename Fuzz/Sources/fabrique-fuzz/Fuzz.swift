// One libFuzzer entry point; FUZZ_TARGET picks what the bytes feed:
//   loader      a dialogue file through the loader and the validator
//   expression  a condition through the parser, the type checker and the evaluator
//   query       a chat question through the knowledge base's query builder and search (in memory)
//   markdown    chat Markdown through the HTML renderer (checked for raw tags), the plain-text rendering
//               and answer folding
// Any crash, or a check below failing, is a finding: `Fuzz/run` keeps the input under Fuzz/findings/.
import BotCore
import Dialogues
import Foundation
import KnowledgeBase
import MatrixAdapter

enum Target: String {
    case loader, expression, query, markdown
}

let target = Target(rawValue: ProcessInfo.processInfo.environment["FUZZ_TARGET"] ?? "") ?? {
    FileHandle.standardError.write(Data("set FUZZ_TARGET to loader, expression, query or markdown\n".utf8))
    exit(2)
}()

let index: KnowledgeIndex? = {
    guard target == .query else { return nil }
    let store = try! StateStore(path: nil)
    let index = try! KnowledgeIndex(writer: store.writer)
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    _ = try! index.importPaths([root.appendingPathComponent("knowledge").path])
    return index
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    switch target {
    case .loader:
        var loader = DialogueLoader()
        if let script = loader.loadDialogue(yaml: text, file: "fuzz.yaml") {
            _ = DialogueGraphRenderer.render(script, format: .mermaid)
            let interpreter = DialogueInterpreter(script)
            let context = TurnContext(language: .fr, speaker: Speaker(id: "a", name: "a", isFacilitator: true), now: Date(timeIntervalSince1970: 0))
            var turn = interpreter.turn(nil, .start, context)
            for input in ["1", "oui", "back", "summary", "1", "skip", "done", text] {
                turn = interpreter.turn(turn.session, .text(input), context)
            }
        }
    case .expression:
        if let expression = try? Expression.parse(text) {
            _ = try? expression.check(["a": .number, "b": .text, "c": .bool, "d": .list])
            _ = expression.evaluate(["a": .number(1), "b": .text("x"), "c": .yesno(true), "d": .list(["x"])])
        }
    case .query:
        let response = try! index!.search(text, limit: 3)
        for result in response.results where result.snippet.contains("<script") { fatalError("raw HTML in a snippet") }
    case .markdown:
        // The plain-text rendering of replies and the folding of answers meet the same text.
        _ = Markdown.plainText(text)
        _ = TextMatching.fold(text)
        let html = MarkdownHTML.render(text)
        // Only the renderer's own tags may appear: a `<` followed by a letter must be one of them.
        var rest = html[...]
        while let open = rest.firstIndex(of: "<") {
            let after = rest[rest.index(after: open)...]
            let name = after.drop(while: { $0 == "/" }).prefix(while: { $0.isLetter || $0.isNumber })
            let allowed: Set<Substring> = ["p", "br", "strong", "em", "code", "pre", "ul", "ol", "li", "blockquote", "a"]
            if !allowed.contains(name) { fatalError("unexpected tag <\(name)> in \(html.prefix(200))") }
            rest = after
        }
    }
    return 0
}

/// libFuzzer's driver, for a binary whose `main` is our own (SwiftPM names an executable's entry point).
@_silgen_name("LLVMFuzzerRunDriver")
func runDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt
) -> CInt

@_cdecl("fabrique_fuzz_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var arguments = argv
    return runDriver(&count, &arguments) { data, size in fuzz(data, size) }
}
