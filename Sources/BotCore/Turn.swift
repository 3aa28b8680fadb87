import Foundation
import GRDB
import KnowledgeBase

/// The handling of one event inside its transaction: reads state, decides, writes state, queues replies.
struct Turn {
    let engine: Engine
    /// The dialogues in service when the turn began: a reload meanwhile takes effect at the next turn.
    let catalog: DialogueCatalog
    let db: Database
    let now: Date
    /// Id of the event (or timer) that caused this turn: the prefix of every reply id.
    let causeID: String
    var replies: [OutgoingMessage] = []
    /// Whether the turn's first reply in a group room quotes its cause (a reaction is never quoted).
    var quotesCause = true
    /// Settings read during this turn (see ``roomSettings(_:)``).
    let memo = Memo()
    /// The shared file this turn's `!kb add` asks for, fetched and read before the transaction.
    var fetched: FetchedFile?

    final class Memo {
        var rooms: [String: RoomSettings] = [:]
        var users: [String: String?] = [:]
        var territories: [String: Territory] = [:]
    }

    init(engine: Engine, db: Database, now: Date, causeID: String) {
        self.engine = engine
        self.catalog = engine.catalog
        self.db = db
        self.now = now
        self.causeID = causeID
    }

    var prefix: String { engine.configuration.commandPrefix }

    // MARK: Replies

    /// Queues a reply. What a turn says in a group room's room or thread is one message (an acknowledgement,
    /// the next question and its hints together), so a shared room stays quiet: there a reply joins the
    /// previous one when they go to the same place. A direct room gets each part as it comes.
    ///
    /// - Parameter mentions: people the message is for (pinged on transports that can): such a message
    ///   starts a new one, which the replies after it join.
    mutating func reply(
        _ markdown: String, to message: IncomingMessage?, roomID: String? = nil, threadID: String? = nil, choices: [String] = [],
        anchor: String? = nil, offersReactions: Bool = false, attachment: Attachment? = nil, mentions: [String] = []
    ) {
        let room = roomID ?? message?.roomID ?? ""
        let thread = threadID ?? message?.threadID
        // A file is a message of its own, and text never joins one.
        if attachment == nil, mentions.isEmpty, message?.roomKind == .group, var last = replies.last, last.attachment == nil,
            last.roomID == room,
            last.threadID == thread
        {
            last.markdown += "\n\n" + markdown
            last.plain = Markdown.plainText(last.markdown)
            if !choices.isEmpty || anchor != nil {
                last.choices = choices
                last.anchor = anchor
                last.offersReactions = offersReactions
            }
            replies[replies.count - 1] = last
            return
        }
        let isGroup = message?.roomKind == .group && quotesCause
        replies.append(
            OutgoingMessage(
                id: "\(causeID)#\(replies.count)", roomID: room, markdown: markdown,
                replyToEventID: isGroup && replies.isEmpty ? message?.eventID : nil, threadID: thread, choices: choices, mentions: mentions,
                anchor: anchor, offersReactions: offersReactions, attachment: attachment))
    }

    /// Queues the replies in the outbox (same transaction) and returns them.
    func commitOutbox() throws -> [OutgoingMessage] {
        var rows: [String: Int64] = [:]
        for message in replies {
            try db.cachedStatement(sql: "INSERT INTO outbox(id, cause_event_id, room_id, payload, created_at) VALUES (?, ?, ?, ?, ?)")
                .execute(arguments: [message.id, causeID, message.roomID, Engine.encode(message), now.timeIntervalSince1970])
            rows[message.id] = db.lastInsertedRowID
        }
        if !rows.isEmpty { engine.remember(outboxRows: rows) }
        return replies
    }

    // MARK: Events

    mutating func handle(_ event: IncomingEvent) throws {
        switch event {
        case .message(let m), .edit(_, let m), .reaction(let m):
            let isMessage = if case .message = event { true } else { false }
            let decision = engine.rateLimit.withLock { $0.admit(m.senderID, at: now, canWarn: isMessage) }
            guard decision == .admitted else {
                if decision == .limited(firstTime: true) { try slowDown(m) }
                return
            }
        case .redaction:
            break
        }
        switch event {
        case .message(let message): try handle(message)
        case .edit(let original, let message): try edit(original: original, message)
        case .redaction(let redacted, let roomID, let senderID, _, _, let byModerator):
            try redact(redacted, roomID: roomID, senderID: senderID, byModerator: byModerator)
        case .reaction(let reaction): try react(reaction)
        }
    }

    /// Said once when a person goes over their pace (``EngineConfiguration/personBurst``): what they
    /// send until it recovers is left aside, so one flood never makes the bot slow for everyone.
    mutating func slowDown(_ message: IncomingMessage) throws {
        let language = try self.language(for: message)
        let wait = Int(engine.configuration.personRefill.rounded(.up))
        reply(
            language.pick(
                "\(Markdown.escape(message.senderName)), you are writing faster than I can follow: I am leaving your messages aside for a little while. In \(wait) seconds, say it again please.",
                "\(Markdown.escape(message.senderName)), vous écrivez plus vite que je ne peux suivre : je laisse vos messages de côté un petit moment. Dans \(wait) secondes, redites-le s'il vous plaît."
            ), to: message)
    }

    mutating func handle(_ incoming: IncomingMessage) throws {
        try rememberRoomName(of: incoming)
        try noteDirectRoom(incoming)
        if let file = incoming.file {
            try rememberSharedFile(file, incoming)
            return
        }
        var message = incoming
        let (text, named) = stripBotName(message.text)
        message.text = text
        let addressed = message.roomKind == .direct || message.mentionsBot || message.repliesToBot || named
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)

        if trimmed.hasPrefix(prefix), trimmed.count > prefix.count {
            try command(String(trimmed.dropFirst(prefix.count)), message)
            return
        }
        if let raw = message.anchor, let anchor = QuestionAnchor(rawValue: raw) {
            try answer(anchor, trimmed, message)
            return
        }
        if let (key, session) = try waitingSession(for: message) {
            if let query = learnMoreQuery(trimmed, session: session) {
                try ask(query, message: message, offset: 0)
                return
            }
            let taken = try play(.text(trimmed), key: key, session: session, message: message, addressed: addressed)
            // In a room run, what is not an answer is conversation: answered from the knowledge base when
            // it was addressed to the bot, else left alone.
            if !taken, addressed, !trimmed.isEmpty { try ask(trimmed, message: message, offset: 0) }
            return
        }
        guard addressed, !trimmed.isEmpty else { return }  // group chatter not meant for the bot
        // A question is answered from the knowledge base; when it also names a dialogue, that is offered.
        let suggested = catalog.dialogue(forKeywordsIn: trimmed)
        if let script = suggested, engine.knowledge == nil || trimmed.split(separator: " ").count <= 3 {
            offer(script, message)
            return
        }
        try ask(trimmed, message: message, offset: 0, quietWhenUnsure: suggested != nil)
        if let script = suggested { offer(script, message) }
    }

    /// Suggests starting a dialogue whose keywords the message used.
    mutating func offer(_ script: DialogueScript, _ message: IncomingMessage) {
        let language = (try? self.language(for: message)) ?? engine.configuration.defaultLanguage
        reply(
            language.pick(
                "It sounds like *\(script.title.resolve(language))*: \(script.description.resolve(language)) Say `\(prefix)start \(script.id)` to begin.",
                "Cela ressemble à *\(script.title.resolve(language))* : \(script.description.resolve(language)) Dites `\(prefix)start \(script.id)` pour commencer."
            ), to: message)
    }

    /// The knowledge-base query of the current step when the person asks to learn more about it.
    func learnMoreQuery(_ text: String, session: StoredSession) -> String? {
        guard ["learn more", "en savoir plus", "savoir plus", "more info", "plus d'infos"].contains(TextMatching.fold(text)),
            let stepID = session.state.stepID, let step = catalog.scripts[session.dialogueID]?.step(stepID)
        else { return nil }
        return step.learnMore
    }

    /// Removes "fabrique:" / "@fabrique," at the start of a message.
    func stripBotName(_ text: String) -> (String, Bool) {
        let lower = text.lowercased()
        for name in engine.configuration.botNames where !name.isEmpty {
            for candidate in [name.lowercased(), "@" + name.lowercased()] where lower.hasPrefix(candidate) {
                let rest = text.dropFirst(candidate.count)
                if let first = rest.first, first == ":" || first == "," || first == " " {
                    return (String(rest.dropFirst()).trimmingCharacters(in: .whitespaces), true)
                }
                if rest.isEmpty { return ("", true) }
            }
        }
        return (text, false)
    }

    // MARK: Settings

    func language(for message: IncomingMessage) throws -> Language {
        try chosenLanguage(for: message) ?? engine.configuration.defaultLanguage
    }

    /// The language the person or the room chose, if any.
    func chosenLanguage(for message: IncomingMessage) throws -> Language? {
        if let user = try userLanguage(message.senderID), let language = Language(rawValue: user) {
            return language
        }
        return try roomSettings(message.roomID).language.flatMap(Language.init(rawValue:))
    }

    func roomLanguage(_ roomID: String) throws -> Language {
        if let room = try roomSettings(roomID).language, let language = Language(rawValue: room) {
            return language
        }
        return engine.configuration.defaultLanguage
    }

    /// The room's territory; a room with none has the configuration's default (the terminal's
    /// `--territory`, which the engine creates when it starts).
    func territory(of roomID: String) throws -> Territory? {
        if let id = try roomSettings(roomID).territory {
            if let known = memo.territories[id] { return known }
            let territory = try Territory.withID(id, db)
            memo.territories[id] = territory
            return territory
        }
        guard let name = engine.configuration.defaultTerritory else { return nil }
        return try Territory.named(name, db)
    }

    /// What a room chose: its language, its territory (its id), whether questions offer reactions; and its name.
    struct RoomSettings {
        var language: String?
        var territory: String?
        var reactions: Bool
        var name: String?
    }

    /// A room's settings, read once per turn (a turn asks several times).
    func roomSettings(_ roomID: String) throws -> RoomSettings {
        if let known = memo.rooms[roomID] { return known }
        let row = try Row.fetchOne(
            db.cachedStatement(sql: "SELECT language, territory, reactions, name FROM room_setting WHERE room_id = ?"), arguments: [roomID])
        let settings = RoomSettings(
            language: row?["language"], territory: row?["territory"], reactions: row?["reactions"] ?? false, name: row?["name"])
        memo.rooms[roomID] = settings
        return settings
    }

    /// A person's chosen language, read once per turn.
    func userLanguage(_ userID: String) throws -> String? {
        if let known = memo.users[userID] { return known }
        let language = try String.fetchOne(
            db.cachedStatement(sql: "SELECT language FROM user_setting WHERE user_id = ?"), arguments: [userID])
        memo.users[userID] = .some(language)
        return language
    }

    /// Keeps the name the adapter sees for the room, written only when it changed (most turns read it).
    func rememberRoomName(of message: IncomingMessage) throws {
        guard let name = message.roomName, try roomSettings(message.roomID).name != name else { return }
        try db.execute(
            sql: "INSERT INTO room_setting(room_id, name) VALUES (?, ?) ON CONFLICT(room_id) DO UPDATE SET name = excluded.name",
            arguments: [message.roomID, name])
        settingsChanged()
    }

    /// Forgets what was read of a room's or a person's settings after the turn changed them.
    func settingsChanged() { memo.rooms = [:]; memo.users = [:]; memo.territories = [:] }

    func context(for message: IncomingMessage, language: Language) throws -> TurnContext {
        let territory = try territory(of: message.roomID)
        var variables = ["sender": message.senderName, "room": message.roomID, "date": TurnScope.day(now)]
        variables["territory"] = territory?.name ?? language.pick("your territory", "votre territoire")
        if !engine.extensions.isEmpty {
            let scope = scope(roomID: message.roomID, language: language, territory: territory)
            for e in engine.extensions {
                variables.merge(try e.variables(in: scope), uniquingKeysWith: { _, offered in offered })
            }
        }
        return TurnContext(
            language: language,
            speaker: Speaker(id: message.senderID, name: message.senderName, isFacilitator: message.senderIsFacilitator),
            variables: variables, now: now, commandPrefix: prefix)
    }

    // MARK: Extensions

    /// What an extension sees of this turn, about `roomID`.
    func scope(roomID: String, language: Language, territory: Territory?, threadID: String? = nil) -> TurnScope {
        TurnScope(
            db: db, now: now, language: language, roomID: roomID, territory: territory, commandPrefix: prefix,
            catalog: catalog, knowledge: engine.knowledge, threadID: threadID)
    }

    /// Runs `body` with a scope about `roomID`, then queues the replies it gave, in order.
    mutating func withScope(
        roomID: String, language: Language, threadID: String? = nil, _ body: (inout TurnScope) throws -> Void
    ) throws {
        var scope = scope(roomID: roomID, language: language, territory: try territory(of: roomID), threadID: threadID)
        try body(&scope)
        for r in scope.replies { reply(r.markdown, to: r.message, roomID: r.roomID, threadID: r.threadID, attachment: r.attachment) }
    }

    /// Fires an extension's timer, speaking in its room's language.
    mutating func fire(_ timer: DueTimer) throws {
        try withScope(roomID: timer.roomID, language: try roomLanguage(timer.roomID), timer.fire)
    }
}
