import Foundation
import XCTest

/// Paths of the checkout and the built binary, and a way to run it.
enum Repo {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func path(_ relative: String) -> String { root.appendingPathComponent(relative).path }

    /// The `fabrique` executable built beside the test bundle (`swift build --build-tests` builds it).
    static func binary() throws -> String {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("fabrique").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        let fallback = path(".build/debug/fabrique")
        guard FileManager.default.isExecutableFile(atPath: fallback) else {
            throw XCTSkip("the fabrique binary is not built; run `swift build` first")
        }
        return fallback
    }

    static func transcripts(under folder: String = "Tests/Transcripts") -> [String] {
        let base = path(folder)
        let entries = (try? FileManager.default.subpathsOfDirectory(atPath: base)) ?? []
        return entries.filter { $0.hasSuffix(".transcript") }.sorted().map { (base as NSString).appendingPathComponent($0) }
    }
}

/// A running `fabrique` process with piped standard input and output.
final class Subprocess: @unchecked Sendable {
    let process = Process()
    let input = Pipe()
    let output = Pipe()
    let errors = Pipe()
    private let lock = NSLock()
    private var collected = Data()
    private var collectedErrors = Data()

    init(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        process.environment = env
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        output.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            guard let self else { return }
            self.lock.lock()
            self.collected.append(data)
            self.lock.unlock()
        }
        errors.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            guard let self else { return }
            self.lock.lock()
            self.collectedErrors.append(data)
            self.lock.unlock()
        }
        try process.run()
    }

    func send(_ text: String) {
        input.fileHandleForWriting.write(Data(text.utf8))
    }

    func closeInput() { try? input.fileHandleForWriting.close() }

    var text: String {
        lock.lock()
        defer { lock.unlock() }
        return String(decoding: collected, as: UTF8.self)
    }

    var errorText: String {
        lock.lock()
        defer { lock.unlock() }
        return String(decoding: collectedErrors, as: UTF8.self)
    }

    /// Waits until the output has at least `lines` non-blank lines, or the timeout passes.
    func waitForLines(_ lines: Int, timeout: TimeInterval = 20) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if nonBlankLines.count >= lines { return true }
            Thread.sleep(forTimeInterval: 0.005)
        }
        return false
    }

    var nonBlankLines: [String] {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            var s = String(line)
            while s.last?.isWhitespace == true { s.removeLast() }
            return s
        }.filter { !$0.isEmpty }
    }

    func kill() {
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        drain()
    }

    /// Waits for the process to end by itself.
    func finish(timeout: TimeInterval = 60) -> Int32 {
        closeInput()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        if process.isRunning { kill() }
        process.waitUntilExit()
        drain()
        return process.terminationStatus
    }

    private func drain() {
        output.fileHandleForReading.readabilityHandler = nil
        errors.fileHandleForReading.readabilityHandler = nil
        let rest = output.fileHandleForReading.readDataToEndOfFile()
        let restErrors = errors.fileHandleForReading.readDataToEndOfFile()
        lock.lock()
        collected.append(rest)
        collectedErrors.append(restErrors)
        lock.unlock()
    }
}
