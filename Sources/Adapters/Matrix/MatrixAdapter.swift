import BotCore
import Foundation
import Logging

/// The Matrix transport: a `/sync` loop that turns room events into ``InboundBatch``es, and idempotent
/// sends for the engine's replies.
///
/// The adapter only translates. It keeps no state of its own that matters across a crash except what
/// it stores through ``StateStore`` settings (the access token and device id after a password login,
/// whether the encryption notice was said) and, with a pickle key, its encryption keys and sessions in
/// tables of their own (``CryptoStore``): encrypted events are decrypted before translation and replies
/// encrypted after it (`Crypto/MatrixAdapter+Encryption.swift`), so the engine only sees plain messages. The `since` token travels with each batch for the engine
/// to commit, and with it what the response changed in the encryption state (``InboundBatch/withCursor``). A question's ``OutgoingMessage/anchor`` travels in its event (`org.fabrique.anchor`), so a
/// reply or reaction to it after a restart still finds it: the adapter fetches the event it points to.
public actor MatrixAdapter: ChatAdapter {
    public let configuration: MatrixConfiguration
    let store: StateStore
    let http: any HTTPClient
    let environment: RetryEnvironment
    let logger: Logger

    private(set) var client: MatrixClient
    private var translator: SyncTranslator?
    private var connectedIdentity: MatrixClient.Identity?
    private var filterID: String?
    private var attemptedInvites: Set<String> = []
    /// Rooms where the bot shows itself typing, since when. The homeserver drops a typing notice after its
    /// timeout (``MatrixConfiguration/typingTimeout``); an entry older than that no longer stands, so a slow
    /// command whose turn produced no reply does not keep the next ones from showing it.
    private var typingRooms: [String: ContinuousClock.Instant] = [:]
    private var typingChain: Task<Void, Never>?
    private var pendingReceipts: [String: String] = [:]
    private var receiptTask: Task<Void, Never>?
    private var lastCursorYield = ContinuousClock.now
    /// Keys and what is known of encrypted rooms (see `MatrixAdapter+Encryption.swift`).
    var encryption = EncryptionState()
    /// Held by the sync loop from a response's encryption changes until the runner has handled them
    /// (see `MatrixAdapter+Encryption.swift`).
    let cryptoGate = CryptoLock()
    /// The largest upload the homeserver takes: nil until asked, then what it said (nil inside: no limit
    /// stated, or the question failed).
    var uploadLimit: Int??

    static let eventTypes = [
        "m.room.message", "m.reaction", "m.room.redaction", "m.room.encrypted", "m.room.member",
        "m.room.power_levels", "m.room.encryption", "m.room.create", "m.room.name",
    ]

    public init(
        configuration: MatrixConfiguration, store: StateStore, http: any HTTPClient = CurlHTTPClient(),
        environment: RetryEnvironment = .live, logger: Logger
    ) {
        self.configuration = configuration
        self.store = store
        self.http = http
        self.environment = environment
        self.logger = logger
        client = MatrixClient(
            homeserver: configuration.homeserver, token: configuration.accessToken, http: http, environment: environment,
            logger: logger, requestTimeout: configuration.requestTimeout)
    }

    // MARK: Connecting

    /// Makes sure the adapter holds a working token: the configured one, else the stored one, else a
    /// password login whose token and device id are stored for the next start.
    /// - Parameter patiently: wait out an unreachable or failing homeserver (a service starting before
    ///   its homeserver) instead of failing after a few quick tries (`--check`).
    /// - Returns: who the homeserver says the bot is.
    /// - Throws: ``MatrixAdapterError``.
    @discardableResult
    public func connect(patiently: Bool = true) async throws -> MatrixClient.Identity {
        if let connectedIdentity { return connectedIdentity }
        let policy: RetryPolicy = patiently ? .forever : .delivery
        let owner = "\(configuration.homeserver.absoluteString) \(configuration.userID ?? "")"
        var identity: MatrixClient.Identity?
        if configuration.accessToken != nil {
            identity = try await whoami(policy)
        } else if let stored = try store.setting("matrix.access_token"), try store.setting("matrix.token_owner") == owner {
            client = client.with(token: AccessToken(stored))
            do {
                identity = try await whoami(policy)
            } catch MatrixAdapterError.unknownToken where configuration.password != nil {
                logger.notice("the stored access token was refused; logging in again")
            }
        }
        if identity == nil {
            guard let user = configuration.userID, let password = configuration.password else {
                throw MatrixAdapterError.noCredentials
            }
            let login: MatrixClient.Login
            do {
                login = try await client.login(
                    user: user, password: password, deviceID: try store.setting("matrix.device_id"), policy: policy)
            } catch let error as MatrixError {
                throw MatrixAdapterError.loginFailed(error.errcode ?? error.description)
            }
            client = client.with(token: login.token)
            try store.setSetting("matrix.access_token", login.token.value)
            try store.setSetting("matrix.device_id", login.deviceID)
            try store.setSetting("matrix.token_owner", owner)
            logger.info("logged in with a password", metadata: ["user": "\(login.userID)", "device": "\(login.deviceID ?? "?")"])
            identity = try await whoami(policy)
        }
        guard let identity else { throw MatrixAdapterError.noCredentials }
        let displayName = try? await client.displayName(userID: identity.userID)
        translator = SyncTranslator(bot: BotIdentity(userID: identity.userID, displayName: displayName), policy: configuration.policy)
        try await startEncryption(identity)
        connectedIdentity = identity
        return identity
    }

    private func whoami(_ policy: RetryPolicy) async throws -> MatrixClient.Identity {
        do {
            return try await client.whoami(policy: policy)
        } catch let error as MatrixError {
            throw error.isUnknownToken ? MatrixAdapterError.unknownToken : MatrixAdapterError.homeserver(error)
        }
    }

    /// The server-side filter: only the event types the bot reads, not its own echoes, members
    /// lazy-loaded. Without the echoes, each reply costs one sync wake-up instead of two.
    static func filter(timelineLimit: Int, botUserID: String) -> JSON {
        [
            "presence": ["types": []],
            "account_data": ["types": ["m.direct"]],
            "room": [
                "timeline": timelineFilter(botUserID: botUserID, limit: timelineLimit),
                "state": ["types": eventTypeList, "lazy_load_members": true],
                "ephemeral": ["types": []],
                "account_data": ["types": []],
            ],
        ]
    }

    static let eventTypeList = JSON.array(eventTypes.map(JSON.string))

    /// The room event filter of sync timelines (with their `limit`) and gap fills.
    static func timelineFilter(botUserID: String, limit: Int? = nil) -> JSON {
        var filter: [String: JSON] = ["types": eventTypeList, "not_senders": [.string(botUserID)]]
        if let limit { filter["limit"] = .number(Double(limit)) }
        return .object(filter)
    }

    // MARK: Inbound

    public nonisolated func inbound() -> AsyncThrowingStream<InboundBatch, any Error> {
        AsyncThrowingStream { continuation in
            let task = Self.transportTask(for: http) {
                do {
                    try await self.syncLoop(continuation)
                    continuation.finish()
                } catch is CancellationError {
                    continuation.finish()
                } catch let error as MatrixError where error.isUnknownToken {
                    continuation.finish(throwing: MatrixAdapterError.unknownToken)
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    private func syncLoop(_ continuation: AsyncThrowingStream<InboundBatch, any Error>.Continuation) async throws {
        try await connect()
        guard let userID = translator?.bot.userID else { return }
        if filterID == nil {
            filterID = try await client.createFilter(userID: userID, filter: Self.filter(timelineLimit: 50, botUserID: userID))
        }
        var since = try store.cursor(named: configuration.cursorName)
        if since == nil {
            // First start ever: learn the rooms, answer invites, but leave history unanswered.
            var response = try await client.sync(since: nil, filter: filterID, timeout: 0)
            guard let next = response["next_batch"]?.string else { throw MatrixError.malformedResponse("sync without next_batch") }
            try await enterEncryption()
            var none: [String: [JSON]] = [:], noneJoined: [String: [JSON]] = [:]
            await receiveEncryption(&response, gaps: &none, afterJoin: &noneJoined, initial: true)
            let translation = translator!.translate(response, initial: true)
            report(translation)
            await perform(translation.actions)
            logger.info("first start: history skipped", metadata: ["rooms": "\(translator!.directory.rooms.count)"])
            yield(
                InboundBatch(
                    events: [], cursor: AdapterCursor(name: configuration.cursorName, value: next), withCursor: encryptionWrites(next),
                    handled: gateRelease()), to: continuation)
            try await encryptionHousekeeping(response, initial: true)
            since = next
        } else if let since {
            await catchUpDeviceLists(to: since)
        }
        while !Task.isCancelled {
            var response = try await client.sync(since: since, filter: filterID, timeout: configuration.syncTimeoutMS)
            guard let next = response["next_batch"]?.string else { throw MatrixError.malformedResponse("sync without next_batch") }
            var joined = try await eventsAfterFreshJoins(response, since: since, until: next)
            var gaps = try await fillGaps(response, since: since, skipping: Set(joined.keys))
            // From here to the engine's commit of `next`, the encryption state changes only through this response.
            try await enterEncryption()
            await receiveEncryption(&response, gaps: &gaps, afterJoin: &joined, initial: false)
            await prepare(response, gaps: gaps, afterJoin: joined)
            let translation = translator!.translate(response, initial: false, gaps: gaps, afterJoin: joined)
            report(translation)
            startTyping(for: translation.events)
            // A response with nothing to handle (most often the echo of the bot's own reply) only moves
            // the cursor; storing that costs a commit, so it is stored at most every 30 s. After a crash
            // the few responses since are read again, and hold nothing to handle. A response that changed
            // the encryption state (a room key, a message decrypted) is stored with those changes, at once.
            let writes = encryptionWrites(next)
            let now = ContinuousClock.now
            if !translation.events.isEmpty || writes != nil || now - lastCursorYield >= .seconds(30) {
                yield(
                    InboundBatch(
                        events: translation.events, cursor: AdapterCursor(name: configuration.cursorName, value: next), withCursor: writes,
                        handled: gateRelease()), to: continuation)
                lastCursorYield = now
            } else {
                leaveEncryption()
            }
            await perform(translation.actions)
            try await encryptionHousekeeping(response, initial: false)
            since = next
        }
    }

    /// Hands `batch` to the runner; when the stream is gone (the runner stopped), it will never be handled.
    private func yield(_ batch: InboundBatch, to continuation: AsyncThrowingStream<InboundBatch, any Error>.Continuation) {
        if case .terminated = continuation.yield(batch) { batch.handled?() }
    }

    private func report(_ translation: SyncTranslation) {
        for (room, reason) in translation.malformed {
            logger.warning("skipped a malformed event", metadata: ["room": "\(room)", "reason": "\(reason)"])
        }
    }

    /// The bot's own events are filtered out of sync timelines (its echoes would wake the sync loop
    /// once more per reply), so in a room it just joined, the timeline no longer shows where the join
    /// falls among the room's history; the join shows in `state` instead. For each room whose `state`
    /// shows a fresh join, this reads the room from `since` up to `until` (the response's `next_batch`):
    /// if the join is there, the events after it, and only those, are for the bot. If not, the join is
    /// older (the homeserver sent the membership again) and the room is read as usual.
    private func eventsAfterFreshJoins(_ response: JSON, since: String?, until: String) async throws -> [String: [JSON]] {
        guard let since, let userID = translator?.bot.userID else { return [:] }
        var after: [String: [JSON]] = [:]
        for (roomID, room) in response["rooms"]?["join"]?.object ?? [:] {
            guard let join = SyncTranslator.freshJoin(of: userID, in: room["state"]?["events"]?.array ?? []),
                let joinID = join["event_id"]?.string
            else { continue }
            // The bot's own events included: the join is one of them.
            let events = try await client.messages(roomID: roomID, .forwards, from: since, to: until, filter: ["types": Self.eventTypeList])
            guard let position = events.firstIndex(where: { $0["event_id"]?.string == joinID }) else { continue }
            after[roomID] = events[(position + 1)...].filter { $0["sender"]?.string != userID }
        }
        return after
    }

    /// Fetches what a `limited` timeline left out since `since`, so nothing said while the bot was
    /// away is missed. Rooms the bot just joined (`skipping`) are not filled: their history is not for it.
    private func fillGaps(_ response: JSON, since: String?, skipping: Set<String>) async throws -> [String: [JSON]] {
        guard let since, let userID = translator?.bot.userID else { return [:] }
        var gaps: [String: [JSON]] = [:]
        for (roomID, room) in response["rooms"]?["join"]?.object ?? [:] where !skipping.contains(roomID) {
            let timeline = room["timeline"]
            guard timeline?["limited"]?.bool == true, let from = timeline?["prev_batch"]?.string else { continue }
            if SyncTranslator.freshJoin(of: userID, in: timeline?["events"]?.array ?? []) != nil { continue }
            let older = try await client.messages(
                roomID: roomID, .backwards, from: from, to: since, filter: Self.timelineFilter(botUserID: userID))
            logger.info("filled a gap in a room's timeline", metadata: ["room": "\(roomID)", "events": "\(older.count)"])
            gaps[roomID] = older.reversed()
        }
        return gaps
    }

    /// Loads what the translator needs and the sync response may not carry: the power levels and size
    /// of rooms seen for the first time since start; the sender (and, for the bot's own, the anchor and
    /// thread) of replied-to events, thread roots and reacted-on events.
    private func prepare(_ response: JSON, gaps: [String: [JSON]], afterJoin: [String: [JSON]]) async {
        guard let userID = translator?.bot.userID else { return }
        for (roomID, room) in response["rooms"]?["join"]?.object ?? [:] {
            // The events the translator will read (see `SyncTranslator.translate`): a fresh join's history is not.
            let timeline = afterJoin[roomID] ?? (gaps[roomID] ?? []) + (room["timeline"]?["events"]?.array ?? [])
            let fromOthers = timeline.filter { $0["state_key"] == nil && $0["sender"]?.string != userID }
            guard !fromOthers.isEmpty else { continue }
            // Fetch into locals, then write back field by field: other work may change the directory
            // while this waits for the homeserver.
            let known = translator?.directory.rooms[roomID]
            let stateTypes = Set((room["state"]?["events"]?.array ?? []).compactMap { $0["type"]?.string })
            if known?.powerLevels == nil, !stateTypes.contains("m.room.power_levels"),
                let content = try? await client.state(roomID: roomID, type: "m.room.power_levels")
            {
                translator?.directory.rooms[roomID, default: RoomInfo()].powerLevels = PowerLevels(content: content)
            }
            if known?.creators == nil, !stateTypes.contains("m.room.create"),
                let create = try? await client.fullState(roomID: roomID).first(where: { $0["type"]?.string == "m.room.create" })
            {
                translator?.directory.rooms[roomID, default: RoomInfo()].creators = RoomCreators(createEvent: create)
            }
            // Who is in the room, read once per room and start (membership events keep it up to date): the
            // engine's `!send` reaches them. With members lazy-loaded, a sync never lists them all.
            if known?.members == nil, let members = try? await client.joinedMembers(roomID: roomID) {
                translator?.directory.rooms[roomID, default: RoomInfo()].members = Set(members.keys)
                if room["summary"]?["m.joined_member_count"] == nil {
                    translator?.directory.rooms[roomID, default: RoomInfo()].joinedMemberCount = members.count
                }
                for case (let user, let name?) in members {
                    translator?.directory.rooms[roomID, default: RoomInfo()].displayNames[user] = name
                }
            }
            let inBatch = Set(timeline.compactMap { $0["event_id"]?.string })
            for event in fromOthers {
                for target in SyncTranslator.lookedUpEvents(of: event)
                where !inBatch.contains(target) && translator?.directory.senders[target] == nil {
                    guard let fetched = try? await client.event(roomID: roomID, eventID: target),
                        case let original = decrypted(fetched, roomID: roomID, keep: false),
                        let sender = original["sender"]?.string
                    else { continue }
                    translator?.remember(sender: sender, of: target, content: original["content"])
                }
            }
        }
    }

    private func perform(_ actions: [RoomAction]) async {
        for action in actions {
            do {
                switch action {
                case .join(let roomID, let inviter):
                    // An invite stays in every sync until answered: answer it once (again if that failed).
                    guard attemptedInvites.insert(roomID).inserted else { continue }
                    do { try await client.join(roomID: roomID) } catch {
                        attemptedInvites.remove(roomID)
                        throw error
                    }
                    logger.info("joined a room", metadata: ["room": "\(roomID)", "inviter": "\(inviter)"])
                case .reject(let roomID, let inviter):
                    guard attemptedInvites.insert(roomID).inserted else { continue }
                    do { try await client.leave(roomID: roomID, reason: configuration.declineReason) } catch {
                        attemptedInvites.remove(roomID)
                        throw error
                    }
                    logger.notice("declined an invite", metadata: ["room": "\(roomID)", "inviter": "\(inviter)"])
                case .leaveEmpty(let roomID):
                    try await client.leave(roomID: roomID, reason: nil)
                    translator?.directory.rooms[roomID] = nil
                    logger.info("left a room where the bot was alone", metadata: ["room": "\(roomID)"])
                case .encryptionNotice(let roomID):
                    // A bot with keys reads encrypted rooms.
                    guard encryption.machine == nil else { continue }
                    let key = "matrix.e2ee-notice:\(roomID)"
                    guard try store.setting(key) == nil else { continue }
                    let content: JSON = [
                        "msgtype": "m.notice", "body": .string(configuration.encryptionNotice), "m.mentions": [:],
                    ]
                    _ = try await client.send(
                        roomID: roomID, type: "m.room.message", txnID: TransactionID.make(for: key), content: content)
                    try store.setSetting(key, "1")
                    logger.notice("told an encrypted room that the bot cannot read it", metadata: ["room": "\(roomID)"])
                }
            } catch {
                logger.warning("room action failed", metadata: ["action": "\(action)", "error": "\(error)"])
            }
        }
    }

    // MARK: Courtesy

    private func startTyping(for events: [IncomingEvent]) {
        guard let userID = translator?.bot.userID else { return }
        for case .message(let message) in events {
            let text = message.text.trimmingCharacters(in: .whitespaces)
            guard text.hasPrefix(configuration.commandPrefix) else { continue }
            let command = text.dropFirst(configuration.commandPrefix.count).prefix { !$0.isWhitespace }.lowercased()
            let now = ContinuousClock.now
            guard configuration.slowCommands.contains(command),
                typingRooms[message.roomID].map({ now - $0 >= configuration.typingTimeout }) ?? true
            else { continue }
            typingRooms[message.roomID] = now
            sendTyping(true, in: message.roomID, userID: userID)
        }
    }

    private func stopTyping(in roomID: String) {
        guard let userID = translator?.bot.userID, typingRooms.removeValue(forKey: roomID) != nil else { return }
        sendTyping(false, in: roomID, userID: userID)
    }

    /// Typing notices go out in the order they were decided, without holding up the reply: a "stopped"
    /// overtaking its "started" would leave the bot typing until the homeserver's timeout.
    private func sendTyping(_ typing: Bool, in roomID: String, userID: String) {
        let client = client, previous = typingChain
        let timeoutMS = Int(configuration.typingTimeout / .milliseconds(1))
        typingChain = Task {
            await previous?.value
            try? await client.typing(roomID: roomID, userID: userID, typing: typing, timeoutMS: timeoutMS)
        }
    }

    /// Sends a read receipt for the latest handled event of each room, half a second later: a burst
    /// costs one receipt per room, and the receipt never competes with the reply for the homeserver.
    public func acknowledge(_ event: IncomingEvent) async {
        guard case .message = event else { return }
        pendingReceipts[event.roomID] = event.eventID
        guard receiptTask == nil else { return }
        let sleep = environment.sleep
        receiptTask = Task {
            try? await sleep(.milliseconds(500))
            await self.flushReceipts()
        }
    }

    private func flushReceipts() async {
        while let (roomID, eventID) = pendingReceipts.first {
            pendingReceipts[roomID] = nil
            do {
                try await client.receipt(roomID: roomID, eventID: eventID)
            } catch {
                logger.debug("read receipt failed", metadata: ["room": "\(roomID)", "error": "\(error)"])
            }
        }
        receiptTask = nil
    }

    // MARK: Outbound

    /// The event content for `message`: notice or text, HTML from the Markdown, thread and reply
    /// relations, explicit mentions, and its anchor.
    static func content(for message: OutgoingMessage, roomKind: RoomKind) -> JSON {
        var content: [String: JSON] = [
            "msgtype": message.style == .notice ? "m.notice" : "m.text",
            "body": .string(message.plain),
            "format": "org.matrix.custom.html",
            "formatted_body": .string(MarkdownHTML.render(message.markdown)),
            "m.mentions": ["user_ids": .array(message.mentions.map(JSON.string))],
        ]
        // Not part of the spec: lets tools (and the integration tests) tell a question from a statement.
        if !message.choices.isEmpty { content["org.fabrique.choices"] = .number(Double(message.choices.count)) }
        // Read back from the bot's own event only (see `SyncTranslator.remember`), so an answer to it after
        // a restart still lands on its question.
        if let anchor = message.anchor { content[SyncTranslator.anchorKey] = .string(anchor) }
        if let relation = relation(for: message, roomKind: roomKind) { content["m.relates_to"] = relation }
        return .object(content)
    }

    /// A message's thread and reply relation (`m.relates_to`), if any.
    static func relation(for message: OutgoingMessage, roomKind: RoomKind) -> JSON? {
        if let thread = message.threadID {
            var relation: [String: JSON] = ["rel_type": "m.thread", "event_id": .string(thread)]
            if let reply = message.replyToEventID, reply != thread {
                relation["is_falling_back"] = false
                relation["m.in_reply_to"] = ["event_id": .string(reply)]
            } else {
                relation["is_falling_back"] = true
                relation["m.in_reply_to"] = ["event_id": .string(message.replyToEventID ?? thread)]
            }
            return .object(relation)
        } else if let reply = message.replyToEventID, roomKind == .group {
            return ["m.in_reply_to": ["event_id": .string(reply)]]
        }
        return nil
    }

    public func deliver(_ message: OutgoingMessage) async throws {
        if translator == nil {
            do { try await connect(patiently: false) } catch let error as MatrixAdapterError {
                if case .homeserver(let inner) = error, inner.isTransient { throw DeliveryError.transient(error.description) }
                throw DeliveryError.fatal(error.description)
            }
        }
        let roomKind = translator?.directory.roomKind(message.roomID) ?? .group
        let eventID: String
        do {
            var content = Self.content(for: message, roomKind: roomKind)
            if let file = message.attachment {
                // Uploaded again when a resend follows a crash: the homeserver keeps one more copy, and the
                // event itself is still sent once (same transaction id). In an encrypted room the file is
                // uploaded encrypted, its key inside the (Megolm-encrypted) event.
                let reference = try await upload(file, encrypted: try await isEncryptedForSending(message.roomID))
                content = MediaContent.content(for: message, file: file, at: reference, roomKind: roomKind)
            }
            eventID = try await sendEvent(
                roomID: message.roomID, type: "m.room.message", txnID: TransactionID.make(for: message.id), content: content)
        } catch let error as MatrixError {
            let failure = Self.deliveryError(error)
            // A reply dropped for good ends the typing its command started.
            if case .permanent = failure { stopTyping(in: message.roomID) }
            throw failure
        } catch is CancellationError {
            throw DeliveryError.transient("cancelled")
        } catch let error as DeliveryError {
            // The upload's own verdict (a file over the server's limit).
            throw error
        } catch {
            // Encryption or its store failed: the reply stays in the outbox for a later try.
            throw DeliveryError.transient("\(error)")
        }
        // Read first: passing `translator?.bot.userID` into a mutation of `translator` overlaps accesses.
        if let botID = translator?.bot.userID {
            translator?.directory.remember(sender: botID, of: eventID, anchor: message.anchor, threadID: message.threadID)
        }
        stopTyping(in: message.roomID)
        if message.offersReactions, configuration.offerReactions, !message.choices.isEmpty {
            await offerReactions(on: eventID, of: message)
        }
    }

    /// Seeds 1️⃣ 2️⃣ … under a question. Best effort: a failure costs only the shortcut.
    private func offerReactions(on eventID: String, of message: OutgoingMessage) async {
        for number in 1...min(message.choices.count, 10) {
            guard let key = SyncTranslator.reactionKey(for: number) else { continue }
            let content: JSON = ["m.relates_to": ["rel_type": "m.annotation", "event_id": .string(eventID), "key": .string(key)]]
            do {
                _ = try await sendEvent(
                    roomID: message.roomID, type: "m.reaction", txnID: TransactionID.make(for: message.id, suffix: "/r\(number)"),
                    content: content, policy: .once)
            } catch {
                logger.debug("could not offer a reaction", metadata: ["room": "\(message.roomID)", "error": "\(error)"])
                return
            }
        }
    }

    static func deliveryError(_ error: MatrixError) -> DeliveryError {
        if error.isUnknownToken { return .fatal(MatrixAdapterError.unknownToken.description) }
        if error.isTransient { return .transient(error.description) }
        return .permanent(error.description)
    }
}

extension MatrixAdapter {
    /// What `fabrique matrix --check` prints: the server's versions, who the bot is, its rooms.
    public func checkReport() async throws -> String {
        let versions = try await MatrixClient(
            homeserver: configuration.homeserver, token: nil, http: http, environment: environment, logger: logger
        )
        .versions()
        let identity = try await connect(patiently: false)
        let rooms = try await client.call("GET", ["joined_rooms"], policy: .delivery)["joined_rooms"]?.array?.count ?? 0
        let name = try? await client.displayName(userID: identity.userID)
        return """
            homeserver: \(configuration.homeserver.absoluteString) (spec versions \(versions.suffix(3).joined(separator: ", ")))
            user: \(identity.userID)\(name.map { " (\($0))" } ?? "")
            device: \(identity.deviceID ?? "unknown")
            \(encryptionReport())
            joined rooms: \(rooms)
            ok
            """
    }
}
