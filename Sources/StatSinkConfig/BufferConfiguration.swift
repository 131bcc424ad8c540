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
    /// Payload bytes the drainer keeps handed to librdkafka and not yet acknowledged, per stream
    /// (`max_in_flight` in YAML, with a unit; 64 KiB to 1 GiB). Delivery is at most this much per
    /// round trip to the broker: raise it for a link with a long round trip, at the cost of
    /// about 1.2 times as much memory. Default: 3 MiB.
    public var maxInFlightBytes: UInt64
    /// The longest wait between delivery retries (`max_retry_backoff` in YAML, a duration from
    /// 100ms to 3600s); while the brokers are unreachable the wait also ends as soon as they answer.
    /// Default: 30 s.
    public var maxRetryBackoff: Duration

    /// The allowed range of ``maxInFlightBytes``.
    public static let maxInFlightRange: ClosedRange<UInt64> = (64 << 10)...(1 << 30)
    /// The allowed range of ``maxRetryBackoff``.
    public static let maxRetryBackoffRange: ClosedRange<Duration> = .milliseconds(100)...(.seconds(3600))

    /// Creates a buffer configuration with the documented defaults.
    public init(
        path: String = BufferConfiguration.defaultPath,
        maxBytes: UInt64 = BufferConfiguration.defaultMaxBytes,
        whenFull: WhenFullPolicy = .dropOldest,
        durability: Durability = .normal,
        diskReserveBytes: UInt64 = 16 << 20,
        maxInFlightBytes: UInt64 = 3 << 20,
        maxRetryBackoff: Duration = .seconds(30)
    ) {
        self.path = path
        self.maxBytes = maxBytes
        self.whenFull = whenFull
        self.durability = durability
        self.diskReserveBytes = diskReserveBytes
        self.maxInFlightBytes = maxInFlightBytes
        self.maxRetryBackoff = maxRetryBackoff
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
