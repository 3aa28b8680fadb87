import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Which replies reached their transport, recorded without a database commit of their own.
///
/// A reply is marked delivered right after it goes out; before this log, each mark was a small commit of
/// its own, the second transaction of every turn. Now the mark is written into a file mapped in memory
/// (`<database>-delivered`): a store into the operating system's cache, which survives the process being
/// killed, like an unsynced commit. The next turn's transaction copies the marks into the outbox and the
/// log is emptied once that commit is on disk. On start, the engine reads what a killed run left here,
/// so replies it had delivered are not delivered again.
///
/// A power failure may lose the log's last page, as it may lose an unsynced commit: those replies are
/// then sent again with their ids (Matrix drops the repeats). The file's blocks are reserved when it is
/// opened, so writing into it never needs disk space. When the log cannot be used (another process holds
/// it, the disk is full at start-up, a database in memory), the engine commits marks on their own.
///
/// Linux only (Glibc's `posix_fallocate` reserves the blocks): on other platforms there is no log, and
/// every mark is a small commit of its own, as before the log existed.
final class DeliveryLog: @unchecked Sendable {  // used under the engine's lock
    static let capacity = 64 * 1024
    /// Header: a magic number, then the length in bytes of the records that follow.
    static let headerSize = 16
    static let magic: UInt64 = 0x3130_564C_4451_4246  // "FBQDLV01"

    let path: String
    private let fd: Int32
    private let base: UnsafeMutableRawPointer

    private init(path: String, fd: Int32, base: UnsafeMutableRawPointer) {
        self.path = path
        self.fd = fd
        self.base = base
    }

    deinit {
        munmap(base, Self.capacity)
        close(fd)  // releases the lock
    }

    /// Opens (creating, owner-only) the log of the database at `databasePath`; nil when it cannot be used.
    static func open(databasePath: String) -> DeliveryLog? {
        #if canImport(Glibc)
        let path = databasePath + "-delivered"
        let fd = Glibc.open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { return nil }
        // An older file keeps its mode through open(2): owner-only whatever it was.
        _ = fchmod(fd, 0o600)
        var info = stat()
        guard flock(fd, LOCK_EX | LOCK_NB) == 0, fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG,
            info.st_size >= capacity || posix_fallocate(fd, 0, off_t(capacity)) == 0,
            let mapped = mmap(nil, capacity, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), mapped != MAP_FAILED
        else {
            close(fd)
            return nil
        }
        let log = DeliveryLog(path: path, fd: fd, base: mapped)
        if log.base.loadUnaligned(as: UInt64.self) != magic {
            // New, or not ours: start empty.
            log.used = 0
            atomicMemoryFence(ordering: .sequentiallyConsistent)
            log.base.storeBytes(of: magic, as: UInt64.self)
        }
        return log
        #else
        return nil
        #endif
    }

    /// Bytes of records; set last when appending, so a record is there before it counts.
    private(set) var used: Int {
        get {
            let n = base.load(fromByteOffset: 8, as: UInt64.self)
            return n <= UInt64(Self.capacity - Self.headerSize) ? Int(n) : 0
        }
        set { base.storeBytes(of: UInt64(newValue), toByteOffset: 8, as: UInt64.self) }
    }

    /// The reply ids recorded, oldest first. A record that does not read (a torn or foreign file) ends
    /// the list: those replies are then delivered again, never lost.
    func recorded() -> [String] {
        var ids: [String] = []
        var offset = Self.headerSize
        let end = Self.headerSize + used
        while offset + 2 <= end {
            let length = Int(UInt16(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
            offset += 2
            guard length > 0, offset + length <= end else { break }
            let bytes = UnsafeRawBufferPointer(start: base + offset, count: length)
            guard let id = String(validating: bytes, as: UTF8.self) else { break }
            ids.append(id)
            offset += length
        }
        return ids
    }

    /// Records `ids`; false (nothing recorded) when they do not fit.
    func append(_ ids: [String]) -> Bool {
        var offset = Self.headerSize + used
        for id in ids {
            let length = id.utf8.count
            guard length > 0, length <= Int(UInt16.max), offset + 2 + length <= Self.capacity else { return false }
            base.storeBytes(of: UInt16(length).littleEndian, toByteOffset: offset, as: UInt16.self)
            var id = id
            id.withUTF8 { (base + offset + 2).copyMemory(from: $0.baseAddress!, byteCount: length) }
            offset += 2 + length
        }
        // The records are in place before the length that makes them count.
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        used = offset - Self.headerSize
        return true
    }

    /// Forgets every record: their marks are committed in the database.
    func clear() { used = 0 }
}
