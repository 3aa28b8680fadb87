import BotCore
import Foundation

/// Who the bot is, as the translator needs it.
struct BotIdentity: Sendable, Hashable {
    var userID: String
    var displayName: String?
}

/// The adapter's rules for people: who may invite the bot, who facilitates.
public struct MatrixPolicy: Sendable, Hashable {
    /// Power level from which a member counts as a facilitator.
    public var facilitatorPowerLevel: Int
    /// Users who facilitate whatever their power level.
    public var facilitators: Set<String>
    /// Who may invite the bot: user ids (`@ana:example.org`) or servers (`example.org`).
    /// Empty means users of the bot's own server.
    public var inviteAllowList: [String]

    public init(facilitatorPowerLevel: Int = 50, facilitators: Set<String> = [], inviteAllowList: [String] = []) {
        self.facilitatorPowerLevel = facilitatorPowerLevel
        self.facilitators = facilitators
        self.inviteAllowList = inviteAllowList
    }

    /// Whether an invite from `inviter` is accepted.
    public func mayInvite(_ inviter: String, botUserID: String) -> Bool {
        let server = Self.server(of: inviter)
        if inviteAllowList.isEmpty { return server == Self.server(of: botUserID) }
        return inviteAllowList.contains { entry in
            entry.hasPrefix("@") ? entry == inviter : entry.trimmingCharacters(in: CharacterSet(charactersIn: ":")) == server
        }
    }

    static func server(of userID: String) -> String {
        guard let colon = userID.firstIndex(of: ":") else { return "" }
        return String(userID[userID.index(after: colon)...])
    }
}

/// Something a sync response asks the adapter to do besides handing events to the engine.
enum RoomAction: Sendable, Hashable {
    case join(roomID: String, inviter: String)
    case reject(roomID: String, inviter: String)
    /// The bot is the last member left.
    case leaveEmpty(roomID: String)
    /// An encrypted room: tell its members once that the bot cannot read them.
    case encryptionNotice(roomID: String)
}

/// The result of reading one sync response.
struct SyncTranslation: Sendable {
    var events: [IncomingEvent] = []
    var actions: [RoomAction] = []
    /// Events skipped because they were malformed: (room, reason).
    var malformed: [(room: String, reason: String)] = []
}

/// Turns `/sync` responses into engine events. Pure: all it knows comes from the responses and the
/// ``RoomDirectory`` the adapter filled beforehand (power levels; the senders, anchors and threads of
/// replied-to, thread-root and reacted-on events).
struct SyncTranslator: Sendable {
    var bot: BotIdentity
    var policy: MatrixPolicy
    var directory = RoomDirectory()

    /// Where the bot's messages carry their ``OutgoingMessage/anchor`` (not part of the spec).
    static let anchorKey = "org.fabrique.anchor"

    /// The keycap emoji seeded under a question for choice `number` (1️⃣ … 🔟).
    static func reactionKey(for number: Int) -> String? {
        switch number {
        case 1...9: "\(number)\u{FE0F}\u{20E3}"
        case 10: "🔟"
        default: nil
        }
    }

    /// Reads one response. With `initial`, only state is absorbed: timeline events are history from
    /// before the bot's first start and are not answered. `gaps` holds timeline events fetched to fill
    /// a `limited` timeline, oldest first, to put before that room's timeline. `afterJoin` holds, for a
    /// room the bot has just joined (its join filtered out of the timeline, so the timeline may hold
    /// history), the events after that join, fetched by the adapter: they replace that room's timeline.
    mutating func translate(_ sync: JSON, initial: Bool, gaps: [String: [JSON]] = [:], afterJoin: [String: [JSON]] = [:]) -> SyncTranslation
    {
        var result = SyncTranslation()
        let rooms = sync["rooms"]

        for (roomID, room) in (rooms?["join"]?.object ?? [:]).sorted(by: { $0.key < $1.key }) {
            translateJoined(
                roomID: roomID, room: room, initial: initial, gap: gaps[roomID] ?? [], afterJoin: afterJoin[roomID], into: &result)
        }

        for (roomID, room) in (rooms?["invite"]?.object ?? [:]).sorted(by: { $0.key < $1.key }) {
            let states = room["invite_state"]?["events"]?.array ?? []
            guard
                let invite = states.first(where: {
                    $0["type"]?.string == "m.room.member" && $0["state_key"]?.string == bot.userID
                        && $0["content"]?["membership"]?.string == "invite"
                }),
                let inviter = invite["sender"]?.string
            else {
                result.malformed.append((roomID, "invite without the bot's membership event"))
                continue
            }
            if policy.mayInvite(inviter, botUserID: bot.userID) {
                result.actions.append(.join(roomID: roomID, inviter: inviter))
            } else {
                result.actions.append(.reject(roomID: roomID, inviter: inviter))
            }
        }

        for roomID in (rooms?["leave"]?.object ?? [:]).keys.sorted() {
            directory.rooms[roomID] = nil
        }
        return result
    }

    private mutating func translateJoined(
        roomID: String, room: JSON, initial: Bool, gap: [JSON], afterJoin: [JSON]?, into result: inout SyncTranslation
    ) {
        var info = directory.rooms[roomID] ?? RoomInfo()
        if let count = room["summary"]?["m.joined_member_count"]?.int { info.joinedMemberCount = count }
        if let count = room["summary"]?["m.invited_member_count"]?.int { info.invitedMemberCount = count }
        let state = room["state"]?["events"]?.array ?? []
        for event in state { apply(state: event, to: &info) }

        var events: [IncomingEvent] = []
        var sawEncrypted = false
        var joinedNow = afterJoin != nil
        var timeline = gap + (room["timeline"]?["events"]?.array ?? [])
        if let afterJoin {
            // The timeline's state events still describe the room (encryption, power levels); its
            // messages are history.
            for event in timeline where event["state_key"]?.string != nil { apply(state: event, to: &info) }
            timeline = afterJoin
        }
        for event in timeline {
            if event["state_key"]?.string != nil {
                apply(state: event, to: &info)
                if Self.isFreshJoin(event, of: bot.userID) {
                    // Everything before the bot's own join is history it was not there for.
                    events.removeAll()
                    joinedNow = true
                }
                continue
            }
            if event["type"]?.string == "m.room.encrypted", event["sender"]?.string != bot.userID { sawEncrypted = true }
            directory.rooms[roomID] = info
            switch translate(event: event, roomID: roomID) {
            case .event(let e): events.append(e)
            case .ignored: break
            case .malformed(let reason): result.malformed.append((roomID, reason))
            }
        }
        directory.rooms[roomID] = info
        if !initial { result.events += events }
        if info.encrypted, sawEncrypted || joinedNow { result.actions.append(.encryptionNotice(roomID: roomID)) }
        if let count = info.joinedMemberCount, count <= 1 { result.actions.append(.leaveEmpty(roomID: roomID)) }
    }

    /// A user's membership turning into `join` (not a profile change while joined).
    static func isFreshJoin(_ event: JSON, of userID: String) -> Bool {
        event["type"]?.string == "m.room.member" && event["state_key"]?.string == userID
            && event["content"]?["membership"]?.string == "join"
            && event["unsigned"]?["prev_content"]?["membership"]?.string != "join"
    }

    /// The event among `events` where `userID` joins afresh, if any.
    static func freshJoin(of userID: String, in events: [JSON]) -> JSON? {
        events.last { isFreshJoin($0, of: userID) }
    }

    private func apply(state event: JSON, to info: inout RoomInfo) {
        guard let type = event["type"]?.string, let content = event["content"], content.object != nil else { return }
        switch type {
        case "m.room.power_levels":
            info.powerLevels = PowerLevels(content: content)
        case "m.room.create":
            info.creators = RoomCreators(createEvent: event)
        case "m.room.encryption":
            info.encrypted = true
        case "m.room.name":
            let name = content["name"]?.string?.trimmingCharacters(in: .whitespacesAndNewlines)
            info.name = name?.isEmpty == false ? String(name!.prefix(200)) : nil
        case "m.room.member":
            guard let user = event["state_key"]?.string else { return }
            if let name = content["displayname"]?.string, !name.isEmpty {
                info.displayNames[user] = name
            }
            if content["membership"]?.string == "join" {
                info.members?.insert(user)
            } else {
                info.members?.remove(user)
            }
        default:
            break
        }
    }

    /// Records who sent an event and, when it is the bot's own, the anchor and thread its `content` carries.
    /// Anyone can put `org.fabrique.anchor` in their event: it is read from the bot's events only.
    mutating func remember(sender: String, of eventID: String, content: JSON?) {
        guard sender == bot.userID else { return directory.remember(sender: sender, of: eventID) }
        let relation = content?["m.relates_to"]
        let thread = relation?["rel_type"]?.string == "m.thread" ? relation?["event_id"]?.string : nil
        directory.remember(sender: sender, of: eventID, anchor: content?[Self.anchorKey]?.string, threadID: thread)
    }

    /// The events whose sender and anchor the translation of `event` looks up: the target of a rich reply
    /// (not a thread's falling-back one), the root of its thread, the message reacted on. The adapter
    /// fetches those the directory does not know yet.
    static func lookedUpEvents(of event: JSON) -> [String] {
        let relation = event["content"]?["m.relates_to"]
        let targets: [String?]
        switch relation?["rel_type"]?.string {
        case "m.thread":
            let fallingBack = relation?["is_falling_back"]?.bool == true
            targets = [relation?["event_id"]?.string, fallingBack ? nil : relation?["m.in_reply_to"]?["event_id"]?.string]
        case "m.annotation":
            targets = [relation?["event_id"]?.string]
        case "m.replace":
            targets = []
        default:
            targets = [relation?["m.in_reply_to"]?["event_id"]?.string]
        }
        return targets.compactMap { $0 }
    }

    enum Outcome {
        case event(IncomingEvent)
        case ignored
        case malformed(String)
    }

    /// Translates one timeline event that is not a state event.
    mutating func translate(event: JSON, roomID: String) -> Outcome {
        guard event.object != nil else { return .malformed("event is not an object") }
        guard let eventID = event["event_id"]?.string, !eventID.isEmpty else { return .malformed("event without event_id") }
        guard let sender = event["sender"]?.string, !sender.isEmpty else { return .malformed("\(eventID): no sender") }
        guard let type = event["type"]?.string else { return .malformed("\(eventID): no type") }
        remember(sender: sender, of: eventID, content: event["content"])
        if sender == bot.userID { return .ignored }
        let content = event["content"] ?? .object([:])
        let timestamp = event["origin_server_ts"]?.number.map { Date(timeIntervalSince1970: $0 / 1000) } ?? Date()

        switch type {
        case "m.room.message":
            guard content.object != nil, let msgtype = content["msgtype"]?.string else {
                // A redacted message has empty content: nothing to answer.
                return content.object?.isEmpty == true ? .ignored : .malformed("\(eventID): message without msgtype")
            }
            let relation = content["m.relates_to"]
            if msgtype == "m.file", relation?["rel_type"]?.string != "m.replace" {
                return sharedFile(content, roomID: roomID, sender: sender, eventID: eventID, timestamp: timestamp)
            }
            guard msgtype == "m.text" || msgtype == "m.emote" else { return .ignored }  // m.notice: other bots
            if relation?["rel_type"]?.string == "m.replace" {
                guard let original = relation?["event_id"]?.string else { return .malformed("\(eventID): edit without event_id") }
                guard let body = content["m.new_content"]?["body"]?.string else { return .malformed("\(eventID): edit without new body") }
                let message = makeMessage(
                    roomID: roomID, sender: sender, eventID: eventID, timestamp: timestamp, body: body,
                    content: content["m.new_content"] ?? content, relation: nil)
                return .event(.edit(original: original, message: message))
            }
            guard let body = content["body"]?.string else { return .malformed("\(eventID): message without body") }
            return .event(
                .message(
                    makeMessage(
                        roomID: roomID, sender: sender, eventID: eventID, timestamp: timestamp, body: body, content: content,
                        relation: relation)))

        case "m.reaction":
            let relation = content["m.relates_to"]
            guard relation?["rel_type"]?.string == "m.annotation", let target = relation?["event_id"]?.string,
                let key = relation?["key"]?.string
            else { return .malformed("\(eventID): reaction without annotation") }
            // Only a reaction on the bot's own message is for it; what the key means is the engine's call.
            guard directory.senders[target] == bot.userID else { return .ignored }
            var message = makeMessage(
                roomID: roomID, sender: sender, eventID: eventID, timestamp: timestamp, body: key, content: .object([:]),
                relation: nil)
            message.mentionsBot = false
            message.repliesToBot = true
            message.replyToEventID = target
            message.anchor = directory.anchors[target]
            message.threadID = directory.threads[target]
            return .event(.reaction(message))

        case "m.room.redaction":
            guard let redacted = event["redacts"]?.string ?? content["redacts"]?.string else {
                return .malformed("\(eventID): redaction without redacts")
            }
            // Whether the room lets this sender remove others' events; what that allows is the engine's call.
            let info = directory.rooms[roomID]
            let level = info?.creators?.users.contains(sender) == true ? Int.max : info?.powerLevels?.level(of: sender) ?? 0
            let moderator = level >= info?.powerLevels?.redact ?? 50
            return .event(
                .redaction(
                    redacted: redacted, roomID: roomID, senderID: sender, eventID: eventID, timestamp: timestamp, byModerator: moderator))

        default:
            return .ignored
        }
    }

    /// An `m.file` message: the file, for the engine to keep (a facilitator may add it to the knowledge base).
    /// In an encrypted room its `file` object (address, key, hash) travels whole as ``SharedFile/sealed``.
    private func sharedFile(_ content: JSON, roomID: String, sender: String, eventID: String, timestamp: Date) -> Outcome {
        let sealed = content["file"]
        guard let location = content["url"]?.string ?? sealed?["url"]?.string, location.hasPrefix("mxc://") else {
            return .malformed("\(eventID): file without an mxc:// url")
        }
        let body = content["body"]?.string ?? ""
        var name = content["filename"]?.string ?? body
        if name.isEmpty { name = "file" }
        var message = makeMessage(
            roomID: roomID, sender: sender, eventID: eventID, timestamp: timestamp, body: name, content: .object([:]),
            relation: content["m.relates_to"])
        // A file's name never addresses the bot.
        message.mentionsBot = false
        message.file = SharedFile(
            fileName: name, mimeType: content["info"]?["mimetype"]?.string,
            size: content["info"]?["size"]?.number.flatMap { $0 >= 0 && $0 < 1e15 ? Int($0) : nil }, location: location,
            sealed: sealed.map { String(decoding: $0.data(), as: UTF8.self) })
        return .event(.message(message))
    }

    private func makeMessage(
        roomID: String, sender: String, eventID: String, timestamp: Date, body: String, content: JSON, relation: JSON?
    ) -> IncomingMessage {
        var threadID: String?
        var replyTo: String?
        if relation?["rel_type"]?.string == "m.thread" {
            threadID = relation?["event_id"]?.string
            if relation?["is_falling_back"]?.bool != true { replyTo = relation?["m.in_reply_to"]?["event_id"]?.string }
        } else {
            replyTo = relation?["m.in_reply_to"]?["event_id"]?.string
        }
        let text = replyTo != nil ? Self.stripReplyFallback(body) : body
        let info = directory.rooms[roomID]
        let mentioned = (content["m.mentions"]?["user_ids"]?.array ?? []).contains { $0.string == bot.userID }
        let repliesToBot = replyTo.map { directory.senders[$0] == bot.userID } ?? false
        // The bot's message replied to, else the bot's message the thread hangs from (only the bot's
        // events have anchors in the directory).
        let anchor = replyTo.flatMap { directory.anchors[$0] } ?? threadID.flatMap { directory.anchors[$0] }
        let isCreator = info?.creators?.users.contains(sender) ?? false
        let level = isCreator ? Int.max : info?.powerLevels?.level(of: sender) ?? 0
        return IncomingMessage(
            roomID: roomID, senderID: sender, senderName: info?.displayNames[sender] ?? Self.localpart(sender), text: text,
            eventID: eventID, timestamp: timestamp, mentionsBot: mentioned || mentionsBot(in: text), repliesToBot: repliesToBot,
            threadID: threadID, replyToEventID: replyTo, anchor: anchor, roomKind: directory.roomKind(roomID),
            senderIsFacilitator: policy.facilitators.contains(sender) || level >= policy.facilitatorPowerLevel,
            senderIsLocal: Self.server(of: sender) == Self.server(of: bot.userID), roomName: info?.name,
            roomMembers: info?.members.map { members in
                members.filter { $0 != bot.userID }.sorted().map { RoomMember(id: $0, name: info?.displayNames[$0] ?? Self.localpart($0)) }
            })
    }

    /// The server name of a user id (`@ana:example.org` → `example.org`; with its port, if any).
    static func server(of userID: String) -> Substring? {
        userID.firstIndex(of: ":").map { userID[userID.index(after: $0)...] }
    }

    /// Whether `text` names the bot by user id or display name, as a whole word.
    func mentionsBot(in text: String) -> Bool {
        if text.contains(bot.userID) { return true }
        guard let name = bot.displayName, name.count >= 2 else { return false }
        var searchRange = text.startIndex..<text.endIndex
        while let found = text.range(of: name, options: [.caseInsensitive, .diacriticInsensitive], range: searchRange) {
            let before = found.lowerBound == text.startIndex ? nil : text[text.index(before: found.lowerBound)]
            let after = found.upperBound == text.endIndex ? nil : text[found.upperBound]
            let isWord: (Character?) -> Bool = { $0.map { $0.isLetter || $0.isNumber } ?? false }
            if !isWord(before), !isWord(after) { return true }
            searchRange = found.upperBound..<text.endIndex
        }
        return false
    }

    /// Removes the legacy quoted fallback (`> <@ana:x> question` lines and the blank line after them).
    static func stripReplyFallback(_ body: String) -> String {
        guard body.hasPrefix("> ") else { return body }
        var lines = body.split(separator: "\n", omittingEmptySubsequences: false)[...]
        while let first = lines.first, first.hasPrefix(">") { lines = lines.dropFirst() }
        if lines.first?.isEmpty == true { lines = lines.dropFirst() }
        return lines.isEmpty ? body : lines.joined(separator: "\n")
    }

    static func localpart(_ userID: String) -> String {
        guard userID.hasPrefix("@"), let colon = userID.firstIndex(of: ":") else { return userID }
        return String(userID[userID.index(after: userID.startIndex)..<colon])
    }
}
