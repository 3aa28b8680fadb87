import Foundation

/// Every dialogue Fabrique knows, loaded from files, with their triggers.
public struct DialogueCatalog: Sendable {
    public private(set) var scripts: [String: DialogueScript] = [:]
    /// `!start` names and `!NAME` shortcuts → dialogue id.
    public private(set) var commands: [String: String] = [:]

    public init(_ scripts: [DialogueScript] = []) {
        for script in scripts { add(script) }
    }

    mutating func add(_ script: DialogueScript) {
        scripts[script.id] = script
        commands[script.id] = script.id
        for command in script.triggers.commands where commands[command] == nil { commands[command] = script.id }
    }

    /// Dialogues sorted by id.
    public var all: [DialogueScript] { scripts.values.sorted { $0.id < $1.id } }

    public func script(named name: String) -> DialogueScript? {
        commands[name.lowercased()].flatMap { scripts[$0] }
    }

    /// The dialogue whose keyword appears in `text` (folded), if exactly one matches.
    public func dialogue(forKeywordsIn text: String) -> DialogueScript? {
        let folded = TextMatching.fold(text)
        let matches = all.filter { script in
            script.triggers.keywords.values.joined().contains { keyword in
                let k = TextMatching.fold(keyword)
                return !k.isEmpty && folded.contains(k)
            }
        }
        return matches.count == 1 ? matches[0] : nil
    }

    /// Loads every `.yaml`/`.yml` file under `paths` (files or folders). Scales files are read first.
    /// - Parameter vocabulary: the variables and `on_end` actions the engine's extensions offer.
    /// - Returns: the dialogues that loaded without errors, and every diagnostic (errors and warnings).
    public static func load(paths: [String], vocabulary: DialogueVocabulary = .core) -> (DialogueCatalog, [Diagnostic]) {
        var files: [(path: String, text: String)] = []
        var diagnostics: [Diagnostic] = []
        for path in paths {
            for file in yamlFiles(at: path) {
                guard let data = FileManager.default.contents(atPath: file) else {
                    diagnostics.append(Diagnostic(.error, .yamlSyntax, "cannot read the file", at: .init(file: file, line: 1, column: 1)))
                    continue
                }
                if let (line, column) = DialogueLoader.firstInvalidUTF8(in: data) {
                    diagnostics.append(
                        Diagnostic(
                            .error, .yamlSyntax, "this byte is not UTF-8 text: save the file as UTF-8",
                            at: .init(file: file, line: line, column: column)))
                    continue
                }
                let text = String(decoding: data, as: UTF8.self)
                files.append((file, text))
            }
        }
        var loader = DialogueLoader(vocabulary: vocabulary)
        // Each file is parsed once: scales first, since dialogues use them.
        let parsed = files.compactMap { file in loader.parse(yaml: file.text, file: file.path).map { (file.path, file.text, $0) } }
        for (path, _, root) in parsed where DialogueLoader.isScales(root) { loader.loadScales(root: root, file: path) }
        var scripts: [DialogueScript] = []
        for (path, text, root) in parsed where !DialogueLoader.isScales(root) {
            if let script = loader.loadDialogue(root: root, yaml: text, file: path) { scripts.append(script) }
        }
        diagnostics += loader.diagnostics
        diagnostics += crossFileProblems(scripts)
        let catalog = DialogueCatalog(
            scripts.filter { s in !diagnostics.contains { $0.severity == .error && $0.location.file == s.location.file } })
        diagnostics.sort {
            ($0.location.file, $0.location.line, $0.location.column) < ($1.location.file, $1.location.line, $1.location.column)
        }
        return (catalog, diagnostics)
    }

    /// Ids, commands and keywords used by two dialogues.
    static func crossFileProblems(_ scripts: [DialogueScript]) -> [Diagnostic] {
        var diagnostics: [Diagnostic] = []
        var ids: [String: DialogueScript] = [:]
        var commands: [String: DialogueScript] = [:]
        var keywords: [String: DialogueScript] = [:]
        for script in scripts.sorted(by: { $0.location.file < $1.location.file }) {
            if let other = ids[script.id] {
                diagnostics.append(
                    Diagnostic(
                        .error, .duplicateTrigger, "dialogue id '\(script.id)' is also used by \(other.location.file)", at: script.location)
                )
            } else {
                ids[script.id] = script
            }
            let at = script.triggers.location ?? script.location
            for command in Set(script.triggers.commands + [script.id]).sorted() {
                if let other = commands[command], other.location.file != script.location.file {
                    diagnostics.append(
                        Diagnostic(
                            .error, .duplicateTrigger, "command '\(command)' also starts '\(other.id)' (\(other.location.file))", at: at))
                } else {
                    commands[command] = script
                }
            }
            for keyword in Set(script.triggers.keywords.values.joined().map(TextMatching.fold)).sorted() {
                if let other = keywords[keyword], other.location.file != script.location.file {
                    diagnostics.append(
                        Diagnostic(
                            .error, .duplicateTrigger, "keyword '\(keyword)' also belongs to '\(other.id)' (\(other.location.file))", at: at
                        ))
                } else {
                    keywords[keyword] = script
                }
            }
        }
        return diagnostics
    }

    /// The dialogue files at `path`: the file itself, or every `.yaml`/`.yml` under a folder (subfolders
    /// included), sorted.
    public static func yamlFiles(at path: String) -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return [] }
        guard isDirectory.boolValue else { return [path] }
        let entries = (try? FileManager.default.subpathsOfDirectory(atPath: path)) ?? []
        return entries.filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted()
            .map { (path as NSString).appendingPathComponent($0) }
    }
}
