import CZlib
import Foundation

/// Reads named files out of a ZIP archive held in memory: just what DOCX and ODT need (stored and deflated
/// entries, no ZIP64, no encryption), with every offset and size checked against the archive, so a damaged
/// or hostile file is refused, never read out of bounds or inflated without limit.
struct ZipArchive {
    enum Problem: Error, Equatable {
        case notZip
        case damaged(String)
        case tooLarge(String)
        case unsupported(String)
    }

    private let bytes: [UInt8]
    /// Entries by name: where their local header starts, their method, and their sizes.
    private var entries: [String: (offset: Int, method: Int, compressed: Int, size: Int)] = [:]

    /// - Throws: ``Problem/notZip`` without an end-of-central-directory record, ``Problem/damaged(_:)`` when
    ///   the directory points outside the archive.
    init(_ bytes: [UInt8]) throws(Problem) {
        self.bytes = bytes
        // The end-of-central-directory record is in the last 22 + 65,535 bytes (its comment may be that long).
        guard bytes.count >= 22 else { throw .notZip }
        var end = bytes.count - 22
        let lowest = max(0, bytes.count - 22 - 65_535)
        while end >= lowest && Self.uint32(bytes, end) != 0x0605_4b50 { end -= 1 }
        guard end >= lowest else { throw .notZip }
        let count = Int(Self.uint16(bytes, end + 10))
        var cursor = Int(Self.uint32(bytes, end + 16))
        for _ in 0..<count {
            guard cursor + 46 <= bytes.count, Self.uint32(bytes, cursor) == 0x0201_4b50 else {
                throw .damaged("central directory")
            }
            let flags = Int(Self.uint16(bytes, cursor + 8))
            let method = Int(Self.uint16(bytes, cursor + 10))
            let compressed = Int(Self.uint32(bytes, cursor + 20))
            let size = Int(Self.uint32(bytes, cursor + 24))
            let nameLength = Int(Self.uint16(bytes, cursor + 28))
            let extraLength = Int(Self.uint16(bytes, cursor + 30))
            let commentLength = Int(Self.uint16(bytes, cursor + 32))
            let offset = Int(Self.uint32(bytes, cursor + 42))
            guard cursor + 46 + nameLength <= bytes.count else { throw .damaged("central directory") }
            let name = String(decoding: bytes[(cursor + 46)..<(cursor + 46 + nameLength)], as: UTF8.self)
            if flags & 1 != 0 { throw .unsupported("encrypted entry \(name)") }
            entries[name] = (offset, method, compressed, size)
            cursor += 46 + nameLength + extraLength + commentLength
        }
    }

    /// The uncompressed content of the entry `name`, or nil when the archive has none.
    ///
    /// - Parameter limit: entries larger than this once inflated are refused (``Problem/tooLarge(_:)``).
    func contents(of name: String, limit: Int) throws(Problem) -> [UInt8]? {
        guard let entry = entries[name] else { return nil }
        guard entry.size <= limit else { throw .tooLarge(name) }
        let header = entry.offset
        guard header + 30 <= bytes.count, Self.uint32(bytes, header) == 0x0403_4b50 else { throw .damaged(name) }
        let start = header + 30 + Int(Self.uint16(bytes, header + 26)) + Int(Self.uint16(bytes, header + 28))
        guard start + entry.compressed <= bytes.count else { throw .damaged(name) }
        let data = bytes[start..<(start + entry.compressed)]
        switch entry.method {
        case 0:
            return Array(data)
        case 8:
            return try Self.inflate(data, expected: entry.size, limit: limit, name: name)
        default:
            throw .unsupported("compression method \(entry.method) of \(name)")
        }
    }

    private static func inflate(_ data: ArraySlice<UInt8>, expected: Int, limit: Int, name: String) throws(Problem) -> [UInt8] {
        var stream = z_stream()
        guard fabrique_inflate_init_raw(&stream) == Z_OK else { throw .damaged(name) }
        defer { inflateEnd(&stream) }
        var output: [UInt8] = []
        output.reserveCapacity(min(expected, limit))
        var chunk = [UInt8](repeating: 0, count: 64 * 1_024)
        var input = Array(data)
        var status: Int32 = Z_OK
        input.withUnsafeMutableBufferPointer { source in
            stream.next_in = source.baseAddress
            stream.avail_in = uInt(source.count)
            while status == Z_OK {
                chunk.withUnsafeMutableBufferPointer { buffer in
                    stream.next_out = buffer.baseAddress
                    stream.avail_out = uInt(buffer.count)
                    status = CZlib.inflate(&stream, Z_NO_FLUSH)
                    output.append(contentsOf: buffer[0..<(buffer.count - Int(stream.avail_out))])
                }
                if output.count > limit { status = Z_MEM_ERROR }
            }
        }
        if output.count > limit { throw .tooLarge(name) }
        guard status == Z_STREAM_END else { throw .damaged(name) }
        return output
    }

    private static func uint16(_ bytes: [UInt8], _ offset: Int) -> UInt16 {
        guard offset >= 0, offset + 2 <= bytes.count else { return 0 }
        return UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8
    }

    private static func uint32(_ bytes: [UInt8], _ offset: Int) -> UInt32 {
        guard offset >= 0, offset + 4 <= bytes.count else { return 0 }
        return UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16
            | UInt32(bytes[offset + 3]) << 24
    }
}
