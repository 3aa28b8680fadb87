import Foundation

/// Where a message was said: a group room, or a direct (one-to-one) room.
public enum RoomKind: String, Sendable, Hashable {
    case group
    case direct
}

/// A chat message as every adapter hands it to the engine.
///
/// Adapters fill in what their transport knows; the engine never asks which transport it serves.
public struct IncomingMessage: Sendable, Hashable {
    /// Transport-level room id (`!abc:server` on Matrix, `room-1` in the terminal).
    public var roomID: String
    /// Transport-level user id of the sender (`@alice:server`, `alice`).
    public var senderID: String
    /// What to call the sender in replies.
    public var senderName: String
    /// The plain text body.
    public var text: String
    /// Stable, unique id of this event: the key of idempotence.
    public var eventID: String
    public var timestamp: Date
    /// The bot was mentioned (by id, display name, or `m.mentions`).
    public var mentionsBot: Bool
    /// This message replies to one of the bot's own messages.
    public var repliesToBot: Bool
    /// Thread root, when the message was said in a thread.
    public var threadID: String?
    /// The event this one replies to, if any.
    public var replyToEventID: String?
    /// The ``OutgoingMessage/anchor`` of the bot's message this one answers: a rich reply to it, a reply
    /// in the thread it starts, or (for ``IncomingEvent/reaction(_:)``) a reaction on it. Adapters only
    /// hand back what the engine gave, and only from the bot's own messages.
    public var anchor: String?
    public var roomKind: RoomKind
    /// The adapter decided that this sender may steer facilitated dialogues in this room.
    public var senderIsFacilitator: Bool
    /// The room's name as people see it (Matrix's `m.room.name`), when it has one: reports show it
    /// instead of the room's id.
    public var roomName: String?
    /// The sender's account lives on the bot's own server (Matrix: the same server name; the terminal:
    /// always). Who may create a territory depends on it (``EngineConfiguration/territoryCreators``).
    public var senderIsLocal: Bool
    /// Who is in the room now, the bot left out, as the transport sees them; nil when the adapter does not
    /// know (``Turn``'s `!send` then says so rather than guess). Matrix: the room's joined members; the
    /// terminal: the bench's `members` and everyone who spoke there.
    public var roomMembers: [RoomMember]?
    /// The file this message shares (Matrix `m.file`), if any: its ``text`` is then the file's name.
    public var file: SharedFile?

    public init(
        roomID: String, senderID: String, senderName: String? = nil, text: String, eventID: String,
        timestamp: Date, mentionsBot: Bool = false, repliesToBot: Bool = false, threadID: String? = nil,
        replyToEventID: String? = nil, anchor: String? = nil, roomKind: RoomKind = .group, senderIsFacilitator: Bool = false,
        senderIsLocal: Bool = true, roomName: String? = nil, roomMembers: [RoomMember]? = nil, file: SharedFile? = nil
    ) {
        self.roomID = roomID
        self.senderID = senderID
        self.senderName = senderName ?? senderID
        self.text = text
        self.eventID = eventID
        self.timestamp = timestamp
        self.mentionsBot = mentionsBot
        self.repliesToBot = repliesToBot
        self.threadID = threadID
        self.replyToEventID = replyToEventID
        self.anchor = anchor
        self.roomKind = roomKind
        self.senderIsFacilitator = senderIsFacilitator
        self.roomName = roomName
        self.senderIsLocal = senderIsLocal
        self.roomMembers = roomMembers
        self.file = file
    }
}

/// A file someone shared in a room, as its adapter describes it: enough for the engine to decide what to
/// do with it and for the adapter to fetch it later (``ChatAdapter/fetch(_:limit:)``). Nothing in it is
/// read by the engine but the name, the declared type and size.
public struct SharedFile: Sendable, Hashable {
    /// The name it was shared under (`plan.pdf`).
    public var fileName: String
    /// The type its sender's client declared, if any (`application/pdf`); the content decides in the end.
    public var mimeType: String?
    /// The size its sender's client declared, in bytes.
    public var size: Int?
    /// Where the adapter finds the bytes (Matrix: the `mxc://` address; the terminal: a path). Opaque.
    public var location: String
    /// What the adapter needs to decrypt them (Matrix: the `EncryptedFile` object of an encrypted room, as
    /// JSON), nil when the file is not encrypted. Opaque, and secret: it holds the file's key.
    public var sealed: String?

    public init(fileName: String, mimeType: String? = nil, size: Int? = nil, location: String, sealed: String? = nil) {
        self.fileName = fileName
        self.mimeType = mimeType
        self.size = size
        self.location = location
        self.sealed = sealed
    }
}

/// A person in a room, as an adapter lists them in ``IncomingMessage/roomMembers``.
public struct RoomMember: Sendable, Hashable {
    /// Transport-level user id (`@bob:server`, `bob`).
    public var id: String
    /// What to call them.
    public var name: String

    public init(id: String, name: String? = nil) {
        self.id = id
        self.name = name ?? id
    }
}

/// Everything an adapter can report. Each case carries its own stable `eventID`.
public enum IncomingEvent: Sendable, Hashable {
    /// A new text message.
    case message(IncomingMessage)
    /// `original` was edited; `message` carries the new text and the edit's own event id.
    case edit(original: String, message: IncomingMessage)
    /// The event `redacted` was removed by `senderID`. `byModerator`: the adapter found that the sender may
    /// remove other people's messages in this room (on Matrix, the room's `redact` power level). The engine
    /// honours a redaction of someone else's answer only then.
    case redaction(redacted: String, roomID: String, senderID: String, eventID: String, timestamp: Date, byModerator: Bool = false)
    /// A reaction on one of the bot's messages: `message.text` is the reaction's key (`2️⃣`), and
    /// `message.anchor` the anchor of the message reacted on. Never a message in its own right.
    case reaction(IncomingMessage)

    public var eventID: String {
        switch self {
        case .message(let m): m.eventID
        case .edit(_, let m): m.eventID
        case .redaction(_, _, _, let id, _, _): id
        case .reaction(let m): m.eventID
        }
    }

    public var roomID: String {
        switch self {
        case .message(let m): m.roomID
        case .edit(_, let m): m.roomID
        case .redaction(_, let room, _, _, _, _): room
        case .reaction(let m): m.roomID
        }
    }
}

/// How the bot's message should appear.
public enum OutgoingStyle: String, Sendable, Hashable {
    /// The bot's ordinary voice (`m.notice` on Matrix: other bots ignore it).
    case notice
    /// A message meant to be read as from a person (`m.text`).
    case message
}

/// A reply the engine wants delivered. Created inside the transaction that handled its cause; stored in
/// the outbox as `OutgoingMessage+JSON.swift` writes it.
public struct OutgoingMessage: Sendable, Hashable {
    /// Stable id: `<incoming event id>#<index>`. Adapters use it as their transaction id so a resend never doubles.
    public var id: String
    public var roomID: String
    /// Chat Markdown (bold, italic, code, lists, links). User text inside it is already Markdown-escaped.
    public var markdown: String
    /// The same content as plain text, for transports without formatting.
    public var plain: String
    /// Event this reply answers (rich reply in group rooms).
    public var replyToEventID: String?
    public var threadID: String?
    /// Numbered choices offered by a question (1-based in the text); adapters may offer reactions.
    public var choices: [String]
    public var style: OutgoingStyle
    /// User ids the bot means to ping (empty unless intended).
    public var mentions: [String]
    /// Set on a question: what adapters hand back as ``IncomingMessage/anchor`` when someone replies to
    /// this message (or in its thread) or reacts on it, so the answer lands on that question of that run.
    /// Opaque to adapters.
    public var anchor: String?
    /// Seed the ``choices`` as reactions under the message (a room setting, off by default).
    public var offersReactions: Bool
    /// A file to send: the message is then that file, and ``markdown`` says in a few words what it is
    /// (transports that show a caption use it; the terminal prints it before the file's path).
    public var attachment: Attachment?

    public init(
        id: String, roomID: String, markdown: String, plain: String? = nil, replyToEventID: String? = nil,
        threadID: String? = nil, choices: [String] = [], style: OutgoingStyle = .notice, mentions: [String] = [],
        anchor: String? = nil, offersReactions: Bool = false, attachment: Attachment? = nil
    ) {
        self.id = id
        self.roomID = roomID
        self.markdown = markdown
        self.plain = plain ?? Markdown.plainText(markdown)
        self.replyToEventID = replyToEventID
        self.threadID = threadID
        self.choices = choices
        self.style = style
        self.mentions = mentions
        self.anchor = anchor
        self.offersReactions = offersReactions
        self.attachment = attachment
    }
}

/// A file the bot sends (a report, a chart), whole: what a transport needs to upload it and to say what
/// it is, and nothing of any transport (no URL, no upload id). Kept in the outbox with its message, so a
/// file queued before a crash is still sent after it.
public struct Attachment: Sendable, Hashable {
    /// The name people see and save it under (`inventory-vallee.html`): no directory part.
    public var fileName: String
    /// `text/html; charset=utf-8`, `text/csv; charset=utf-8`, `image/png`…
    public var mimeType: String
    public var data: Data
    /// Pixel size, for images.
    public var width: Int?
    public var height: Int?

    public init(fileName: String, mimeType: String, data: Data, width: Int? = nil, height: Int? = nil) {
        self.fileName = fileName
        self.mimeType = mimeType
        self.data = data
        self.width = width
        self.height = height
    }

    /// An image (shown inline by chat clients), as opposed to a file to download.
    public var isImage: Bool { mimeType.hasPrefix("image/") }
}
