import BotCore
import Crypto
import Foundation
import Testing

@testable import MatrixAdapter

/// libolm through ``OlmBackend``: two devices talk, every object survives a pickle round trip, and a
/// wrong pickle key is told as such.
@Suite struct LibOlmTests {
    let olm = LibOlm()
    let key = PickleKey("correct horse battery staple")

    /// Alice opens a session to Bob with one of his one-time keys; Bob opens his side from her pre-key message.
    func pair() throws -> (alice: any OlmAccount, bob: any OlmAccount, aliceToBob: any OlmSession, bobFromAlice: any OlmSession) {
        let alice = try olm.newAccount(), bob = try olm.newAccount()
        try bob.generateOneTimeKeys(1)
        let oneTimeKey = try #require(try bob.unpublishedOneTimeKeys().values.first)
        let outbound = try olm.outboundSession(from: alice, theirIdentityKey: bob.curve25519Key, theirOneTimeKey: oneTimeKey)
        let first = try outbound.encrypt("hello Bob")
        #expect(first.type == 0)
        let inbound = try olm.inboundSession(for: bob, theirIdentityKey: alice.curve25519Key, preKeyMessage: first.body)
        #expect(try inbound.decrypt(first) == "hello Bob")
        #expect(inbound.sessionID == outbound.sessionID)
        return (alice, bob, outbound, inbound)
    }

    @Test func twoAccountsExchangeOlmMessagesBothWays() throws {
        let (_, bob, aliceToBob, bobFromAlice) = try pair()
        let reply = try bobFromAlice.encrypt("hello Alice")
        #expect(reply.type == 1)
        #expect(try aliceToBob.decrypt(reply) == "hello Alice")
        let second = try aliceToBob.encrypt("second")
        #expect(second.type == 1)
        #expect(try bobFromAlice.decrypt(second) == "second")
        // Bob's one-time key is spent once removed: nobody opens another session with it.
        try bob.removeOneTimeKeys(usedBy: bobFromAlice)
        #expect(try bob.unpublishedOneTimeKeys().isEmpty)
    }

    @Test func aTamperedOlmMessageIsRefused() throws {
        let (_, _, aliceToBob, bobFromAlice) = try pair()
        _ = try bobFromAlice.decrypt(try aliceToBob.encrypt("x"))
        var message = try aliceToBob.encrypt("pay 10 €")
        // One character of the ciphertext, just before the 8-byte MAC.
        var bytes = Array(message.body.utf8)
        let at = bytes.count - 14
        bytes[at] = bytes[at] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        message.body = String(decoding: bytes, as: UTF8.self)
        #expect(throws: OlmError.self) { try bobFromAlice.decrypt(message) }
    }

    @Test func megolmDecryptsWhatItsOutboundSessionEncryptsWithIndices() throws {
        let outbound = try olm.newOutboundGroupSession()
        let inbound = try olm.inboundGroupSession(sessionKey: try outbound.sessionKey())
        #expect(inbound.sessionID == outbound.sessionID)
        let first = try outbound.encrypt("one"), second = try outbound.encrypt("two")
        #expect(outbound.messageIndex == 2)
        #expect(try inbound.decrypt(second) == ("two", 1))
        #expect(try inbound.decrypt(first) == ("one", 0))
        // A key shared later does not open earlier messages.
        let late = try olm.inboundGroupSession(sessionKey: try outbound.sessionKey())
        #expect(late.firstKnownIndex == 2)
        #expect(throws: OlmError.self) { try late.decrypt(first) }
    }

    @Test func everyObjectSurvivesAPickleRoundTrip() throws {
        let (alice, bob, aliceToBob, bobFromAlice) = try pair()
        let alice2 = try olm.account(pickle: try alice.pickle(key: key), key: key)
        #expect(alice2.curve25519Key == alice.curve25519Key)
        #expect(alice2.ed25519Key == alice.ed25519Key)
        #expect(bob.ed25519Key != alice.ed25519Key)
        let session2 = try olm.session(pickle: try bobFromAlice.pickle(key: key), key: key)
        #expect(try session2.decrypt(try aliceToBob.encrypt("after restart")) == "after restart")

        let outbound = try olm.newOutboundGroupSession()
        _ = try outbound.encrypt("zero")
        let outbound2 = try olm.outboundGroupSession(pickle: try outbound.pickle(key: key), key: key)
        #expect(outbound2.messageIndex == 1)
        let inbound = try olm.inboundGroupSession(sessionKey: try outbound.sessionKey())
        let inbound2 = try olm.inboundGroupSession(pickle: try inbound.pickle(key: key), key: key)
        #expect(try inbound2.decrypt(try outbound2.encrypt("one")) == ("one", 1))
    }

    @Test func aWrongPickleKeyIsToldAsSuch() throws {
        let account = try olm.newAccount()
        let pickle = try account.pickle(key: key)
        #expect(!pickle.contains(account.ed25519Key))
        #expect(throws: OlmError(kind: .badPickleKey, operation: "unpickle account", message: "BAD_ACCOUNT_KEY")) {
            try olm.account(pickle: pickle, key: PickleKey("wrong"))
        }
        let session = try olm.newOutboundGroupSession()
        let error = #expect(throws: OlmError.self) {
            try olm.outboundGroupSession(pickle: try session.pickle(key: key), key: PickleKey("wrong"))
        }
        #expect(error?.kind == .badPickleKey)
    }

    @Test func accountSignaturesVerifyWithSwiftCrypto() throws {
        let account = try olm.newAccount()
        let object: JSON = ["user_id": "@a:b", "keys": ["ed25519:D": .string(account.ed25519Key)], "unsigned": ["x": 1]]
        let signature = try account.sign(CanonicalJSON.signedBytes(object))
        var signed = object.object!
        signed["signatures"] = ["@a:b": ["ed25519:D": .string(signature)]]
        #expect(Ed25519.verify(.object(signed), userID: "@a:b", keyID: "D", publicKey: account.ed25519Key))
        // Any change to a signed field breaks it; `unsigned` is not signed.
        signed["user_id"] = "@evil:b"
        #expect(!Ed25519.verify(.object(signed), userID: "@evil:b", keyID: "D", publicKey: account.ed25519Key))
        signed["user_id"] = "@a:b"
        signed["unsigned"] = ["y": 2]
        #expect(Ed25519.verify(.object(signed), userID: "@a:b", keyID: "D", publicKey: account.ed25519Key))
    }

    @Test func attachmentsRoundTripInTheEncryptedFileSchemeAndATamperedOneIsRefused() throws {
        let report = Data("territory,answers\nLoire,20\n".utf8)
        let sealed = try EncryptedAttachment.encrypt(report)
        #expect(sealed.ciphertext != report && sealed.ciphertext.count == report.count)
        let file = sealed.file(url: "mxc://s.org/abc")
        #expect(file["v"] == "v2" && file["key"]?["alg"] == "A256CTR" && file["url"] == "mxc://s.org/abc")
        #expect(file["key"]?["k"]?.string?.contains("=") == false)
        #expect(EncryptedAttachment.decrypt(sealed.ciphertext, file: file) == report)
        var tampered = sealed.ciphertext
        tampered[0] ^= 1
        #expect(EncryptedAttachment.decrypt(tampered, file: file) == nil, "the hash is checked before decrypting")
        // A known answer: AES-256-CTR of zeros with a zero key and IV is AES of the counter blocks.
        let zero = Data(count: 16)
        let known = EncryptedAttachment(
            ciphertext: Data(), key: [UInt8](repeating: 0, count: 32), iv: [UInt8](repeating: 0, count: 16), sha256: [])
        var zeroFile = known.file(url: "mxc://s.org/z").object!
        zeroFile["hashes"] = [
            "sha256": .string(UnpaddedBase64.encode(Crypto.SHA256.hash(data: Data(hex: "dc95c078a2408989ad48a21492842087"))))
        ]
        #expect(EncryptedAttachment.decrypt(Data(hex: "dc95c078a2408989ad48a21492842087"), file: .object(zeroFile)) == zero)
    }

    @Test func canonicalJSONFollowsTheSpecExamples() {
        // From the Matrix specification's appendix on canonical JSON.
        #expect(String(decoding: CanonicalJSON.bytes(["one": 1, "two": "Two"]), as: UTF8.self) == #"{"one":1,"two":"Two"}"#)
        #expect(String(decoding: CanonicalJSON.bytes(["b": "2", "a": "1"]), as: UTF8.self) == #"{"a":"1","b":"2"}"#)
        #expect(
            String(decoding: CanonicalJSON.bytes(["auth": ["success": true, "mxid": "@john.doe:example.com"]]), as: UTF8.self)
                == #"{"auth":{"mxid":"@john.doe:example.com","success":true}}"#)
        #expect(String(decoding: CanonicalJSON.bytes(["a": "日本語"]), as: UTF8.self) == #"{"a":"日本語"}"#)
        #expect(String(decoding: CanonicalJSON.bytes(["本": 2, "日": 1]), as: UTF8.self) == #"{"日":1,"本":2}"#)
        #expect(String(decoding: CanonicalJSON.bytes(["a": "\u{7F}\u{1}\n"]), as: UTF8.self) == "{\"a\":\"\u{7F}\\u0001\\n\"}")
    }
}

extension Data {
    init(hex: String) {
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            bytes.append(UInt8(hex[index..<next], radix: 16)!)
            index = next
        }
        self.init(bytes)
    }
}
