import Foundation
import XCTest

/// `fabrique matrix` as a child process, with its log kept in a file.
final class BotProcess: @unchecked Sendable {
    let binary: URL
    let arguments: [String]
    let environment: [String: String]
    let logURL: URL
    private var process: Process?

    init(arguments: [String], environment: [String: String], logURL: URL) throws {
        binary = try Self.locateBinary()
        self.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        self.environment = env
        self.logURL = logURL
    }

    /// The `fabrique` built with the tests: beside the test bundle, else `.build*/debug/fabrique` in the checkout.
    static func locateBinary() throws -> URL {
        let fm = FileManager.default
        if let path = ProcessInfo.processInfo.environment["FABRIQUE_TEST_BINARY"], fm.isExecutableFile(atPath: path) {
            return URL(fileURLWithPath: path)
        }
        var candidates: [URL] = [
            Bundle.main.bundleURL, Bundle.main.bundleURL.deletingLastPathComponent(),
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent(),
        ]
        for bundle in Bundle.allBundles where bundle.bundleURL.pathExtension == "xctest" {
            candidates.append(bundle.bundleURL.deletingLastPathComponent())
            candidates.append(bundle.bundleURL.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent())
        }
        for dir in candidates {
            let url = dir.appendingPathComponent("fabrique")
            var isDir: ObjCBool = false
            if fm.fileExists(atPath: url.path, isDirectory: &isDir), !isDir.boolValue, fm.isExecutableFile(atPath: url.path) { return url }
        }
        var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        for _ in 0..<6 {
            for build in [".build", ".build-mx"] {
                let url = dir.appendingPathComponent("\(build)/debug/fabrique")
                if fm.isExecutableFile(atPath: url.path) { return url }
            }
            dir = dir.deletingLastPathComponent()
        }
        throw TestFailure("cannot find the fabrique binary next to the tests; build it (swift build) or set FABRIQUE_TEST_BINARY")
    }

    func start() throws {
        let p = Process()
        p.executableURL = binary
        p.arguments = arguments
        p.environment = environment
        if !FileManager.default.fileExists(atPath: logURL.path) { _ = FileManager.default.createFile(atPath: logURL.path, contents: nil) }
        let handle = try FileHandle(forWritingTo: logURL)
        handle.seekToEndOfFile()
        handle.write(Data("---- start \(Date())\n".utf8))
        p.standardOutput = handle
        p.standardError = handle
        p.standardInput = FileHandle.nullDevice
        try p.run()
        process = p
    }

    var isRunning: Bool { process?.isRunning ?? false }
    var terminationStatus: Int32? { process.flatMap { $0.isRunning ? nil : $0.terminationStatus } }

    /// SIGKILL: no chance to clean up, as in a crash or an OOM kill.
    func kill() async {
        guard let p = process, p.isRunning else { return }
        Foundation.kill(p.processIdentifier, SIGKILL)
        while p.isRunning { try? await Task.sleep(for: .milliseconds(20)) }
    }

    /// SIGTERM, then SIGKILL after 10 s.
    func stop() async {
        guard let p = process, p.isRunning else { return }
        p.terminate()
        let deadline = Date().addingTimeInterval(10)
        while p.isRunning, Date() < deadline { try? await Task.sleep(for: .milliseconds(50)) }
        await kill()
    }

    /// Waits (without blocking the thread: Foundation reaps children on a queue) for the process to end.
    func waitForExit(timeout: TimeInterval) async -> Int32? {
        guard let p = process else { return nil }
        let deadline = Date().addingTimeInterval(timeout)
        while p.isRunning, Date() < deadline { try? await Task.sleep(for: .milliseconds(50)) }
        return p.isRunning ? nil : p.terminationStatus
    }

    var log: String { (try? String(contentsOf: logURL, encoding: .utf8)) ?? "" }

    deinit {
        if let p = process, p.isRunning { Foundation.kill(p.processIdentifier, SIGKILL) }
    }
}
