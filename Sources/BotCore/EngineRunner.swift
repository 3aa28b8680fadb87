import Foundation
import Logging

/// Drives an engine with an adapter: re-delivers what a previous run left in the outbox, then handles
/// incoming batches in order, delivering each event's replies after its commit.
public actor EngineRunner {
    let engine: Engine
    let adapter: any ChatAdapter
    let logger: Logger
    /// Retry delays for transient delivery failures; the last one repeats.
    let retryDelays: [Duration]

    public init(engine: Engine, adapter: any ChatAdapter, logger: Logger,
                retryDelays: [Duration] = [.milliseconds(200), .seconds(1), .seconds(5), .seconds(30)]) {
        self.engine = engine
        self.adapter = adapter
        self.logger = logger
        self.retryDelays = retryDelays
    }

    /// Runs until the adapter's stream ends. Throws when the transport reports a fatal error or the
    /// database cannot be written.
    public func run() async throws {
        try await deliver(engine.pendingOutbox())
        try await deliver(engine.tick())
        for try await batch in adapter.inbound() {
            for (index, event) in batch.events.enumerated() {
                let cursor = index == batch.events.count - 1 ? batch.cursor : nil
                let replies = try engine.handle(event, cursor: cursor)
                CrashPoint.check("after-commit", eventID: event.eventID)
                await adapter.acknowledge(event)
                try await deliver(replies)
            }
            if batch.events.isEmpty, let cursor = batch.cursor { try engine.store.setCursor(cursor) }
            try await deliver(engine.tick())
            // A reply that failed transiently earlier is still pending: try it again now.
            try await deliver(engine.pendingOutbox())
        }
    }

    func deliver(_ messages: [OutgoingMessage]) async throws {
        for message in messages {
            var attempt = 0
            while true {
                do {
                    try await adapter.deliver(message)
                    try engine.markDelivered(message.id)
                    break
                } catch let error as DeliveryError {
                    switch error {
                    case .permanent(let reason):
                        logger.warning("reply dropped", metadata: ["id": "\(message.id)", "reason": "\(reason)"])
                        try engine.markDelivered(message.id)
                    case .fatal(let reason):
                        throw RunnerError.transport(reason)
                    case .transient(let reason):
                        let delay = retryDelays[min(attempt, retryDelays.count - 1)]
                        attempt += 1
                        logger.info("delivery will be retried", metadata: ["id": "\(message.id)", "reason": "\(reason)", "attempt": "\(attempt)"])
                        try await Task.sleep(for: delay)
                        continue
                    }
                    break
                }
            }
        }
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
