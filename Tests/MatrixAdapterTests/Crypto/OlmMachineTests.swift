import BotCore
import Foundation
import Logging
import Testing

@testable import MatrixAdapter

/// Two devices' ``OlmMachine``s talking through what they would send each other over a homeserver:
/// keys queried and claimed, a room key over Olm, Megolm room events. Each has its own database.
/// A clock the tests move by hand.
final class MutableClock: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Date
    init(_ start: Date) { value = start }
    var now: Date {
        get { lock.withLock { value } }
        set { lock.withLock { value = newValue } }
    }
}

@Suite struct OlmMachineTests {
    static let room = "!room:s.org"
    let key = PickleKey("pickle key for tests")
    let logger = Logger(label: "test")

    struct Device {
        let store: StateStore
        let crypto: CryptoStore
        var machine: OlmMachine
    }

    func device(_ user: String, _ id: String, store: StateStore? = nil, key: PickleKey? = nil) throws -> Device {
        let store = try store ?? StateStore(path: nil)
        let crypto = try CryptoStore(writer: store.writer)
        return Device(
            store: store, crypto: crypto,
            machine: try OlmMachine(userID: user, deviceID: id, pickleKey: key ?? self.key, store: crypto, logger: logger))
    }

    /// The same device after a restart: everything it committed, nothing else.
    func restarted(_ device: Device) throws -> Device {
        try self.device(device.machine.userID, device.machine.deviceID, store: device.store)
    }

    /// `from` learns `to`'s device keys and claims one of its one-time keys.
    func introduce(_ from: OlmMachine, to: OlmMachine) throws -> OlmMachine.DeviceKeys {
        from.receiveKeysQuery(["device_keys": .object([to.userID: .object([to.deviceID: try to.deviceKeys()])])], users: [to.userID])
        let target = try #require(from.targetDevices(of: [to.userID]).first)
        let upload = try #require(try to.keysToUpload(oneTimeKeyCount: 0, hasUnusedFallbackKey: nil))
        try to.keysUploaded(upload)
        let (id, oneTimeKey) = try #require(upload["one_time_keys"]?.object?.first)
        let claimed: JSON = .object([to.userID: .object([to.deviceID: .object([id: oneTimeKey])])])
        from.receiveKeysClaim(["one_time_keys": claimed], for: [target])
        return target
    }

    /// `sender` shares its room session with `recipient`: the to-device event `recipient` receives.
    func shareRoomKey(from sender: OlmMachine, to recipient: OlmMachine, target: OlmMachine.DeviceKeys) throws -> JSON {
        _ = try sender.outboundSession(roomID: Self.room, targets: [target], rotation: .init())
        let (messages, devices) = try sender.roomKeyMessages(roomID: Self.room, targets: [target])
        #expect(devices == [target])
        try sender.roomKeyShared(roomID: Self.room, with: devices)
        let content = try #require(messages[recipient.userID]?[recipient.deviceID])
        return ["type": "m.room.encrypted", "sender": .string(sender.userID), "content": content]
    }

    func roomEvent(_ id: String, from sender: String, _ content: JSON) -> JSON {
        ["event_id": .string(id), "sender": .string(sender), "type": "m.room.encrypted", "origin_server_ts": 1, "content": content]
    }

    func body(_ decryption: OlmMachine.RoomDecryption) -> String? {
        if case .decrypted(let event) = decryption, event["type"]?.string == "m.room.message" { return event["content"]?["body"]?.string }
        return nil
    }

    func isRefused(_ decryption: OlmMachine.RoomDecryption) -> Bool {
        if case .refused = decryption { return true }
        return false
    }

    @Test func aRoomKeyOverOlmOpensTheSendersMessagesAndSurvivesARestart() throws {
        let bot = try device("@bot:s.org", "BOT"), ana = try device("@ana:s.org", "ANA")
        let target = try introduce(ana.machine, to: bot.machine)
        let toDevice = try shareRoomKey(from: ana.machine, to: bot.machine, target: target)
        #expect(bot.machine.receiveToDevice([toDevice]) == [.init(roomID: Self.room, sessionID: try sessionID(ana))])
        try bot.machine.commit()

        let content = try ana.machine.encrypt(roomID: Self.room, type: "m.room.message", content: ["msgtype": "m.text", "body": "!help"])
        #expect(content["ciphertext"] != nil && content["body"] == nil)
        let event = roomEvent("$1", from: ana.machine.userID, content)
        #expect(body(bot.machine.decrypt(event: event, roomID: Self.room)) == "!help")
        try bot.machine.commit()

        // After a restart the key is still there, and the same event decrypts again (it is read again after a crash).
        let again = try restarted(bot)
        #expect(body(again.machine.decrypt(event: event, roomID: Self.room)) == "!help")
        // The to-device message, delivered again because the sync token was not stored, is not handled twice.
        #expect(again.machine.receiveToDevice([toDevice]).isEmpty)
    }

    @Test func aReplayedMessageIndexAForgedSenderAndAnotherRoomAreRefused() throws {
        let bot = try device("@bot:s.org", "BOT"), ana = try device("@ana:s.org", "ANA")
        let target = try introduce(ana.machine, to: bot.machine)
        _ = bot.machine.receiveToDevice([try shareRoomKey(from: ana.machine, to: bot.machine, target: target)])
        let content = try ana.machine.encrypt(roomID: Self.room, type: "m.room.message", content: ["msgtype": "m.text", "body": "yes"])
        #expect(body(bot.machine.decrypt(event: roomEvent("$1", from: ana.machine.userID, content), roomID: Self.room)) == "yes")
        try bot.machine.commit()
        // The same ciphertext under another event id: a replay.
        #expect(isRefused(try restarted(bot).machine.decrypt(event: roomEvent("$2", from: ana.machine.userID, content), roomID: Self.room)))
        // Someone else sending with Ana's room key.
        #expect(isRefused(bot.machine.decrypt(event: roomEvent("$3", from: "@mallory:s.org", content), roomID: Self.room)))
        // Ana's event copied into another room: no key there.
        if case .missingKey = bot.machine.decrypt(event: roomEvent("$4", from: ana.machine.userID, content), roomID: "!other:s.org") {
        } else {
            Issue.record("a key is per room")
        }
    }

    @Test func malformedAndMisaddressedToDeviceMessagesChangeNothing() throws {
        let bot = try device("@bot:s.org", "BOT"), ana = try device("@ana:s.org", "ANA"), eve = try device("@eve:s.org", "EVE")
        let target = try introduce(ana.machine, to: bot.machine)
        let good = try shareRoomKey(from: ana.machine, to: bot.machine, target: target)
        // Eve's own room key, delivered as if Ana had sent it: the payload names Eve, so it is refused.
        var spoofed = try shareRoomKey(from: eve.machine, to: bot.machine, target: try introduce(eve.machine, to: bot.machine)).object!
        spoofed["sender"] = "@ana:s.org"
        let garbage: [JSON] = [
            [:], ["type": "m.room.encrypted"], ["type": "m.room.encrypted", "sender": "@ana:s.org", "content": "x"],
            ["type": "m.room.encrypted", "sender": "@ana:s.org", "content": ["algorithm": "m.olm.v1.curve25519-aes-sha2"]],
            [
                "type": "m.room.encrypted", "sender": "@ana:s.org",
                "content": [
                    "algorithm": "m.olm.v1.curve25519-aes-sha2", "sender_key": .string(ana.machine.curve25519Key),
                    "ciphertext": .object([bot.machine.curve25519Key: ["type": 0, "body": "bm90IG9sbQ"]]),
                ],
            ],
            .object(spoofed),
        ]
        #expect(bot.machine.receiveToDevice(garbage).isEmpty)
        // A room key encrypted for another device holds nothing for this one.
        let forEve = try shareRoomKey(from: ana.machine, to: eve.machine, target: try introduce(ana.machine, to: eve.machine))
        var redirected = forEve.object!
        redirected["sender"] = "@ana:s.org"
        #expect(bot.machine.receiveToDevice([.object(redirected)]).isEmpty)
        // None of that changed the device: the real key still opens the room.
        #expect(bot.machine.receiveToDevice([good]).count == 1)
    }

    @Test func aDeviceWhoseEd25519KeyChangedIsRefused() throws {
        let bot = try device("@bot:s.org", "BOT"), ana = try device("@ana:s.org", "ANA")
        bot.machine.receiveKeysQuery(["device_keys": ["@ana:s.org": ["ANA": try ana.machine.deviceKeys()]]], users: ["@ana:s.org"])
        let before = bot.machine.devices["@ana:s.org"]?["ANA"]
        // Another account claiming the same device id.
        let impostor = try device("@ana:s.org", "ANA")
        bot.machine.deviceListsChanged(changed: ["@ana:s.org"], left: [])
        bot.machine.receiveKeysQuery(["device_keys": ["@ana:s.org": ["ANA": try impostor.machine.deviceKeys()]]], users: ["@ana:s.org"])
        #expect(bot.machine.devices["@ana:s.org"]?["ANA"] == before)
        // Keys not signed by the device itself are refused too.
        var unsigned = try device("@bo:s.org", "BO").machine.deviceKeys().object!
        unsigned["signatures"] = nil
        bot.machine.receiveKeysQuery(["device_keys": ["@bo:s.org": ["BO": .object(unsigned)]]], users: ["@bo:s.org"])
        #expect(bot.machine.devices["@bo:s.org"]?.isEmpty ?? true)
    }

    @Test func aMessageWhoseKeyArrivesLateIsKeptAndOpenedThen() throws {
        let bot = try device("@bot:s.org", "BOT"), ana = try device("@ana:s.org", "ANA")
        let target = try introduce(ana.machine, to: bot.machine)
        _ = try ana.machine.outboundSession(roomID: Self.room, targets: [target], rotation: .init())
        // Ana shares her key before she writes, but it reaches the bot after her message does.
        let (messages, _) = try ana.machine.roomKeyMessages(roomID: Self.room, targets: [target])
        let content = try ana.machine.encrypt(roomID: Self.room, type: "m.room.message", content: ["msgtype": "m.text", "body": "early"])
        let event = roomEvent("$early", from: ana.machine.userID, content)
        guard case .missingKey(let sessionID) = bot.machine.decrypt(event: event, roomID: Self.room) else {
            Issue.record("no key yet")
            return
        }
        bot.machine.keepUndecrypted(event, roomID: Self.room, sessionID: sessionID)
        try bot.machine.commit()
        // The key arrives after a restart; the message was kept in the database.
        let later = try restarted(bot)
        let keys = later.machine.receiveToDevice([
            ["type": "m.room.encrypted", "sender": "@ana:s.org", "content": try #require(messages["@bot:s.org"]?["BOT"])]
        ])
        let kept = later.machine.undecrypted(for: keys)
        #expect(kept.map(\.event["event_id"]) == ["$early"])
        #expect(body(later.machine.decrypt(event: try #require(kept.first?.event), roomID: Self.room)) == "early")
        try later.machine.commit()
        #expect(later.machine.undecrypted(for: keys).isEmpty, "handed out once")
    }

    @Test func aForwardedRoomKeyIsTakenFromTheSessionsSenderOnly() throws {
        let bot = try device("@bot:s.org", "BOT"), ana = try device("@ana:s.org", "ANA"), eve = try device("@eve:s.org", "EVE")
        let anaToBot = try introduce(ana.machine, to: bot.machine), eveToBot = try introduce(eve.machine, to: bot.machine)
        _ = try ana.machine.outboundSession(roomID: Self.room, targets: [], rotation: .init())
        let content = try ana.machine.encrypt(roomID: Self.room, type: "m.room.message", content: ["msgtype": "m.text", "body": "hi"])
        let event = roomEvent("$1", from: "@ana:s.org", content)
        guard case .missingKey(let sessionID) = bot.machine.decrypt(event: event, roomID: Self.room) else {
            Issue.record("no key yet")
            return
        }
        let forwarded = try #require(try ana.machine.forwardedRoomKey(roomID: Self.room, sessionID: sessionID))
        // Eve passing on Ana's key: refused, whatever it says.
        let fromEve = try #require(try eve.machine.olmMessage(type: "m.forwarded_room_key", content: forwarded, to: eveToBot))
        #expect(bot.machine.receiveToDevice([["type": "m.room.encrypted", "sender": "@eve:s.org", "content": fromEve]]).isEmpty)
        if case .missingKey = bot.machine.decrypt(event: event, roomID: Self.room) {} else { Issue.record("Eve's forward was taken") }
        // Ana answering the bot's request: taken, and the message opens.
        let fromAna = try #require(try ana.machine.olmMessage(type: "m.forwarded_room_key", content: forwarded, to: anaToBot))
        #expect(bot.machine.receiveToDevice([["type": "m.room.encrypted", "sender": "@ana:s.org", "content": fromAna]]).count == 1)
        #expect(body(bot.machine.decrypt(event: event, roomID: Self.room)) == "hi")
    }

    @Test func theRoomSessionRotatesWhenADeviceLeavesOrItHasSentEnough() throws {
        let bot = try device("@bot:s.org", "BOT"), ana = try device("@ana:s.org", "ANA"), bo = try device("@bo:s.org", "BO")
        let toAna = try introduce(bot.machine, to: ana.machine), toBo = try introduce(bot.machine, to: bo.machine)
        let first = try bot.machine.outboundSession(roomID: Self.room, targets: [toAna, toBo], rotation: .init())
        let (_, devices) = try bot.machine.roomKeyMessages(roomID: Self.room, targets: [toAna, toBo])
        try bot.machine.roomKeyShared(roomID: Self.room, with: devices)
        // A new member's device gets the same session.
        #expect(
            try bot.machine.outboundSession(roomID: Self.room, targets: [toAna, toBo], rotation: .init()).session.sessionID
                == first.session.sessionID)
        // Bo leaves: a new session, which Bo never gets.
        let second = try bot.machine.outboundSession(roomID: Self.room, targets: [toAna], rotation: .init())
        #expect(second.session.sessionID != first.session.sessionID)
        // A send that shared the first session does not encrypt with the second.
        #expect(throws: EncryptionError.sessionChanged) {
            try bot.machine.encrypt(roomID: Self.room, type: "m.room.message", content: [:], sessionID: first.session.sessionID)
        }
        let (messages, _) = try bot.machine.roomKeyMessages(roomID: Self.room, targets: [toAna])
        #expect(messages["@bo:s.org"] == nil && messages["@ana:s.org"]?["ANA"] != nil)
        try bot.machine.roomKeyShared(roomID: Self.room, with: [toAna])
        // rotation_period_msgs: 2 messages, then a new session.
        let policy = OlmMachine.RotationPolicy(encryptionContent: ["rotation_period_msgs": 2])
        _ = try bot.machine.encrypt(roomID: Self.room, type: "m.room.message", content: ["body": "1"])
        _ = try bot.machine.encrypt(roomID: Self.room, type: "m.room.message", content: ["body": "2"])
        #expect(
            try bot.machine.outboundSession(roomID: Self.room, targets: [toAna], rotation: policy).session.sessionID
                != second.session.sessionID)
    }

    @Test func aWrongPickleKeyIsAClearError() throws {
        let bot = try device("@bot:s.org", "BOT")
        #expect(throws: EncryptionError.wrongPickleKey) {
            try self.device("@bot:s.org", "BOT", store: bot.store, key: PickleKey("not the key"))
        }
        // Nothing secret in the database in clear: the account's pickle does not hold its public key as text.
        let pickle = try #require(try bot.crypto.account()?.pickle)
        #expect(!pickle.contains(bot.machine.ed25519Key))
    }

    @Test func crossSigningKeysAreSealedWithThePickleKey() throws {
        let bot = try device("@bot:s.org", "BOT")
        let keys = CrossSigning.new()
        try keys.save(bot.crypto, pickleKey: key)
        let loaded = try #require(try CrossSigning.load(bot.crypto, pickleKey: key))
        #expect(loaded.masterPublic == keys.masterPublic && loaded.selfSigningPublic == keys.selfSigningPublic)
        #expect(throws: EncryptionError.wrongPickleKey) { try CrossSigning.load(bot.crypto, pickleKey: PickleKey("other")) }
        // The upload: the self-signing key is signed by the master key, the master key by the device.
        let body = try keys.uploadBody(userID: "@bot:s.org", signedByDevice: bot.machine.signed)
        let selfSigning = try #require(body["self_signing_key"])
        #expect(Ed25519.verify(selfSigning, userID: "@bot:s.org", keyID: keys.masterPublic, publicKey: keys.masterPublic))
        #expect(Ed25519.verify(try #require(body["master_key"]), userID: "@bot:s.org", keyID: "BOT", publicKey: bot.machine.ed25519Key))
    }

    @Test func aWedgedOlmSessionIsReplacedAndTheDevicesNextKeyGetsThrough() throws {
        let bot = try device("@bot:s.org", "BOT"), ana = try device("@ana:s.org", "ANA")
        // The bot opens a session to Ana and sends her its room key; the crash comes before it committed.
        let toAna = try introduce(bot.machine, to: ana.machine)
        _ = try bot.machine.outboundSession(roomID: Self.room, targets: [toAna], rotation: .init())
        let (messages, _) = try bot.machine.roomKeyMessages(roomID: Self.room, targets: [toAna])
        #expect(
            ana.machine.receiveToDevice([
                ["type": "m.room.encrypted", "sender": "@bot:s.org", "content": try #require(messages["@ana:s.org"]?["ANA"])]
            ]).count == 1)
        let restarted = try restarted(bot)
        // Ana answers over the session the bot lost: a normal (type 1) message nobody can read here.
        ana.machine.receiveKeysQuery(["device_keys": ["@bot:s.org": ["BOT": try restarted.machine.deviceKeys()]]], users: ["@bot:s.org"])
        let toBot = try #require(ana.machine.targetDevices(of: ["@bot:s.org"]).first)
        let lost = try shareRoomKey(from: ana.machine, to: restarted.machine, target: toBot)
        #expect(lost["content"]?["ciphertext"]?[restarted.machine.curve25519Key]?["type"] == 1)
        #expect(restarted.machine.receiveToDevice([lost]).isEmpty)
        #expect(restarted.machine.wedgedUsers == ["@ana:s.org"])

        // The repair: a new session, announced with an m.dummy that Ana reads.
        restarted.machine.receiveKeysQuery(["device_keys": ["@ana:s.org": ["ANA": try ana.machine.deviceKeys()]]], users: ["@ana:s.org"])
        let due = restarted.machine.wedgedDevicesToRepair()
        #expect(due.map(\.deviceID) == ["ANA"])
        let upload = try #require(try ana.machine.keysToUpload(oneTimeKeyCount: 0, hasUnusedFallbackKey: nil))
        try ana.machine.keysUploaded(upload)
        let (id, oneTimeKey) = try #require(upload["one_time_keys"]?.object?.first)
        let dummy = try restarted.machine.repairMessages(
            claimed: ["one_time_keys": ["@ana:s.org": ["ANA": .object([id: oneTimeKey])]]], for: due)
        #expect(
            ana.machine.receiveToDevice([
                ["type": "m.room.encrypted", "sender": "@bot:s.org", "content": try #require(dummy["@ana:s.org"]?["ANA"])]
            ]).isEmpty)
        #expect(restarted.machine.wedgedDevicesToRepair().isEmpty, "at most once an hour")

        // Ana's next room key travels over the new session and reaches the bot.
        _ = try ana.machine.outboundSession(roomID: "!next:s.org", targets: [toBot], rotation: .init())
        let (next, _) = try ana.machine.roomKeyMessages(roomID: "!next:s.org", targets: [toBot])
        let event: JSON = ["type": "m.room.encrypted", "sender": "@ana:s.org", "content": try #require(next["@bot:s.org"]?["BOT"])]
        #expect(restarted.machine.receiveToDevice([event]).map(\.roomID) == ["!next:s.org"])
    }

    @Test func anUnreadableMessageIsPointedOutOnceAfterTheGracePeriod() throws {
        let clock = MutableClock(Date(timeIntervalSince1970: 1_000_000))
        let store = try StateStore(path: nil)
        let crypto = try CryptoStore(writer: store.writer)
        let bot = try OlmMachine(userID: "@bot:s.org", deviceID: "BOT", pickleKey: key, store: crypto, logger: logger, now: { clock.now })
        let event = roomEvent("$lost", from: "@ana:s.org", ["algorithm": "m.megolm.v1.aes-sha2", "ciphertext": "x", "session_id": "S"])
        guard case .missingKey(let session) = bot.decrypt(event: event, roomID: Self.room) else {
            Issue.record("no key")
            return
        }
        bot.keepUndecrypted(event, roomID: Self.room, sessionID: session)
        try bot.commit()
        #expect(bot.undecryptedOverdue(grace: 120).isEmpty)
        clock.now += 121
        #expect(bot.undecryptedOverdue(grace: 120).map(\.eventID) == ["$lost"])
        try bot.commit()
        #expect(bot.undecryptedOverdue(grace: 120).isEmpty, "pointed out once")
    }

    /// `/keys/upload`: the device keys once, one-time keys up to half of what the account holds, topped up
    /// from the server's count, and a fallback key replaced once the server says it was used; all signed.
    @Test func oneTimeKeysAreToppedUpAndTheFallbackKeyIsReplacedOnceUsed() throws {
        let bot = try device("@bot:s.org", "BOT")
        func verified(_ keys: JSON?) -> Bool {
            (keys?.object ?? [:]).values.allSatisfy {
                Ed25519.verify($0, userID: "@bot:s.org", keyID: "BOT", publicKey: bot.machine.ed25519Key)
            }
        }
        let target = bot.machine.account.maxOneTimeKeys / 2
        let first = try #require(try bot.machine.keysToUpload(oneTimeKeyCount: nil, hasUnusedFallbackKey: nil))
        #expect(first["device_keys"] != nil)
        #expect(first["one_time_keys"]?.object?.count == target)
        #expect(first["fallback_keys"]?.object?.count == 1)
        #expect(verified(first["one_time_keys"]) && verified(first["fallback_keys"]))
        try bot.machine.keysUploaded(first)
        // The server holds enough keys and an unused fallback key: nothing to upload.
        #expect(try bot.machine.keysToUpload(oneTimeKeyCount: target, hasUnusedFallbackKey: true) == nil)
        // Ten left: topped up to the target, nothing else.
        let topUp = try #require(try bot.machine.keysToUpload(oneTimeKeyCount: 10, hasUnusedFallbackKey: true))
        #expect(topUp["one_time_keys"]?.object?.count == target - 10)
        #expect(topUp["device_keys"] == nil && topUp["fallback_keys"] == nil)
        let earlier = Set((first["one_time_keys"]?.object ?? [:]).keys), later = Set((topUp["one_time_keys"]?.object ?? [:]).keys)
        #expect(earlier.isDisjoint(with: later))
        try bot.machine.keysUploaded(topUp)
        // The fallback key was used: a new one, under a new id.
        let fallback = try #require(try bot.machine.keysToUpload(oneTimeKeyCount: target, hasUnusedFallbackKey: false))
        let newKey = try #require(fallback["fallback_keys"]?.object?.first), oldKey = try #require(first["fallback_keys"]?.object?.first)
        #expect(newKey.key != oldKey.key && newKey.value["key"] != oldKey.value["key"])
        #expect(newKey.value["fallback"] == true && verified(fallback["fallback_keys"]))
        try bot.machine.keysUploaded(fallback)
        // Published, and kept across a restart.
        #expect(try restarted(bot).machine.keysToUpload(oneTimeKeyCount: target, hasUnusedFallbackKey: true) == nil)
    }

    /// Killed after `/keys/upload` succeeded but before `keysUploaded`: the server hands out keys the stored
    /// account must still hold: the restarted device has them, and offers the very same keys again when the
    /// server runs low (an upload the server takes as a repeat).
    @Test func keysGeneratedForAnUploadSurviveACrashBeforeItIsRecorded() throws {
        let bot = try device("@bot:s.org", "BOT")
        try bot.machine.keysUploaded(try #require(try bot.machine.keysToUpload(oneTimeKeyCount: nil, hasUnusedFallbackKey: nil)))
        let target = bot.machine.account.maxOneTimeKeys / 2
        let topUp = try #require(try bot.machine.keysToUpload(oneTimeKeyCount: target - 2, hasUnusedFallbackKey: true))
        // The upload "succeeds" on the server; the bot dies before recording it.
        let restarted = try restarted(bot)
        let uploaded = Set((topUp["one_time_keys"]?.object ?? [:]).keys)
        #expect(uploaded.count == 2)
        let held = try restarted.machine.account.unpublishedOneTimeKeys()
        #expect(Set(held.keys.map { "signed_curve25519:\($0)" }) == uploaded, "the keys the server hands out")
        let again = try #require(try restarted.machine.keysToUpload(oneTimeKeyCount: target - 2, hasUnusedFallbackKey: true))
        #expect(again["one_time_keys"] == topUp["one_time_keys"], "the same keys, under the same ids")
    }

    /// `rotation_period_ms`: a session older than the room's period is replaced before the next message.
    @Test func theRoomSessionRotatesWhenItIsOlderThanTheRoomsPeriod() throws {
        let clock = MutableClock(Date(timeIntervalSince1970: 1_000_000))
        let store = try StateStore(path: nil)
        let bot = try OlmMachine(
            userID: "@bot:s.org", deviceID: "BOT", pickleKey: key, store: try CryptoStore(writer: store.writer), logger: logger,
            now: { clock.now })
        let policy = OlmMachine.RotationPolicy(encryptionContent: ["rotation_period_ms": 60_000])
        let first = try bot.outboundSession(roomID: Self.room, targets: [], rotation: policy).session.sessionID
        clock.now += 59
        #expect(try bot.outboundSession(roomID: Self.room, targets: [], rotation: policy).session.sessionID == first)
        clock.now += 2
        #expect(try bot.outboundSession(roomID: Self.room, targets: [], rotation: policy).session.sessionID != first)
    }

    func sessionID(_ device: Device) throws -> String {
        try #require(try device.crypto.read { db in try String.fetchOne(db, sql: "SELECT session_id FROM crypto_outbound_group") })
    }
}
