import Crypto
import FabriqueJSON
import Foundation
import GRDB
import Logging

/// The bot's device in encrypted rooms: its Olm account, its Olm sessions with other devices, the
/// Megolm sessions it reads rooms with and the one it writes each room with, and what it knows of other
/// people's devices. It does no I/O besides its store: the adapter makes the homeserver calls it asks for
/// (``MatrixAdapter`` in `MatrixAdapter+Encryption.swift`) and hands it their answers.
///
/// Every change is queued and written in one transaction, by ``commit()`` or by whoever takes the queue
/// (``takeWrites()``). The adapter hands the changes of a sync response's to-device messages and room
/// events to the engine, which commits them in the transaction that stores the response's `next_batch`
/// token: after a crash both are stored or neither, so a key is never lost and a response read again is
/// handled as if for the first time. Each to-device message handled is also recorded (a digest), a second
/// guard against handling one twice.
///
/// Bad input (a malformed to-device message, a forged key, a replayed message index) is logged and
/// changes nothing.
final class OlmMachine {
    static let olmAlgorithm = "m.olm.v1.curve25519-aes-sha2"
    static let megolmAlgorithm = "m.megolm.v1.aes-sha2"

    let userID: String
    let deviceID: String
    let backend: any OlmBackend
    let pickleKey: PickleKey
    let store: CryptoStore
    let logger: Logger
    let now: @Sendable () -> Date

    private(set) var account: any OlmAccount
    private(set) var keysUploaded: Bool
    /// Olm sessions by the other device's Curve25519 key, most recently used first.
    private var olmSessions: [String: [any OlmSession]] = [:]
    /// Inbound Megolm sessions by room and session id (loaded from the store on first use).
    private var inbound: [InboundKey: InboundGroup] = [:]
    private var outbound: [String: OutboundGroup] = [:]
    /// Known devices: user → device id → keys (Ed25519 key pinned on first sight).
    private(set) var devices: [String: [String: DeviceKeys]] = [:]
    /// Users whose device list was queried since start and has not changed since.
    private var freshUsers: Set<String> = []
    /// Users whose device lists the store holds, and whether each changed since it was queried (from the
    /// store: what ``restoreDeviceLists(changed:left:)`` starts from after a restart).
    private var trackedUsers: [String: Bool] = [:]
    /// The sync token at which the stored device lists were known up to date, but for the users marked
    /// outdated; nil before the first sync, or when the store predates it.
    private(set) var deviceListsToken: String?
    /// Writes waiting for ``commit()`` or ``takeWrites()``.
    private var pending: [@Sendable (Database) throws -> Void] = []
    /// Devices (user, Curve25519 key) whose Olm message no session could decrypt: their session with
    /// this device is wedged. The adapter opens a new one (``wedgedDevicesToRepair()``).
    private var wedged: Set<WedgedDevice> = []
    /// When each wedged device was last repaired: at most once an hour.
    private var repairedAt: [WedgedDevice: Date] = [:]

    struct WedgedDevice: Hashable {
        var userID: String
        var curveKey: String
    }

    struct InboundKey: Hashable {
        var roomID: String
        var sessionID: String
    }

    struct InboundGroup {
        var session: any MegolmInboundSession
        var senderKey: String
        var senderUser: String
        var signingKey: String
    }

    struct OutboundGroup {
        var session: any MegolmOutboundSession
        var createdAt: Date
        /// Devices that hold this session's key: "user|device|curve key".
        var sharedWith: Set<String>
    }

    struct DeviceKeys: Sendable, Hashable {
        var userID: String
        var deviceID: String
        var curveKey: String
        var edKey: String
        var tag: String { "\(userID)|\(deviceID)|\(curveKey)" }
    }

    /// Opens the device's encryption state, creating the account on first start (or when the stored one
    /// belongs to another device, whose keys are then forgotten).
    /// - Throws: ``EncryptionError/wrongPickleKey`` when the stored account does not open with `pickleKey`.
    init(
        userID: String, deviceID: String, backend: any OlmBackend = LibOlm(), pickleKey: PickleKey, store: CryptoStore,
        logger: Logger, now: @escaping @Sendable () -> Date = { Date() }
    ) throws {
        self.userID = userID
        self.deviceID = deviceID
        self.backend = backend
        self.pickleKey = pickleKey
        self.store = store
        self.logger = logger
        self.now = now
        let (account, keysUploaded, isNew) = try Self.openAccount(
            userID: userID, deviceID: deviceID, backend: backend, pickleKey: pickleKey, store: store, logger: logger)
        self.account = account
        self.keysUploaded = keysUploaded
        if !isNew {
            try load()
            try prune()
        }
    }

    /// Forgets bookkeeping that can no longer matter: digests of to-device messages handled a month ago
    /// (the server holds a to-device message until the next sync), and messages whose key did not come
    /// within a week.
    private func prune() throws {
        let now = now().timeIntervalSince1970
        try store.write { db in
            try db.execute(sql: "DELETE FROM crypto_to_device_seen WHERE seen_at < ?", arguments: [now - 30 * 86_400])
            try db.execute(sql: "DELETE FROM crypto_undecrypted WHERE received_at < ?", arguments: [now - 7 * 86_400])
        }
    }

    /// The stored account, or a new one (stored at once) when there is none for this device.
    private static func openAccount(
        userID: String, deviceID: String, backend: any OlmBackend, pickleKey: PickleKey, store: CryptoStore, logger: Logger
    ) throws -> (any OlmAccount, Bool, Bool) {
        let stored = try store.account()
        if let stored, stored.userID == userID, stored.deviceID == deviceID {
            let account: any OlmAccount
            do {
                account = try backend.account(pickle: stored.pickle, key: pickleKey)
            } catch {
                throw error.kind == .badPickleKey ? EncryptionError.wrongPickleKey : error
            }
            return (account, stored.keysUploaded, false)
        }
        if stored != nil {
            logger.notice("the stored encryption keys belong to another device: starting anew", metadata: ["device": "\(deviceID)"])
        }
        let account = try backend.newAccount()
        try account.generateFallbackKey()
        let row = StoredAccount(userID: userID, deviceID: deviceID, pickle: try account.pickle(key: pickleKey), keysUploaded: false)
        try store.write { db in
            try CryptoStore.wipe(db)
            try CryptoStore.save(account: row, db)
        }
        return (account, false, true)
    }

    private func load() throws {
        let key = pickleKey
        let rows = try store.read { db in
            (
                sessions: try Row.fetchAll(db, sql: "SELECT sender_key, pickle FROM crypto_olm_session ORDER BY last_used DESC"),
                outbound: try Row.fetchAll(db, sql: "SELECT room_id, pickle, created_at, shared_with FROM crypto_outbound_group"),
                devices: try Row.fetchAll(db, sql: "SELECT user_id, device_id, curve_key, ed_key FROM crypto_device"),
                tracked: try Row.fetchAll(db, sql: "SELECT user_id, outdated FROM crypto_tracked_user"),
                token: try String.fetchOne(db, sql: "SELECT since FROM crypto_device_lists WHERE id = 1")
            )
        }
        for row in rows.tracked { trackedUsers[row["user_id"]] = row["outdated"] }
        deviceListsToken = rows.token
        for row in rows.sessions {
            olmSessions[row["sender_key"], default: []].append(try backend.session(pickle: row["pickle"], key: key))
        }
        for row in rows.outbound {
            let shared = (JSON.parse(row["shared_with"] as String)?.array ?? []).compactMap(\.string)
            outbound[row["room_id"]] = OutboundGroup(
                session: try backend.outboundGroupSession(pickle: row["pickle"], key: key),
                createdAt: Date(timeIntervalSince1970: row["created_at"]), sharedWith: Set(shared))
        }
        for row in rows.devices {
            let device = DeviceKeys(userID: row["user_id"], deviceID: row["device_id"], curveKey: row["curve_key"], edKey: row["ed_key"])
            devices[device.userID, default: [:]][device.deviceID] = device
        }
    }

    /// Writes every queued change in one transaction.
    /// - Throws: a database error; the queued changes are then kept for the next try.
    func commit() throws {
        guard !pending.isEmpty else { return }
        let writes = pending
        try store.write { db in
            for write in writes { try write(db) }
        }
        pending.removeFirst(writes.count)
    }

    /// Whether changes wait to be committed.
    var hasPendingWrites: Bool { !pending.isEmpty }

    /// Hands out every queued change, in order, as one write for the caller's transaction (the engine's,
    /// with the sync token); nil when nothing is queued. The caller must commit it before any later change
    /// is committed: the state it holds is what later changes build on.
    func takeWrites() -> (@Sendable (Database) throws -> Void)? {
        guard !pending.isEmpty else { return nil }
        let writes = pending
        pending.removeAll()
        return { db in
            for write in writes { try write(db) }
        }
    }

    private func queueAccount() throws {
        let row = StoredAccount(userID: userID, deviceID: deviceID, pickle: try account.pickle(key: pickleKey), keysUploaded: keysUploaded)
        pending.append { db in try CryptoStore.save(account: row, db) }
    }

    private func queue(olm session: any OlmSession, senderKey: String) throws {
        let id = session.sessionID, pickle = try session.pickle(key: pickleKey), used = now().timeIntervalSince1970
        pending.append { db in
            try db.execute(
                sql: """
                    INSERT INTO crypto_olm_session(session_id, sender_key, pickle, last_used) VALUES (?, ?, ?, ?)
                    ON CONFLICT(session_id) DO UPDATE SET pickle = excluded.pickle, last_used = excluded.last_used
                    """,
                arguments: [id, senderKey, pickle, used])
        }
    }

    private func queue(outbound group: OutboundGroup, roomID: String) throws {
        let id = group.session.sessionID, pickle = try group.session.pickle(key: pickleKey)
        let created = group.createdAt.timeIntervalSince1970
        let shared = JSON.array(group.sharedWith.sorted().map(JSON.string)).text()
        pending.append { db in
            try db.execute(
                sql: """
                    INSERT INTO crypto_outbound_group(room_id, session_id, pickle, created_at, shared_with) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT(room_id) DO UPDATE SET session_id = excluded.session_id, pickle = excluded.pickle,
                        created_at = excluded.created_at, shared_with = excluded.shared_with
                    """,
                arguments: [roomID, id, pickle, created, shared])
        }
    }

    private func queue(inbound group: InboundGroup, key: InboundKey) throws {
        let pickle = try group.session.pickle(key: pickleKey)
        let (senderKey, senderUser, signingKey) = (group.senderKey, group.senderUser, group.signingKey)
        pending.append { db in
            try db.execute(
                sql: """
                    INSERT INTO crypto_inbound_group(room_id, session_id, sender_key, sender_user, signing_key, pickle)
                    VALUES (?, ?, ?, ?, ?, ?)
                    ON CONFLICT(room_id, session_id) DO UPDATE SET pickle = excluded.pickle
                    """,
                arguments: [key.roomID, key.sessionID, senderKey, senderUser, signingKey, pickle])
        }
    }

    // MARK: Own keys

    var curve25519Key: String { account.curve25519Key }
    var ed25519Key: String { account.ed25519Key }

    /// The device's keys, signed: what `/keys/upload` publishes and others check.
    func deviceKeys() throws -> JSON {
        let keys: JSON = [
            "user_id": .string(userID), "device_id": .string(deviceID),
            "algorithms": [.string(Self.olmAlgorithm), .string(Self.megolmAlgorithm)],
            "keys": ["curve25519:\(deviceID)": .string(curve25519Key), "ed25519:\(deviceID)": .string(ed25519Key)],
        ]
        return try signed(keys)
    }

    /// `object` with the device's signature added under `signatures`.
    func signed(_ object: JSON) throws -> JSON {
        let signature = try account.sign(CanonicalJSON.signedBytes(object))
        guard var fields = object.object else { return object }
        var signatures = fields["signatures"]?.object ?? [:]
        var mine = signatures[userID]?.object ?? [:]
        mine["ed25519:\(deviceID)"] = .string(signature)
        signatures[userID] = .object(mine)
        fields["signatures"] = .object(signatures)
        return .object(fields)
    }

    /// The `/keys/upload` body that brings the server to what it should hold, or nil when it holds it:
    /// the device keys once, one-time keys up to half of what the account can hold (`oneTimeKeyCount` is
    /// the server's count, from sync), and a new fallback key when the server has no unused one.
    ///
    /// Keys it generates are committed before it returns, unpublished: a crash after the upload but before
    /// ``keysUploaded(_:)`` must not leave the server handing out keys the stored account never had (a
    /// message encrypted with one could never be read). After such a crash the same keys are uploaded again.
    func keysToUpload(oneTimeKeyCount: Int?, hasUnusedFallbackKey: Bool?) throws -> JSON? {
        var body: [String: JSON] = [:]
        var generated = false
        if !keysUploaded { body["device_keys"] = try deviceKeys() }
        let target = account.maxOneTimeKeys / 2
        if let count = oneTimeKeyCount ?? (keysUploaded ? nil : 0), count < target {
            let unpublished = try account.unpublishedOneTimeKeys()
            let missing = target - count - unpublished.count
            if missing > 0 {
                try account.generateOneTimeKeys(missing)
                generated = true
            }
            var keys: [String: JSON] = [:]
            for (id, key) in try account.unpublishedOneTimeKeys() {
                keys["signed_curve25519:\(id)"] = try signed(["key": .string(key)])
            }
            if !keys.isEmpty { body["one_time_keys"] = .object(keys) }
        }
        if hasUnusedFallbackKey == false, try account.unpublishedFallbackKey().isEmpty {
            try account.generateFallbackKey()
            generated = true
        }
        var fallback: [String: JSON] = [:]
        for (id, key) in try account.unpublishedFallbackKey() {
            fallback["signed_curve25519:\(id)"] = try signed(["key": .string(key), "fallback": true])
        }
        if !fallback.isEmpty { body["fallback_keys"] = .object(fallback) }
        if generated {
            try queueAccount()
            try commit()
        }
        return body.isEmpty ? nil : .object(body)
    }

    /// After a successful `/keys/upload` of `keysToUpload`'s body: the keys count as published. Committed at once.
    func keysUploaded(_ body: JSON) throws {
        account.markKeysAsPublished()
        if body["device_keys"] != nil { keysUploaded = true }
        try queueAccount()
        try commit()
    }

    // MARK: Devices

    /// Users among `users` whose devices must be (re)queried before sharing a key with them.
    func usersToQuery(_ users: some Sequence<String>) -> [String] {
        users.filter { !freshUsers.contains($0) }
    }

    /// `device_lists` of a sync: changed users are queried again before the next key is shared with them
    /// (marked outdated in the store too, so a restart knows); users who left every shared room are forgotten.
    func deviceListsChanged(changed: [String], left: [String]) {
        for user in changed {
            freshUsers.remove(user)
            guard trackedUsers[user] == false else { continue }
            trackedUsers[user] = true
            pending.append { db in try db.execute(sql: "UPDATE crypto_tracked_user SET outdated = 1 WHERE user_id = ?", arguments: [user]) }
        }
        for user in left {
            freshUsers.remove(user)
            devices[user] = nil
            trackedUsers[user] = nil
            pending.append { db in
                try db.execute(sql: "DELETE FROM crypto_device WHERE user_id = ?", arguments: [user])
                try db.execute(sql: "DELETE FROM crypto_tracked_user WHERE user_id = ?", arguments: [user])
            }
        }
    }

    /// Records `token` (a sync response's `next_batch`) as the point up to which the stored device lists
    /// are known, but for the users marked outdated. Queued: it commits with that response's changes.
    func deviceListsKnown(at token: String) {
        guard token != deviceListsToken else { return }
        deviceListsToken = token
        pending.append { db in
            try db.execute(
                sql: "INSERT INTO crypto_device_lists(id, since) VALUES (1, ?) ON CONFLICT(id) DO UPDATE SET since = excluded.since",
                arguments: [token])
        }
    }

    /// After a restart: the stored device lists count as up to date (no `/keys/query` before the next room
    /// key) but for the users marked outdated and the users `/keys/changes` lists as `changed` since
    /// ``deviceListsToken``; the `left` ones are forgotten. Without a stored token, nothing is restored:
    /// every member is queried again before the next room key goes out.
    /// - Returns: how many users are taken as up to date.
    @discardableResult
    func restoreDeviceLists(changed: [String], left: [String]) -> Int {
        deviceListsChanged(changed: changed, left: left)
        let upToDate = trackedUsers.filter { !$0.value }.keys
        freshUsers.formUnion(upToDate)
        return upToDate.count
    }

    /// The users whose device lists the store holds (for the tests).
    var storedDeviceListUsers: [String: Bool] { trackedUsers }

    /// Takes in a `/keys/query` answer for `users`. A device whose keys are not signed by itself, or whose
    /// Ed25519 key changed since first seen, is refused (logged, not used).
    func receiveKeysQuery(_ response: JSON, users: [String]) {
        let answered = response["device_keys"]?.object ?? [:]
        for user in users {
            guard let list = answered[user]?.object else { continue }
            var known = devices[user] ?? [:]
            var seen: Set<String> = []
            for (deviceID, keys) in list {
                guard keys["user_id"]?.string == user, keys["device_id"]?.string == deviceID,
                    let curve = keys["keys"]?["curve25519:\(deviceID)"]?.string,
                    let ed = keys["keys"]?["ed25519:\(deviceID)"]?.string,
                    Ed25519.verify(keys, userID: user, keyID: deviceID, publicKey: ed)
                else {
                    logger.warning(
                        "refused a device whose keys are malformed or not signed by itself",
                        metadata: ["user": "\(user)", "device": "\(deviceID)"])
                    continue
                }
                if let old = known[deviceID], old.edKey != ed {
                    logger.warning("refused a device whose Ed25519 key changed", metadata: ["user": "\(user)", "device": "\(deviceID)"])
                    seen.insert(deviceID)
                    continue
                }
                seen.insert(deviceID)
                guard known[deviceID] == nil || known[deviceID]?.curveKey != curve else { continue }
                let device = DeviceKeys(userID: user, deviceID: deviceID, curveKey: curve, edKey: ed)
                known[deviceID] = device
                pending.append { db in
                    try db.execute(
                        sql: """
                            INSERT INTO crypto_device(user_id, device_id, curve_key, ed_key) VALUES (?, ?, ?, ?)
                            ON CONFLICT(user_id, device_id) DO UPDATE SET curve_key = excluded.curve_key
                            """,
                        arguments: [device.userID, device.deviceID, device.curveKey, device.edKey])
                }
            }
            // Devices the server no longer lists were removed (signed out): they get no more keys.
            for deviceID in known.keys where !seen.contains(deviceID) {
                known[deviceID] = nil
                pending.append { db in
                    try db.execute(sql: "DELETE FROM crypto_device WHERE user_id = ? AND device_id = ?", arguments: [user, deviceID])
                }
            }
            devices[user] = known
            freshUsers.insert(user)
            trackedUsers[user] = false
            pending.append { db in
                try db.execute(
                    sql: """
                        INSERT INTO crypto_tracked_user(user_id, outdated) VALUES (?, 0)
                        ON CONFLICT(user_id) DO UPDATE SET outdated = 0
                        """,
                    arguments: [user])
            }
        }
    }

    // MARK: Olm (to-device)

    /// A to-device message received, decrypted and checked.
    struct DecryptedToDevice {
        var sender: String
        var senderKey: String
        /// The Ed25519 key the payload claims (checked against the device's when that is known).
        var signingKey: String
        var type: String
        var content: JSON
    }

    /// Handles the to-device events of one sync response: decrypts the Olm ones and takes in the room
    /// keys they carry. Returns the room keys received as (room, session id), for late decryption.
    func receiveToDevice(_ events: [JSON]) -> [InboundKey] {
        var received: [InboundKey] = []
        for event in events where event["type"]?.string == "m.room.encrypted" {
            guard let message = decryptToDevice(event) else { continue }
            switch message.type {
            case "m.room_key":
                if let key = receiveRoomKey(message) { received.append(key) }
            case "m.forwarded_room_key":
                if let key = receiveForwardedRoomKey(message) { received.append(key) }
            case "m.dummy":
                break
            default:
                logger.debug("ignored an encrypted to-device message", metadata: ["type": "\(message.type)"])
            }
        }
        return received
    }

    private func decryptToDevice(_ event: JSON) -> DecryptedToDevice? {
        let content = event["content"]
        guard let sender = event["sender"]?.string, content?["algorithm"]?.string == Self.olmAlgorithm,
            let senderKey = content?["sender_key"]?.string,
            let mine = content?["ciphertext"]?[curve25519Key], let type = mine["type"]?.int, let body = mine["body"]?.string
        else {
            logger.warning(
                "skipped a to-device message that is not Olm for this device", metadata: ["sender": "\(event["sender"]?.string ?? "?")"])
            return nil
        }
        let digest = UnpaddedBase64.encode(Crypto.SHA256.hash(data: Array((senderKey + "|" + body).utf8)))
        let handled = try? store.read { db in
            try Bool.fetchOne(db, sql: "SELECT 1 FROM crypto_to_device_seen WHERE digest = ?", arguments: [digest])
        }
        if handled != nil {
            logger.debug("skipped a to-device message handled before a restart", metadata: ["sender": "\(sender)"])
            return nil
        }
        let seenAt = now().timeIntervalSince1970
        pending.append { db in
            try db.execute(sql: "INSERT OR IGNORE INTO crypto_to_device_seen(digest, seen_at) VALUES (?, ?)", arguments: [digest, seenAt])
        }
        let message = OlmMessage(type: type, body: body)
        guard let plaintext = decryptOlm(message, senderKey: senderKey), let payload = JSON.parse(plaintext) else {
            logger.warning("could not decrypt a to-device message", metadata: ["sender": "\(sender)"])
            if type == 1 { wedged.insert(WedgedDevice(userID: sender, curveKey: senderKey)) }
            return nil
        }
        // The payload says who sent it to whom: a message replayed from elsewhere or meant for another device is refused.
        guard payload["sender"]?.string == sender, payload["recipient"]?.string == userID,
            payload["recipient_keys"]?["ed25519"]?.string == ed25519Key,
            let claimedEd = payload["keys"]?["ed25519"]?.string, let type = payload["type"]?.string,
            let innerContent = payload["content"], innerContent.object != nil
        else {
            logger.warning("refused a to-device message whose sender or recipient does not match", metadata: ["sender": "\(sender)"])
            return nil
        }
        if let device = devices[sender]?.values.first(where: { $0.curveKey == senderKey }), device.edKey != claimedEd {
            logger.warning("refused a to-device message whose Ed25519 key is not its device's", metadata: ["sender": "\(sender)"])
            return nil
        }
        return DecryptedToDevice(sender: sender, senderKey: senderKey, signingKey: claimedEd, type: type, content: innerContent)
    }

    /// Tries the sessions with `senderKey`; a pre-key message that none of them matches opens a new one.
    private func decryptOlm(_ message: OlmMessage, senderKey: String) -> String? {
        var sessions = olmSessions[senderKey] ?? []
        for (index, session) in sessions.enumerated() {
            if message.type == 0, !session.matches(preKeyMessage: message.body, from: senderKey) { continue }
            guard let plaintext = try? session.decrypt(message) else { continue }
            sessions.remove(at: index)
            sessions.insert(session, at: 0)
            olmSessions[senderKey] = sessions
            try? queue(olm: session, senderKey: senderKey)
            return plaintext
        }
        guard message.type == 0 else { return nil }
        do {
            let session = try backend.inboundSession(for: account, theirIdentityKey: senderKey, preKeyMessage: message.body)
            let plaintext = try session.decrypt(message)
            try account.removeOneTimeKeys(usedBy: session)
            olmSessions[senderKey, default: []].insert(session, at: 0)
            try queue(olm: session, senderKey: senderKey)
            try queueAccount()
            return plaintext
        } catch {
            logger.warning("could not open an Olm session from a pre-key message", metadata: ["error": "\(error)"])
            return nil
        }
    }

    private func receiveRoomKey(_ message: DecryptedToDevice) -> InboundKey? {
        let content = message.content
        guard content["algorithm"]?.string == Self.megolmAlgorithm, let roomID = content["room_id"]?.string,
            let sessionID = content["session_id"]?.string, let sessionKey = content["session_key"]?.string
        else {
            logger.warning("refused a malformed room key", metadata: ["sender": "\(message.sender)"])
            return nil
        }
        let session: any MegolmInboundSession
        do {
            session = try backend.inboundGroupSession(sessionKey: sessionKey)
        } catch {
            logger.warning("refused a room key libolm cannot read", metadata: ["sender": "\(message.sender)", "error": "\(error)"])
            return nil
        }
        guard session.sessionID == sessionID else {
            logger.warning("refused a room key whose session id does not match its key", metadata: ["sender": "\(message.sender)"])
            return nil
        }
        let key = InboundKey(roomID: roomID, sessionID: sessionID)
        if let existing = inboundGroup(key) {
            // The same session from someone else, or a worse copy of it, changes nothing.
            guard existing.senderKey == message.senderKey, existing.senderUser == message.sender,
                session.firstKnownIndex < existing.session.firstKnownIndex
            else { return nil }
        }
        keep(session, key: key, from: message)
        logger.debug("received a room key", metadata: ["room": "\(roomID)", "sender": "\(message.sender)"])
        return key
    }

    /// Keeps a room's session as `message`'s sender gave it (directly or forwarded), for this run and the store.
    private func keep(_ session: any MegolmInboundSession, key: InboundKey, from message: DecryptedToDevice) {
        let group = InboundGroup(session: session, senderKey: message.senderKey, senderUser: message.sender, signingKey: message.signingKey)
        inbound[key] = group
        try? queue(inbound: group, key: key)
    }

    /// A room key forwarded in answer to a key request. Taken only from the session's own sender (its
    /// Curve25519 key is the Olm sender's, and the forwarding chain is empty): a key forwarded by anyone else
    /// could be theirs passed off as the sender's.
    private func receiveForwardedRoomKey(_ message: DecryptedToDevice) -> InboundKey? {
        let content = message.content
        guard content["algorithm"]?.string == Self.megolmAlgorithm, let roomID = content["room_id"]?.string,
            let sessionID = content["session_id"]?.string, let exported = content["session_key"]?.string,
            content["sender_key"]?.string == message.senderKey, content["forwarding_curve25519_key_chain"]?.array?.isEmpty ?? true
        else {
            logger.warning("refused a forwarded room key not forwarded by its own sender", metadata: ["sender": "\(message.sender)"])
            return nil
        }
        guard let session = try? backend.importInboundGroupSession(exportedKey: exported), session.sessionID == sessionID else {
            logger.warning("refused a forwarded room key that does not match its session id", metadata: ["sender": "\(message.sender)"])
            return nil
        }
        let key = InboundKey(roomID: roomID, sessionID: sessionID)
        if let existing = inboundGroup(key),
            existing.senderKey != message.senderKey || existing.session.firstKnownIndex <= session.firstKnownIndex
        {
            return nil
        }
        keep(session, key: key, from: message)
        logger.info("received a forwarded room key", metadata: ["room": "\(roomID)", "sender": "\(message.sender)"])
        return key
    }

    private func inboundGroup(_ key: InboundKey) -> InboundGroup? {
        if let group = inbound[key] { return group }
        guard
            let row = try? store.read({ db in
                try Row.fetchOne(
                    db,
                    sql:
                        "SELECT sender_key, sender_user, signing_key, pickle FROM crypto_inbound_group WHERE room_id = ? AND session_id = ?",
                    arguments: [key.roomID, key.sessionID])
            }),
            let session = try? backend.inboundGroupSession(pickle: row["pickle"], key: pickleKey)
        else { return nil }
        let group = InboundGroup(
            session: session, senderKey: row["sender_key"], senderUser: row["sender_user"], signingKey: row["signing_key"])
        inbound[key] = group
        return group
    }

    // MARK: Megolm (room events)

    enum RoomDecryption {
        /// The event as it was before encryption: its type and content in place of `m.room.encrypted`'s.
        case decrypted(JSON)
        /// The room key is not here (yet): kept to retry when it arrives.
        case missingKey(sessionID: String)
        /// Refused: tampered, forged, replayed or malformed.
        case refused(String)
    }

    /// Decrypts one `m.room.encrypted` room event.
    func decrypt(event: JSON, roomID: String) -> RoomDecryption {
        let content = event["content"]
        guard content?["algorithm"]?.string == Self.megolmAlgorithm, let ciphertext = content?["ciphertext"]?.string,
            let sessionID = content?["session_id"]?.string, let eventID = event["event_id"]?.string,
            let sender = event["sender"]?.string
        else { return .refused("not a Megolm event") }
        guard let group = inboundGroup(InboundKey(roomID: roomID, sessionID: sessionID)) else { return .missingKey(sessionID: sessionID) }
        guard group.senderUser == sender else { return .refused("sent by \(sender) with \(group.senderUser)'s room key") }
        let plaintext: String, index: Int
        do {
            (plaintext, index) = try group.session.decrypt(ciphertext)
        } catch {
            return .refused("\(error)")
        }
        guard let payload = JSON.parse(plaintext), payload["room_id"]?.string == roomID, let type = payload["type"]?.string,
            var inner = payload["content"]?.object
        else { return .refused("decrypted payload malformed or for another room") }
        // Replay protection: one message index of a session is one event.
        let seen = try? store.read { db in
            try String.fetchOne(
                db, sql: "SELECT event_id FROM crypto_megolm_index WHERE session_id = ? AND message_index = ?",
                arguments: [sessionID, index])
        }
        if let seen, seen != eventID { return .refused("message index \(index) replayed (first seen in \(seen))") }
        if seen == nil {
            pending.append { db in
                try db.execute(
                    sql: "INSERT OR IGNORE INTO crypto_megolm_index(session_id, message_index, event_id) VALUES (?, ?, ?)",
                    arguments: [sessionID, index, eventID])
            }
        }
        // Relations stay in clear so that servers can aggregate them.
        if inner["m.relates_to"] == nil, let relation = content?["m.relates_to"] { inner["m.relates_to"] = relation }
        guard var fields = event.object else { return .refused("event is not an object") }
        fields["type"] = .string(type)
        fields["content"] = .object(inner)
        return .decrypted(.object(fields))
    }

    /// Keeps an event whose key is missing, to decrypt when its key arrives.
    func keepUndecrypted(_ event: JSON, roomID: String, sessionID: String) {
        guard let eventID = event["event_id"]?.string else { return }
        let text = event.text(), at = now().timeIntervalSince1970
        pending.append { db in
            try db.execute(
                sql: "INSERT OR IGNORE INTO crypto_undecrypted(event_id, room_id, session_id, event, received_at) VALUES (?, ?, ?, ?, ?)",
                arguments: [eventID, roomID, sessionID, text, at])
        }
    }

    /// Kept events still unreadable after `grace`, whose sender was not told yet: (room, sender, event id),
    /// oldest first. Each is handed out once (marked in the next commit).
    func undecryptedOverdue(grace: TimeInterval) -> [(roomID: String, sender: String, eventID: String)] {
        let cutoff = now().timeIntervalSince1970 - grace
        let rows =
            (try? store.read { db in
                try Row.fetchAll(
                    db,
                    sql:
                        "SELECT event_id, room_id, event FROM crypto_undecrypted WHERE notified = 0 AND received_at < ? ORDER BY received_at",
                    arguments: [cutoff])
            }) ?? []
        var overdue: [(roomID: String, sender: String, eventID: String)] = []
        for row in rows {
            let eventID: String = row["event_id"]
            pending.append { db in
                try db.execute(sql: "UPDATE crypto_undecrypted SET notified = 1 WHERE event_id = ?", arguments: [eventID])
            }
            guard let sender = JSON.parse(row["event"] as String)?["sender"]?.string else { continue }
            overdue.append((row["room_id"], sender, eventID))
        }
        return overdue
    }

    /// Wedged devices due for a new Olm session (each at most once an hour), with their known keys.
    func wedgedDevicesToRepair() -> [DeviceKeys] {
        let due = wedged.filter { repairedAt[$0].map { now().timeIntervalSince($0) >= 3600 } ?? true }
        wedged.removeAll()
        return due.compactMap { device in
            guard let keys = devices[device.userID]?.values.first(where: { $0.curveKey == device.curveKey }) else { return nil }
            repairedAt[device] = now()
            return keys
        }
    }

    /// Users whose devices must be known to repair their wedged sessions.
    var wedgedUsers: [String] { Array(Set(wedged.map(\.userID))).sorted() }

    /// Opens a new Olm session to each of `devices` (claimed one-time keys in `response`) and returns the
    /// `m.dummy` messages that carry it, to send to them: they then use it for what they send the bot.
    func repairMessages(claimed response: JSON, for devices: [DeviceKeys]) throws -> JSON {
        let before = Dictionary(devices.map { ($0.curveKey, olmSessions[$0.curveKey]?.first?.sessionID) }) { first, _ in first }
        receiveKeysClaim(response, for: devices)  // a new session goes first
        var messages: [String: [String: JSON]] = [:]
        for device in devices {
            guard let session = olmSessions[device.curveKey]?.first, session.sessionID != before[device.curveKey] ?? nil else { continue }
            let payload: JSON = [
                "type": "m.dummy", "content": [:], "sender": .string(userID), "sender_device": .string(deviceID),
                "recipient": .string(device.userID), "recipient_keys": ["ed25519": .string(device.edKey)],
                "keys": ["ed25519": .string(ed25519Key)],
            ]
            let message = try session.encrypt(payload.text())
            try queue(olm: session, senderKey: device.curveKey)
            messages[device.userID, default: [:]][device.deviceID] = [
                "algorithm": .string(Self.olmAlgorithm), "sender_key": .string(curve25519Key),
                "ciphertext": .object([device.curveKey: ["type": .number(Double(message.type)), "body": .string(message.body)]]),
            ]
        }
        return .object(messages.mapValues { .object($0) })
    }

    /// The kept events that `keys` may now decrypt, oldest first, each with its room; they leave the store
    /// (in the next commit) once handed out.
    func undecrypted(for keys: [InboundKey]) -> [(roomID: String, event: JSON)] {
        var events: [(roomID: String, event: JSON, at: Double)] = []
        for key in Set(keys) {
            let rows =
                (try? store.read { db in
                    try Row.fetchAll(
                        db, sql: "SELECT event_id, event, received_at FROM crypto_undecrypted WHERE room_id = ? AND session_id = ?",
                        arguments: [key.roomID, key.sessionID])
                }) ?? []
            for row in rows {
                let eventID: String = row["event_id"]
                pending.append { db in try db.execute(sql: "DELETE FROM crypto_undecrypted WHERE event_id = ?", arguments: [eventID]) }
                if let event = JSON.parse(row["event"] as String) { events.append((key.roomID, event, row["received_at"])) }
            }
        }
        return events.sorted { $0.at < $1.at }.map { ($0.roomID, $0.event) }
    }

    // MARK: Sending

    /// How a room's Megolm session is rotated (its `m.room.encryption` content).
    struct RotationPolicy: Sendable, Hashable {
        var periodMS: Double = 604_800_000
        var messages: Int = 100

        init(periodMS: Double = 604_800_000, messages: Int = 100) {
            self.periodMS = periodMS
            self.messages = messages
        }

        init(encryptionContent content: JSON?) {
            self.init()
            if let ms = content?["rotation_period_ms"]?.number, ms > 0 { periodMS = ms }
            if let count = content?["rotation_period_msgs"]?.int, count > 0 { messages = count }
        }
    }

    /// The devices of `members` a room key goes to (the bot's own device left out).
    func targetDevices(of members: some Sequence<String>) -> [DeviceKeys] {
        members.flatMap { user in (devices[user] ?? [:]).values.filter { !($0.userID == userID && $0.deviceID == deviceID) } }
            .sorted { ($0.userID, $0.deviceID) < ($1.userID, $1.deviceID) }
    }

    /// The room's outbound session, rotated first when it is too old, has sent too many messages, or was
    /// shared with a device that is no longer among `targets` (a member or a device left).
    func outboundSession(roomID: String, targets: [DeviceKeys], rotation: RotationPolicy) throws -> OutboundGroup {
        let wanted = Set(targets.map(\.tag))
        if let group = outbound[roomID] {
            let age = now().timeIntervalSince(group.createdAt) * 1000
            if age < rotation.periodMS, group.session.messageIndex < rotation.messages, group.sharedWith.isSubset(of: wanted) {
                return group
            }
            logger.info("rotating a room's Megolm session", metadata: ["room": "\(roomID)"])
        }
        let group = OutboundGroup(session: try backend.newOutboundGroupSession(), createdAt: now(), sharedWith: [])
        outbound[roomID] = group
        // The bot reads its own messages too (replies to them carry them).
        let own = InboundGroup(
            session: try backend.inboundGroupSession(sessionKey: try group.session.sessionKey()), senderKey: curve25519Key,
            senderUser: userID, signingKey: ed25519Key)
        let key = InboundKey(roomID: roomID, sessionID: group.session.sessionID)
        inbound[key] = own
        try queue(inbound: own, key: key)
        return group
    }

    /// Devices among `targets` that have no Olm session yet: their one-time keys must be claimed.
    func devicesWithoutSession(_ targets: [DeviceKeys]) -> [DeviceKeys] {
        targets.filter { (olmSessions[$0.curveKey] ?? []).isEmpty }
    }

    /// Takes in a `/keys/claim` answer: one Olm session per device whose one-time key is signed by the device.
    func receiveKeysClaim(_ response: JSON, for targets: [DeviceKeys]) {
        for device in targets {
            guard let keys = response["one_time_keys"]?[device.userID]?[device.deviceID]?.object,
                let (_, oneTimeKey) = keys.first(where: { $0.key.hasPrefix("signed_curve25519:") }),
                let key = oneTimeKey["key"]?.string
            else {
                logger.notice(
                    "no one-time key for a device: it gets no room key",
                    metadata: ["user": "\(device.userID)", "device": "\(device.deviceID)"])
                continue
            }
            guard Ed25519.verify(oneTimeKey, userID: device.userID, keyID: device.deviceID, publicKey: device.edKey) else {
                logger.warning(
                    "refused a one-time key not signed by its device",
                    metadata: ["user": "\(device.userID)", "device": "\(device.deviceID)"])
                continue
            }
            do {
                let session = try backend.outboundSession(from: account, theirIdentityKey: device.curveKey, theirOneTimeKey: key)
                olmSessions[device.curveKey, default: []].insert(session, at: 0)
                try queue(olm: session, senderKey: device.curveKey)
            } catch {
                logger.warning("could not open an Olm session", metadata: ["user": "\(device.userID)", "error": "\(error)"])
            }
        }
    }

    /// The `/sendToDevice` messages that share `roomID`'s session with the devices among `targets` that do
    /// not hold it yet (and have an Olm session), and the devices they go to.
    func roomKeyMessages(roomID: String, targets: [DeviceKeys]) throws -> (messages: JSON, devices: [DeviceKeys]) {
        guard let group = outbound[roomID] else { return ([:], []) }
        let roomKey: JSON = [
            "algorithm": .string(Self.megolmAlgorithm), "room_id": .string(roomID), "session_id": .string(group.session.sessionID),
            "session_key": .string(try group.session.sessionKey()),
        ]
        var messages: [String: [String: JSON]] = [:]
        var sent: [DeviceKeys] = []
        for device in targets where !group.sharedWith.contains(device.tag) {
            guard let session = olmSessions[device.curveKey]?.first else { continue }
            let payload: JSON = [
                "type": "m.room_key", "content": roomKey, "sender": .string(userID), "sender_device": .string(deviceID),
                "recipient": .string(device.userID), "recipient_keys": ["ed25519": .string(device.edKey)],
                "keys": ["ed25519": .string(ed25519Key)],
            ]
            let message = try session.encrypt(payload.text())
            try queue(olm: session, senderKey: device.curveKey)
            messages[device.userID, default: [:]][device.deviceID] = [
                "algorithm": .string(Self.olmAlgorithm), "sender_key": .string(curve25519Key),
                "ciphertext": [device.curveKey: ["type": .number(Double(message.type)), "body": .string(message.body)]],
            ]
            sent.append(device)
        }
        return (.object(messages.mapValues { .object($0) }), sent)
    }

    /// An Olm-encrypted to-device content carrying `type` and `content` to `device`, over its most recent
    /// session; nil when there is no session with it.
    func olmMessage(type: String, content: JSON, to device: DeviceKeys) throws -> JSON? {
        guard let session = olmSessions[device.curveKey]?.first else { return nil }
        let payload: JSON = [
            "type": .string(type), "content": content, "sender": .string(userID), "sender_device": .string(deviceID),
            "recipient": .string(device.userID), "recipient_keys": ["ed25519": .string(device.edKey)],
            "keys": ["ed25519": .string(ed25519Key)],
        ]
        let message = try session.encrypt(payload.text())
        try queue(olm: session, senderKey: device.curveKey)
        return [
            "algorithm": .string(Self.olmAlgorithm), "sender_key": .string(curve25519Key),
            "ciphertext": .object([device.curveKey: ["type": .number(Double(message.type)), "body": .string(message.body)]]),
        ]
    }

    /// An `m.forwarded_room_key` for the inbound session `sessionID` of `roomID`, from its first known
    /// index: what a device answers a key request with (used by the tests, standing for the sender's client).
    func forwardedRoomKey(roomID: String, sessionID: String) throws -> JSON? {
        guard let group = inboundGroup(InboundKey(roomID: roomID, sessionID: sessionID)) else { return nil }
        return [
            "algorithm": .string(Self.megolmAlgorithm), "room_id": .string(roomID), "session_id": .string(sessionID),
            "sender_key": .string(group.senderKey), "sender_claimed_ed25519_key": .string(group.signingKey),
            "session_key": .string(try group.session.export(at: group.session.firstKnownIndex)),
            "forwarding_curve25519_key_chain": [],
        ]
    }

    /// After the room key went out to `devices`: they hold the session. Committed at once.
    func roomKeyShared(roomID: String, with devices: [DeviceKeys]) throws {
        guard var group = outbound[roomID] else { return }
        group.sharedWith.formUnion(devices.map(\.tag))
        outbound[roomID] = group
        try queue(outbound: group, roomID: roomID)
        try commit()
    }

    /// Encrypts an event for `roomID` with its outbound session (which must have been shared), and commits
    /// the session's new index before the ciphertext is handed out: an index is never used twice.
    /// - Parameter sessionID: the session the caller shared; when another one took its place meanwhile (a
    ///   rotation by a concurrent send), this throws ``EncryptionError/sessionChanged`` and encrypts nothing.
    func encrypt(roomID: String, type: String, content: JSON, sessionID: String? = nil) throws -> JSON {
        guard let group = outbound[roomID] else { throw EncryptionError.noOutboundSession(roomID) }
        if let sessionID, group.session.sessionID != sessionID { throw EncryptionError.sessionChanged }
        let payload: JSON = ["type": .string(type), "content": content, "room_id": .string(roomID)]
        let ciphertext = try group.session.encrypt(payload.text())
        try queue(outbound: group, roomID: roomID)
        try commit()
        var encrypted: [String: JSON] = [
            "algorithm": .string(Self.megolmAlgorithm), "ciphertext": .string(ciphertext), "session_id": .string(group.session.sessionID),
            "sender_key": .string(curve25519Key), "device_id": .string(deviceID),
        ]
        if let relation = content["m.relates_to"] { encrypted["m.relates_to"] = relation }
        return .object(encrypted)
    }
}

/// Why encryption cannot go on, in words an operator can act on. Never contains a key.
public enum EncryptionError: Error, Sendable, CustomStringConvertible, Equatable {
    /// The stored keys do not open with the pickle key given.
    case wrongPickleKey
    case noOutboundSession(String)
    /// The room's session rotated while its key was being shared.
    case sessionChanged

    public var description: String {
        switch self {
        case .wrongPickleKey:
            "the pickle key does not open the stored encryption keys: give the key they were stored with (FABRIQUE_MATRIX_PICKLE_KEY or pickle_key in the config file)"
        case .noOutboundSession(let room): "no outbound Megolm session for \(room)"
        case .sessionChanged: "the room's Megolm session rotated while it was being shared"
        }
    }
}
