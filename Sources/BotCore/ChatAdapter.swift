import Foundation
import GRDB

/// A chat transport: it turns its own events into ``InboundBatch``es and delivers ``OutgoingMessage``s.
///
/// Adapters only translate; all decisions live in the engine. Delivery must be idempotent on
/// ``OutgoingMessage/id``: the engine re-delivers a message after a crash between commit and send.
/// A reply to one of the bot's messages, or a reaction on it, carries that message's
/// ``OutgoingMessage/anchor`` back (``IncomingMessage/anchor``); a reaction is an event of its own
/// (``IncomingEvent/reaction(_:)``), never turned into a text message: what it means is the engine's call.
public protocol ChatAdapter: Sendable {
    /// Incoming batches, in transport order. The stream ends when the transport closes (end of input, shutdown).
    func inbound() -> AsyncThrowingStream<InboundBatch, any Error>
    /// Sends one message. Throws ``DeliveryError`` to say whether a retry makes sense.
    func deliver(_ message: OutgoingMessage) async throws
    /// Called once the engine has committed the effects of `event` (read receipts and the like).
    func acknowledge(_ event: IncomingEvent) async
    /// The bytes of a file shared in a room (decrypted), when the engine needs them (`!kb add`). Called
    /// outside any transaction: the engine commits what it does with them afterwards.
    /// - Parameter limit: the most bytes the engine takes; a bigger file is ``FileFetchError/tooLarge(size:limit:)``
    ///   and should not be downloaded whole.
    func fetch(_ file: SharedFile, limit: Int) async throws(FileFetchError) -> Data
}

extension ChatAdapter {
    public func acknowledge(_ event: IncomingEvent) async {}
    public func fetch(_ file: SharedFile, limit: Int) async throws(FileFetchError) -> Data { throw .unsupported }
}

/// Why an adapter could not fetch a shared file: what the room is told.
public enum FileFetchError: Error, Sendable, Equatable {
    /// Bigger than the engine takes (bytes; the size when known).
    case tooLarge(size: Int?, limit: Int)
    /// The transport no longer has it (deleted, expired, never uploaded).
    case notFound
    /// Its key or its hash did not match: it cannot be read as shared.
    case undecryptable(String)
    /// The server failed or could not be reached; another try later may work.
    case unavailable(String)
    /// This transport cannot fetch files.
    case unsupported
}

/// A transport position (Matrix's `since` token) to store with the events that precede it.
public struct AdapterCursor: Sendable, Hashable, Codable {
    public var name: String
    public var value: String
    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// Events that arrived together, and the cursor to store once they are all handled.
///
/// The engine commits each event in its own transaction and writes `cursor` in the transaction of the
/// last one (or alone when `events` is empty), so a crash mid-batch re-reads the batch and the already
/// handled events are skipped by their ids.
///
/// `withCursor` is the adapter's own state that must commit exactly when `cursor` does (Matrix: the keys
/// and sessions the batch's to-device messages changed): the engine runs it in the cursor's transaction,
/// so a crash leaves both stored or neither. A batch that carries it has its replies delivered after that
/// transaction, not event by event: sending may commit adapter state that builds on it.
///
/// `handled` is called once the runner is done with the batch: committed, its replies delivered, and the
/// timers' that followed. An adapter that must not change its state while replies go out waits for it.
public struct InboundBatch: Sendable {
    public var events: [IncomingEvent]
    public var cursor: AdapterCursor?
    public var withCursor: (@Sendable (Database) throws -> Void)?
    public var handled: (@Sendable () -> Void)?
    public init(
        events: [IncomingEvent], cursor: AdapterCursor? = nil, withCursor: (@Sendable (Database) throws -> Void)? = nil,
        handled: (@Sendable () -> Void)? = nil
    ) {
        self.events = events
        self.cursor = cursor
        self.withCursor = withCursor
        self.handled = handled
    }
}

/// Why a delivery failed, so the runner knows whether to keep the message in the outbox.
public enum DeliveryError: Error, Sendable, Equatable {
    /// Temporary (network, 5xx, rate limit): keep in the outbox and retry later.
    case transient(String)
    /// Permanent (forbidden room): log and drop the message.
    case permanent(String)
    /// The transport cannot go on (bad credentials): stop the runner.
    case fatal(String)
    /// The message's ``OutgoingMessage/attachment`` is bigger than the transport accepts (`size` and
    /// `limit` in bytes, the limit nil when the transport does not say it): the runner tells the room
    /// instead of sending it.
    case fileTooLarge(size: Int, limit: Int?)
}
