// CPU per request of the Matrix adapter's `URLSessionHTTPClient` (the very client `fabrique matrix` uses),
// awaited one after the other as the adapter does.
import Foundation
import MatrixAdapter

func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(0, &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}

let port = CommandLine.arguments[1], count = Int(CommandLine.arguments[2]) ?? 3000
let client = URLSessionHTTPClient()
let request = HTTPRequest(
    method: "GET", url: URL(string: "http://127.0.0.1:\(port)/_matrix/client/versions")!,
    headers: ["Accept": "application/json", "Authorization": "Bearer benchmark-token"])
_ = try await client.send(request)
let start = cpuSeconds()
for _ in 0..<count { _ = try await client.send(request) }
print(String(format: "URLSession (the adapter's client): %.0f µs of CPU per request", (cpuSeconds() - start) / Double(count) * 1e6))
