import Foundation
import GRDB
import Synchronization
import KnowledgeBase
import Logging

/// The heart of Fabrique: turns incoming events into committed state and replies.
///
/// Each event is handled in one database transaction that records its effects, the replies it produces
/// (in the outbox) and its id (as processed). Replies are delivered only after that commit, by
/// ``EngineRunner``; their ids derive from the event id, so a re-delivery after a crash is recognisable.
/// An event whose id was already processed changes nothing and produces nothing.
public final class Engine: Sendable {
    public let store: StateStore
    /// The dialogues in service. ``reloadDialogues()`` replaces them between turns; a turn reads them once.
    public var catalog: DialogueCatalog { catalogState.withLock { $0 } }
    let catalogState: Mutex<DialogueCatalog>
    /// Reads the dialogue files again (``reloadDialogues()``); nil when the dialogues do not come from files.
    let dialogueSource: (@Sendable () -> (DialogueCatalog, [Diagnostic]))?
    public let knowledge: KnowledgeIndex?
    /// What the deployment adds: commands, end actions, variables, timers (see ``EngineExtension``).
    public let extensions: [any EngineExtension]
    /// Every extension command by name and alias (the first extension to claim a name keeps it; the
    /// engine's own names are never given to one).
    let extensionCommands: [String: ExtensionCommand]
    /// The extension commands people can reach, in the order declared.
    let reachableExtensionCommands: [ExtensionCommand]
    public let configuration: EngineConfiguration
    let clock: @Sendable () -> Date
    let logger: Logger
    /// Runs the delayed commit of delivery marks, and the runner's waits between retries.
    let scheduler: any EngineScheduler
    /// When timers were last looked at (see ``tick()``).
    let lastTick = Mutex<Date?>(nil)
    /// Outbox row numbers of the replies not yet marked delivered, from their insert: marking one
    /// delivered finds its row without an index on the reply id.
    let outboxRows = Mutex<[String: Int64]>([:])
    /// The sessions this engine saved last, by key, with their stored text: when the row still holds
    /// that text, the next turn reuses the decoded session instead of parsing it again.
    let sessionCache = Mutex<[String: (json: String, state: DialogueSession)]>([:])
    /// Each person's pace (kept in memory: a restart forgives everyone).
    let rateLimit: Mutex<PersonRateLimit>
    /// Delivery marks between commits (see ``DeliveryLog``).
    let deliveries: Mutex<Deliveries>
    struct Deliveries {
        /// Where marks go between commits; nil: each mark is a commit of its own.
        var log: DeliveryLog?
        /// Marks recorded in the log that the database does not hold yet, oldest first.
        var unfolded: [String]
        /// How many marks were committed before `unfolded[0]`: positions stay valid while marks come and go.
        var committed = 0
        var flushScheduled = false

        /// The marks to commit, and the position that says so once they are.
        var pending: (ids: [String], through: Int) { (unfolded, committed + unfolded.count) }
    }

    func remember(session: DialogueSession, json: String, key: String) {
        sessionCache.withLock { cache in
            if cache.count >= 4096 { cache.removeAll(keepingCapacity: true) }
            cache[key] = (json, session)
        }
    }

    /// - Parameter extensions: what the deployment adds; their tables are created or upgraded here.
    /// - Throws: ``StoreError`` when the extensions' tables cannot be migrated.
    public init(
        store: StateStore, catalog: DialogueCatalog, knowledge: KnowledgeIndex?, extensions: [any EngineExtension] = [],
        configuration: EngineConfiguration = .init(), clock: @escaping @Sendable () -> Date = { Date() },
        logger: Logger = Logger(label: "fabrique.engine"), scheduler: any EngineScheduler = DispatchScheduler(),
        dialogueSource: (@Sendable () -> (DialogueCatalog, [Diagnostic]))? = nil
    ) throws {
        try store.install(extensions)
        if let name = configuration.defaultTerritory {
            // The terminal's `--territory`: a territory like any other, there before the first turn reads it.
            do {
                try store.writer.write { db in _ = try Territory.named(orCreating: name, at: clock(), db) }
            } catch let error as DatabaseError {
                throw StoreError.cannotOpen(path: store.path ?? ":memory:", reason: error.message ?? "\(error.resultCode)")
            }
        }
        self.store = store
        self.catalogState = Mutex(catalog)
        self.dialogueSource = dialogueSource
        self.knowledge = knowledge
        self.extensions = extensions
        var commands: [String: ExtensionCommand] = [:]
        var reachable: [ExtensionCommand] = []
        for command in extensions.flatMap(\.commands) {
            guard let name = command.names.first, !Turn.coreCommandNames.contains(name), commands[name] == nil else { continue }
            reachable.append(command)
            for name in command.names.map(TextMatching.fold) where commands[name] == nil && !Turn.coreCommandAliases.contains(name) {
                commands[name] = command
            }
        }
        self.extensionCommands = commands
        self.reachableExtensionCommands = reachable
        self.configuration = configuration
        self.clock = clock
        self.logger = logger
        self.scheduler = scheduler
        rateLimit = Mutex(PersonRateLimit(burst: configuration.personBurst, refill: configuration.personRefill))
        // What a killed run had delivered but not yet committed as delivered.
        let log = store.path.flatMap(DeliveryLog.open(databasePath:))
        deliveries = Mutex(Deliveries(log: log, unfolded: log?.recorded() ?? []))
        // A restart with no message to carry them must still commit them.
        if deliveries.withLock({ !$0.unfolded.isEmpty }) { scheduleMarkCommit() }
    }

    /// Handles one event and commits its effects with its replies. Returns the replies to deliver.
    ///
    /// - Parameters:
    ///   - cursor: an adapter position to store in the same transaction (after this event).
    ///   - withCursor: the adapter's own writes for that transaction (``InboundBatch/withCursor``); when
    ///     they fail, nothing is committed.
    ///   - fetched: the file the event asks to add to the knowledge base, fetched beforehand by
    ///     ``fetchFile(for:from:)`` (without it, `!kb add` says that files cannot be fetched here).
    /// - Throws: ``StoreError`` when the database cannot be written; nothing is then committed, and the
    ///   same event can be handled again later.
    @discardableResult
    public func handle(
        _ event: IncomingEvent, cursor: AdapterCursor? = nil, withCursor: (@Sendable (Database) throws -> Void)? = nil,
        fetched: FetchedFile? = nil
    ) throws -> [OutgoingMessage] {
        let now = clock()
        do {
            // The delivery marks recorded since the last commit ride on this one.
            let marks = deliveries.withLock { $0.pending }
            let replies = try store.transaction { db -> [OutgoingMessage] in
                try withCursor?(db)
                defer { if let cursor { try? StateStore.saveCursor(cursor, db) } }
                try saveDelivered(marks.ids, at: now.timeIntervalSince1970, db)
                if try Bool.fetchOne(
                    db.cachedStatement(sql: "SELECT 1 FROM processed_event WHERE event_id = ?"), arguments: [event.eventID]) == true
                {
                    return []
                }
                var turn = Turn(engine: self, db: db, now: now, causeID: event.eventID)
                turn.fetched = fetched
                try turn.handle(event)
                try db.cachedStatement(sql: "INSERT INTO processed_event(event_id, room_id, processed_at) VALUES (?, ?, ?)")
                    .execute(arguments: [event.eventID, event.roomID, now.timeIntervalSince1970])
                let replies = try turn.commitOutbox()
                CrashPoint.check("before-commit", eventID: event.eventID)
                return replies
            }
            committed(through: marks.through)
            return replies
        } catch let error as DatabaseError {
            throw StoreError.cannotWrite(error)
        }
    }

    /// Work that time alone causes: idle sessions paused, reminders of sent dialogues. Replies get ids from the session and its last
    /// activity, so running it twice never says the same thing twice.
    @discardableResult
    public func tick() throws -> [OutgoingMessage] {
        let now = clock()
        // Timers have a granularity of minutes (idle hours, days): look at most once a minute of
        // the engine's clock, so a busy bot does not query for timers after every message.
        let due = lastTick.withLock { last -> Bool in
            if let last, now.timeIntervalSince(last) < 60, now >= last { return false }
            last = now
            return true
        }
        guard due else { return [] }
        let limit = now.addingTimeInterval(-configuration.idleTimeout).timeIntervalSince1970
        let idleSQL = "SELECT key, room_id, updated_at FROM session WHERE status = 'active' AND updated_at < ? ORDER BY key"
        do {
            // Most ticks find nothing: look first without taking the write lock.
            let due = try store.writer.read { db in
                try Row.fetchOne(db, sql: idleSQL, arguments: [limit]) != nil
                    || extensions.contains { try !$0.dueTimers(db, now: now).isEmpty }
                    || !Turn.dueSends(db, now: now).isEmpty
                    || pruneIsDue(db, now: now)
            }
            guard due else { return [] }
            return try store.writer.write { db -> [OutgoingMessage] in
                var all: [OutgoingMessage] = []
                for row in try Row.fetchAll(db, sql: idleSQL, arguments: [limit]) {
                    let key: String = row["key"]
                    let updated: Double = row["updated_at"]
                    var turn = Turn(engine: self, db: db, now: now, causeID: "idle:\(key):\(Int64(updated))")
                    try turn.expire(sessionKey: key, roomID: row["room_id"])
                    all += try turn.commitOutbox()
                }
                for send in try Turn.dueSends(db, now: now) {
                    var turn = Turn(engine: self, db: db, now: now, causeID: "send-reminder:\(send)")
                    try turn.remindSend(send)
                    all += try turn.commitOutbox()
                }
                for timer in try extensions.flatMap({ try $0.dueTimers(db, now: now) }) {
                    var turn = Turn(engine: self, db: db, now: now, causeID: timer.id)
                    try turn.fire(timer)
                    all += try turn.commitOutbox()
                }
                try prune(db, now: now)
                return all
            }
        } catch let error as DatabaseError {
            throw StoreError.cannotWrite(error)
        }
    }

    /// Delivered replies are kept a week (to answer "what did the bot say"), processed event ids a month
    /// (longer than any transport redelivers an event); older rows are removed once a day.
    static let deliveredRetention: TimeInterval = 7 * 86400
    static let processedRetention: TimeInterval = 30 * 86400

    func pruneIsDue(_ db: Database, now: Date) throws -> Bool {
        let last = try Double.fetchOne(db, sql: "SELECT value FROM setting WHERE key = 'engine.pruned_at'").map(
            Date.init(timeIntervalSince1970:))
        return last.map { now.timeIntervalSince($0) >= 86400 } ?? true
    }

    func prune(_ db: Database, now: Date) throws {
        guard try pruneIsDue(db, now: now) else { return }
        let t = now.timeIntervalSince1970
        try db.execute(
            sql: "DELETE FROM outbox WHERE delivered_at IS NOT NULL AND delivered_at < ?", arguments: [t - Self.deliveredRetention])
        try db.execute(sql: "DELETE FROM processed_event WHERE processed_at < ?", arguments: [t - Self.processedRetention])
        try db.execute(sql: "DELETE FROM shared_file WHERE shared_at < ?", arguments: [t - Self.processedRetention])
        try db.execute(
            sql: "INSERT INTO setting(key, value) VALUES ('engine.pruned_at', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            arguments: [String(t)])
    }

    /// Replies committed but not yet delivered, oldest first.
    public func pendingOutbox() throws -> [OutgoingMessage] {
        let rows = try store.writer.read { db in
            try Row.fetchAll(db, sql: "SELECT seq, payload FROM outbox WHERE delivered_at IS NULL ORDER BY seq")
        }
        var pending: [OutgoingMessage] = []
        var numbers: [String: Int64] = [:]
        let delivered = Set(deliveries.withLock { $0.unfolded })
        for row in rows {
            guard let message = Self.decode(row["payload"]), !delivered.contains(message.id) else { continue }
            pending.append(message)
            numbers[message.id] = row["seq"]
        }
        remember(outboxRows: numbers)
        return pending
    }

    func remember(outboxRows rows: [String: Int64]) {
        outboxRows.withLock { $0.merge(rows) { _, new in new } }
    }

    /// Records that a reply reached its transport (or was dropped for good).
    public func markDelivered(_ id: String) throws {
        try markDelivered([id])
    }

    /// Records that these replies reached their transport: in the delivery log, which the next message's
    /// commit copies into the outbox (or a commit of their own after ``EngineConfiguration/deliveryMarkDelay``),
    /// or in a small commit of their own when the log cannot take them.
    public func markDelivered(_ ids: [String]) throws {
        guard !ids.isEmpty else { return }
        let logged = deliveries.withLock { d -> Bool in
            guard let log = d.log, log.append(ids) else { return false }
            d.unfolded += ids
            return true
        }
        if logged { scheduleMarkCommit() }
        if !logged { try commitMarks(with: ids) }
    }

    /// Commits the log's marks on their own after ``EngineConfiguration/deliveryMarkDelay``, unless that is
    /// already planned: the next message's commit may carry them first.
    func scheduleMarkCommit() {
        guard
            deliveries.withLock({ d in
                defer { d.flushScheduled = true }; return !d.flushScheduled
            })
        else { return }
        scheduler.schedule(after: configuration.deliveryMarkDelay) { [weak self] in
            guard let self else { return }
            deliveries.withLock { $0.flushScheduled = false }
            do {
                try flushDeliveryMarks()
            } catch {
                // They stay in the log; the next message's commit or the next mark tries again.
                logger.debug("delivery marks not committed yet", metadata: ["reason": "\(error)"])
            }
        }
    }

    /// Commits the marks the delivery log holds (when the bot is idle, and at the end of a run, so that
    /// the database alone says which replies went out).
    public func flushDeliveryMarks() throws {
        try commitMarks(with: [])
    }

    /// Commits the log's marks and `more` in a small transaction of their own. Losing it to a power
    /// failure only means sending those replies again with the same ids.
    func commitMarks(with more: [String]) throws {
        let marks = deliveries.withLock { $0.pending }
        guard !marks.ids.isEmpty || !more.isEmpty else { return }
        do {
            try store.writeLight { db in try saveDelivered(marks.ids + more, at: clock().timeIntervalSince1970, db) }
        } catch let error as DatabaseError {
            throw StoreError.cannotWrite(error)
        }
        committed(through: marks.through)
    }

    /// The marks up to position `through` are in the database: forget them (once, whoever committed them
    /// first), and empty the log when it holds nothing else.
    func committed(through: Int) {
        deliveries.withLock { d in
            let done = min(through - d.committed, d.unfolded.count)
            guard done > 0 else { return }
            d.unfolded.removeFirst(done)
            d.committed += done
            if d.unfolded.isEmpty { d.log?.clear() }
        }
    }

    /// Marks replies delivered in the current transaction: by row number where the insert told it
    /// (checking the id, in case that insert was rolled back and the number reused), else by id: a scan,
    /// for replies this engine did not queue.
    func saveDelivered(_ ids: [String], at time: Double, _ db: Database) throws {
        guard !ids.isEmpty else { return }
        let rows = outboxRows.withLock { known in ids.map { known.removeValue(forKey: $0) } }
        let byRow = try db.cachedStatement(sql: "UPDATE outbox SET delivered_at = ? WHERE seq = ? AND id = ? AND delivered_at IS NULL")
        for (id, row) in zip(ids, rows) {
            if let row {
                try byRow.execute(arguments: [time, row, id])
                if db.changesCount > 0 { continue }
            }
            try db.cachedStatement(sql: "UPDATE outbox SET delivered_at = ? WHERE id = ? AND delivered_at IS NULL").execute(arguments: [
                time, id,
            ])
        }
    }

    static func encode(_ message: OutgoingMessage) -> String {
        message.storedText
    }

    static func decode(_ payload: String) -> OutgoingMessage? {
        StoredCoding.parse(payload).flatMap { try? OutgoingMessage(stored: $0) }
    }
}

// MARK: Reloading dialogues

/// What a reload of the dialogue files did.
public struct DialogueReload: Sendable {
    /// The dialogues in service afterwards.
    public var loaded: [String]
    /// Files refused for their errors: the version of their dialogues already in service stays.
    public var refused: [String]
    /// Every problem found (errors and warnings), as `file:line:column: …` lines.
    public var diagnostics: [Diagnostic]
}

extension Engine {
    /// Reads the dialogue files again and puts the valid ones in service for the next turns. A file with
    /// errors is refused and the version of its dialogues already in service stays; the other files always
    /// load. Nil when the dialogues do not come from files.
    @discardableResult
    public func reloadDialogues() -> DialogueReload? {
        guard let dialogueSource else { return nil }
        let (fresh, diagnostics) = dialogueSource()
        let refused = Set(diagnostics.filter { $0.severity == .error }.map(\.location.file))
        return catalogState.withLock { catalog in
            var scripts = fresh.all
            for old in catalog.all where refused.contains(old.location.file) && fresh.scripts[old.id] == nil {
                scripts.append(old)
            }
            catalog = DialogueCatalog(scripts)
            return DialogueReload(loaded: catalog.all.map(\.id), refused: refused.sorted(), diagnostics: diagnostics)
        }
    }
}
