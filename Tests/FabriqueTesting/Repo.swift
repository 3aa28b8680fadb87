import Foundation

/// Paths in the checkout the tests run from.
public enum Repo {
    /// The package's root folder.
    public static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// `relative` (e.g. `"dialogues/demo.yaml"`) from the package's root.
    public static func path(_ relative: String) -> String { root.appendingPathComponent(relative).path }

    /// The golden transcripts under `folder`, sorted.
    public static func transcripts(under folder: String = "Tests/Transcripts") -> [String] {
        let base = path(folder)
        let entries = (try? FileManager.default.subpathsOfDirectory(atPath: base)) ?? []
        return entries.filter { $0.hasSuffix(".transcript") }.sorted().map { (base as NSString).appendingPathComponent($0) }
    }
}
