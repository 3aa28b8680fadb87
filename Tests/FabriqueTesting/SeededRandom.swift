import Foundation

/// The random source of every randomized test: SplitMix64, seeded from `FABRIQUE_TEST_SEED` when it is
/// set, else at random; the seed is printed, so a failure can be replayed.
///
///     var random = SeededRandom()                    // prints "… seed 1234 (FABRIQUE_TEST_SEED=1234 replays it)"
///     let n = Int.random(in: 0...9, using: &random)
///
/// One seed serves the whole run; each test mixes in its own name, so tests draw different values and
/// replaying one test alone (`swift test --filter`) draws the same values as in the full run.
public struct SeededRandom: RandomNumberGenerator, Sendable, CustomStringConvertible {
    /// The run's seed: `FABRIQUE_TEST_SEED` (decimal), or a random one.
    public static let runSeed: UInt64 = {
        if let text = ProcessInfo.processInfo.environment["FABRIQUE_TEST_SEED"], let seed = UInt64(text) { return seed }
        return UInt64.random(in: .min ... .max)
    }()

    /// The seed this generator started from: the run's seed, or the one given.
    public let seed: UInt64
    /// The test that made it, if it was made for one.
    public let label: String
    private var state: UInt64

    /// A generator for the calling test, from the run's seed mixed with the test's name; says so on
    /// standard output.
    public init(_ function: String = #function, file: String = #fileID) {
        seed = Self.runSeed
        label = "\(file):\(function)"
        // FNV-1a: a stable hash of the label (Swift's Hasher is seeded per process).
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in label.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        state = seed ^ hash
        print("\(label): random seed \(seed) (FABRIQUE_TEST_SEED=\(seed) replays it)")
    }

    /// A generator from a fixed seed: the same values on every run, for a corpus that must not change.
    public init(seed: UInt64) {
        self.seed = seed
        label = ""
        state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }

    /// The seed, to add to a failure message.
    public var description: String { label.isEmpty ? "fixed seed \(seed)" : "seed \(seed) (FABRIQUE_TEST_SEED=\(seed) replays it)" }
}
