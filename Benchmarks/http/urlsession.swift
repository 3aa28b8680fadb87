// CPU per request of Foundation's URLSession on this platform, configured as the Matrix adapter's
// (ephemeral, no cookies, credentials or cache), awaited one after the other as the adapter does.
import Foundation
#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(0, &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}

let port = CommandLine.arguments[1], count = Int(CommandLine.arguments[2]) ?? 3000
let configuration = URLSessionConfiguration.ephemeral
configuration.httpCookieStorage = nil
configuration.httpCookieAcceptPolicy = .never
configuration.httpShouldSetCookies = false
configuration.urlCredentialStorage = nil
configuration.urlCache = nil
configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
let session = URLSession(configuration: configuration)
var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/_matrix/client/versions")!)
request.setValue("application/json", forHTTPHeaderField: "Accept")
request.setValue("Bearer benchmark-token", forHTTPHeaderField: "Authorization")
_ = try await session.data(for: request)
let start = cpuSeconds()
for _ in 0..<count { _ = try await session.data(for: request) }
print(String(format: "URLSession: %.0f µs of CPU per request", (cpuSeconds() - start) / Double(count) * 1e6))
