#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Space held back on the queue's file system (`QUEUE-reserve`, a file of zeros), given up when
/// the disk fills so the queue can still write what recovery needs: deleting delivered rows and
/// counting drops both write to the WAL, and on a full disk nothing else would make room.
/// Taken again once the file system has room for it (``replenish()``).
final class DiskReserve: Sendable {
    let path: String
    let bytes: Int64

    init(queuePath: String, bytes: Int64) {
        path = queuePath + "-reserve"
        self.bytes = bytes
    }

    /// Takes the reserve if the file system has room for it twice over; returns whether it is
    /// held (with no reserve configured: whether the file system has 16 MiB free).
    @discardableResult
    func replenish() -> Bool {
        guard bytes > 0 else { return Self.freeBytes(directoryOf: path) > 16 << 20 }
        // The file itself says whether it is held (another process on the queue may release it).
        if Self.size(path) >= bytes { return true }
        guard Self.freeBytes(directoryOf: path) > 2 * bytes else { return false }
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { return false }
        defer { _ = close(descriptor) }
        // Real blocks, not a sparse file: the point is to own the space.
        guard posix_fallocate(descriptor, 0, off_t(bytes)) == 0 else {
            ftruncate(descriptor, 0)
            return false
        }
        return true
    }

    /// Gives the space back to the file system.
    func release() {
        unlink(path)
    }

    /// Whether the file system holding the queue has less room than the reserve: a write that
    /// failed with SQLITE_FULL then failed for the disk, not for the byte cap.
    var diskIsFull: Bool {
        Self.freeBytes(directoryOf: path) < max(bytes, 1 << 20)
    }

    private static func size(_ path: String) -> Int64 {
        var status = stat()
        return stat(path, &status) == 0 ? Int64(status.st_blocks) * 512 : 0
    }

    private static func freeBytes(directoryOf path: String) -> Int64 {
        let directory = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
        var status = statvfs()
        guard statvfs(directory.isEmpty ? "/" : directory, &status) == 0 else { return .max }
        return Int64(status.f_bavail) * Int64(status.f_frsize)
    }
}
