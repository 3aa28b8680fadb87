import Foundation

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// HTTP GET through Foundation's URLSession, redirects followed, the body read until `maximumBytes` and
/// the request cancelled past it.
public struct URLSessionTransport: WebTransport {
    public init() {}

    public func get(_ url: URL, maximumBytes: Int, timeout: TimeInterval) throws(WebPageFetcher.Failure) -> WebResponse {
        let collector = BodyCollector(limit: maximumBytes)
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout
        configuration.timeoutIntervalForResource = timeout
        configuration.httpAdditionalHeaders = ["User-Agent": "\(WebPageFetcher.userAgent)/1.0 (knowledge base import)"]
        let session = URLSession(configuration: configuration, delegate: collector, delegateQueue: nil)
        defer { session.finishTasksAndInvalidate() }
        var request = URLRequest(url: url)
        request.timeoutInterval = timeout
        session.dataTask(with: request).resume()
        return try collector.wait(timeout: timeout + 5, url: url)
    }
}

/// Gathers one response's body on URLSession's queue and hands it to the waiting caller.
private final class BodyCollector: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    private let limit: Int
    private let condition = NSCondition()
    private var response: HTTPURLResponse?
    private var body = Data()
    private var outcome: Result<Void, WebPageFetcher.Failure>?

    init(limit: Int) {
        self.limit = limit
    }

    func urlSession(
        _ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
        completionHandler: @escaping (URLSession.ResponseDisposition) -> Void
    ) {
        condition.lock()
        self.response = response as? HTTPURLResponse
        let declared = response.expectedContentLength
        condition.unlock()
        if declared > Int64(limit) {
            finish(.failure(.tooLarge(limit)))
            completionHandler(.cancel)
            return
        }
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        condition.lock()
        body.append(data)
        let over = body.count > limit
        condition.unlock()
        if over {
            finish(.failure(.tooLarge(limit)))
            dataTask.cancel()
        }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
        guard let error else { return finish(.success(())) }
        let code = (error as NSError).code
        finish(.failure(code == NSURLErrorTimedOut ? .timedOut : .network(error.localizedDescription)))
    }

    /// The first outcome wins: a cancellation after "too large" is not a network error.
    private func finish(_ result: Result<Void, WebPageFetcher.Failure>) {
        condition.lock()
        if outcome == nil { outcome = result }
        condition.broadcast()
        condition.unlock()
    }

    func wait(timeout: TimeInterval, url: URL) throws(WebPageFetcher.Failure) -> WebResponse {
        condition.lock()
        defer { condition.unlock() }
        let deadline = Date().addingTimeInterval(timeout)
        while outcome == nil {
            if !condition.wait(until: deadline) { throw .timedOut }
        }
        if case .failure(let failure) = outcome { throw failure }
        guard let response else { throw .network("no HTTP response") }
        return WebResponse(
            status: response.statusCode, contentType: response.value(forHTTPHeaderField: "Content-Type"), body: body,
            url: response.url ?? url)
    }
}
