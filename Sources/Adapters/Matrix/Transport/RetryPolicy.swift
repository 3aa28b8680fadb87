import Foundation

/// When and how long to wait before trying a failed call again.
///
/// Transient failures wait a capped exponential backoff with "equal jitter" (half fixed, half random,
/// so many clients restarting together spread out); a rate limit waits what the server asked, plus
/// a little. Everything else fails at once.
public struct RetryPolicy: Sendable {
    /// First backoff delay.
    public var base: Duration
    /// Longest backoff delay.
    public var cap: Duration
    /// Longest wait honoured for a server's `retry_after_ms` (a bigger value is clamped).
    public var maxRateLimitWait: Duration
    /// Attempts in all, the first included; nil retries forever.
    public var maxAttempts: Int?

    public init(
        base: Duration = .milliseconds(500), cap: Duration = .seconds(30), maxRateLimitWait: Duration = .seconds(120),
        maxAttempts: Int? = nil
    ) {
        self.base = base
        self.cap = cap
        self.maxRateLimitWait = maxRateLimitWait
        self.maxAttempts = maxAttempts
    }

    /// The sync loop: never gives up on a transient failure.
    public static let forever = RetryPolicy(cap: .seconds(15))
    /// One delivery: a few quick tries, then the message waits in the engine's outbox.
    public static let delivery = RetryPolicy(base: .milliseconds(250), cap: .seconds(4), maxAttempts: 4)
    /// Calls whose failure is not worth a wait (receipts, typing).
    public static let once = RetryPolicy(maxAttempts: 1)

    /// The backoff before attempt `attempt + 1` (attempt 0 failed first), with `unit` a random number in [0, 1).
    public func backoff(afterAttempt attempt: Int, unit: Double) -> Duration {
        let exponent = min(max(attempt, 0), 30)
        let full = min(base * (1 << exponent), cap)
        let half = full / 2
        return half + half * min(max(unit, 0), 1)
    }

    /// How long to wait after `error` on attempt `attempt` (0-based), or nil to give up.
    public func delay(after error: MatrixError, attempt: Int, unit: Double) -> Duration? {
        guard error.isTransient else { return nil }
        if let maxAttempts, attempt + 1 >= maxAttempts { return nil }
        if error.isRateLimited {
            let asked = error.retryAfter ?? backoff(afterAttempt: attempt, unit: unit)
            return min(asked, maxRateLimitWait) + .milliseconds(Int64(unit * 100))
        }
        return backoff(afterAttempt: attempt, unit: unit)
    }
}

/// Injected waiting and randomness, so retry tests run instantly and deterministically.
public struct RetryEnvironment: Sendable {
    public var sleep: @Sendable (Duration) async throws -> Void
    public var random: @Sendable () -> Double

    public init(sleep: @escaping @Sendable (Duration) async throws -> Void, random: @escaping @Sendable () -> Double) {
        self.sleep = sleep
        self.random = random
    }

    public static let live = RetryEnvironment(
        sleep: { try await Task.sleep(for: $0) }, random: { Double.random(in: 0..<1) })
}
