import Crypto
import FabriqueJSON
import Foundation
import GRDB

/// The bot's cross-signing identity: a master key, and a self-signing key (signed by the master key) that
/// signs the bot's device, so that clients which only share room keys with cross-signed devices share
/// them with the bot. The private keys are Ed25519 seeds from swift-crypto, sealed in the database with
/// AES-GCM under a key derived from the pickle key (never stored in clear).
struct CrossSigning {
    let master: Curve25519.Signing.PrivateKey
    let selfSigning: Curve25519.Signing.PrivateKey
    /// Whether the keys and the device's signature reached the homeserver.
    var uploaded: Bool

    var masterPublic: String { UnpaddedBase64.encode(master.publicKey.rawRepresentation) }
    var selfSigningPublic: String { UnpaddedBase64.encode(selfSigning.publicKey.rawRepresentation) }

    static func new() -> CrossSigning {
        CrossSigning(master: .init(), selfSigning: .init(), uploaded: false)
    }

    /// `object` with a signature by `key` (whose id is its public key) added.
    static func sign(_ object: JSON, userID: String, with key: Curve25519.Signing.PrivateKey) throws -> JSON {
        let publicKey = UnpaddedBase64.encode(key.publicKey.rawRepresentation)
        let signature = UnpaddedBase64.encode(try key.signature(for: CanonicalJSON.signedBytes(object)))
        guard var fields = object.object else { return object }
        var signatures = fields["signatures"]?.object ?? [:]
        var mine = signatures[userID]?.object ?? [:]
        mine["ed25519:\(publicKey)"] = .string(signature)
        signatures[userID] = .object(mine)
        fields["signatures"] = .object(signatures)
        return .object(fields)
    }

    /// The `/keys/device_signing/upload` body: the master key (signed by the device too) and the
    /// self-signing key, signed by the master key.
    func uploadBody(userID: String, signedByDevice: (JSON) throws -> JSON) throws -> JSON {
        let masterKey: JSON = [
            "user_id": .string(userID), "usage": ["master"], "keys": .object(["ed25519:\(masterPublic)": .string(masterPublic)]),
        ]
        let selfSigningKey: JSON = [
            "user_id": .string(userID), "usage": ["self_signing"],
            "keys": .object(["ed25519:\(selfSigningPublic)": .string(selfSigningPublic)]),
        ]
        return [
            "master_key": try signedByDevice(masterKey),
            "self_signing_key": try Self.sign(selfSigningKey, userID: userID, with: master),
        ]
    }

    // MARK: Storage

    /// The key that seals the seeds: HKDF-SHA256 of the pickle key.
    static func sealingKey(_ pickleKey: PickleKey) -> SymmetricKey {
        HKDF<Crypto.SHA256>.deriveKey(
            inputKeyMaterial: SymmetricKey(data: pickleKey.bytes), info: Array("fabrique cross-signing seeds".utf8), outputByteCount: 32)
    }

    static func load(_ store: CryptoStore, pickleKey: PickleKey) throws -> CrossSigning? {
        guard
            let row = try store.read({ db in
                try Row.fetchOne(db, sql: "SELECT master, self_signing, uploaded FROM crypto_cross_signing WHERE id = 1")
            })
        else { return nil }
        let key = sealingKey(pickleKey)
        func open(_ text: String) throws -> Curve25519.Signing.PrivateKey {
            guard let sealed = UnpaddedBase64.decode(text) else { throw EncryptionError.wrongPickleKey }
            do {
                return try .init(rawRepresentation: try AES.GCM.open(try AES.GCM.SealedBox(combined: sealed), using: key))
            } catch {
                throw EncryptionError.wrongPickleKey
            }
        }
        return CrossSigning(master: try open(row["master"]), selfSigning: try open(row["self_signing"]), uploaded: row["uploaded"])
    }

    func save(_ store: CryptoStore, pickleKey: PickleKey) throws {
        let key = Self.sealingKey(pickleKey)
        func seal(_ privateKey: Curve25519.Signing.PrivateKey) throws -> String {
            UnpaddedBase64.encode(try AES.GCM.seal(privateKey.rawRepresentation, using: key).combined!)
        }
        let master = try seal(self.master), selfSigning = try seal(self.selfSigning), uploaded = self.uploaded
        try store.write { db in
            try db.execute(
                sql: """
                    INSERT INTO crypto_cross_signing(id, master, self_signing, uploaded) VALUES (1, ?, ?, ?)
                    ON CONFLICT(id) DO UPDATE SET master = excluded.master, self_signing = excluded.self_signing,
                        uploaded = excluded.uploaded
                    """,
                arguments: [master, selfSigning, uploaded])
        }
    }
}
