#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension MessageQueue {
    /// What a queue at `PATH` keeps beside its file: SQLite's `-wal` and `-shm`, the disk
    /// reserve, the drainer's lock and the mark of a damaged file.
    public static let companionSuffixes = ["-wal", "-shm", "-reserve", "-drainer.lock", QueueQuarantine.damageMarkerSuffix]

    /// Deletes a queue file and everything kept beside it (``companionSuffixes``), for scratch
    /// queues such as the demo's and tests'. Missing files are not an error; the queue must not
    /// be open anywhere, or its rows are lost with it.
    public static func removeFiles(atPath path: String) {
        // The reserve alone is 16 MiB by default: left behind on a memory-backed file system
        // (/dev/shm, a tmpfs /tmp), scratch queues add up to gigabytes of RAM.
        for suffix in [""] + companionSuffixes {
            unlink(path + suffix)
        }
    }
}
