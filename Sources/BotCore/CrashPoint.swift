import Foundation

/// Deliberate crashes for the crash tests: `FABRIQUE_CRASH_AT=before-commit:EVENT_ID` (or
/// `after-commit:EVENT_ID`) kills the process with SIGKILL at that point of handling that event.
/// Unset in normal runs, where each check is one comparison with nil.
enum CrashPoint {
    static let spec: String? = ProcessInfo.processInfo.environment["FABRIQUE_CRASH_AT"].flatMap { $0.isEmpty ? nil : $0 }

    static func check(_ point: String, eventID: String) {
        guard let spec, spec == "\(point):\(eventID)" else { return }
        kill(getpid(), SIGKILL)
    }
}
