import FabriqueJSON
import Foundation
import GRDB
import Logging

/// What the adapter keeps for encrypted rooms, besides the device's keys (``OlmMachine``).
struct EncryptionState {
    /// Nil when no pickle key is configured: encrypted rooms are then told the bot cannot read them.
    var machine: OlmMachine?
    /// `m.room.encryption` content of rooms known to be encrypted (encryption is never turned off).
    var encryptedRooms: [String: JSON] = [:]
    /// Rooms known to be plain, until an `m.room.encryption` shows in their sync.
    var plainRooms: Set<String> = []
    /// Joined members of encrypted rooms, until a membership event shows in their sync.
    var members: [String: Set<String>] = [:]
    var crossSigning: CrossSigning?
    /// Room keys to ask their sender for (`m.room_key_request`), by session id: (room, sender, device, content).
    var keyRequests: [String: (roomID: String, sender: String, content: JSON)] = [:]
    /// Sessions already asked for since start: once each.
    var requestedSessions: Set<String> = []
}

extension MatrixAdapter {
    // MARK: Start

    /// Opens (or creates) the device's keys and publishes what the homeserver lacks.
    /// - Throws: ``EncryptionError/wrongPickleKey``, or a homeserver error from the first upload.
    func startEncryption(_ identity: MatrixClient.Identity) async throws {
        guard let pickleKey = configuration.pickleKey, encryption.machine == nil else { return }
        guard let deviceID = identity.deviceID else {
            logger.warning("the homeserver did not say which device the bot is: encrypted rooms stay unread")
            return
        }
        let store = try CryptoStore(writer: self.store.writer)
        let machine = try OlmMachine(
            userID: identity.userID, deviceID: deviceID, pickleKey: PickleKey(pickleKey), store: store, logger: logger)
        encryption.machine = machine
        // The server's one-time key count is unknown until the first sync: an upload with no key tells it.
        if !machine.keysUploaded, let body = try machine.keysToUpload(oneTimeKeyCount: nil, hasUnusedFallbackKey: nil) {
            _ = try await client.uploadKeys(body)
            try machine.keysUploaded(body)
        }
        await crossSign(machine, store: store, pickleKey: PickleKey(pickleKey))
        logger.info(
            "end-to-end encryption ready",
            metadata: ["device": "\(deviceID)", "ed25519": "\(machine.ed25519Key)", "curve25519": "\(machine.curve25519Key)"])
    }

    /// Creates the bot's cross-signing keys on first start, publishes them and signs the device with them.
    /// Best effort: a failure is logged and retried at the next start; the bot works without.
    private func crossSign(_ machine: OlmMachine, store: CryptoStore, pickleKey: PickleKey) async {
        do {
            var keys: CrossSigning
            if let stored = try CrossSigning.load(store, pickleKey: pickleKey) {
                keys = stored
            } else {
                keys = .new()
                try keys.save(store, pickleKey: pickleKey)
            }
            encryption.crossSigning = keys
            guard !keys.uploaded else { return }
            let body = try keys.uploadBody(userID: machine.userID, signedByDevice: machine.signed)
            do {
                try await client.uploadCrossSigningKeys(body)
            } catch let error as MatrixError {
                // Replacing existing keys: the homeserver asks who we are again.
                guard case .http(401, _, _, _) = error, let password = configuration.password else { throw error }
                let auth: JSON = [
                    "type": "m.login.password", "identifier": ["type": "m.id.user", "user": .string(machine.userID)],
                    "password": .string(password),
                ]
                try await client.uploadCrossSigningKeys(body, auth: auth)
            }
            let device = try CrossSigning.sign(try machine.deviceKeys(), userID: machine.userID, with: keys.selfSigning)
            let failures = try await client.uploadSignatures(.object([machine.userID: .object([machine.deviceID: device])]))
            guard failures.object?.isEmpty ?? true else {
                logger.warning("the homeserver refused the device's cross-signing signature", metadata: ["failures": "\(failures.text())"])
                return
            }
            keys.uploaded = true
            try keys.save(store, pickleKey: pickleKey)
            encryption.crossSigning = keys
            logger.info("cross-signed the bot's device", metadata: ["master": "\(keys.masterPublic)"])
        } catch EncryptionError.wrongPickleKey {
            logger.error("the pickle key does not open the stored cross-signing keys: the device stays not cross-signed")
        } catch {
            logger.warning("could not cross-sign the bot's device", metadata: ["error": "\(error)"])
        }
    }

    /// The `--check` line on encryption: the device's keys, or why encrypted rooms stay unread.
    func encryptionReport() -> String {
        guard let machine = encryption.machine else {
            return configuration.pickleKey == nil
                ? "encryption: off (no pickle key: encrypted rooms are told the bot cannot read them)"
                : "encryption: off (the homeserver did not give a device id)"
        }
        let crossSigned =
            encryption.crossSigning.map { $0.uploaded ? "cross-signed, master key \($0.masterPublic)" : "cross-signing not published yet" }
            ?? "not cross-signed"
        return """
            encryption: on (libolm; device keys \(machine.keysUploaded ? "published" : "not yet published"); \(crossSigned))
              ed25519: \(machine.ed25519Key)
              curve25519: \(machine.curve25519Key)
            """
    }

    // MARK: Receiving

    // The order of commits. The engine commits a sync response's encryption changes with its `next_batch`
    // token (``encryptionWrites(_:)``), and nothing else may commit a state that builds on those changes
    // before that: a later pickle of an Olm session would be overwritten by the older one in the batch.
    // Hence, with keys, the sync loop takes the gate (``cryptoGate``) before it reads a response's
    // encryption parts and gets it back only once the runner has handled the batch it yielded (committed
    // it, delivered its replies, which wait for that commit, and the timers' after it); only then does it
    // top up keys, repair sessions or read the next response. The runner is the only one to deliver, and
    // delivers only while it handles a batch: sends never run beside a response being read.

    /// Waits until the runner has handled the last batch yielded, and takes the gate. A no-op without keys.
    /// - Throws: `CancellationError` when the sync loop is cancelled meanwhile.
    func enterEncryption() async throws {
        guard encryption.machine != nil else { return }
        try await cryptoGate.lock()
    }

    /// Gives the gate back (a batch was not yielded, or the housekeeping is done).
    func leaveEncryption() {
        guard encryption.machine != nil else { return }
        cryptoGate.unlock()
    }

    /// What gives the gate back once the runner has handled the batch (``InboundBatch/handled``).
    func gateRelease() -> (@Sendable () -> Void)? {
        guard encryption.machine != nil else { return nil }
        let gate = cryptoGate
        return { gate.unlock() }
    }

    /// What a sync response changed in the encryption state (with `next` as the point the device lists are
    /// known up to), as one write for the transaction that stores `next`; nil when it changed nothing.
    func encryptionWrites(_ next: String) -> (@Sendable (Database) throws -> Void)? {
        guard let machine = encryption.machine else { return nil }
        if machine.hasPendingWrites { machine.deviceListsKnown(at: next) }
        return machine.takeWrites()
    }

    /// After the runner handled a sync response's batch: one-time keys topped up, missing room keys asked
    /// for, wedged sessions repaired, people told of messages that stayed unreadable. Holds the gate.
    func encryptionHousekeeping(_ response: JSON, initial: Bool) async throws {
        guard encryption.machine != nil else { return }
        try await enterEncryption()
        defer { leaveEncryption() }
        await topUpKeys(response)
        await requestMissingKeys()
        await repairWedgedSessions()
        if !initial { await tellUndecryptable() }
    }

    /// After a restart: asks the homeserver which users' devices changed between the token the stored
    /// device lists were known up to and `since` (`/keys/changes`), so that only those are queried again
    /// before the next room key goes out. With no stored token (or when the homeserver cannot say), every
    /// member is queried again, as on a first start.
    func catchUpDeviceLists(to since: String) async {
        guard let machine = encryption.machine else { return }
        guard let from = machine.deviceListsToken else {
            logger.info("no stored device-list token: every member's devices will be queried again")
            return
        }
        do {
            // Asked even when `from` is `since` (nothing can have changed in between): one request per start.
            let changes = try await client.keyChanges(from: from, to: since)
            let changed = changes["changed"]?.array?.compactMap(\.string) ?? []
            let left = changes["left"]?.array?.compactMap(\.string) ?? []
            let upToDate = machine.restoreDeviceLists(changed: changed, left: left)
            try machine.commit()
            logger.info(
                "device lists caught up after a restart",
                metadata: ["up_to_date": "\(upToDate)", "changed": "\(changed.count)", "left": "\(left.count)"])
        } catch {
            logger.warning("could not catch up device lists: every member's devices will be queried again", metadata: ["error": "\(error)"])
        }
    }

    /// Reads the encryption parts of a sync response before it is translated: to-device messages (room
    /// keys), device list changes; then decrypts the room events of `response`, `gaps` and `afterJoin`,
    /// and adds the kept events that a room key received now opens. The results stay queued in the
    /// machine: ``encryptionWrites(_:)`` hands them to the engine, which commits them with the response's
    /// token, before it delivers any reply to a message they let through.
    func receiveEncryption(_ response: inout JSON, gaps: inout [String: [JSON]], afterJoin: inout [String: [JSON]], initial: Bool) async {
        noteEncryptionState(response)
        guard let machine = encryption.machine else { return }
        machine.deviceListsChanged(
            changed: response["device_lists"]?["changed"]?.array?.compactMap(\.string) ?? [],
            left: response["device_lists"]?["left"]?.array?.compactMap(\.string) ?? [])
        let keys = machine.receiveToDevice(response["to_device"]?["events"]?.array ?? [])
        if !initial {
            var rooms = response["rooms"]?["join"]?.object ?? [:]
            for (roomID, var room) in rooms {
                if var timeline = room["timeline"]?["events"]?.array {
                    // In a room the bot just joined, the timeline is history (`afterJoin` holds what follows
                    // the join): an undecryptable message there is not kept for later.
                    let keep = afterJoin[roomID] == nil
                    for index in timeline.indices { timeline[index] = decrypted(timeline[index], roomID: roomID, keep: keep) }
                    if var fields = room.object, var timelineFields = fields["timeline"]?.object {
                        timelineFields["events"] = .array(timeline)
                        fields["timeline"] = .object(timelineFields)
                        room = .object(fields)
                    }
                }
                rooms[roomID] = room
            }
            for (roomID, events) in gaps { gaps[roomID] = events.map { decrypted($0, roomID: roomID, keep: true) } }
            for (roomID, events) in afterJoin { afterJoin[roomID] = events.map { decrypted($0, roomID: roomID, keep: true) } }
            // Messages whose key arrived late go before the room's new timeline.
            for (roomID, event) in machine.undecrypted(for: keys) {
                let opened = decrypted(event, roomID: roomID, keep: false)
                guard opened["type"]?.string != "m.room.encrypted" else { continue }
                logger.info("decrypted a message whose key arrived late", metadata: ["room": "\(roomID)"])
                var room = rooms[roomID]?.object ?? [:]
                var timeline = room["timeline"]?.object ?? [:]
                timeline["events"] = .array([opened] + (timeline["events"]?.array ?? []))
                room["timeline"] = .object(timeline)
                rooms[roomID] = .object(room)
            }
            if var fields = response.object, var roomFields = fields["rooms"]?.object ?? [:] as [String: JSON]? {
                roomFields["join"] = .object(rooms)
                fields["rooms"] = .object(roomFields)
                response = .object(fields)
            }
        }
    }

    /// Asks the sender's device for each room key found missing (`m.room_key_request`, once per session):
    /// a client that had shared the session with the bot may share it again, as an `m.forwarded_room_key`.
    private func requestMissingKeys() async {
        guard let machine = encryption.machine, !encryption.keyRequests.isEmpty else { return }
        let requests = encryption.keyRequests
        encryption.keyRequests = [:]
        for (sessionID, request) in requests {
            encryption.requestedSessions.insert(sessionID)
            let body: JSON = [
                "algorithm": .string(OlmMachine.megolmAlgorithm), "room_id": .string(request.roomID),
                "sender_key": request.content["sender_key"] ?? "", "session_id": .string(sessionID),
            ]
            let device = request.content["device_id"]?.string ?? "*"
            let message: JSON = [
                "action": "request", "body": body, "request_id": .string(UnpaddedBase64.encode(Array(sessionID.utf8.prefix(24)))),
                "requesting_device_id": .string(machine.deviceID),
            ]
            do {
                try await client.sendToDevice(
                    type: "m.room_key_request", txnID: UUID().uuidString, messages: .object([request.sender: .object([device: message])]),
                    policy: .once)
                logger.info("asked for a missing room key", metadata: ["room": "\(request.roomID)", "sender": "\(request.sender)"])
            } catch {
                logger.debug("could not ask for a missing room key", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Opens a new Olm session to each device whose Olm message no session could read, and sends an
    /// `m.dummy` over it, so that the device's next room keys reach the bot. At most once an hour per device.
    private func repairWedgedSessions() async {
        guard let machine = encryption.machine, !machine.wedgedUsers.isEmpty else { return }
        do {
            try await repairWedgedSessions(machine)
        } catch {
            logger.warning("could not repair Olm sessions", metadata: ["error": "\(error)"])
        }
    }

    private func repairWedgedSessions(_ machine: OlmMachine) async throws {
        let users = machine.wedgedUsers
        guard !users.isEmpty else { return }
        machine.receiveKeysQuery(try await client.queryKeys(users: users), users: users)
        let devices = machine.wedgedDevicesToRepair()
        guard !devices.isEmpty else { return }
        let claimed = try await client.claimKeys(devices: devices.map { ($0.userID, $0.deviceID) })
        let messages = try machine.repairMessages(claimed: claimed, for: devices)
        try machine.commit()
        guard !(messages.object?.isEmpty ?? true) else { return }
        try await client.sendToDevice(type: "m.room.encrypted", txnID: UUID().uuidString, messages: messages)
        logger.notice("opened new Olm sessions to devices whose messages could not be read", metadata: ["devices": "\(devices.count)"])
    }

    /// Tells each person, once per room, when a message of theirs stayed unreadable past the grace period
    /// (its room key never came), in a notice that replies to it.
    private func tellUndecryptable() async {
        guard let machine = encryption.machine else { return }
        let overdue: [(roomID: String, sender: String, eventID: String)]
        do {
            overdue = machine.undecryptedOverdue(grace: configuration.undecryptableGrace)
            try machine.commit()
        } catch {
            logger.warning("could not store encryption state", metadata: ["error": "\(error)"])
            return
        }
        for (roomID, sender, eventID) in overdue {
            let key = "matrix.utd-notice:\(roomID):\(sender)"
            do {
                guard try store.setting(key) == nil else { continue }
                let content: JSON = [
                    "msgtype": "m.notice", "body": .string(configuration.undecryptableNotice),
                    "m.mentions": ["user_ids": [.string(sender)]], "m.relates_to": ["m.in_reply_to": ["event_id": .string(eventID)]],
                ]
                _ = try await sendEvent(roomID: roomID, type: "m.room.message", txnID: TransactionID.make(for: key), content: content)
                try store.setSetting(key, "1")
                logger.notice("told someone the bot could not read their message", metadata: ["room": "\(roomID)", "event": "\(eventID)"])
            } catch {
                logger.warning("could not say a message was unreadable", metadata: ["room": "\(roomID)", "error": "\(error)"])
            }
        }
    }

    /// `event` decrypted when it is an `m.room.encrypted` the bot can read; otherwise as it is (kept for a
    /// later try when its key is missing and `keep`).
    func decrypted(_ event: JSON, roomID: String, keep: Bool) -> JSON {
        guard event["type"]?.string == "m.room.encrypted", event["state_key"] == nil, let machine = encryption.machine else { return event }
        switch machine.decrypt(event: event, roomID: roomID) {
        case .decrypted(let plain):
            return plain
        case .missingKey(let sessionID):
            logger.notice(
                "cannot decrypt a message yet: its room key is missing",
                metadata: [
                    "room": "\(roomID)", "event": "\(event["event_id"]?.string ?? "?")", "sender": "\(event["sender"]?.string ?? "?")",
                ])
            if keep, let sender = event["sender"]?.string, sender != machine.userID {
                machine.keepUndecrypted(event, roomID: roomID, sessionID: sessionID)
                if !encryption.requestedSessions.contains(sessionID), let content = event["content"] {
                    encryption.keyRequests[sessionID] = (roomID, sender, content)
                }
            }
            return event
        case .refused(let reason):
            logger.warning(
                "refused an encrypted message",
                metadata: ["room": "\(roomID)", "event": "\(event["event_id"]?.string ?? "?")", "reason": "\(reason)"])
            return event
        }
    }

    /// Remembers which rooms are encrypted (and how their session rotates) and whose members changed.
    private func noteEncryptionState(_ response: JSON) {
        for (roomID, room) in response["rooms"]?["join"]?.object ?? [:] {
            let events = (room["state"]?["events"]?.array ?? []) + (room["timeline"]?["events"]?.array ?? [])
            for event in events where event["state_key"] != nil {
                switch event["type"]?.string {
                case "m.room.encryption":
                    encryption.encryptedRooms[roomID] = event["content"] ?? [:]
                    encryption.plainRooms.remove(roomID)
                case "m.room.member":
                    encryption.members[roomID] = nil
                default:
                    break
                }
            }
        }
        for roomID in (response["rooms"]?["leave"]?.object ?? [:]).keys {
            encryption.members[roomID] = nil
        }
    }

    /// Publishes one-time keys when the server's count runs low, and a new fallback key once the last was used.
    private func topUpKeys(_ response: JSON) async {
        guard let machine = encryption.machine else { return }
        let count =
            response["device_one_time_keys_count"]?["signed_curve25519"]?.int ?? (response["device_one_time_keys_count"] == nil ? nil : 0)
        let fallback = response["device_unused_fallback_key_types"]?.array.map { $0.contains("signed_curve25519") }
        do {
            guard let body = try machine.keysToUpload(oneTimeKeyCount: count, hasUnusedFallbackKey: fallback) else { return }
            _ = try await client.uploadKeys(body)
            try machine.keysUploaded(body)
            logger.debug("uploaded keys", metadata: ["one_time": "\(body["one_time_keys"]?.object?.count ?? 0)"])
        } catch {
            logger.warning("could not upload keys", metadata: ["error": "\(error)"])
        }
    }

    // MARK: Sending

    /// Whether `roomID` is encrypted, asking the homeserver when the sync has not said so since start.
    func isEncrypted(_ roomID: String) async throws -> Bool {
        if encryption.encryptedRooms[roomID] != nil { return true }
        if encryption.plainRooms.contains(roomID) { return false }
        if let content = try await client.state(roomID: roomID, type: "m.room.encryption") {
            encryption.encryptedRooms[roomID] = content
            return true
        }
        encryption.plainRooms.insert(roomID)
        return false
    }

    /// Whether what goes to `roomID` must be encrypted (a pickle key is configured and the room is encrypted).
    func isEncryptedForSending(_ roomID: String) async throws -> Bool {
        guard encryption.machine != nil else { return false }
        return try await isEncrypted(roomID)
    }

    /// Sends one event, encrypted when the room is: its room key goes first to every device of every
    /// joined member that does not hold it yet.
    /// - Throws: ``MatrixError``; ``EncryptionError`` when the room is encrypted and this device cannot write in it.
    func sendEvent(roomID: String, type: String, txnID: String, content: JSON, policy: RetryPolicy = .delivery) async throws -> String {
        guard encryption.machine != nil, try await isEncrypted(roomID) else {
            return try await client.send(roomID: roomID, type: type, txnID: txnID, content: content, policy: policy)
        }
        let encrypted = try await encrypt(roomID: roomID, type: type, content: content)
        return try await client.send(roomID: roomID, type: "m.room.encrypted", txnID: txnID, content: encrypted, policy: policy)
    }

    /// Shares the room's session with every device that lacks it, then encrypts with it. Another send may
    /// rotate the session while this one waits for the homeserver: it then starts over (at most 3 times).
    private func encrypt(roomID: String, type: String, content: JSON) async throws -> JSON {
        var attempt = 0
        while true {
            do {
                return try await shareAndEncrypt(roomID: roomID, type: type, content: content)
            } catch EncryptionError.sessionChanged where attempt < 3 {
                attempt += 1
            }
        }
    }

    private func shareAndEncrypt(roomID: String, type: String, content: JSON) async throws -> JSON {
        guard let machine = encryption.machine else { throw EncryptionError.noOutboundSession(roomID) }
        let members: Set<String>
        if let known = encryption.members[roomID] {
            members = known
        } else {
            members = Set(try await client.joinedMembers(roomID: roomID).keys)
            encryption.members[roomID] = members
        }
        let stale = machine.usersToQuery(members)
        if !stale.isEmpty {
            machine.receiveKeysQuery(try await client.queryKeys(users: stale), users: stale)
        }
        let targets = machine.targetDevices(of: members)
        let rotation = OlmMachine.RotationPolicy(encryptionContent: encryption.encryptedRooms[roomID])
        let session = try machine.outboundSession(roomID: roomID, targets: targets, rotation: rotation).session.sessionID
        let missing = machine.devicesWithoutSession(targets)
        if !missing.isEmpty {
            machine.receiveKeysClaim(try await client.claimKeys(devices: missing.map { ($0.userID, $0.deviceID) }), for: missing)
        }
        let (messages, devices) = try machine.roomKeyMessages(roomID: roomID, targets: targets)
        if !devices.isEmpty {
            // A fresh transaction id: a retry after a crash shares a new session, never replays an old message.
            try await client.sendToDevice(type: "m.room.encrypted", txnID: UUID().uuidString, messages: messages)
            try machine.roomKeyShared(roomID: roomID, with: devices)
            logger.debug("shared a room key", metadata: ["room": "\(roomID)", "devices": "\(devices.count)"])
        }
        return try machine.encrypt(roomID: roomID, type: type, content: content, sessionID: session)
    }
}
