import Crypto
import FabriqueJSON
import Foundation
import _CryptoExtras

/// A file for an encrypted room, in Matrix's `EncryptedFile` scheme (v2): AES-256-CTR with a fresh key
/// and IV per file, the ciphertext's SHA-256 given so that a receiver can check it before decrypting.
/// The ciphertext is uploaded as is (`application/octet-stream`); the event carries ``file(url:)`` in
/// place of `url` (inside the Megolm-encrypted content, so the key never travels in clear).
struct EncryptedAttachment: Sendable {
    let ciphertext: Data
    let key: [UInt8]
    let iv: [UInt8]
    let sha256: [UInt8]

    /// Encrypts `plaintext` with a new random key; the IV's low 64 bits (the counter) start at zero.
    static func encrypt(_ plaintext: Data) throws -> EncryptedAttachment {
        var generator = SystemRandomNumberGenerator()
        let key = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        let iv = (0..<8).map { _ in UInt8.random(in: .min ... .max, using: &generator) } + [UInt8](repeating: 0, count: 8)
        let ciphertext = try AES._CTR.encrypt(plaintext, using: SymmetricKey(data: key), nonce: try AES._CTR.Nonce(nonceBytes: iv))
        return EncryptedAttachment(ciphertext: ciphertext, key: key, iv: iv, sha256: Array(Crypto.SHA256.hash(data: ciphertext)))
    }

    /// The `EncryptedFile` object for the uploaded ciphertext at `url` (an `mxc://` URI).
    func file(url: String) -> JSON {
        let k = UnpaddedBase64.encode(key).replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        return [
            "url": .string(url),
            "key": ["kty": "oct", "key_ops": ["encrypt", "decrypt"], "alg": "A256CTR", "k": .string(k), "ext": true],
            "iv": .string(UnpaddedBase64.encode(iv)),
            "hashes": ["sha256": .string(UnpaddedBase64.encode(sha256))],
            "v": "v2",
        ]
    }

    /// Decrypts `ciphertext` described by `file`, after checking its hash; nil when the file object is
    /// malformed or the hash does not match.
    static func decrypt(_ ciphertext: Data, file: JSON) -> Data? {
        guard file["key"]?["alg"]?.string == "A256CTR", let k = file["key"]?["k"]?.string, let key = UnpaddedBase64.decode(k),
            key.count == 32, let ivText = file["iv"]?.string, let iv = UnpaddedBase64.decode(ivText), iv.count == 16,
            let hash = file["hashes"]?["sha256"]?.string.flatMap(UnpaddedBase64.decode),
            hash == Array(Crypto.SHA256.hash(data: ciphertext)),
            let nonce = try? AES._CTR.Nonce(nonceBytes: iv)
        else { return nil }
        return try? AES._CTR.decrypt(ciphertext, using: SymmetricKey(data: key), nonce: nonce)
    }
}
