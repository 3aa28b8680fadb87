// CPU per request of the Matrix adapter's HTTP client, `CurlHTTPClient` (the very client `fabrique matrix`
// uses), or of the `URLSession` client it replaced (kept here as the baseline), awaited one after the
// other as the adapter does.
//
//   client-bench curl|curl-thread|urlsession PORT [COUNT]
//
// `curl-thread` awaits the requests from a task that prefers the client's own thread, as `fabrique matrix`
// does (`CurlHTTPClient.runOnTransportThread`): no thread hand-off per request.
import Foundation
import MatrixAdapter

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The adapter's client before libcurl: one ephemeral `URLSession` without cookies, credentials or cache.
final class URLSessionHTTPClient: HTTPClient {
    private let session: URLSession

    init() {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpCookieStorage = nil
        configuration.httpCookieAcceptPolicy = .never
        configuration.httpShouldSetCookies = false
        configuration.urlCredentialStorage = nil
        configuration.urlCache = nil
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        configuration.httpMaximumConnectionsPerHost = 4
        configuration.timeoutIntervalForResource = 120
        session = URLSession(configuration: configuration)
    }

    func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        var urlRequest = URLRequest(url: request.url)
        urlRequest.timeoutInterval = request.timeout
        urlRequest.httpMethod = request.method
        for (name, value) in request.headers { urlRequest.setValue(value, forHTTPHeaderField: name) }
        urlRequest.httpBody = request.body
        let (data, response) = try await session.data(for: urlRequest)
        let http = response as! HTTPURLResponse
        return HTTPResponse(status: http.statusCode, body: data)
    }
}

func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(0, &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}

let mode = CommandLine.arguments[1], port = CommandLine.arguments[2]
let count = CommandLine.arguments.count > 3 ? Int(CommandLine.arguments[3]) ?? 3000 : 3000
let curl = CurlHTTPClient()
let client: any HTTPClient = mode == "urlsession" ? URLSessionHTTPClient() : curl
let request = HTTPRequest(
    method: "GET", url: URL(string: "http://127.0.0.1:\(port)/_matrix/client/versions")!,
    headers: ["Accept": "application/json", "Authorization": "Bearer benchmark-token"])
_ = try await client.send(request)
let start = cpuSeconds()
if mode == "curl-thread" {
    try await curl.runOnTransportThread {
        for _ in 0..<count { _ = try await curl.send(request) }
    }
} else {
    for _ in 0..<count { _ = try await client.send(request) }
}
let label = switch mode {
case "urlsession": "URLSession (the adapter's former client)"
case "curl-thread": "CurlHTTPClient, awaited on its own thread (as fabrique matrix does)"
default: "CurlHTTPClient (the adapter's client), awaited from Swift's pool"
}
print(String(format: "%@: %.0f µs of CPU per request", label, (cpuSeconds() - start) / Double(count) * 1e6))
