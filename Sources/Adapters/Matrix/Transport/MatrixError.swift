import BotCore
import Foundation

/// A failed client-server call, classified so callers can decide between waiting, retrying and giving up.
///
/// Descriptions never contain the access token: requests carry it in a header, and no header or
/// request body is ever copied into an error.
public enum MatrixError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The server answered with an error status.
    case http(status: Int, errcode: String?, message: String?, retryAfter: Duration?)
    /// No answer at all (connection refused, timeout, reset).
    case transport(String)
    /// An answer that is not the JSON the endpoint promises.
    case malformedResponse(String)

    public var description: String {
        switch self {
        case .http(let status, let errcode, let message, let retryAfter):
            var text = "HTTP \(status)"
            if let errcode { text += " \(errcode)" }
            if let message, !message.isEmpty { text += ": \(message.prefix(300))" }
            if let retryAfter { text += " (retry after \(retryAfter))" }
            return text
        case .transport(let reason): return "cannot reach the homeserver: \(reason)"
        case .malformedResponse(let what): return "unexpected answer from the homeserver: \(what)"
        }
    }

    public var errcode: String? {
        if case .http(_, let code, _, _) = self { code } else { nil }
    }

    /// 429 or `M_LIMIT_EXCEEDED`: wait for ``retryAfter`` and try again.
    public var isRateLimited: Bool {
        if case .http(let status, let code, _, _) = self { status == 429 || code == "M_LIMIT_EXCEEDED" } else { false }
    }

    /// The access token is wrong, expired or logged out: nothing will work until a person acts.
    public var isUnknownToken: Bool {
        if case .http(let status, let code, _, _) = self {
            code == "M_UNKNOWN_TOKEN" || code == "M_MISSING_TOKEN" || (status == 401 && code == nil)
        } else {
            false
        }
    }

    /// Worth retrying later: network failure, 5xx, rate limit, request timeout.
    public var isTransient: Bool {
        switch self {
        case .transport: true
        case .malformedResponse: false
        case .http(let status, _, _, _): isRateLimited || status >= 500 || status == 408
        }
    }

    /// How long the server asked us to wait.
    public var retryAfter: Duration? {
        if case .http(_, _, _, let after) = self { after } else { nil }
    }

    /// Builds the error for a non-2xx response, reading `errcode`, `error` and `retry_after_ms`
    /// (or the `Retry-After` header, in seconds).
    static func from(_ response: HTTPResponse) -> MatrixError {
        let json = JSON.parse(response.body)
        var retryAfter: Duration?
        if let ms = json?["retry_after_ms"]?.int, ms >= 0 {
            retryAfter = .milliseconds(ms)
        } else if let header = response.headers["retry-after"], let seconds = Int(header.trimmingCharacters(in: .whitespaces)), seconds >= 0
        {
            retryAfter = .seconds(seconds)
        }
        return .http(
            status: response.status, errcode: json?["errcode"]?.string, message: json?["error"]?.string,
            retryAfter: retryAfter)
    }
}
