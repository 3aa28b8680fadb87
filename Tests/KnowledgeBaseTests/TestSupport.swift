import Foundation
import GRDB
@testable import KnowledgeBase

/// A fresh in-memory knowledge base.
func makeIndex() throws -> KnowledgeIndex {
    try KnowledgeIndex(writer: DatabaseQueue())
}

/// The repository root, found from this file's path, for the starter knowledge base.
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// A temporary folder removed when the test that created it ends (by the caller's `defer`).
struct TemporaryFolder {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("kb-tests-" + UUID().uuidString)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    @discardableResult
    func write(_ name: String, _ text: String) throws -> String {
        let file = url.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try text.write(to: file, atomically: true, encoding: .utf8)
        return file.standardizedFileURL.path
    }

    func remove() {
        try? FileManager.default.removeItem(at: url)
    }
}

/// An index holding the starter knowledge base of the repository, built once for all tests that read it.
let starterIndex: Result<KnowledgeIndex, any Error> = Result {
    let index = try makeIndex()
    let report = try index.importPaths([repositoryRoot.appendingPathComponent("knowledge").path])
    guard report.skipped.isEmpty, report.added > 0 else {
        throw StarterError(description: "starter knowledge base did not import cleanly: \(report)")
    }
    return index
}

struct StarterError: Error, CustomStringConvertible {
    var description: String
}
