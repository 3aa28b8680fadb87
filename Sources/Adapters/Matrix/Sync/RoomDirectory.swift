import BotCore
import Foundation

/// A room's `m.room.power_levels`, reduced to what facilitator checks need.
public struct PowerLevels: Sendable, Hashable {
    public var users: [String: Int]
    public var usersDefault: Int

    /// The level needed to remove other people's events (`redact`, 50 when absent).
    public var redact: Int

    public init(users: [String: Int] = [:], usersDefault: Int = 0, redact: Int = 50) {
        self.users = users
        self.usersDefault = usersDefault
        self.redact = redact
    }

    /// Reads the event content; mistyped entries are ignored.
    init(content: JSON) {
        var users: [String: Int] = [:]
        for (user, level) in content["users"]?.object ?? [:] {
            if let n = level.int { users[user] = n } else if let s = level.string, let n = Int(s) { users[user] = n }
        }
        self.init(users: users, usersDefault: content["users_default"]?.int ?? 0, redact: content["redact"]?.int ?? 50)
    }

    public func level(of user: String) -> Int { users[user] ?? usersDefault }
}

/// The room's creators, who outrank every power level from room version 12 on (MSC4289): Synapse then
/// leaves them out of `m.room.power_levels`. Empty for older room versions, where the levels say it all.
struct RoomCreators: Sendable, Hashable {
    var users: Set<String>

    /// Reads a whole `m.room.create` event (its sender is a creator).
    init(createEvent event: JSON) {
        let content = event["content"]
        let version = content?["room_version"]?.string ?? "1"
        guard Self.creatorsArePrivileged(version), let sender = event["sender"]?.string else {
            users = []
            return
        }
        users = Set([sender] + (content?["additional_creators"]?.array ?? []).compactMap(\.string))
    }

    /// Versions 12 and later, and the unstable "hydra" versions that introduced the rule.
    static func creatorsArePrivileged(_ version: String) -> Bool {
        if let number = Int(version) { return number >= 12 }
        return version.contains("hydra")
    }
}

/// What the adapter knows about one joined room, kept up to date from sync state and timeline events.
struct RoomInfo: Sendable {
    var powerLevels: PowerLevels?
    /// Nil until the room's `m.room.create` event was seen.
    var creators: RoomCreators?
    var joinedMemberCount: Int?
    /// People invited who have not joined yet (`m.invited_member_count`); nil until a summary said.
    var invitedMemberCount: Int?
    var encrypted = false
    var displayNames: [String: String] = [:]
    /// Who has joined, once the adapter read the room's `joined_members` (nil before), kept up to date from
    /// membership events: what a message's ``IncomingMessage/roomMembers`` lists (without the bot).
    var members: Set<String>?
    /// The room's `m.room.name`, when it has one.
    var name: String?
}

/// Everything the translator remembers between sync responses.
struct RoomDirectory: Sendable {
    var rooms: [String: RoomInfo] = [:]
    /// Event id → sender, for events a message may reply to (the bot's own messages among them).
    var senders: [String: String] = [:]
    /// Event id → ``OutgoingMessage/anchor``, for the bot's own messages that carried one.
    var anchors: [String: String] = [:]
    /// Event id → thread root, for the bot's own messages said in a thread: a reaction on one belongs there.
    var threads: [String: String] = [:]

    /// Records who sent `eventID` and, for the bot's own messages, their anchor and thread. The caller
    /// passes an anchor only from an event the bot sent: anyone can put `org.fabrique.anchor` in theirs.
    mutating func remember(sender: String, of eventID: String, anchor: String? = nil, threadID: String? = nil) {
        // One bound for the three maps: an anchor or thread is only ever stored with its sender.
        if senders.count > 20_000 {
            senders.removeAll(keepingCapacity: true)
            anchors.removeAll(keepingCapacity: true)
            threads.removeAll(keepingCapacity: true)
        }
        senders[eventID] = sender
        anchors[eventID] = anchor
        threads[eventID] = threadID
    }

    /// A direct room is one where the bot and exactly one person are, nobody else invited: what
    /// the membership says, never what an invite's `is_direct` or anyone's `m.direct` claims (a member
    /// could otherwise make a room of four "direct" and change its language). Unknown counts: a group.
    func roomKind(_ roomID: String) -> RoomKind {
        let info = rooms[roomID]
        return info?.joinedMemberCount == 2 && (info?.invitedMemberCount ?? 0) == 0 ? .direct : .group
    }
}
