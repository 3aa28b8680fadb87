import Foundation

/// One HTTP request, as the Matrix client builds it.
public struct HTTPRequest: Sendable, Hashable {
    public var method: String
    public var url: URL
    public var headers: [String: String]
    public var body: Data?
    /// Seconds before the client gives up on this request (above a long poll's own timeout).
    public var timeout: TimeInterval
    /// The largest response body taken (a download); a bigger one fails the transfer instead of filling memory.
    public var maximumBodySize: Int?

    public init(
        method: String, url: URL, headers: [String: String] = [:], body: Data? = nil, timeout: TimeInterval = 30,
        maximumBodySize: Int? = nil
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
        self.maximumBodySize = maximumBodySize
    }
}

/// What came back: status, headers (lower-cased names) and body.
public struct HTTPResponse: Sendable, Hashable {
    public var status: Int
    public var headers: [String: String]
    public var body: Data

    public init(status: Int, headers: [String: String] = [:], body: Data = Data()) {
        self.status = status
        self.headers = headers
        self.body = body
    }
}

/// Sends HTTP requests. The adapter holds one for its whole life (``CurlHTTPClient``); tests substitute a
/// scripted fake.
///
/// Implementations throw only for transport failures (no response at all); any status code,
/// 5xx included, is a normal ``HTTPResponse``.
public protocol HTTPClient: Sendable {
    func send(_ request: HTTPRequest) async throws -> HTTPResponse
}
