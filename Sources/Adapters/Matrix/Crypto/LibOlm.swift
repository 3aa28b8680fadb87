import COlm
import FabriqueJSON
import Foundation

/// ``OlmBackend`` on libolm 3.2 (Debian's `libolm-dev`). libolm is deprecated upstream: see the README
/// on what that means for an operator. Signatures of others are verified with swift-crypto, never here.
struct LibOlm: OlmBackend {
    func newAccount() throws(OlmError) -> any OlmAccount {
        let account = LibOlmAccount()
        let random = Self.random(olm_create_account_random_length(account.pointer))
        try random.withBytes { bytes throws(OlmError) in
            try account.check(olm_create_account(account.pointer, bytes.baseAddress, bytes.count), "create account")
        }
        return account
    }

    func account(pickle: String, key: PickleKey) throws(OlmError) -> any OlmAccount {
        let account = LibOlmAccount()
        try Self.unpickle(pickle, key: key) { keyBytes, pickled throws(OlmError) in
            try account.check(
                olm_unpickle_account(account.pointer, keyBytes.baseAddress, keyBytes.count, pickled.baseAddress, pickled.count),
                "unpickle account")
        }
        return account
    }

    func outboundSession(
        from account: any OlmAccount, theirIdentityKey: String, theirOneTimeKey: String
    ) throws(OlmError)
        -> any OlmSession
    {
        let account = try Self.own(account)
        let session = LibOlmSession()
        let random = Self.random(olm_create_outbound_session_random_length(session.pointer))
        var identity = Array(theirIdentityKey.utf8)
        var oneTime = Array(theirOneTimeKey.utf8)
        let result = random.withBytes { r in
            identity.withUnsafeMutableBytes { i in
                oneTime.withUnsafeMutableBytes { o in
                    olm_create_outbound_session(
                        session.pointer, account.pointer, i.baseAddress, i.count, o.baseAddress, o.count, r.baseAddress, r.count)
                }
            }
        }
        try session.check(result, "create outbound session")
        return session
    }

    func inboundSession(
        for account: any OlmAccount, theirIdentityKey: String, preKeyMessage: String
    ) throws(OlmError)
        -> any OlmSession
    {
        let account = try Self.own(account)
        let session = LibOlmSession()
        var identity = Array(theirIdentityKey.utf8)
        var message = Array(preKeyMessage.utf8)
        let result = identity.withUnsafeMutableBytes { i in
            message.withUnsafeMutableBytes { m in
                olm_create_inbound_session_from(session.pointer, account.pointer, i.baseAddress, i.count, m.baseAddress, m.count)
            }
        }
        try session.check(result, "create inbound session")
        return session
    }

    func session(pickle: String, key: PickleKey) throws(OlmError) -> any OlmSession {
        let session = LibOlmSession()
        try Self.unpickle(pickle, key: key) { keyBytes, pickled throws(OlmError) in
            try session.check(
                olm_unpickle_session(session.pointer, keyBytes.baseAddress, keyBytes.count, pickled.baseAddress, pickled.count),
                "unpickle session")
        }
        return session
    }

    func newOutboundGroupSession() throws(OlmError) -> any MegolmOutboundSession {
        let session = LibMegolmOutbound()
        let random = Self.random(olm_init_outbound_group_session_random_length(session.pointer))
        try random.withBytes { bytes throws(OlmError) in
            try session.check(
                olm_init_outbound_group_session(session.pointer, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count),
                "create outbound group session")
        }
        return session
    }

    func outboundGroupSession(pickle: String, key: PickleKey) throws(OlmError) -> any MegolmOutboundSession {
        let session = LibMegolmOutbound()
        try Self.unpickle(pickle, key: key) { keyBytes, pickled throws(OlmError) in
            try session.check(
                olm_unpickle_outbound_group_session(
                    session.pointer, keyBytes.baseAddress, keyBytes.count, pickled.baseAddress, pickled.count),
                "unpickle outbound group session")
        }
        return session
    }

    func inboundGroupSession(sessionKey: String) throws(OlmError) -> any MegolmInboundSession {
        let session = LibMegolmInbound()
        let key = Array(sessionKey.utf8)
        let result = key.withUnsafeBufferPointer { k in
            olm_init_inbound_group_session(session.pointer, k.baseAddress, k.count)
        }
        try session.check(result, "create inbound group session")
        return session
    }

    func importInboundGroupSession(exportedKey: String) throws(OlmError) -> any MegolmInboundSession {
        let session = LibMegolmInbound()
        let key = Array(exportedKey.utf8)
        let result = key.withUnsafeBufferPointer { k in olm_import_inbound_group_session(session.pointer, k.baseAddress, k.count) }
        try session.check(result, "import inbound group session")
        return session
    }

    func inboundGroupSession(pickle: String, key: PickleKey) throws(OlmError) -> any MegolmInboundSession {
        let session = LibMegolmInbound()
        try Self.unpickle(pickle, key: key) { keyBytes, pickled throws(OlmError) in
            try session.check(
                olm_unpickle_inbound_group_session(
                    session.pointer, keyBytes.baseAddress, keyBytes.count, pickled.baseAddress, pickled.count),
                "unpickle inbound group session")
        }
        return session
    }

    // MARK: Helpers

    /// Random bytes from the system's generator (getrandom), wiped after use.
    static func random(_ count: Int) -> SecretBytes {
        var generator = SystemRandomNumberGenerator()
        return SecretBytes((0..<count).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
    }

    static func unpickle(
        _ pickle: String, key: PickleKey,
        _ body: (UnsafeRawBufferPointer, UnsafeMutableRawBufferPointer) throws(OlmError) -> Void
    ) throws(OlmError) {
        // libolm decodes the pickle in place: give it a copy.
        var pickled = Array(pickle.utf8)
        let keyBytes = key.bytes
        var failure: OlmError?
        keyBytes.withUnsafeBytes { k in
            pickled.withUnsafeMutableBytes { p in
                do throws(OlmError) { try body(k, p) } catch { failure = error }
            }
        }
        if let failure { throw failure }
    }

    static func own(_ account: any OlmAccount) throws(OlmError) -> LibOlmAccount {
        guard let account = account as? LibOlmAccount else {
            throw OlmError(kind: .badInput, operation: "libolm", message: "an account of another backend")
        }
        return account
    }

    static func error(_ operation: String, code: OlmErrorCode, message: UnsafePointer<CChar>?) -> OlmError {
        let text = message.map { String(cString: $0) } ?? "unknown error"
        let kind: OlmError.Kind =
            switch code {
            case OLM_BAD_ACCOUNT_KEY: .badPickleKey
            case OLM_BAD_MESSAGE_MAC, OLM_UNKNOWN_MESSAGE_INDEX, OLM_BAD_MESSAGE_KEY_ID, OLM_BAD_MESSAGE_VERSION,
                OLM_BAD_MESSAGE_FORMAT:
                .cannotDecrypt
            case OLM_INVALID_BASE64, OLM_BAD_SESSION_KEY, OLM_BAD_SIGNATURE: .badInput
            default: .other
            }
        return OlmError(kind: kind, operation: operation, message: text)
    }
}

/// Bytes wiped when released (random input to key generation).
final class SecretBytes {
    private var bytes: [UInt8]
    init(_ bytes: [UInt8]) { self.bytes = bytes }
    func withBytes<R, E: Error>(_ body: (UnsafeMutableRawBufferPointer) throws(E) -> R) throws(E) -> R {
        var result: Result<R, E>?
        bytes.withUnsafeMutableBytes { raw in
            do throws(E) { result = .success(try body(raw)) } catch { result = .failure(error) }
        }
        return try result!.get()
    }
    deinit {
        for index in bytes.indices { bytes[index] = 0 }
    }
}

/// libolm's memory for one object: allocated with it, wiped (by the object's `olm_clear_…`) and freed with it.
final class OlmMemory {
    let raw: UnsafeMutableRawPointer
    init(size: Int) { raw = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 16) }
    deinit { raw.deallocate() }
}

/// `result`, or `error()` when it is libolm's `olm_error()`.
@discardableResult
private func checked(_ result: Int, _ error: @autoclosure () -> OlmError) throws(OlmError) -> Int {
    guard result == olm_error() else { return result }
    throw error()
}

/// Reads a string libolm writes into a buffer of `length` bytes.
private func read(length: Int, _ body: (UnsafeMutableRawBufferPointer) -> Int) -> (count: Int, text: String) {
    var out = [UInt8](repeating: 0, count: length)
    let count = out.withUnsafeMutableBytes(body)
    guard count != olm_error() else { return (count, "") }
    return (count, String(decoding: out[..<min(count, length)], as: UTF8.self))
}

final class LibOlmAccount: OlmAccount {
    let memory = OlmMemory(size: olm_account_size())
    let pointer: OpaquePointer
    init() { pointer = olm_account(memory.raw) }
    deinit { olm_clear_account(pointer) }

    func check(_ result: Int, _ operation: String) throws(OlmError) {
        try checked(result, LibOlm.error(operation, code: olm_account_last_error_code(pointer), message: olm_account_last_error(pointer)))
    }

    private var identityKeys: JSON {
        let (_, text) = read(length: olm_account_identity_keys_length(pointer)) {
            olm_account_identity_keys(pointer, $0.baseAddress, $0.count)
        }
        return JSON.parse(text) ?? .null
    }
    var curve25519Key: String { identityKeys["curve25519"]?.string ?? "" }
    var ed25519Key: String { identityKeys["ed25519"]?.string ?? "" }

    func sign(_ message: [UInt8]) throws(OlmError) -> String {
        let (count, text) = read(length: olm_account_signature_length(pointer)) { out in
            message.withUnsafeBytes { m in olm_account_sign(pointer, m.baseAddress, m.count, out.baseAddress, out.count) }
        }
        try check(count, "sign")
        return text
    }

    var maxOneTimeKeys: Int { olm_account_max_number_of_one_time_keys(pointer) }

    func generateOneTimeKeys(_ count: Int) throws(OlmError) {
        let random = LibOlm.random(olm_account_generate_one_time_keys_random_length(pointer, count))
        let result = random.withBytes { r in olm_account_generate_one_time_keys(pointer, count, r.baseAddress, r.count) }
        try check(result, "generate one-time keys")
    }

    func unpublishedOneTimeKeys() throws(OlmError) -> [String: String] {
        let (count, text) = read(length: olm_account_one_time_keys_length(pointer)) {
            olm_account_one_time_keys(pointer, $0.baseAddress, $0.count)
        }
        try check(count, "one-time keys")
        return Self.curveKeys(text)
    }

    func markKeysAsPublished() { olm_account_mark_keys_as_published(pointer) }

    func generateFallbackKey() throws(OlmError) {
        let random = LibOlm.random(olm_account_generate_fallback_key_random_length(pointer))
        let result = random.withBytes { r in olm_account_generate_fallback_key(pointer, r.baseAddress, r.count) }
        try check(result, "generate fallback key")
    }

    func unpublishedFallbackKey() throws(OlmError) -> [String: String] {
        let (count, text) = read(length: olm_account_unpublished_fallback_key_length(pointer)) {
            olm_account_unpublished_fallback_key(pointer, $0.baseAddress, $0.count)
        }
        try check(count, "fallback key")
        return Self.curveKeys(text)
    }

    func forgetOldFallbackKey() { olm_account_forget_old_fallback_key(pointer) }

    func removeOneTimeKeys(usedBy session: any OlmSession) throws(OlmError) {
        guard let session = session as? LibOlmSession else {
            throw OlmError(kind: .badInput, operation: "remove one-time keys", message: "a session of another backend")
        }
        try check(olm_remove_one_time_keys(pointer, session.pointer), "remove one-time keys")
    }

    func pickle(key: PickleKey) throws(OlmError) -> String {
        let (count, text) = read(length: olm_pickle_account_length(pointer)) { out in
            key.bytes.withUnsafeBytes { k in olm_pickle_account(pointer, k.baseAddress, k.count, out.baseAddress, out.count) }
        }
        try check(count, "pickle account")
        return text
    }

    /// `{"curve25519": {"AAAAAQ": "key…"}}` → `["AAAAAQ": "key…"]`.
    static func curveKeys(_ text: String) -> [String: String] {
        var keys: [String: String] = [:]
        for (id, key) in JSON.parse(text)?["curve25519"]?.object ?? [:] { keys[id] = key.string }
        return keys
    }
}

final class LibOlmSession: OlmSession {
    let memory = OlmMemory(size: olm_session_size())
    let pointer: OpaquePointer
    init() { pointer = olm_session(memory.raw) }
    deinit { olm_clear_session(pointer) }

    func check(_ result: Int, _ operation: String) throws(OlmError) {
        try checked(result, LibOlm.error(operation, code: olm_session_last_error_code(pointer), message: olm_session_last_error(pointer)))
    }

    var sessionID: String {
        read(length: olm_session_id_length(pointer)) { olm_session_id(pointer, $0.baseAddress, $0.count) }.text
    }

    func matches(preKeyMessage: String, from theirIdentityKey: String) -> Bool {
        var identity = Array(theirIdentityKey.utf8)
        var message = Array(preKeyMessage.utf8)
        let result = identity.withUnsafeMutableBytes { i in
            message.withUnsafeMutableBytes { m in
                olm_matches_inbound_session_from(pointer, i.baseAddress, i.count, m.baseAddress, m.count)
            }
        }
        return result == 1
    }

    func encrypt(_ plaintext: String) throws(OlmError) -> OlmMessage {
        let plain = Array(plaintext.utf8)
        let type = olm_encrypt_message_type(pointer)
        try check(type, "encrypt")
        let random = LibOlm.random(olm_encrypt_random_length(pointer))
        let length = olm_encrypt_message_length(pointer, plain.count)
        let (count, text) = random.withBytes { r in
            read(length: length) { out in
                plain.withUnsafeBytes { p in
                    olm_encrypt(pointer, p.baseAddress, p.count, r.baseAddress, r.count, out.baseAddress, out.count)
                }
            }
        }
        try check(count, "encrypt")
        return OlmMessage(type: type, body: text)
    }

    func decrypt(_ message: OlmMessage) throws(OlmError) -> String {
        guard message.type == 0 || message.type == 1 else {
            throw OlmError(kind: .badInput, operation: "decrypt", message: "unknown message type \(message.type)")
        }
        // libolm decodes its input in place: each call gets a fresh copy.
        var copy = Array(message.body.utf8)
        let max = copy.withUnsafeMutableBytes { m in olm_decrypt_max_plaintext_length(pointer, message.type, m.baseAddress, m.count) }
        try check(max, "decrypt")
        copy = Array(message.body.utf8)
        var plain = [UInt8](repeating: 0, count: max)
        let count = copy.withUnsafeMutableBytes { m in
            plain.withUnsafeMutableBytes { p in olm_decrypt(pointer, message.type, m.baseAddress, m.count, p.baseAddress, p.count) }
        }
        try check(count, "decrypt")
        return String(decoding: plain[..<count], as: UTF8.self)
    }

    func pickle(key: PickleKey) throws(OlmError) -> String {
        let (count, text) = read(length: olm_pickle_session_length(pointer)) { out in
            key.bytes.withUnsafeBytes { k in olm_pickle_session(pointer, k.baseAddress, k.count, out.baseAddress, out.count) }
        }
        try check(count, "pickle session")
        return text
    }
}

final class LibMegolmOutbound: MegolmOutboundSession {
    let memory = OlmMemory(size: olm_outbound_group_session_size())
    let pointer: OpaquePointer
    init() { pointer = olm_outbound_group_session(memory.raw) }
    deinit { olm_clear_outbound_group_session(pointer) }

    func check(_ result: Int, _ operation: String) throws(OlmError) {
        try checked(
            result,
            LibOlm.error(
                operation, code: olm_outbound_group_session_last_error_code(pointer),
                message: olm_outbound_group_session_last_error(pointer)))
    }

    var sessionID: String {
        read(length: olm_outbound_group_session_id_length(pointer)) { out in
            olm_outbound_group_session_id(pointer, out.baseAddress?.assumingMemoryBound(to: UInt8.self), out.count)
        }.text
    }

    var messageIndex: Int { Int(olm_outbound_group_session_message_index(pointer)) }

    func sessionKey() throws(OlmError) -> String {
        let (count, text) = read(length: olm_outbound_group_session_key_length(pointer)) { out in
            olm_outbound_group_session_key(pointer, out.baseAddress?.assumingMemoryBound(to: UInt8.self), out.count)
        }
        try check(count, "session key")
        return text
    }

    func encrypt(_ plaintext: String) throws(OlmError) -> String {
        let plain = Array(plaintext.utf8)
        let (count, text) = read(length: olm_group_encrypt_message_length(pointer, plain.count)) { out in
            plain.withUnsafeBufferPointer { p in
                olm_group_encrypt(pointer, p.baseAddress, p.count, out.baseAddress?.assumingMemoryBound(to: UInt8.self), out.count)
            }
        }
        try check(count, "group encrypt")
        return text
    }

    func pickle(key: PickleKey) throws(OlmError) -> String {
        let (count, text) = read(length: olm_pickle_outbound_group_session_length(pointer)) { out in
            key.bytes.withUnsafeBytes { k in olm_pickle_outbound_group_session(pointer, k.baseAddress, k.count, out.baseAddress, out.count)
            }
        }
        try check(count, "pickle outbound group session")
        return text
    }
}

final class LibMegolmInbound: MegolmInboundSession {
    let memory = OlmMemory(size: olm_inbound_group_session_size())
    let pointer: OpaquePointer
    init() { pointer = olm_inbound_group_session(memory.raw) }
    deinit { olm_clear_inbound_group_session(pointer) }

    func check(_ result: Int, _ operation: String) throws(OlmError) {
        try checked(
            result,
            LibOlm.error(
                operation, code: olm_inbound_group_session_last_error_code(pointer), message: olm_inbound_group_session_last_error(pointer))
        )
    }

    var sessionID: String {
        read(length: olm_inbound_group_session_id_length(pointer)) { out in
            olm_inbound_group_session_id(pointer, out.baseAddress?.assumingMemoryBound(to: UInt8.self), out.count)
        }.text
    }

    var firstKnownIndex: Int { Int(olm_inbound_group_session_first_known_index(pointer)) }

    func decrypt(_ ciphertext: String) throws(OlmError) -> (plaintext: String, index: Int) {
        var copy = Array(ciphertext.utf8)
        let max = copy.withUnsafeMutableBufferPointer { m in olm_group_decrypt_max_plaintext_length(pointer, m.baseAddress, m.count) }
        try check(max, "group decrypt")
        copy = Array(ciphertext.utf8)
        var plain = [UInt8](repeating: 0, count: max)
        var index: UInt32 = 0
        let count = copy.withUnsafeMutableBufferPointer { m in
            plain.withUnsafeMutableBufferPointer { p in olm_group_decrypt(pointer, m.baseAddress, m.count, p.baseAddress, p.count, &index) }
        }
        try check(count, "group decrypt")
        return (String(decoding: plain[..<count], as: UTF8.self), Int(index))
    }

    func export(at index: Int) throws(OlmError) -> String {
        let (count, text) = read(length: olm_export_inbound_group_session_length(pointer)) { out in
            olm_export_inbound_group_session(pointer, out.baseAddress?.assumingMemoryBound(to: UInt8.self), out.count, UInt32(index))
        }
        try check(count, "export inbound group session")
        return text
    }

    func pickle(key: PickleKey) throws(OlmError) -> String {
        let (count, text) = read(length: olm_pickle_inbound_group_session_length(pointer)) { out in
            key.bytes.withUnsafeBytes { k in olm_pickle_inbound_group_session(pointer, k.baseAddress, k.count, out.baseAddress, out.count) }
        }
        try check(count, "pickle inbound group session")
        return text
    }
}
