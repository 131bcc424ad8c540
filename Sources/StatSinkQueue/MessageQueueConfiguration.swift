/// How a queue file is opened and kept.
///
/// Every property has a documented default; only ``path`` is required.
public struct MessageQueueConfiguration: Sendable, Hashable {
    /// What happens to a snapshot when the queue is at its byte cap.
    public enum WhenFull: String, Sendable, Hashable {
        /// Delete the oldest rows to make room (default: for metrics, the newest matter most).
        case dropOldest = "drop_oldest"
        /// Keep the rows already queued and drop the new snapshot.
        case dropNewest = "drop_newest"
    }

    /// What opening a damaged file does.
    public enum WhenDamaged: String, Sendable, Hashable {
        /// Move the file (with its `-wal` and `-shm`) aside to `PATH.corrupt-<UTC time>`, never
        /// deleting it, start a fresh queue at `PATH`, record the event in `quarantined_files` and
        /// log a warning (default: the sink must keep running). A writer does this only when no
        /// drainer owns the file; otherwise it throws ``QueueError/damaged(path:detail:)``.
        case quarantine
        /// Throw ``QueueError/damaged(path:detail:)`` and leave the file alone (operator tools).
        case refuse
    }

    /// How far a committed snapshot survives.
    public enum Durability: String, Sendable, Hashable {
        /// WAL with `synchronous=NORMAL`: a commit survives a crash of the process; a power loss
        /// or OS crash can lose the last commits since the previous WAL checkpoint sync (the
        /// database itself stays consistent).
        case normal
        /// WAL with `synchronous=FULL`: the WAL is synced on every commit, so a commit survives
        /// power loss too, at the cost of one fsync per snapshot.
        case full
    }

    /// The database file. Created with mode 0600 when missing.
    public var path: String
    /// The byte cap of the database file. Default 1 GiB.
    public var maxBytes: UInt64
    /// The policy at the cap. Default ``WhenFull/dropOldest``.
    public var whenFull: WhenFull
    /// Default ``Durability/normal``.
    public var durability: Durability
    /// How long a statement waits for another connection's write lock, in ms. Default 5000.
    public var busyTimeoutMs: Int32
    /// The size the WAL file is truncated back to after a checkpoint. Default 16 MiB.
    public var journalSizeLimit: Int64
    /// The page size of a new file, in bytes (a power of two from 512 to 65536); an existing
    /// file keeps the size it was created with. Default 16 KiB: a typical message (tens of KiB)
    /// spans a few overflow pages instead of many 4 KiB ones, and reading or freeing it takes
    /// that many fewer system calls.
    public var pageSize: Int
    /// What opening a damaged file does. Default ``WhenDamaged/quarantine``.
    public var whenDamaged: WhenDamaged
    /// How long `PRAGMA quick_check` may run at open. It walks every b-tree and overflow chain
    /// (0.12 s for a 530 MiB file of 32 KiB rows from a warm page cache; a cold disk reads the
    /// whole file), so a file too large to check in time is checked that far: the pages read were
    /// fine, and the open goes on (logged). A file that failed with damage while in use is checked
    /// in full at its next open, whatever this says. Default 10 s; zero skips the check.
    public var integrityCheckBudget: Duration
    /// Disk space held back in `PATH-reserve` (a file of zeros beside the queue) and given up
    /// when the disk fills, so that the WAL can be checkpointed, delivered rows deleted and drops
    /// counted. Taken only when the file system has room for it twice over; 0 disables it. The
    /// WAL is checkpointed automatically once it holds half this much (at most 1000 pages).
    /// Default 16 MiB.
    public var diskReserveBytes: Int64

    /// Creates a configuration with the documented defaults.
    public init(
        path: String,
        maxBytes: UInt64 = 1 << 30,
        whenFull: WhenFull = .dropOldest,
        durability: Durability = .normal,
        busyTimeoutMs: Int32 = 5000,
        journalSizeLimit: Int64 = 16 << 20,
        pageSize: Int = 16 << 10,
        whenDamaged: WhenDamaged = .quarantine,
        integrityCheckBudget: Duration = .seconds(10),
        diskReserveBytes: Int64 = 16 << 20
    ) {
        self.path = path
        self.maxBytes = maxBytes
        self.whenFull = whenFull
        self.durability = durability
        self.busyTimeoutMs = busyTimeoutMs
        self.journalSizeLimit = journalSizeLimit
        self.pageSize = pageSize
        self.whenDamaged = whenDamaged
        self.integrityCheckBudget = integrityCheckBudget
        self.diskReserveBytes = diskReserveBytes
    }
}
