import BotCore
import Synchronization

/// An ``EngineScheduler`` whose time moves only by hand, like NIO's `EmbeddedEventLoop.advanceTime(by:)`:
/// delayed work runs, in order and on the caller's thread, when ``advance(by:)`` reaches it.
///
/// A task that sleeps on it moves its time forward to its wake-up, running what falls due on the way,
/// as a simulation does when the sleeper is all there is left to run: the runner's retry waits cost no
/// real time, and a test can plan a change of the world at a given moment of them.
///
///     let scheduler = ManualScheduler()
///     scheduler.schedule(after: .milliseconds(300)) { freeDisk() }
///     try await runner.run()  // retries every 50 ms of the scheduler's time until the disk is free
public final class ManualScheduler: EngineScheduler {
    struct Work {
        let due: Duration
        let order: Int
        let run: @Sendable () -> Void
    }

    struct State {
        var now: Duration = .zero
        var planned: [Work] = []
        var count = 0
    }

    let state = Mutex(State())

    public init() {}

    /// How much time has passed on this scheduler.
    public var now: Duration { state.withLock { $0.now } }

    /// How many pieces of work are planned and not yet run.
    public var pendingCount: Int { state.withLock { $0.planned.count } }

    public func schedule(after delay: Duration, _ work: @escaping @Sendable () -> Void) {
        state.withLock { s in
            s.planned.append(Work(due: s.now + max(delay, .zero), order: s.count, run: work))
            s.count += 1
        }
    }

    /// Moves time forward by `interval`, running each piece of work that falls due, earliest first
    /// (in the order they were planned when due together), with the time set to its due moment.
    public func advance(by interval: Duration) {
        let target = state.withLock { $0.now + interval }
        while let work = state.withLock({ s -> Work? in
            guard
                let next = s.planned.indices.filter({ s.planned[$0].due <= target })
                    .min(by: { (s.planned[$0].due, s.planned[$0].order) < (s.planned[$1].due, s.planned[$1].order) })
            else { return nil }
            s.now = max(s.now, s.planned[next].due)
            return s.planned.remove(at: next)
        }) {
            work.run()  // outside the lock: it may plan more work
        }
        state.withLock { $0.now = max($0.now, target) }
    }

    public func sleep(for delay: Duration) async throws {
        try Task.checkCancellation()
        advance(by: max(delay, .zero))
    }
}
