import Foundation

/// The real `fabrique` executable as a child process: the one way tests run the binary
/// (argument-parser's `AssertExecuteCommand` idea), for the terminal, the Matrix bot and the CLI alike.
///
/// Without a log file, standard input is a pipe (``send(_:)``) and the output is collected in memory;
/// with one, standard output and error are appended to it, across restarts, and standard input is empty.
///
///     let run = try FabriqueProcess.launch(["chat", "--ephemeral"])
///     run.send("!help\n")
///     XCTAssertEqual(run.finish(), 0, run.errorOutput)
public final class FabriqueProcess: @unchecked Sendable {  // mutable state under `condition`
    public let binary: URL
    public let arguments: [String]
    /// Where standard output and error go, if not to memory.
    public let logURL: URL?
    let environment: [String: String]
    /// Guards what follows, and wakes waiters when output arrives or the process ends.
    private let condition = NSCondition()
    private var process: Process?
    private var input: Pipe?
    private var collected = Data()
    private var collectedErrors = Data()

    /// Prepares a run of `fabrique ARGUMENTS`, without starting it.
    /// - Parameters:
    ///   - environment: changes to the test's environment; nil removes a variable.
    ///   - log: a file to append the output to, instead of collecting it.
    /// - Throws: when the binary is not built.
    public init(_ arguments: [String], environment: [String: String?] = [:], log: URL? = nil) throws {
        binary = try Self.binary()
        self.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        // Golden transcripts pin the answers of BM25 alone, in a checkout with or without scripts/model-setup;
        // a test that wants the sentence model names its folder.
        env["FABRIQUE_MODEL_DIR"] = "/nonexistent/fabrique-model"
        for (name, value) in environment { env[name] = value }
        self.environment = env
        logURL = log
    }

    /// Prepares and starts a run.
    public static func launch(_ arguments: [String], environment: [String: String?] = [:], log: URL? = nil) throws -> FabriqueProcess {
        let process = try FabriqueProcess(arguments, environment: environment, log: log)
        try process.start()
        return process
    }

    /// The `fabrique` built with the tests: `FABRIQUE_TEST_BINARY`, else beside the test bundle, else
    /// `.build*/debug/fabrique` in the checkout.
    public static func binary() throws -> URL {
        let fm = FileManager.default
        func isExecutable(_ url: URL) -> Bool {
            var isDirectory: ObjCBool = false
            return fm.fileExists(atPath: url.path, isDirectory: &isDirectory) && !isDirectory.boolValue
                && fm.isExecutableFile(atPath: url.path)
        }
        if let path = ProcessInfo.processInfo.environment["FABRIQUE_TEST_BINARY"], fm.isExecutableFile(atPath: path) {
            return URL(fileURLWithPath: path)
        }
        var folders: [URL] = []
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<4 {
            folders.append(dir)
            dir = dir.deletingLastPathComponent()
        }
        for bundle in Bundle.allBundles where bundle.bundleURL.pathExtension == "xctest" {
            folders.append(bundle.bundleURL.deletingLastPathComponent())
        }
        for build in [".build", ".build-mx"] { folders.append(Repo.root.appendingPathComponent("\(build)/debug")) }
        if let found = folders.map({ $0.appendingPathComponent("fabrique") }).first(where: isExecutable) { return found }
        throw BinaryNotFound()
    }

    struct BinaryNotFound: Error, CustomStringConvertible {
        var description: String {
            "cannot find the fabrique binary next to the tests; build it (swift build --build-tests) or set FABRIQUE_TEST_BINARY"
        }
    }

    /// Starts a run (again, after the previous one ended): the output of every run accumulates.
    public func start() throws {
        let p = Process()
        p.executableURL = binary
        p.arguments = arguments
        p.environment = environment
        p.terminationHandler = { [condition] _ in condition.broadcast() }
        if let logURL {
            if !FileManager.default.fileExists(atPath: logURL.path) {
                _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
            }
            let handle = try FileHandle(forWritingTo: logURL)
            handle.seekToEndOfFile()
            handle.write(Data("---- start \(Date())\n".utf8))
            p.standardOutput = handle
            p.standardError = handle
            p.standardInput = FileHandle.nullDevice
            try p.run()
            condition.withLock {
                process = p; self.input = nil
            }
            return
        }
        let stdin = Pipe(), output = Pipe(), errors = Pipe()
        p.standardInput = stdin
        p.standardOutput = output
        p.standardError = errors
        output.fileHandleForReading.readabilityHandler = { [weak self] handle in self?.collect(handle.availableData, errors: false) }
        errors.fileHandleForReading.readabilityHandler = { [weak self] handle in self?.collect(handle.availableData, errors: true) }
        try p.run()
        condition.withLock {
            process = p; input = stdin
        }
    }

    private func collect(_ data: Data, errors: Bool) {
        condition.withLock {
            if errors { collectedErrors.append(data) } else { collected.append(data) }
            condition.broadcast()
        }
    }

    /// Writes `text` to the process's standard input.
    public func send(_ text: String) {
        condition.withLock { input }?.fileHandleForWriting.write(Data(text.utf8))
    }

    /// Closes standard input: the terminal reads its end.
    public func closeInput() {
        try? condition.withLock { input }?.fileHandleForWriting.close()
    }

    /// Standard output so far, or the log file's content.
    public var output: String {
        if let logURL { return (try? String(contentsOf: logURL, encoding: .utf8)) ?? "" }
        return condition.withLock { String(decoding: collected, as: UTF8.self) }
    }

    /// Standard error so far (in the log file, with a log).
    public var errorOutput: String {
        condition.withLock { String(decoding: collectedErrors, as: UTF8.self) }
    }

    /// The output's lines that are not blank, without trailing spaces.
    public var nonBlankLines: [String] {
        output.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            var s = String(line)
            while s.last?.isWhitespace == true { s.removeLast() }
            return s
        }.filter { !$0.isEmpty }
    }

    public var isRunning: Bool { condition.withLock { process }?.isRunning ?? false }

    /// The exit status of the last run, once it has ended.
    public var terminationStatus: Int32? {
        condition.withLock { process }.flatMap { $0.isRunning ? nil : $0.terminationStatus }
    }

    /// Waits, blocking the thread, until standard output (collected in memory: without a log) has at least
    /// `lines` non-blank lines; false if `timeout` passes first.
    public func waitForLines(_ lines: Int, timeout: TimeInterval = 20) -> Bool {
        wait(until: { self.nonBlankLinesLocked >= lines }, timeout: timeout)
    }

    private var nonBlankLinesLocked: Int {
        String(decoding: collected, as: UTF8.self).split(separator: "\n").filter { !$0.allSatisfy(\.isWhitespace) }.count
    }

    /// Waits on `condition` (held while `done` is evaluated) until `done` holds or `timeout` passes.
    private func wait(until done: () -> Bool, timeout: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        condition.lock()
        defer { condition.unlock() }
        while !done() {
            // Bounded slices: a process's end is also seen without its notification.
            guard Date() < deadline else { return false }
            _ = condition.wait(until: min(deadline, Date().addingTimeInterval(0.1)))
        }
        return true
    }

    /// SIGKILL, as in a crash or an OOM kill: no chance to clean up. Returns once the process is gone.
    public func kill() {
        guard let p = condition.withLock({ process }) else { return }
        if p.isRunning { Foundation.kill(p.processIdentifier, SIGKILL) }
        p.waitUntilExit()
        drain()
    }

    /// Closes standard input and waits, blocking the thread, for the process to end by itself (SIGKILL
    /// after `timeout`); returns its exit status.
    @discardableResult
    public func finish(timeout: TimeInterval = 60) -> Int32 {
        closeInput()
        guard let p = condition.withLock({ process }) else { return -1 }
        _ = wait(until: { !p.isRunning }, timeout: timeout)
        kill()
        return p.terminationStatus
    }

    /// Waits, without blocking the thread, for the process to end; its exit status, or nil after `timeout`.
    public func waitForExit(timeout: TimeInterval) async -> Int32? {
        guard let p = condition.withLock({ process }) else { return nil }
        let deadline = Date().addingTimeInterval(timeout)
        while p.isRunning, Date() < deadline { try? await Task.sleep(for: .milliseconds(50)) }
        return p.isRunning ? nil : p.terminationStatus
    }

    /// SIGTERM, then SIGKILL after `grace`.
    public func stop(grace: TimeInterval = 10) async {
        guard let p = condition.withLock({ process }), p.isRunning else { return }
        p.terminate()
        _ = await waitForExit(timeout: grace)
        kill()
    }

    /// Reads what the pipes still hold once the process is gone.
    private func drain() {
        guard logURL == nil, let p = condition.withLock({ process }),
            let output = p.standardOutput as? Pipe, let errors = p.standardError as? Pipe
        else { return }
        output.fileHandleForReading.readabilityHandler = nil
        errors.fileHandleForReading.readabilityHandler = nil
        let rest = output.fileHandleForReading.readDataToEndOfFile()
        let restErrors = errors.fileHandleForReading.readDataToEndOfFile()
        condition.withLock {
            collected.append(rest)
            collectedErrors.append(restErrors)
        }
    }

    deinit {
        if let p = process, p.isRunning { Foundation.kill(p.processIdentifier, SIGKILL) }
    }
}
