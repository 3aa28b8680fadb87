import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Files that hold what people said, or the bot's credentials, are readable by their owner only — the
/// database and its side files, report files — whatever mode they had before and whatever the umask.
public enum OwnerOnlyFile {
    /// The database's side files: SQLite's WAL, shared memory and rollback journal, and Fabrique's log of
    /// delivered replies (``DeliveryLog``).
    static let sideFileSuffixes = ["-wal", "-shm", "-journal", "-delivered"]

    /// Takes group and others' access away from the file at `path` when it exists (a symbolic link is not
    /// followed: its target is not ours to change).
    /// - Throws: ``StoreError/cannotOpen(path:reason:)`` when the mode cannot be changed (the file belongs
    ///   to someone else): better to stop than to run with answers and a token others can read.
    static func restrict(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else {
            if errno == ENOENT || errno == ELOOP { return }
            throw StoreError.cannotOpen(path: path, reason: "cannot check its permissions: \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG, info.st_mode & 0o077 != 0 else { return }
        guard fchmod(fd, info.st_mode & 0o700 | 0o600) == 0 else {
            throw StoreError.cannotOpen(
                path: path,
                reason: "group or others can read it and its mode cannot be changed (\(String(cString: strerror(errno)))): chmod 600 it")
        }
    }

    /// The database at `path` and each side file of it that exists (see ``restrict(_:)``).
    static func restrict(database path: String) throws {
        for file in [path] + sideFileSuffixes.map({ path + $0 }) { try restrict(file) }
    }

    /// Writes `data` to `path` atomically (a temporary file renamed over it), owner-only (mode 600)
    /// whatever the umask, and whatever mode an earlier file at `path` had.
    /// - Throws: the system's error when the folder cannot be written.
    public static func write(_ data: Data, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString).tmp").path
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        var failure: Int32 = 0
        if fchmod(fd, 0o600) != 0 { failure = errno }
        data.withUnsafeBytes { buffer in
            var offset = 0
            while failure == 0, offset < buffer.count {
                let written = Foundation.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 {
                    if errno != EINTR { failure = errno }
                } else {
                    offset += written
                }
            }
        }
        if failure == 0, fsync(fd) != 0 { failure = errno }
        close(fd)
        if failure == 0, rename(temporary, path) != 0 { failure = errno }
        if failure != 0 {
            unlink(temporary)
            throw POSIXError(POSIXErrorCode(rawValue: failure) ?? .EIO)
        }
    }
}
