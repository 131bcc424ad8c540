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
