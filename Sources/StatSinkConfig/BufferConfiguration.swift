/// The durable queue between the sources and Kafka (the `buffer` section).
public struct BufferConfiguration: Sendable, Hashable {
    /// The default queue file, relative to the working directory.
    public static let defaultPath = "./statsink-queue.db"
    /// The default byte cap: 1 GiB.
    public static let defaultMaxBytes: UInt64 = 1 << 30

    /// The queue file. Default: ``defaultPath``.
    public var path: String
    /// The most bytes the queue may hold before ``whenFull`` applies; written with a unit in YAML
    /// (`512MiB`, `1GiB`) or as a byte count. Default: 1 GiB.
    public var maxBytes: UInt64
    /// What to drop when the queue is full. Default: ``WhenFullPolicy/dropOldest``.
    public var whenFull: WhenFullPolicy
    /// What a committed snapshot survives. Default: ``Durability/normal``.
    public var durability: Durability
    /// Disk space held back beside the queue (`PATH-reserve`) and given up when the disk fills,
    /// so the queue can go on within its own file (the disk then acts as the byte cap) until
    /// space returns; `disk_reserve` in YAML, with a unit. 0 turns it off. Default: 16 MiB.
    public var diskReserveBytes: UInt64

    /// Creates a buffer configuration with the documented defaults.
    public init(
        path: String = BufferConfiguration.defaultPath,
        maxBytes: UInt64 = BufferConfiguration.defaultMaxBytes,
        whenFull: WhenFullPolicy = .dropOldest,
        durability: Durability = .normal,
        diskReserveBytes: UInt64 = 16 << 20
    ) {
        self.path = path
        self.maxBytes = maxBytes
        self.whenFull = whenFull
        self.durability = durability
        self.diskReserveBytes = diskReserveBytes
    }
}

/// What the queue drops when it reaches its byte cap. Raw values are the YAML spellings.
public enum WhenFullPolicy: String, Sendable, Hashable, CaseIterable {
    /// Delete the oldest undelivered snapshots to make room (`drop_oldest`): recent data wins.
    case dropOldest = "drop_oldest"
    /// Refuse the new snapshot (`drop_newest`): the backlog is kept intact.
    case dropNewest = "drop_newest"
}

/// What a committed snapshot survives. Raw values are the YAML spellings.
public enum Durability: String, Sendable, Hashable, CaseIterable {
    /// Survives a crash of the process, not necessarily a power loss (`normal`).
    case normal
    /// Survives a power loss, at the cost of a sync per commit (`full`).
    case full
}
