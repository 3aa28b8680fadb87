import Foundation
import Testing
@testable import KnowledgeBase

/// Without the sentence model (no `scripts/model-setup`, as in `swift test` alone), loading it fails with a
/// reason that names what is missing and what to run, and nothing else is attempted.
struct SentenceModelTests {
    @Test func aMissingModelSaysWhatToRun() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        #expect {
            try SentenceModel.load(directory: folder.url.path)
        } throws: { error in
            guard let failure = error as? SentenceModel.LoadFailure, case .missing(let path) = failure else { return false }
            return path.hasSuffix("libe5.so") && failure.description.contains("scripts/model-setup")
                && failure.description.contains("BM25")
        }
    }

    @Test func aFileThatIsNotTheEngineIsRefused() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        try folder.write("libe5.so", "not a shared library")
        try folder.write("e5-small-q4.bin", "not a model")
        #expect {
            try SentenceModel.load(directory: folder.url.path)
        } throws: { error in
            guard let failure = error as? SentenceModel.LoadFailure, case .unusable = failure else { return false }
            return failure.description.contains("cannot be loaded")
        }
    }
}
