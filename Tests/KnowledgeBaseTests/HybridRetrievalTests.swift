import Foundation
import GRDB
import Synchronization
import Testing
@testable import KnowledgeBase

/// A stand-in for the sentence model: deterministic vectors over a few "meanings", each a set of words in
/// English and French, plus a constant axis so that unrelated texts are not orthogonal. Paraphrases with no
/// word in common with a passage land near it, as with the real model, and the tests run without it.
final class FakeEmbedder: SentenceEmbedder {
    static let meanings: [Set<String>] = [
        ["compost", "peelings", "kitchen", "waste", "scraps", "rot", "épluchures", "composteurs", "restes"],
        ["cycle", "cycling", "bike", "bicycle", "pedal", "vélo", "cyclables", "pédaler"],
        ["solar", "panels", "sunshine", "photovoltaic", "electricity", "soleil", "électricité"],
    ]

    let identifier: String
    var dimension: Int { Self.meanings.count + 1 }
    private let counts = Mutex((passages: 0, queries: 0))

    init(identifier: String = "fake-meanings-1") {
        self.identifier = identifier
    }

    var passagesEmbedded: Int { counts.withLock { $0.passages } }
    var queriesEmbedded: Int { counts.withLock { $0.queries } }

    func embed(_ text: String, query: Bool) -> [Float]? {
        counts.withLock { if query { $0.queries += 1 } else { $0.passages += 1 } }
        var vector = [Float](repeating: 0, count: dimension)
        vector[Self.meanings.count] = 1
        let words = text.lowercased().split { !$0.isLetter }.map(String.init)
        for word in words {
            for (axis, meaning) in Self.meanings.enumerated() where meaning.contains(word) { vector[axis] += 1 }
        }
        let norm = vector.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return vector.map { $0 / norm }
    }
}

/// Records what a sentence model source says when the model cannot be loaded.
final class UnavailableLog: Sendable {
    private let reasons = Mutex<[String]>([])
    var said: [String] { reasons.withLock { $0 } }
    func say(_ reason: String) { reasons.withLock { $0.append(reason) } }
}

struct HybridRetrievalTests {
    /// Weights chosen for the fake model's cosines (they are not the calibrated ones, which fit e5's).
    static let weights = HybridWeights(
        lexicalHalf: 10, rankingDenseWeight: 4, confidenceDenseWeight: 4, confidenceGapWeight: 0, confidentAt: 3.9, unsureAt: 3.4)

    static func index(model: SentenceModelSource?) throws -> KnowledgeIndex {
        let index = try KnowledgeIndex(writer: DatabaseQueue(), sentenceModel: model, hybridWeights: weights)
        let documents: [NewDocument] = [
            NewDocument(
                title: "Composting at home", source: "t:compost", language: "en",
                markdown: "## Bins\n\nA compost bin turns kitchen peelings and garden waste into soil in a few months."),
            NewDocument(
                title: "Cycle lanes", source: "t:cycle", language: "en",
                markdown: "## Safer streets\n\nProtected cycle lanes make cycling to school and to work safer for everyone."),
            NewDocument(
                title: "Solar roofs", source: "t:solar", language: "en",
                markdown: "## Schools\n\nSolar panels on school roofs produce renewable electricity and teach pupils about energy."),
            NewDocument(
                title: "Les pistes cyclables", source: "t:velo-fr", language: "fr",
                markdown: "## Des rues plus sûres\n\nLes pistes cyclables protégées rendent le vélo plus sûr pour aller à l'école."),
        ]
        for document in documents { try index.addDocument(document) }
        return index
    }

    // MARK: Fusion

    @Test func theCosineBreaksATieOfBM25AndBM25ATieOfCosines() {
        let weights = Self.weights
        #expect(
            HybridFusion.score(lexical: 8, cosine: 0.9, weights: weights) > HybridFusion.score(lexical: 8, cosine: 0.8, weights: weights))
        #expect(
            HybridFusion.score(lexical: 12, cosine: 0.8, weights: weights) > HybridFusion.score(lexical: 8, cosine: 0.8, weights: weights))
        // BM25 is squashed: a huge score cannot outweigh any cosine gap.
        #expect(
            HybridFusion.score(lexical: 1_000, cosine: 0.6, weights: weights)
                < HybridFusion.score(lexical: 0, cosine: 0.9, weights: weights))
    }

    @Test func confidenceCombinesBothSignals() {
        let weights = Self.weights
        // The same BM25 score is an answer with a close passage, "may help" with a farther one.
        #expect(HybridFusion.confidence(lexical: 10, cosine: 0.9, reference: 0.5, weights: weights) == .confident)
        #expect(HybridFusion.confidence(lexical: 10, cosine: 0.75, reference: 0.5, weights: weights) == .unsure)
        // The same cosine is an answer with BM25's support, not without it.
        #expect(HybridFusion.confidence(lexical: 30, cosine: 0.85, reference: 0.5, weights: weights) == .confident)
        #expect(HybridFusion.confidence(lexical: 0, cosine: 0.85, reference: 0.5, weights: weights) == .unsure)
        #expect(HybridFusion.confidence(lexical: 0, cosine: 0.6, reference: 0.5, weights: weights) == .unknown)
    }

    /// BM25's score is evidence of an answer only when the passage's own text holds the question's words: a
    /// word found only in the page's title says which page is near, not that the passage answers.
    @Test func aMatchOnTheTitleAloneIsNoEvidenceOfAnAnswer() throws {
        #expect(HybridFusion.confidence(lexical: 30, cosine: 0.85, reference: 0.5, weights: Self.weights) == .confident)
        #expect(HybridFusion.confidence(lexical: 30, cosine: 0.85, reference: 0.5, titleOnly: true, weights: Self.weights) == .unsure)
        // Through a search: weights under which any BM25 evidence is an answer, and none "I don't know".
        let weights = HybridWeights(
            lexicalHalf: 1, rankingDenseWeight: 4, confidenceDenseWeight: 0, confidenceGapWeight: 0, confidentAt: 1e-6, unsureAt: 1e-7)
        let index = try KnowledgeIndex(writer: DatabaseQueue(), sentenceModel: SentenceModelSource(FakeEmbedder()), hybridWeights: weights)
        try index.addDocument(
            NewDocument(
                title: "Weather and seasons", source: "t:seasons", language: "en",
                markdown: "## Planting\n\nSow beans after the last frost, when the soil has warmed up."))
        #expect(try index.embedMissingPassages() == 1)
        let titleOnly = try index.search("what weather tomorrow?", limit: 3)
        #expect(titleOnly.results.first?.document == "Weather and seasons")
        #expect(titleOnly.confidence == .unknown)
        let inText = try index.search("when to sow beans?", limit: 3)
        #expect(inText.results.first?.document == "Weather and seasons")
        #expect(inText.confidence == .confident)
    }

    /// Samples where BM25 alone is right half the time and the cosine alone the other half: the calibration
    /// finds ranking weights that get every one right, which neither signal does alone. Off topic, the best
    /// cosine is higher than any answer's but no higher than the tenth's (the question is close to everything):
    /// only the gap tells it apart, and the calibrated confidence uses it to abstain there and only there.
    @Test func calibrationFindsWeightsThatNeitherSignalReachesAlone() {
        func sample(_ right: (Double, Double), _ wrong: (Double, Double)) -> HybridFusion.Sample {
            HybridFusion.Sample(
                candidates: [
                    HybridFusion.Candidate(lexical: right.0, cosine: right.1, document: "en/right"),
                    HybridFusion.Candidate(lexical: wrong.0, cosine: wrong.1, document: "en/wrong"),
                ], expected: ["en/right"], reference: 0.75)
        }
        let paraphrases = (0..<4).map { step in sample((0, 0.90 + Double(step) * 0.01), (8, 0.80)) }
        let lexical = (0..<4).map { step in sample((20 + Double(step), 0.85), (0, 0.88)) }
        let offTopic = (0..<4).map { step in
            HybridFusion.Sample(
                candidates: [HybridFusion.Candidate(lexical: 2, cosine: 0.95 + Double(step) * 0.005, document: "en/wrong")],
                expected: [], reference: 0.94 + Double(step) * 0.005)
        }
        let samples = paraphrases + lexical + offTopic
        let fit = HybridFusion.calibrate(samples)
        #expect(HybridFusion.hits(samples, weights: fit.weights).at1 == 8)
        var bm25Only = fit.weights
        bm25Only.rankingDenseWeight = 0
        #expect(HybridFusion.hits(samples, weights: bm25Only).at1 == 4)
        #expect(fit.confidentErrors == 0 && fit.unsureErrors == 0)
        #expect(fit.weights.confidenceGapWeight > 0)
        for sample in samples {
            guard let top = HybridFusion.rankDocuments(sample.candidates, weights: fit.weights).first else { continue }
            let decided = HybridFusion.confidence(
                lexical: top.best.lexical, cosine: top.best.cosine, reference: sample.reference, weights: fit.weights)
            #expect((decided == .unknown) == sample.expected.isEmpty, "\(sample.candidates)")
        }
    }

    // MARK: Search with a model

    /// No word of the question is in the passage: BM25 finds nothing, the hybrid search finds it through the
    /// (fake) model and says where it comes from.
    @Test func aParaphraseWithNoSharedWordIsFoundOnlyWithTheModel() throws {
        let question = "where can my food scraps rot?"
        let bm25 = try Self.index(model: nil).search(question, limit: 3)
        #expect(bm25.results.isEmpty && bm25.confidence == .unknown)
        let model = FakeEmbedder()
        let index = try Self.index(model: SentenceModelSource(model))
        #expect(try index.embedMissingPassages() == 4)
        let hybrid = try index.search(question, limit: 3)
        #expect(hybrid.results.first?.document == "Composting at home")
        #expect(hybrid.confidence != .unknown)
    }

    /// A document added from a room of one territory is not a dense candidate in another territory's rooms.
    @Test func theModelsCandidatesKeepToTheRoomsTerritory() throws {
        let index = try Self.index(model: SentenceModelSource(FakeEmbedder()))
        let upload = try KnowledgeIndex.prepareUpload(
            Array("# Our shared composter\n\nThe neighbours bring their peelings to the shared composter.".utf8), fileName: "c.md")
        _ = try index.writer.write { db in
            try index.addRoomDocument(
                db, upload, territory: "t-1", territoryName: "Diois", roomID: "!r", fileEventID: "$f", fileName: "c.md", sharedBy: "@bo",
                sharedByName: "Bo", addedBy: "@ana", at: Date(timeIntervalSince1970: 1))
        }
        #expect(try index.embedMissingPassages() == 5)
        let question = "where can my food scraps rot?"  // no word in common: only the model finds compost pages
        func documents(_ scope: DocumentScope) throws -> [String] {
            try index.writer.read { db in try index.search(db, question, limit: 5, scope: scope).results.map(\.document) }
        }
        #expect(try documents(.territory("t-1")).contains("Our shared composter"))
        #expect(try documents(.everything).contains("Our shared composter"))
        let elsewhere = try documents(.territory("t-2"))
        #expect(elsewhere.first == "Composting at home")
        #expect(!elsewhere.contains("Our shared composter"))
    }

    @Test func bm25StillRanksWhatTheModelCannotTellApart() throws {
        let index = try Self.index(model: SentenceModelSource(FakeEmbedder()))
        try index.embedMissingPassages()
        // "roofs" and "schools" are not among the fake model's meanings: BM25 decides.
        let response = try index.search("solar roofs on schools", limit: 3)
        #expect(response.results.first?.document == "Solar roofs")
        #expect(response.confidence != .unknown)
    }

    /// An English question finds the French passage when it is searched in French only.
    @Test func aQuestionFindsAPassageInTheOtherLanguage() throws {
        let index = try Self.index(model: SentenceModelSource(FakeEmbedder()))
        try index.embedMissingPassages()
        let response = try index.writer.read { db in
            try index.search(db, "can I pedal my bike safely?", limit: 1, language: "fr", strictLanguage: true)
        }
        #expect(response.results.first?.document == "Les pistes cyclables")
    }

    @Test func aQuestionAskedAgainIsNotEmbeddedAgain() throws {
        let model = FakeEmbedder()
        let index = try Self.index(model: SentenceModelSource(model))
        try index.embedMissingPassages()
        _ = try index.search("where can my food scraps rot?", limit: 3)
        _ = try index.search("where can my food scraps rot?", limit: 3, offset: 1)
        #expect(model.queriesEmbedded == 1)
        _ = try index.search("can I pedal my bike?", limit: 3)
        #expect(model.queriesEmbedded == 2)
    }

    // MARK: Fallback

    /// Without a model that loads, searches are exactly BM25's, and the reason is said once however many
    /// questions follow.
    @Test func withoutTheModelSearchesAreBM25AndTheReasonIsSaidOnce() throws {
        let log = UnavailableLog()
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let missing = SentenceModelSource(directory: folder.url.path) { log.say($0) }
        let index = try Self.index(model: missing)
        let plain = try Self.index(model: nil)
        #expect(try index.embedMissingPassages() == 0)
        for question in ["How do I compost kitchen waste?", "are protected cycle lanes safer", "where can my food scraps rot?"] {
            let withMissingModel = try index.search(question, limit: 3)
            let withoutModel = try plain.search(question, limit: 3)
            #expect(withMissingModel == withoutModel)
        }
        #expect(log.said.count == 1)
        #expect(log.said.first?.contains("scripts/model-setup") == true && log.said.first?.contains("BM25") == true)
        #expect(missing.isUnavailable)
    }

    /// Until every passage has its vector (a bot embedding in the background, a model just changed), answers
    /// are BM25's: the hybrid weights suppose a cosine for every passage.
    @Test func passagesWithoutVectorsMeanBM25Alone() throws {
        let model = FakeEmbedder()
        let index = try Self.index(model: SentenceModelSource(model))
        let plain = try Self.index(model: nil)
        for question in ["are protected cycle lanes safer", "where can my food scraps rot?"] {
            let withoutVectors = try index.search(question, limit: 3)
            let bm25 = try plain.search(question, limit: 3)
            #expect(withoutVectors == bm25)
        }
        #expect(model.passagesEmbedded == 0)
        try index.embedMissingPassages()
        #expect(try index.search("where can my food scraps rot?", limit: 3).results.first?.document == "Composting at home")
    }

    /// Vectors of another model do not count once this one is loaded: its own are computed.
    @Test func aNewModelGetsItsOwnVectors() throws {
        let index = try Self.index(model: nil)
        _ = try index.embedPassages(with: FakeEmbedder(identifier: "fake-meanings-old"))
        let model = FakeEmbedder()
        let source = SentenceModelSource(model)
        let upgraded = try KnowledgeIndex(writer: index.writer, sentenceModel: source, hybridWeights: Self.weights)
        // Not loaded yet: the old vectors count, nothing is loaded nor computed.
        #expect(try upgraded.embedMissingPassages() == 0)
        #expect(source.loadedModel == nil)
        _ = try upgraded.search("where can my food scraps rot?", limit: 3)  // a question loads it
        #expect(try upgraded.embedMissingPassages() == 4)
        #expect(model.passagesEmbedded == 4)
    }

    // MARK: Vector cache

    /// Vectors are cached by the hash of what was embedded: a second pass computes nothing, a changed
    /// document only its changed passage, another model everything again.
    @Test func passageVectorsAreCachedByContentHash() throws {
        let model = FakeEmbedder()
        let index = try Self.index(model: nil)
        #expect(try index.embedPassages(with: model) == (4, 0))
        #expect(try index.embedPassages(with: model) == (0, 4))
        #expect(model.passagesEmbedded == 4)
        try index.addDocument(
            NewDocument(
                title: "Solar roofs", source: "t:solar", language: "en",
                markdown: "## Schools\n\nSolar panels on school roofs produce electricity all year.\n\n## Halls\n\nSports halls too."))
        // The heading "Schools" kept, its text changed; "Halls" is new.
        #expect(try index.embedPassages(with: model) == (2, 3))
        let stored = try index.writer.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM kb_vector WHERE model = ?", arguments: [model.identifier])
        }
        #expect(stored == 6)  // the old passage's vector stays: the same text re-imported later needs no model run
        #expect(try index.embedPassages(with: FakeEmbedder(identifier: "fake-meanings-2")) == (5, 0))
    }

    /// A document added after the first search is found by its vector once computed: the vectors held in
    /// memory are rebuilt when the knowledge base changes.
    @Test func vectorsInMemoryFollowTheKnowledgeBase() throws {
        let index = try Self.index(model: SentenceModelSource(FakeEmbedder()))
        try index.embedMissingPassages()
        _ = try index.search("where can my food scraps rot?", limit: 3)
        try index.addDocument(
            NewDocument(
                title: "Worm farms", source: "t:worms", language: "en",
                markdown: "## Vermicomposting\n\nWorms eat peelings and kitchen waste and turn them into compost."))
        // No word of the question is in the new passage: only its vector can bring it.
        #expect(try index.search("where can my food scraps rot?", limit: 5).results.allSatisfy { $0.document != "Worm farms" })
        #expect(try index.embedMissingPassages() == 1)
        let response = try index.search("where can my food scraps rot?", limit: 5)
        #expect(response.results.contains { $0.document == "Worm farms" })
        #expect(index.passageVectors.rebuilds == 3)
    }
}
