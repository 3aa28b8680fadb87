import Foundation
import Synchronization

/// A clock moved by hand: transcripts and tests inject it so that every run says the same thing.
public final class ManualClock: Sendable {
    let current: Mutex<Date>

    public init(_ start: Date) { current = Mutex(start) }

    public var now: Date { current.withLock { $0 } }

    public func advance(by interval: TimeInterval) { current.withLock { $0 += interval } }

    /// `{ clock.now }`, to hand to the engine.
    public var source: @Sendable () -> Date { { [self] in now } }
}
