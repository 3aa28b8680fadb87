/// The Olm and Megolm primitives the adapter's encryption is built on, behind protocols of our own so
/// that another implementation (a maintained vodozemac binding) can replace libolm (``LibOlm``) later.
///
/// Every secret object pickles itself with a key the operator gives (environment or config file): the
/// database only ever holds pickles. The objects are not thread-safe: the adapter's actor owns them.
/// Ed25519 signatures of others are never checked here but with swift-crypto (``Ed25519``): libolm's
/// verification is malleable (CVE-2024-45193).
protocol OlmBackend: Sendable {
    /// A new device identity: Curve25519 and Ed25519 key pairs.
    func newAccount() throws(OlmError) -> any OlmAccount
    func account(pickle: String, key: PickleKey) throws(OlmError) -> any OlmAccount
    /// An Olm session to a device, from its identity key and one of its one-time (or fallback) keys.
    func outboundSession(
        from account: any OlmAccount, theirIdentityKey: String, theirOneTimeKey: String
    ) throws(OlmError)
        -> any OlmSession
    /// The Olm session a pre-key message (type 0) opens; the one-time key it used is not removed from the account.
    func inboundSession(
        for account: any OlmAccount, theirIdentityKey: String, preKeyMessage: String
    ) throws(OlmError)
        -> any OlmSession
    func session(pickle: String, key: PickleKey) throws(OlmError) -> any OlmSession
    func newOutboundGroupSession() throws(OlmError) -> any MegolmOutboundSession
    func outboundGroupSession(pickle: String, key: PickleKey) throws(OlmError) -> any MegolmOutboundSession
    /// The inbound side of a Megolm session, from the `session_key` of an `m.room_key`.
    func inboundGroupSession(sessionKey: String) throws(OlmError) -> any MegolmInboundSession
    func inboundGroupSession(pickle: String, key: PickleKey) throws(OlmError) -> any MegolmInboundSession
    /// The inbound side of a Megolm session from an exported key (an `m.forwarded_room_key`'s `session_key`).
    func importInboundGroupSession(exportedKey: String) throws(OlmError) -> any MegolmInboundSession
}

/// The key that encrypts pickles. Never logged: its descriptions hide it.
struct PickleKey: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    let bytes: [UInt8]
    init(_ text: String) { bytes = Array(text.utf8) }
    var description: String { "<pickle key>" }
    var debugDescription: String { "<pickle key>" }
}

/// The device's long-term identity and its one-time keys.
protocol OlmAccount: AnyObject {
    /// Unpadded base64 public keys.
    var curve25519Key: String { get }
    var ed25519Key: String { get }
    /// Signs `message` (canonical JSON bytes) with the Ed25519 key: unpadded base64.
    func sign(_ message: [UInt8]) throws(OlmError) -> String
    /// How many one-time keys the account can hold.
    var maxOneTimeKeys: Int { get }
    func generateOneTimeKeys(_ count: Int) throws(OlmError)
    /// The one-time keys not yet published: key id → Curve25519 key.
    func unpublishedOneTimeKeys() throws(OlmError) -> [String: String]
    /// After an upload: the one-time keys and the fallback key count as published.
    func markKeysAsPublished()
    func generateFallbackKey() throws(OlmError)
    /// The fallback key not yet published, if any: key id → Curve25519 key.
    func unpublishedFallbackKey() throws(OlmError) -> [String: String]
    func forgetOldFallbackKey()
    /// Forgets the one-time key an inbound session used, so that nobody can open another session with it.
    func removeOneTimeKeys(usedBy session: any OlmSession) throws(OlmError)
    func pickle(key: PickleKey) throws(OlmError) -> String
}

/// A message of an Olm session: 0 for a pre-key message (it can open a session), 1 for a normal one.
struct OlmMessage: Sendable, Hashable {
    var type: Int
    var body: String
}

/// A pairwise, double-ratchet session with one device.
protocol OlmSession: AnyObject {
    var sessionID: String { get }
    /// Whether a pre-key message belongs to this session (it would be decrypted by it).
    func matches(preKeyMessage: String, from theirIdentityKey: String) -> Bool
    func encrypt(_ plaintext: String) throws(OlmError) -> OlmMessage
    func decrypt(_ message: OlmMessage) throws(OlmError) -> String
    func pickle(key: PickleKey) throws(OlmError) -> String
}

/// The sending side of a room's Megolm session.
protocol MegolmOutboundSession: AnyObject {
    var sessionID: String { get }
    /// The index the next message will have.
    var messageIndex: Int { get }
    /// The key to share (the ratchet at the current index): what an `m.room_key` carries.
    func sessionKey() throws(OlmError) -> String
    func encrypt(_ plaintext: String) throws(OlmError) -> String
    func pickle(key: PickleKey) throws(OlmError) -> String
}

/// The receiving side of someone's Megolm session.
protocol MegolmInboundSession: AnyObject {
    var sessionID: String { get }
    var firstKnownIndex: Int { get }
    /// The plaintext and the message's index (for replay protection).
    func decrypt(_ ciphertext: String) throws(OlmError) -> (plaintext: String, index: Int)
    /// The session's key from message `index` on, in the exported format that forwarding uses.
    func export(at index: Int) throws(OlmError) -> String
    func pickle(key: PickleKey) throws(OlmError) -> String
}

/// A failure of the Olm library, with its own words (never a key or a plaintext).
struct OlmError: Error, Sendable, CustomStringConvertible, Equatable {
    enum Kind: Sendable, Equatable {
        /// The pickle key does not open the pickle: the key changed, or the data is damaged.
        case badPickleKey
        /// A message this session or key cannot decrypt (wrong session, tampered, unknown index).
        case cannotDecrypt
        /// Input that is not what the library expects (bad base64, bad key).
        case badInput
        case other
    }
    var kind: Kind
    var operation: String
    var message: String

    var description: String { "\(operation): \(message)" }
}
