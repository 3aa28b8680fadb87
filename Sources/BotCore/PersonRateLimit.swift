import Foundation

/// How many messages one person may send the bot before it stops reading them for a while: a token
/// bucket per sender, refilled with time (the engine's clock), shared by all rooms. One person's flood
/// then costs one polite message, not a reply each, and never fills the queue other rooms wait behind.
///
///     var limit = PersonRateLimit(burst: 10, refill: 6)
///     limit.admit("@ana:example.org", at: now)  // .admitted, ten times in a row, then .limited(firstTime: true)
struct PersonRateLimit {
    enum Decision: Equatable {
        case admitted
        /// Over the limit; `firstTime`: the first refusal of this flood (say so once).
        case limited(firstTime: Bool)
    }

    struct Bucket {
        var tokens: Double
        var updated: Date
        var warned: Bool
    }

    /// Messages a person may send at once.
    var burst: Int
    /// Seconds for one message to be allowed again.
    var refill: TimeInterval
    var buckets: [String: Bucket] = [:]

    /// - Parameter canWarn: whether the caller would say so (a message, not a reaction): only then is the
    ///   person's one warning used up.
    mutating func admit(_ sender: String, at now: Date, canWarn: Bool = true) -> Decision {
        guard burst > 0, refill > 0 else { return .admitted }
        var bucket = buckets[sender] ?? Bucket(tokens: Double(burst), updated: now, warned: false)
        // A clock moved back (a test, a corrected system clock) refills nothing and takes nothing.
        let elapsed = max(0, now.timeIntervalSince(bucket.updated))
        bucket.tokens = min(Double(burst), bucket.tokens + elapsed / refill)
        bucket.updated = now
        // Warned once per flood: again only after a full recovery, not after each message let through.
        if bucket.tokens >= Double(burst) { bucket.warned = false }
        defer {
            buckets[sender] = bucket
            // Forget people whose bucket is full again: the map holds the busy ones only.
            if buckets.count > 10_000 {
                buckets = buckets.filter { $0.value.tokens + max(0, now.timeIntervalSince($0.value.updated)) / refill < Double(burst) }
            }
        }
        if bucket.tokens >= 1 {
            bucket.tokens -= 1
            return .admitted
        }
        let first = !bucket.warned && canWarn
        if canWarn { bucket.warned = true }
        return .limited(firstTime: first)
    }
}
