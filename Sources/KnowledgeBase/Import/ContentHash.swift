/// A fingerprint of a file's bytes, to re-import only what changed.
///
/// Two 64-bit FNV-1a hashes with different seeds: not cryptographic, only meant to notice edits. The
/// analysis version is hashed in too, so that changing the stemmers re-indexes everything on the next import.
enum ContentHash {
    /// Bump when a change to the analysis (stemmers, stop words, passage sizes) makes old stems stale.
    static let analysisVersion = "kb-analysis-1"

    static func of(_ bytes: [UInt8]) -> String {
        var first: UInt64 = 0xcbf2_9ce4_8422_2325
        var second: UInt64 = 0x6c62_272e_07bb_0142
        for byte in analysisVersion.utf8 {
            first = (first ^ UInt64(byte)) &* 0x100_0000_01b3
            second = (second ^ UInt64(byte)) &* 0x100_0000_01b3
        }
        bytes.withUnsafeBufferPointer { buffer in
            for byte in buffer {
                first = (first ^ UInt64(byte)) &* 0x100_0000_01b3
                second = (second ^ UInt64(byte ^ 0x5a)) &* 0x100_0000_01b3
            }
        }
        return String(first, radix: 16) + String(second, radix: 16) + ":" + String(bytes.count)
    }
}
