import BotCore
import Synchronization

/// An adapter that replays given batches and records deliveries; failures can be scripted per message id.
public final class FakeAdapter: ChatAdapter {
    let batches: [InboundBatch]
    /// What was delivered, in order.
    public let delivered = Mutex<[OutgoingMessage]>([])
    /// Failures to meet, in order, when delivering a message id; a delivery without one succeeds.
    public let failures = Mutex<[String: [DeliveryError]]>([:])
    /// The ids of the events acknowledged, in order.
    public let acknowledged = Mutex<[String]>([])

    public init(_ batches: [InboundBatch]) { self.batches = batches }

    public func inbound() -> AsyncThrowingStream<InboundBatch, any Error> {
        let batches = self.batches
        return AsyncThrowingStream { continuation in
            for batch in batches { continuation.yield(batch) }
            continuation.finish()
        }
    }

    public func deliver(_ message: OutgoingMessage) async throws {
        let failure: DeliveryError? = failures.withLock { map in
            guard var list = map[message.id], !list.isEmpty else { return nil }
            let first = list.removeFirst()
            map[message.id] = list
            return first
        }
        if let failure { throw failure }
        delivered.withLock { $0.append(message) }
    }

    public func acknowledge(_ event: IncomingEvent) async {
        acknowledged.withLock { $0.append(event.eventID) }
    }
}
