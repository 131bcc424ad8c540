import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The exclusive claim of one drainer on a queue: `flock` on `QUEUE-drainer.lock` beside the
/// queue file. The kernel releases it when the process dies, so a crash never leaves a stale lock.
/// A separate file, because opening and closing the database file itself would drop SQLite's own
/// POSIX locks.
final class DrainerLock: Sendable {
    /// The lock file's descriptor; -1 once released.
    private let descriptor: Mutex<Int32>

    init(queuePath: String) throws(QueueError) {
        let path = queuePath + "-drainer.lock"
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw QueueError.cannotOpen(path: path, reason: String(cString: strerror(errno)))
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            Glibc.close(descriptor)
            throw QueueError.drainerAlreadyRunning(path: queuePath)
        }
        self.descriptor = Mutex(descriptor)
    }

    deinit {
        release()
    }

    /// Which process holds the drainer lock of the queue at `queuePath`, read from the kernel's
    /// table of file locks (`/proc/locks`) without touching the lock: trying to take it, even
    /// for an instant, could make a drainer starting at that moment refuse to start.
    /// `.unknown` where there is no such table (not Linux).
    static func holder(queuePath: String) -> QueueStatus.DrainerPresence {
        guard access("/proc/locks", R_OK) == 0 else { return .unknown }
        var status = stat()
        guard stat(queuePath + "-drainer.lock", &status) == 0 else { return .notRunning }
        // glibc's dev_t layout (gnu_dev_major / gnu_dev_minor); /proc/locks prints them in hex.
        let device = UInt64(status.st_dev)
        let major = ((device >> 8) & 0xfff) | ((device >> 32) & ~UInt64(0xfff))
        let minor = (device & 0xff) | ((device >> 12) & ~UInt64(0xff))
        func hex(_ value: UInt64) -> String {
            let digits = String(value, radix: 16)
            return digits.count < 2 ? "0" + digits : digits
        }
        let identity = "\(hex(major)):\(hex(minor)):\(UInt64(status.st_ino))"
        var presence = QueueStatus.DrainerPresence.notRunning
        do {
            try LineFile.forEachLine("/proc/locks") { _, bytes in
                // "1: FLOCK  ADVISORY  WRITE 4242 fe:01:123456 0 EOF"; waiters are marked "->".
                let fields = bytes.split(separator: 0x20).map { String(decoding: $0, as: UTF8.self) }
                guard fields.count >= 6, fields[1] == "FLOCK", fields[3] == "WRITE", fields[5] == identity else { return }
                presence = .running(pid: Int32(fields[4]))
            }
        } catch {
            return .unknown
        }
        return presence
    }

    /// Releases the lock (closing the descriptor; safe to call twice).
    func release() {
        descriptor.withLock { descriptor in
            // flock locks belong to the open file description, which a child process being
            // spawned at this moment shares until its exec closes it: unlock explicitly, or a
            // drainer reopening the queue right away could find its own lock still held.
            if descriptor >= 0 {
                flock(descriptor, LOCK_UN)
                Glibc.close(descriptor)
            }
            descriptor = -1
        }
    }
}
