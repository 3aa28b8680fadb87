import Foundation

/// Where the engine's delayed work runs: the commit of delivery marks after
/// ``EngineConfiguration/deliveryMarkDelay``, and the runner's waits before a retry.
///
/// Injected next to the engine's clock, so that tests move time by hand (`ManualScheduler` in the tests'
/// support target) instead of waiting for it.
public protocol EngineScheduler: Sendable {
    /// Runs `work` once `delay` has passed, on a thread of the scheduler's choosing.
    func schedule(after delay: Duration, _ work: @escaping @Sendable () -> Void)

    /// Suspends the calling task for `delay`.
    /// - Throws: `CancellationError` when the task is cancelled meanwhile.
    func sleep(for delay: Duration) async throws
}

/// The real scheduler: Dispatch's global queue for delayed work, `Task.sleep` for waits.
public struct DispatchScheduler: EngineScheduler {
    public init() {}

    public func schedule(after delay: Duration, _ work: @escaping @Sendable () -> Void) {
        let nanoseconds = delay / .nanoseconds(1)
        DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(Int(nanoseconds)), execute: work)
    }

    public func sleep(for delay: Duration) async throws {
        try await Task.sleep(for: delay)
    }
}
