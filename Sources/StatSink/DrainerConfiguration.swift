/// How a ``Drainer`` paces itself. Every property has a documented default.
public struct DrainerConfiguration: Sendable, Hashable {
    /// Rows produced but not yet reported, at most. Default 1000.
    public var maxInFlightRows: Int
    /// Payload bytes produced but not yet reported, at most (a single larger row still goes).
    /// Default 3 MiB: enough to keep librdkafka's batches full on a local or LAN link (measured
    /// no slower than 4 MiB against a loopback broker, BENCHMARKS.md), small enough that memory
    /// stays flat while a large backlog drains: every row in flight is held in memory lent to
    /// librdkafka (``KafkaProducer/makeMessageBuffer(count:)``), about 1.2 times this window
    /// once values of different sizes are in flight. Raise it for links with a long round trip:
    /// throughput is at most this window per round trip.
    public var maxInFlightBytes: Int
    /// Rows read from the queue per query. Default 64.
    public var pageRows: Int
    /// How often an empty queue is looked at again. Default 100 ms.
    public var idlePollInterval: Duration
    /// The first wait after a retriable failure; doubled per consecutive failure (with jitter)
    /// up to ``maxBackoff``. Default 200 ms.
    public var initialBackoff: Duration
    /// The longest wait between retries; retries go on forever. Default 30 s. After failures
    /// that mean the brokers were unreachable, the wait ends early once a broker answers a
    /// metadata request (asked once a second).
    public var maxBackoff: Duration
    /// On graceful shutdown, how long to wait for the reports of rows in flight. Default 5 s.
    public var shutdownGracePeriod: Duration
    /// Failed attempts after which a row whose topic does not exist is dead-lettered. Default 10.
    public var unknownTopicAttempts: Int
    /// How often the WAL is checkpointed and free pages returned. Default 30 s.
    public var maintenanceInterval: Duration

    /// Creates a configuration with the documented defaults.
    public init(
        maxInFlightRows: Int = 1000,
        maxInFlightBytes: Int = 3 << 20,
        pageRows: Int = 64,
        idlePollInterval: Duration = .milliseconds(100),
        initialBackoff: Duration = .milliseconds(200),
        maxBackoff: Duration = .seconds(30),
        shutdownGracePeriod: Duration = .seconds(5),
        unknownTopicAttempts: Int = 10,
        maintenanceInterval: Duration = .seconds(30)
    ) {
        self.maxInFlightRows = maxInFlightRows
        self.maxInFlightBytes = maxInFlightBytes
        self.pageRows = pageRows
        self.idlePollInterval = idlePollInterval
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
        self.shutdownGracePeriod = shutdownGracePeriod
        self.unknownTopicAttempts = unknownTopicAttempts
        self.maintenanceInterval = maintenanceInterval
    }
}
