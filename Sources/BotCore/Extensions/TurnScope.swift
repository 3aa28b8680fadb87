import Foundation
import GRDB
import KnowledgeBase

/// What an extension sees of a turn: its transaction, its time, where it speaks and in which language,
/// and a way to reply. Replies are queued with the turn's own, in the same commit.
public struct TurnScope {
    /// The turn's transaction: every write commits with the turn, or not at all.
    public let db: Database
    public let now: Date
    /// The language to answer in (the person's, else the room's, else the default).
    public let language: Language
    /// The room the turn is about.
    public let roomID: String
    /// That room's territory, nil when it has none: reports and counts never mix territories.
    public let territory: Territory?
    /// What starts a command here (`!`): every text that names a command uses it.
    public let commandPrefix: String
    /// The dialogues installed.
    public let catalog: DialogueCatalog
    /// The knowledge base, when one is loaded.
    public let knowledge: KnowledgeIndex?
    /// The thread replies go to unless told otherwise.
    let defaultThreadID: String?
    /// Replies in the order given.
    var replies: [Reply] = []

    struct Reply {
        var markdown: String
        var message: IncomingMessage?
        var roomID: String
        var threadID: String?
        var attachment: Attachment?
    }

    init(
        db: Database, now: Date, language: Language, roomID: String, territory: Territory?, commandPrefix: String,
        catalog: DialogueCatalog, knowledge: KnowledgeIndex?, threadID: String? = nil
    ) {
        self.db = db
        self.now = now
        self.language = language
        self.roomID = roomID
        self.territory = territory
        self.commandPrefix = commandPrefix
        self.catalog = catalog
        self.knowledge = knowledge
        self.defaultThreadID = threadID
    }

    /// The day of ``now``, `YYYY-MM-DD` in UTC.
    public var today: String { Self.day(now) }

    /// The command `name` as people type it here (`!report`).
    public func command(_ name: String) -> String { commandPrefix + name }

    /// Queues a reply: in the message's room (the scope's room for a timer) and thread, as a reply to
    /// it in group rooms when it is the turn's first.
    public mutating func reply(_ markdown: String, to message: IncomingMessage?, threadID: String? = nil) {
        replies.append(
            Reply(markdown: markdown, message: message, roomID: message?.roomID ?? roomID, threadID: threadID ?? defaultThreadID))
    }

    /// Queues a file, as a message of its own after the replies queued before it; `caption` says in a few
    /// words what it is. Like a reply, it is committed with the turn and sent after the commit.
    public mutating func send(_ file: Attachment, caption: String, to message: IncomingMessage?, threadID: String? = nil) {
        replies.append(
            Reply(
                markdown: caption, message: message, roomID: message?.roomID ?? roomID, threadID: threadID ?? defaultThreadID,
                attachment: file))
    }

    /// Records a correction of the Factory's (or any extension's) data in the engine's correction log,
    /// with who made it and when, in the turn's transaction.
    /// - Parameters:
    ///   - action: what was done, as `thing.verb` (`star.set`, `pebble.rename`).
    ///   - target: which thing (an id, a room).
    public func recordCorrection(_ action: String, target: String, before: String?, after: String?, by message: IncomingMessage) throws {
        try Corrections.record(
            action, target: target, before: before, after: after, roomID: message.roomID, territory: territory, by: message, now: now, db)
    }

    /// `YYYY-MM-DD` in UTC. Computed by hand: a date formatter costs more than the rest of a turn.
    public static func day(_ date: Date) -> String {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let year = Int(parts.tm_year) + 1900, month = Int(parts.tm_mon) + 1, day = Int(parts.tm_mday)
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(year)-\(two(month))-\(two(day))"
    }
}
