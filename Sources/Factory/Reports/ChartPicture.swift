import Foundation

/// The inventory's profile chart as a PNG picture, rendered from the SVG the HTML report embeds (with a heading, as it is
/// read on its own), by
/// `rsvg-convert` (Debian's `librsvg2-bin`, the GNOME project's SVG renderer).
///
/// Why a tool rather than the library in process: measured on this project's chart (20 questions,
/// 680 × 534 px), librsvg through its C API costs about 32 ms of CPU per picture and `rsvg-convert`
/// about 46 ms, process start included: the 14 ms a facilitator's report request saves are not worth
/// a system-library target with GLib, GObject reference counting and cairo in the build. The tool is
/// optional at run time: without it the report comes without its picture, and says so.
public enum ChartPicture {
    /// A rendered picture and its pixel size.
    public struct PNG: Sendable, Hashable {
        public var data: Data
        public var width: Int
        public var height: Int
    }

    /// Where `rsvg-convert` is, if anywhere on `PATH` (`FABRIQUE_RSVG_CONVERT` names another).
    public static var converter: String? {
        let environment = ProcessInfo.processInfo.environment
        if let path = environment["FABRIQUE_RSVG_CONVERT"] { return FileManager.default.isExecutableFile(atPath: path) ? path : nil }
        for directory in (environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":") {
            let path = String(directory) + "/rsvg-convert"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }

    /// Renders `svg` at its own size on a white background; nil when `rsvg-convert` is missing or fails
    /// (within 20 seconds).
    public static func render(svg: String) -> PNG? {
        guard let converter else { return nil }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: converter)
        // White, not transparent: chat clients in dark mode would show dark text on a dark background.
        process.arguments = ["--format", "png", "--background-color", "white"]
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return nil }
        let watchdog = DispatchWorkItem { if process.isRunning { process.terminate() } }
        DispatchQueue.global().asyncAfter(deadline: .now() + 20, execute: watchdog)
        defer { watchdog.cancel() }
        // Written from another thread: a big picture could fill the output pipe while the input still writes.
        let svgData = Data(svg.utf8), handle = input.fileHandleForWriting
        DispatchQueue.global().async {
            try? handle.write(contentsOf: svgData)
            try? handle.close()
        }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0, let size = size(of: data) else { return nil }
        return PNG(data: data, width: size.width, height: size.height)
    }

    /// The pixel size a PNG's header states (its IHDR chunk), nil when `data` is not a PNG.
    public static func size(of data: Data) -> (width: Int, height: Int)? {
        let bytes = [UInt8](data.prefix(24))
        guard bytes.count == 24, bytes[0..<8] == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A],
            bytes[12..<16] == [0x49, 0x48, 0x44, 0x52]
        else { return nil }
        func int(_ at: Int) -> Int { bytes[at..<at + 4].reduce(0) { $0 << 8 | Int($1) } }
        return (int(16), int(20))
    }
}
