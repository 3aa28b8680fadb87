import Foundation

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Fetches one web page for the knowledge base, politely: the site's robots.txt is read first and obeyed,
/// the page must be HTML, and the download stops at a size limit and a timeout.
///
/// A target of its own, used by the command line (`fabrique kb import https://…`): the knowledge base
/// takes the page's text and address and never does network I/O itself, and it must not borrow an adapter's
/// HTTP client (the Matrix transport's libcurl client belongs to the adapter). The policy (robots.txt,
/// limits, content type) is here, over a ``WebTransport`` a test replaces.
public struct WebPageFetcher: Sendable {
    /// What the fetcher says to sites, and matches in robots.txt groups.
    public static let userAgent = "Fabrique"

    public var transport: any WebTransport
    /// Pages larger than this are refused.
    public var maximumBytes: Int
    /// Each request gives up after this many seconds.
    public var timeout: TimeInterval

    public init(transport: any WebTransport = URLSessionTransport(), maximumBytes: Int = 5_000_000, timeout: TimeInterval = 20) {
        self.transport = transport
        self.maximumBytes = maximumBytes
        self.timeout = timeout
    }

    /// A fetched page: its HTML and the address it was finally read from (after redirects).
    public struct Page: Sendable, Equatable {
        public var html: String
        public var url: String
    }

    /// Why a page was not fetched, in words a person can act on.
    public enum Failure: Error, CustomStringConvertible, Sendable, Equatable {
        case invalidAddress
        case disallowedByRobots(String)
        case httpStatus(Int)
        case notHTML(String)
        case tooLarge(Int)
        case timedOut
        case network(String)

        public var description: String {
            switch self {
            case .invalidAddress: "not a web address (expected http:// or https://)"
            case .disallowedByRobots(let robots): "the site's \(robots) does not allow robots to read this page"
            case .httpStatus(let status): "the site answered HTTP \(status)"
            case .notHTML(let type): "not a web page (content type \(type)); download the file and import it instead"
            case .tooLarge(let limit): "the page is larger than \(limit / 1_000_000) MB"
            case .timedOut: "the site did not answer in time"
            case .network(let reason): "cannot reach the site (\(reason))"
            }
        }
    }

    public func fetch(_ address: String) throws(Failure) -> Page {
        guard let url = URL(string: address), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
            let host = url.host, !host.isEmpty
        else { throw .invalidAddress }
        var robotsURL = URLComponents()
        robotsURL.scheme = scheme
        robotsURL.host = host
        robotsURL.port = url.port
        robotsURL.path = "/robots.txt"
        if let robotsAddress = robotsURL.url {
            // A missing robots.txt (404, or any client error) allows everything; a server error or a network
            // failure means the site cannot say, and the page is not fetched.
            let robots = try transport.get(robotsAddress, maximumBytes: 512_000, timeout: timeout)
            if robots.status >= 500 { throw .httpStatus(robots.status) }
            if robots.status == 200 {
                let rules = RobotsRules(String(decoding: robots.body, as: UTF8.self), userAgent: Self.userAgent)
                var path = url.path.isEmpty ? "/" : url.path
                if let query = url.query { path += "?" + query }
                if !rules.allows(path) { throw .disallowedByRobots(robotsAddress.absoluteString) }
            }
        }
        let response = try transport.get(url, maximumBytes: maximumBytes, timeout: timeout)
        guard response.status == 200 else { throw .httpStatus(response.status) }
        let type = response.contentType?.lowercased() ?? "unknown"
        guard type.hasPrefix("text/html") || type.hasPrefix("application/xhtml") else { throw .notHTML(type) }
        return Page(html: String(decoding: response.body, as: UTF8.self), url: response.url.absoluteString)
    }
}

/// One HTTP GET, as the fetcher needs it.
public protocol WebTransport: Sendable {
    /// - Throws: ``WebPageFetcher/Failure/tooLarge(_:)`` past `maximumBytes`, ``WebPageFetcher/Failure/timedOut``,
    ///   ``WebPageFetcher/Failure/network(_:)``.
    func get(_ url: URL, maximumBytes: Int, timeout: TimeInterval) throws(WebPageFetcher.Failure) -> WebResponse
}

public struct WebResponse: Sendable, Equatable {
    public var status: Int
    public var contentType: String?
    public var body: Data
    /// The address the body came from, after redirects.
    public var url: URL

    public init(status: Int, contentType: String?, body: Data, url: URL) {
        self.status = status
        self.contentType = contentType
        self.body = body
        self.url = url
    }
}

/// The rules of a robots.txt for one user agent: the group naming it, else the `*` group; the longest
/// matching `Allow` or `Disallow` wins, `Allow` on a tie; `*` and a final `$` in paths are understood.
public struct RobotsRules: Sendable {
    private var rules: [(allow: Bool, pattern: String)] = []

    public init(_ text: String, userAgent: String) {
        var groups: [(agents: [String], rules: [(Bool, String)])] = []
        var readingAgents = false
        for rawLine in text.split(whereSeparator: \.isNewline) {
            let line = rawLine.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            guard let colon = line.firstIndex(of: ":") else { continue }
            let field = line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            switch field {
            case "user-agent":
                if !readingAgents || groups.isEmpty { groups.append(([], [])) }
                groups[groups.count - 1].agents.append(value.lowercased())
                readingAgents = true
            case "allow", "disallow":
                readingAgents = false
                guard !groups.isEmpty, !value.isEmpty else { continue }
                groups[groups.count - 1].rules.append((field == "allow", value))
            default:
                readingAgents = false
            }
        }
        let agent = userAgent.lowercased()
        let chosen =
            groups.first { $0.agents.contains { !$0.isEmpty && $0 != "*" && agent.hasPrefix($0) } }
            ?? groups.first { $0.agents.contains("*") }
        rules = chosen?.rules.map { (allow: $0.0, pattern: $0.1) } ?? []
    }

    /// Whether `path` (with its query) may be fetched.
    public func allows(_ path: String) -> Bool {
        var best: (length: Int, allow: Bool)?
        for rule in rules where Self.matches(rule.pattern, path) {
            let length = rule.pattern.count
            if let current = best, length < current.length || (length == current.length && !rule.allow) { continue }
            best = (length, rule.allow)
        }
        return best?.allow ?? true
    }

    /// `pattern` against the start of `path`, `*` matching any run of characters, a final `$` the end.
    static func matches(_ pattern: String, _ path: String) -> Bool {
        var pattern = Substring(pattern)
        let anchored = pattern.hasSuffix("$")
        if anchored { pattern = pattern.dropLast() }
        let pieces = pattern.split(separator: "*", omittingEmptySubsequences: false)
        var rest = Substring(path)
        for (index, piece) in pieces.enumerated() {
            if index == 0 {
                guard rest.hasPrefix(piece) else { return false }
                rest = rest.dropFirst(piece.count)
            } else if let range = rest.range(of: piece) {
                rest = rest[range.upperBound...]
            } else {
                return false
            }
        }
        if anchored, let last = pieces.last, !last.isEmpty || pieces.count == 1 { return rest.isEmpty }
        return true
    }
}
