import Foundation
import Logging

/// Drives an engine with an adapter: re-delivers what a previous run left in the outbox, then handles
/// incoming batches in order, delivering each event's replies after its commit.
public actor EngineRunner {
    let engine: Engine
    let adapter: any ChatAdapter
    let logger: Logger
    /// Retry delays for transient delivery failures and database write failures; the last one repeats.
    /// Waited on the engine's scheduler.
    let retryDelays: [Duration]
    /// How many times a database write failure (disk full, read-only file) is retried before the runner
    /// gives up; nil retries until it succeeds, which a long-running bot wants.
    let storeRetries: Int?
    /// How many times a file (``OutgoingMessage/attachment``) is tried before the room is told it could
    /// not be sent; the adapter may itself retry within each try.
    let fileAttempts: Int

    public init(
        engine: Engine, adapter: any ChatAdapter, logger: Logger,
        retryDelays: [Duration] = [.milliseconds(200), .seconds(1), .seconds(5), .seconds(30)],
        storeRetries: Int? = nil, fileAttempts: Int = 5
    ) {
        self.engine = engine
        self.adapter = adapter
        self.logger = logger
        self.retryDelays = retryDelays
        self.storeRetries = storeRetries
        self.fileAttempts = fileAttempts
    }

    /// Runs until the adapter's stream ends. Throws when the transport reports a fatal error or the
    /// database cannot be written.
    public func run() async throws {
        try await deliver(engine.pendingOutbox())
        try await deliver(engine.tick())
        for try await batch in adapter.inbound() {
            let events = Self.interleavedByRoom(batch.events)
            // Replies wait for the batch's last commit when the adapter's own state rides on it.
            var held: [OutgoingMessage] = []
            for (index, event) in events.enumerated() {
                let last = index == events.count - 1
                // A question's vector and a file to add to the knowledge base are made and fetched before the
                // transaction that uses them.
                engine.warmUpQuestion(for: event)
                let fetched = try await withStoreRetries { () async throws -> FetchedFile? in
                    try await engine.fetchFile(for: event, from: adapter)
                }
                let replies = try await withStoreRetries {
                    try engine.handle(event, cursor: last ? batch.cursor : nil, withCursor: last ? batch.withCursor : nil, fetched: fetched)
                }
                CrashPoint.check("after-commit", eventID: event.eventID)
                await adapter.acknowledge(event)
                if batch.withCursor == nil { try await deliver(replies) } else { held += replies }
            }
            if batch.events.isEmpty, batch.cursor != nil || batch.withCursor != nil {
                try await withStoreRetries { try engine.store.setCursor(batch.cursor, withCursor: batch.withCursor) }
            }
            try await deliver(held)
            try await deliver(withStoreRetries { try engine.tick() })
            batch.handled?()
        }
        // The input ended: leave every delivery mark in the database itself.
        try await withStoreRetries { try engine.flushDeliveryMarks() }
    }

    /// A batch's events taken one room at a time, in turns (each room's own order kept): a room that
    /// said fifty things since the last batch does not make the others wait behind fifty replies.
    ///
    ///     [a1, a2, a3, b1] → [a1, b1, a2, a3]
    static func interleavedByRoom(_ events: [IncomingEvent]) -> [IncomingEvent] {
        var queues: [String: [IncomingEvent]] = [:]
        var rooms: [String] = []
        for event in events {
            if queues[event.roomID] == nil { rooms.append(event.roomID) }
            queues[event.roomID, default: []].append(event)
        }
        guard rooms.count > 1 else { return events }
        var result: [IncomingEvent] = []
        result.reserveCapacity(events.count)
        var round = 0
        while result.count < events.count {
            for room in rooms where round < queues[room]!.count { result.append(queues[room]![round]) }
            round += 1
        }
        return result
    }

    /// Runs a database write; when the disk refuses it, says so clearly and tries again later. Nothing was
    /// committed, so trying again handles the same event as if for the first time.
    func withStoreRetries<T>(_ work: () async throws -> T) async throws -> T {
        var attempt = 0
        while true {
            do {
                return try await work()
            } catch let error as StoreError {
                if let limit = storeRetries, attempt >= limit { throw error }
                let delay = retryDelays[min(attempt, retryDelays.count - 1)]
                attempt += 1
                logger.error("\(error); nothing was saved, retrying", metadata: ["attempt": "\(attempt)", "in": "\(delay)"])
                try await engine.scheduler.sleep(for: delay)
            }
        }
    }

    /// Delivers an event's replies in order, then records them as delivered in one write. A crash in
    /// between sends them again with the same ids on restart (Matrix drops the repeats).
    ///
    /// A file that cannot be sent (too large, refused, or still failing after ``fileAttempts`` tries) is
    /// replaced by a notice in its room (``Engine/fileNotSent(_:_:)``): the person who asked for it learns
    /// why, and can ask again. Text replies are retried until they go out.
    func deliver(_ messages: [OutgoingMessage]) async throws {
        var done: [String] = []
        defer {
            // Whatever happens next, what went out is recorded (best effort: on failure it is sent again).
            if !done.isEmpty { try? engine.markDelivered(done) }
        }
        var queue = messages[...]
        while let message = queue.popFirst() {
            var attempt = 0
            while true {
                do {
                    try await adapter.deliver(message)
                    done.append(message.id)
                    break
                } catch let error as DeliveryError {
                    var failure: FileFailure?
                    switch error {
                    case .permanent(let reason) where message.attachment != nil:
                        failure = .refused(reason)
                    case .fileTooLarge(let size, let limit):
                        failure = .tooLarge(size: size, limit: limit)
                    case .transient(let reason) where message.attachment != nil && attempt + 1 >= fileAttempts:
                        failure = .gaveUp(reason)
                    default:
                        break
                    }
                    if let failure {
                        logger.warning("file not sent", metadata: ["id": "\(message.id)", "reason": "\(failure)"])
                        // Recorded in the notice's own commit, with the notice, before it goes out.
                        let notice = try await withStoreRetries { try engine.fileNotSent(message, failure) }
                        queue = notice[...] + queue
                        break
                    }
                    switch error {
                    case .permanent(let reason):
                        logger.warning("reply dropped", metadata: ["id": "\(message.id)", "reason": "\(reason)"])
                        done.append(message.id)
                    case .fileTooLarge:
                        break  // answered by a notice above
                    case .fatal(let reason):
                        throw RunnerError.transport(reason)
                    case .transient(let reason):
                        let delay = retryDelays[min(attempt, retryDelays.count - 1)]
                        attempt += 1
                        logger.info(
                            "delivery will be retried", metadata: ["id": "\(message.id)", "reason": "\(reason)", "attempt": "\(attempt)"])
                        try await engine.scheduler.sleep(for: delay)
                        continue
                    }
                    break
                }
            }
        }
        let delivered = done
        done = []
        try await withStoreRetries { try engine.markDelivered(delivered) }
    }
}

/// Why the runner stopped.
public enum RunnerError: Error, CustomStringConvertible {
    case transport(String)
    public var description: String {
        switch self {
        case .transport(let reason): "the chat transport stopped: \(reason)"
        }
    }
}
