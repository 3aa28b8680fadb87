import CCurl
import Foundation
import Logging

/// ``HTTPClient`` over libcurl's multi interface, driven from one thread of its own.
///
/// All requests share one multi handle, hence one connection cache: the long-poll `/sync`, sends,
/// uploads and media downloads run in parallel on reused HTTP/1.1 keep-alive connections (at most
/// `maxConnectionsPerHost` to one host; more wait their turn inside libcurl). A request costs one
/// hand-off to that thread and one back (the resumed task), and no thread of its own.
///
/// - TLS peers and host names are verified (libcurl's defaults, set explicitly).
/// - ``HTTPRequest/timeout`` bounds the whole transfer, connecting included.
/// - Cancelling the calling task aborts the transfer and throws `CancellationError`.
/// - Only `GET` and `HEAD` follow redirects (at most 5, http and https only; libcurl does not carry our
///   `Authorization` header to another host). Any other method gets the redirect itself as its response.
/// - Any status, 5xx included, is a response; transport failures throw ``CurlTransportError``, whose
///   text is libcurl's name for the failure: never a URL, a header or a body.
/// - With `trace`, libcurl's verbose output goes to that logger at trace level: its notes and the
///   request and response headers, with credentials replaced by `<redacted>`, and never a body.
public final class CurlHTTPClient: HTTPClient {
    private let loop: CurlEventLoop
    private let trace: Logger?

    /// - Parameters:
    ///   - maxConnectionsPerHost: parallel connections to one host (the sync's long poll holds one).
    ///   - trace: where libcurl's verbose output goes, redacted; nil for none.
    public init(maxConnectionsPerHost: Int = 6, trace: Logger? = nil) {
        loop = CurlEventLoop(maxConnectionsPerHost: maxConnectionsPerHost)
        self.trace = trace
    }

    deinit { loop.enqueue(.stop) }

    /// Runs `body` in the current task with this client's thread as its preferred executor: the task,
    /// and the default actors it calls into, then run on that thread, so a request's completion resumes
    /// them there, without a hand-off to another thread and back. The client must outlive `body`.
    public func runOnTransportThread<T: Sendable>(_ body: () async throws -> T) async rethrows -> T {
        if #available(macOS 15.0, *) {
            return try await withTaskExecutorPreference(loop) { try await body() }
        }
        return try await body()
    }

    /// Whether the caller runs on this client's thread.
    var isTransportThread: Bool { loop.isCurrent }

    /// A new task on this client's thread (see ``runOnTransportThread(_:)``).
    func task(_ operation: sending @escaping () async -> Void) -> Task<Void, Never> {
        if #available(macOS 15.0, *) {
            return Task(executorPreference: loop, operation: operation)
        }
        return Task(operation: operation)
    }

    public func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        try Task.checkCancellation()
        let transfer = CurlTransfer(request, trace: trace)
        let loop = loop
        return try await withTaskCancellationHandler {
            // Unsafe rather than checked: the loop resumes each transfer exactly once (`CurlTransfer.finish`).
            try await withUnsafeThrowingContinuation { continuation in
                transfer.continuation = continuation
                loop.enqueue(.start(transfer))
            }
        } onCancel: {
            loop.enqueue(.cancel(transfer))
        }
    }
}

/// A transfer that got no response: connection refused or reset, name not resolved, TLS failure, timeout.
public struct CurlTransportError: Error, Sendable, Hashable, CustomStringConvertible {
    /// libcurl's `CURLcode`.
    public var code: Int
    /// libcurl's text for `code` (`curl_easy_strerror`).
    public var reason: String
    /// The system's `errno` behind it, 0 when none.
    public var systemError: Int

    public var isTimeout: Bool { code == Int(CURLE_OPERATION_TIMEDOUT.rawValue) }

    public var description: String {
        systemError == 0 ? "\(reason) (curl \(code))" : "\(reason) (curl \(code), errno \(systemError))"
    }

    init(_ code: CURLcode, systemError: Int = 0) {
        self.code = Int(code.rawValue)
        reason = String(cString: curl_easy_strerror(code))
        self.systemError = systemError
    }
}

/// The thread that owns the multi handle: it adds and removes transfers, runs libcurl and resumes
/// the waiting tasks. Other threads only append commands and wake it (`curl_multi_wakeup`).
final class CurlEventLoop: @unchecked Sendable {
    enum Command {
        case start(CurlTransfer)
        case cancel(CurlTransfer)
        /// A job of a task that prefers this thread (``CurlHTTPClient/runOnTransportThread(_:)``).
        case run(UnownedJob)
        case stop
    }

    private static let globalInit: Void = { _ = ccurl_global_init() }()

    /// Guards `commands` and `loopThread`.
    private let lock = NSLock()
    private var commands: [Command] = []
    private var loopThread: pthread_t?
    private let multi: UnsafeMutableRawPointer

    // The loop thread's own state.
    private var active: [UnsafeMutableRawPointer: CurlTransfer] = [:]
    /// Reset easy handles kept for the next transfers (the connections live in the multi handle).
    private var idle: [UnsafeMutableRawPointer] = []
    private static let idleLimit = 8

    init(maxConnectionsPerHost: Int) {
        Self.globalInit
        guard let multi = curl_multi_init() else { fatalError("curl_multi_init failed") }
        self.multi = multi
        ccurl_multi_setopt_long(multi, CURLMOPT_MAX_HOST_CONNECTIONS, max(1, maxConnectionsPerHost))
        ccurl_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, max(1, maxConnectionsPerHost) * 2)
        ccurl_multi_setopt_long(multi, CURLMOPT_PIPELINING, Int(CURLPIPE_NOTHING))
        Thread { [self] in run() }.start()
    }

    /// Runs after the thread has returned from `run` and every enqueuer has let go.
    deinit { curl_multi_cleanup(multi) }

    func enqueue(_ command: Command) {
        let fromLoop = lock.withLock {
            commands.append(command)
            return loopThread.map { pthread_equal($0, pthread_self()) != 0 } ?? false
        }
        // The loop looks at its commands again before it waits: from its own thread, no wake-up is needed.
        if !fromLoop { curl_multi_wakeup(multi) }
    }

    /// Whether the caller runs on this loop's thread.
    var isCurrent: Bool {
        lock.withLock { loopThread.map { pthread_equal($0, pthread_self()) != 0 } ?? false }
    }

    private func run() {
        lock.withLock { loopThread = pthread_self() }
        ccurl_name_current_thread("fabrique-curl")
        var batch: [Command] = []
        var running: Int32 = 0
        var stopping = false
        while !stopping {
            lock.withLock { swap(&batch, &commands) }
            for command in batch {
                switch command {
                case .start(let transfer): start(transfer)
                case .cancel(let transfer): cancel(transfer)
                case .run(let job): runJob(job)
                case .stop: stopping = true
                }
            }
            batch.removeAll(keepingCapacity: true)
            if stopping { break }
            curl_multi_perform(multi, &running)
            finishCompleted()
            // Wait for socket activity, libcurl's own timers or a wake-up from `enqueue`, unless the
            // commands above (or the tasks they resumed) left more to do.
            if lock.withLock({ commands.isEmpty }) { curl_multi_poll(multi, nil, 0, 60_000, nil) }
        }
        stop()
    }

    private func runJob(_ job: UnownedJob) {
        if #available(macOS 15.0, *) {
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }

    private func start(_ transfer: CurlTransfer) {
        if transfer.cancelled {
            transfer.finish(.failure(CancellationError()))
            return
        }
        guard let handle = idle.popLast() ?? curl_easy_init() else {
            transfer.finish(.failure(CurlTransportError(CURLE_OUT_OF_MEMORY)))
            return
        }
        let configured = transfer.configure(handle)
        guard configured == CURLE_OK else {
            transfer.finish(.failure(CurlTransportError(configured)))
            recycle(handle)
            return
        }
        guard curl_multi_add_handle(multi, handle) == CURLM_OK else {
            transfer.finish(.failure(CurlTransportError(CURLE_FAILED_INIT)))
            recycle(handle)
            return
        }
        transfer.handle = handle
        active[handle] = transfer
    }

    private func cancel(_ transfer: CurlTransfer) {
        guard let handle = transfer.handle, active.removeValue(forKey: handle) != nil else {
            // Not started yet (the task was cancelled before its start was read): `start` will see it.
            transfer.cancelled = true
            return
        }
        curl_multi_remove_handle(multi, handle)
        transfer.finish(.failure(CancellationError()))
        recycle(handle)
    }

    private func finishCompleted() {
        var queued: Int32 = 0
        while let message = curl_multi_info_read(multi, &queued) {
            guard message.pointee.msg == CURLMSG_DONE, let handle = message.pointee.easy_handle else { continue }
            // Read before removing the handle: that invalidates the message.
            let result = message.pointee.data.result
            curl_multi_remove_handle(multi, handle)
            guard let transfer = active.removeValue(forKey: handle) else {
                recycle(handle)
                continue
            }
            if result == CURLE_OK {
                var status = 0
                ccurl_easy_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
                transfer.finish(.success(HTTPResponse(status: status, headers: transfer.headers, body: transfer.body)))
            } else {
                var systemError = 0
                ccurl_easy_getinfo_long(handle, CURLINFO_OS_ERRNO, &systemError)
                transfer.finish(.failure(CurlTransportError(result, systemError: systemError)))
            }
            recycle(handle)
        }
    }

    private func recycle(_ handle: UnsafeMutableRawPointer) {
        if idle.count < Self.idleLimit {
            curl_easy_reset(handle)
            idle.append(handle)
        } else {
            curl_easy_cleanup(handle)
        }
    }

    private func stop() {
        for (handle, transfer) in active {
            curl_multi_remove_handle(multi, handle)
            transfer.finish(.failure(CancellationError()))
            curl_easy_cleanup(handle)
        }
        active = [:]
        for handle in idle { curl_easy_cleanup(handle) }
        idle = []
    }
}

@available(macOS 15.0, *)
extension CurlEventLoop: TaskExecutor {
    func enqueue(_ job: consuming ExecutorJob) {
        enqueue(.run(UnownedJob(job)))
    }
}

/// One request in flight. Built on the caller's thread; after it is enqueued, only the loop thread
/// touches it (libcurl calls its callbacks from `curl_multi_perform`).
final class CurlTransfer: @unchecked Sendable {
    let request: HTTPRequest
    let trace: Logger?
    var continuation: UnsafeContinuation<HTTPResponse, any Error>?
    var handle: UnsafeMutableRawPointer?
    var cancelled = false
    private var finished = false
    private(set) var headers: [String: String] = [:]
    private(set) var body = Data()
    /// The request body, where libcurl reads it (`CURLOPT_POSTFIELDS` does not copy).
    private let upload: UnsafeMutableRawBufferPointer?
    private var headerList: UnsafeMutablePointer<curl_slist>?

    init(_ request: HTTPRequest, trace: Logger?) {
        self.request = request
        self.trace = trace
        if let body = request.body {
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(body.count, 1), alignment: 1)
            // Not `Data.copyBytes(to:count:)`: its generic path cost 1 % of a reply's CPU (perf).
            body.withUnsafeBytes { buffer.copyMemory(from: $0) }
            upload = buffer
        } else {
            upload = nil
        }
    }

    deinit {
        upload?.deallocate()
        curl_slist_free_all(headerList)
    }

    func finish(_ result: Result<HTTPResponse, any Error>) {
        guard !finished else { return }
        finished = true
        continuation?.resume(with: result)
        continuation = nil
    }

    /// Sets every option of this request on a fresh (or reset) easy handle.
    func configure(_ handle: UnsafeMutableRawPointer) -> CURLcode {
        let me = UnsafeRawPointer(Unmanaged.passUnretained(self).toOpaque())
        let method = request.method.uppercased()
        let timeout = max(1, Int((request.timeout * 1000).rounded()))
        var codes: [CURLcode] = [
            ccurl_easy_setopt_string(handle, CURLOPT_URL, request.url.absoluteString),
            ccurl_easy_setopt_string(handle, CURLOPT_PROTOCOLS_STR, "http,https"),
            ccurl_easy_setopt_long(handle, CURLOPT_NOSIGNAL, 1),
            ccurl_easy_setopt_long(handle, CURLOPT_HTTP_VERSION, Int(CURL_HTTP_VERSION_1_1)),
            ccurl_easy_setopt_long(handle, CURLOPT_TIMEOUT_MS, timeout),
            ccurl_easy_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, min(timeout, 15_000)),
            ccurl_easy_setopt_long(handle, CURLOPT_SSL_VERIFYPEER, 1),
            ccurl_easy_setopt_long(handle, CURLOPT_SSL_VERIFYHOST, 2),
            ccurl_easy_setopt_long(handle, CURLOPT_TCP_KEEPALIVE, 1),
            ccurl_easy_setopt_write_function(handle, CURLOPT_WRITEFUNCTION) { data, size, count, user in
                let length = size * count
                if let data, let user, length > 0 {
                    let transfer = Unmanaged<CurlTransfer>.fromOpaque(user).takeUnretainedValue()
                    // Past the caller's limit: returning less than given makes libcurl stop (CURLE_WRITE_ERROR).
                    if let limit = transfer.request.maximumBodySize, transfer.body.count + length > limit { return 0 }
                    transfer.body.append(UnsafeRawPointer(data).assumingMemoryBound(to: UInt8.self), count: length)
                }
                return length
            },
            ccurl_easy_setopt_pointer(handle, CURLOPT_WRITEDATA, me),
            ccurl_easy_setopt_write_function(handle, CURLOPT_HEADERFUNCTION) { data, size, count, user in
                let length = size * count
                if let data, let user {
                    Unmanaged<CurlTransfer>.fromOpaque(user).takeUnretainedValue().receiveHeader(
                        UnsafeRawBufferPointer(start: data, count: length))
                }
                return length
            },
            ccurl_easy_setopt_pointer(handle, CURLOPT_HEADERDATA, me),
        ]
        if let limit = request.maximumBodySize {
            // Refused from its Content-Length before any byte comes (CURLE_FILESIZE_EXCEEDED).
            codes.append(ccurl_easy_setopt_off_t(handle, CURLOPT_MAXFILESIZE_LARGE, curl_off_t(limit)))
        }
        switch method {
        case "GET", "HEAD":
            codes.append(ccurl_easy_setopt_long(handle, method == "GET" ? CURLOPT_HTTPGET : CURLOPT_NOBODY, 1))
            codes.append(ccurl_easy_setopt_long(handle, CURLOPT_FOLLOWLOCATION, 1))
            codes.append(ccurl_easy_setopt_long(handle, CURLOPT_MAXREDIRS, 5))
            codes.append(ccurl_easy_setopt_string(handle, CURLOPT_REDIR_PROTOCOLS_STR, "http,https"))
        default:
            if method != "POST" { codes.append(ccurl_easy_setopt_string(handle, CURLOPT_CUSTOMREQUEST, method)) }
            if method == "POST" || upload != nil {
                // A POST or PUT without a body still says `Content-Length: 0`.
                codes.append(ccurl_easy_setopt_off_t(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(request.body?.count ?? 0)))
                codes.append(ccurl_easy_setopt_pointer(handle, CURLOPT_POSTFIELDS, upload.map { UnsafeRawPointer($0.baseAddress!) } ?? me))
            }
            codes.append(ccurl_easy_setopt_long(handle, CURLOPT_FOLLOWLOCATION, 0))
        }
        var list: UnsafeMutablePointer<curl_slist>?
        var hasContentType = false
        for (name, value) in request.headers {
            if name.lowercased() == "content-type" { hasContentType = true }
            // "Name;" is libcurl's way to send a header with an empty value.
            list = curl_slist_append(list, value.isEmpty ? "\(name);" : "\(name): \(value)")
        }
        // No `Expect: 100-continue` wait before larger bodies (Synapse never answers it: a one-second stall),
        // and no form content type that libcurl would add to a POST.
        list = curl_slist_append(list, "Expect:")
        if !hasContentType { list = curl_slist_append(list, "Content-Type:") }
        headerList = list
        codes.append(ccurl_easy_setopt_pointer(handle, CURLOPT_HTTPHEADER, list))
        if trace != nil {
            codes.append(ccurl_easy_setopt_long(handle, CURLOPT_VERBOSE, 1))
            codes.append(
                ccurl_easy_setopt_debug_function(handle) { _, type, data, size, user in
                    if let data, let user {
                        Unmanaged<CurlTransfer>.fromOpaque(user).takeUnretainedValue().traceVerbose(
                            type, UnsafeRawBufferPointer(start: data, count: size))
                    }
                    return 0
                })
            codes.append(ccurl_easy_setopt_pointer(handle, CURLOPT_DEBUGDATA, me))
        }
        return codes.first { $0 != CURLE_OK } ?? CURLE_OK
    }

    /// One header line of the response; a status line (`HTTP/1.1 302 Found`) starts a new response
    /// (a followed redirect, a `100 Continue`).
    private func receiveHeader(_ line: UnsafeRawBufferPointer) {
        var end = line.count
        while end > 0, line[end - 1] == 0x0A || line[end - 1] == 0x0D { end -= 1 }
        guard end > 0 else { return }
        if end >= 5, line[0] == UInt8(ascii: "H"), line[1] == UInt8(ascii: "T"), line[2] == UInt8(ascii: "T"),
            line[3] == UInt8(ascii: "P"), line[4] == UInt8(ascii: "/")
        {
            headers.removeAll(keepingCapacity: true)
            return
        }
        guard let colon = line[..<end].firstIndex(of: UInt8(ascii: ":")) else { return }
        var start = colon + 1
        while start < end, line[start] == UInt8(ascii: " ") || line[start] == UInt8(ascii: "\t") { start += 1 }
        var name = String(decoding: UnsafeRawBufferPointer(rebasing: line[..<colon]), as: UTF8.self)
        if name.utf8.contains(where: { (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) }) { name = name.lowercased() }
        headers[name] = String(decoding: UnsafeRawBufferPointer(rebasing: line[start..<end]), as: UTF8.self)
    }

    /// libcurl's verbose output, line by line, credentials redacted; bodies (which may hold a password) never.
    private func traceVerbose(_ type: curl_infotype, _ data: UnsafeRawBufferPointer) {
        guard let trace else { return }
        let prefix: String
        switch type {
        case CURLINFO_TEXT: prefix = "*"
        case CURLINFO_HEADER_OUT: prefix = ">"
        case CURLINFO_HEADER_IN: prefix = "<"
        default: return
        }
        for line in String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline) where !line.isEmpty {
            trace.trace("curl \(prefix) \(Self.redacted(line))")
        }
    }

    /// A header or note with any credential replaced: `Authorization`-like headers and `access_token` parameters.
    static func redacted(_ line: Substring) -> String {
        for name in ["authorization:", "proxy-authorization:", "cookie:", "set-cookie:"]
        where line.utf8.count >= name.utf8.count && line.prefix(name.count).lowercased() == name {
            return "\(line.prefix(name.count)) <redacted>"
        }
        var text = String(line)
        var searchFrom = text.startIndex
        while let found = text.range(of: "access_token=", options: .caseInsensitive, range: searchFrom..<text.endIndex) {
            let end = text[found.upperBound...].firstIndex { $0 == "&" || $0 == " " || $0 == "'" || $0 == "\"" } ?? text.endIndex
            text.replaceSubrange(found.upperBound..<end, with: "<redacted>")
            searchFrom = text.index(found.upperBound, offsetBy: "<redacted>".count)
        }
        return text
    }
}

extension MatrixAdapter {
    /// The sync loop's task: on the client's own thread when the client has one (``CurlHTTPClient``),
    /// so each sync response resumes it there; a plain task otherwise (the tests' scripted client).
    nonisolated static func transportTask(for http: any HTTPClient, _ operation: sending @escaping () async -> Void) -> Task<Void, Never> {
        if let curl = http as? CurlHTTPClient { return curl.task(operation) }
        return Task(operation: operation)
    }
}
