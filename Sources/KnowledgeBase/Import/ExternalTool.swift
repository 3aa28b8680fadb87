import Foundation

/// A command-line tool the importer runs on a document (poppler's `pdftotext`, `pdfinfo`), found on `PATH`.
///
/// Documents are converted by separate processes rather than by a library linked in: a malformed file that
/// crashes or hangs the converter costs that one file, never the import, and the tool's licence stays the
/// tool's.
struct ExternalTool: Sendable {
    var name: String
    /// The Debian package that provides it, for the message when it is missing.
    var package: String

    struct Output: Sendable {
        var status: Int32
        var standardOutput: Data
        /// The first lines of what the tool printed on its standard error.
        var errors: String
    }

    enum Failure: Error, Sendable {
        case missing
        case timedOut
        case cannotStart(String)
    }

    /// The tool's path, or nil when it is not installed.
    var path: String? {
        let directories = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
        for directory in directories + ["/usr/bin", "/usr/local/bin"] {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// Runs the tool and waits for it, at most `timeout` seconds (then it is killed).
    func run(_ arguments: [String], timeout: TimeInterval = 60) throws(Failure) -> Output {
        guard let path else { throw .missing }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw .cannotStart("\(error)")
        }
        let timer = DispatchWorkItem { [process] in if process.isRunning { process.terminate() } }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: timer)
        // Standard error is read on its own thread so that neither pipe can fill up and block the tool.
        let errorText = ErrorCollector()
        let errorReader = Thread { errorText.set(errors.fileHandleForReading.readDataToEndOfFile()) }
        errorReader.start()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        timer.cancel()
        let collected = errorText.wait()
        if process.terminationReason == .uncaughtSignal && process.terminationStatus == SIGTERM { throw .timedOut }
        let firstLines = String(decoding: collected.prefix(2_000), as: UTF8.self)
            .split(separator: "\n").prefix(3).joined(separator: "; ")
        return Output(status: process.terminationStatus, standardOutput: data, errors: firstLines)
    }
}

/// What a tool printed on its standard error, handed from the reading thread to the waiting one.
private final class ErrorCollector: @unchecked Sendable {
    private let condition = NSCondition()
    private var data: Data?

    func set(_ value: Data) {
        condition.lock()
        data = value
        condition.signal()
        condition.unlock()
    }

    func wait() -> Data {
        condition.lock()
        defer { condition.unlock() }
        while data == nil { condition.wait() }
        return data ?? Data()
    }
}
