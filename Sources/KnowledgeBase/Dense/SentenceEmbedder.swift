import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Turns a text into a unit-length vector whose cosine with another says how close their meanings are: the
/// sentence model (``SentenceModel``), or a deterministic stand-in in tests.
public protocol SentenceEmbedder: AnyObject, Sendable {
    /// Names the model: vectors of another model are never compared with this one's.
    var identifier: String { get }
    var dimension: Int { get }
    /// The embedding of `text` as a question (`query: true`) or as a passage; nil if the model fails.
    func embed(_ text: String, query: Bool) -> [Float]?
}

extension SentenceModel: SentenceEmbedder {}

/// The sentence model a knowledge base searches with, loaded the first time a search or an import needs it,
/// once: a bot whose database already has every vector starts without paying for the model.
///
/// When the model cannot be loaded, `onUnavailable` is called once with the reason, and every later search
/// is BM25 alone without trying again.
///
///     let source = SentenceModelSource(directory: ".fabrique-model") { reason in logger.notice("\(reason)") }
///     let index = try KnowledgeIndex(writer: store.writer, sentenceModel: source)
public final class SentenceModelSource: @unchecked Sendable {
    private let lock = NSLock()
    private let load: @Sendable () throws -> any SentenceEmbedder
    private let onUnavailable: @Sendable (String) -> Void
    private var state: State = .notLoaded
    /// Recent questions' vectors: "!more" and a question asked again in a room cost no model run.
    let queryCache = QueryEmbeddingCache(capacity: 256)

    private enum State {
        case notLoaded
        case loaded(any SentenceEmbedder)
        case unavailable
    }

    /// - Parameters:
    ///   - load: makes the model; its error's description is what `onUnavailable` receives.
    ///   - onUnavailable: says once why searches are BM25 alone.
    public init(load: @escaping @Sendable () throws -> any SentenceEmbedder, onUnavailable: @escaping @Sendable (String) -> Void) {
        self.load = load
        self.onUnavailable = onUnavailable
    }

    /// The model that `scripts/model-setup` put in `directory`. Before it loads, the engine's OpenMP runtime
    /// is told to use one thread with a passive wait (unless the environment says otherwise): a bot answers
    /// one short question at a time on a shared machine, where spinning threads cost more than they save.
    public convenience init(directory: String, onUnavailable: @escaping @Sendable (String) -> Void) {
        self.init(
            load: {
                setenv("OMP_NUM_THREADS", "1", 0)
                setenv("OMP_WAIT_POLICY", "passive", 0)
                return try SentenceModel.load(directory: directory)
            }, onUnavailable: onUnavailable)
    }

    /// A source that already holds `model` (tests, benchmarks).
    public convenience init(_ model: any SentenceEmbedder) {
        self.init(load: { model }, onUnavailable: { _ in })
    }

    /// The model, loading it on the first call; nil when it cannot be loaded (said once).
    public var model: (any SentenceEmbedder)? {
        lock.lock()
        defer { lock.unlock() }
        switch state {
        case .loaded(let model): return model
        case .unavailable: return nil
        case .notLoaded:
            do {
                let model = try load()
                state = .loaded(model)
                return model
            } catch {
                state = .unavailable
                onUnavailable("\(error)")
                return nil
            }
        }
    }

    /// The model if it has been loaded already; never loads it.
    public var loadedModel: (any SentenceEmbedder)? {
        lock.withLock {
            if case .loaded(let model) = state { return model }
            return nil
        }
    }

    /// True once loading has failed (it is not tried again).
    public var isUnavailable: Bool {
        lock.withLock {
            if case .unavailable = state { return true }
            return false
        }
    }

    /// The vector of a question, from the cache when it was asked recently.
    func queryVector(_ text: String, model: any SentenceEmbedder) -> [Float]? {
        let key = model.identifier + "\u{0}" + text
        if let cached = queryCache.vector(for: key) { return cached }
        guard let vector = model.embed(text, query: true) else { return nil }
        queryCache.store(vector, for: key)
        return vector
    }
}

/// The vectors of the last `capacity` distinct questions, least recently used dropped first.
final class QueryEmbeddingCache: @unchecked Sendable {
    private let lock = NSLock()
    private let capacity: Int
    private var vectors: [String: (vector: [Float], used: UInt64)] = [:]
    private var clock: UInt64 = 0

    init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    func vector(for key: String) -> [Float]? {
        lock.withLock {
            guard let entry = vectors[key] else { return nil }
            clock += 1
            vectors[key] = (entry.vector, clock)
            return entry.vector
        }
    }

    func store(_ vector: [Float], for key: String) {
        lock.withLock {
            clock += 1
            if vectors[key] == nil, vectors.count >= capacity, let oldest = vectors.min(by: { $0.value.used < $1.value.used }) {
                vectors[oldest.key] = nil
            }
            vectors[key] = (vector, clock)
        }
    }

    func removeAll() {
        lock.withLock { vectors.removeAll() }
    }
}
