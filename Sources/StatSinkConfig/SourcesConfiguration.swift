/// Where snapshots come from (the `sources` section). Any combination may be enabled.
public struct SourcesConfiguration: Sendable, Hashable {
    /// The Envoy-like generator, or `nil` when disabled. Default: disabled.
    public var synthetic: SyntheticSourceConfiguration?
    /// The Envoy gRPC MetricsService server, or `nil` when disabled. Default: disabled.
    public var metricsService: MetricsServiceSourceConfiguration?

    /// Creates a sources configuration; by default no source is enabled.
    public init(
        synthetic: SyntheticSourceConfiguration? = nil,
        metricsService: MetricsServiceSourceConfiguration? = nil
    ) {
        self.synthetic = synthetic
        self.metricsService = metricsService
    }

    /// Whether no source is enabled, so nothing would ever be collected.
    public var isEmpty: Bool { synthetic == nil && metricsService == nil }
}

/// A generator of Envoy-like stats (`sources.synthetic`): how many of each kind it reports.
public struct SyntheticSourceConfiguration: Sendable, Hashable {
    /// The largest count accepted for each kind, to keep a typo from exhausting memory.
    public static let maximumCount = 1_000_000

    /// Counters per snapshot. Default: 700.
    public var counters: Int
    /// Gauges per snapshot. Default: 200.
    public var gauges: Int
    /// Histograms per snapshot. Default: 100.
    public var histograms: Int

    /// Creates a generator configuration with the documented defaults.
    public init(counters: Int = 700, gauges: Int = 200, histograms: Int = 100) {
        self.counters = counters
        self.gauges = gauges
        self.histograms = histograms
    }
}

/// An Envoy gRPC MetricsService server (`sources.metrics_service`) that Envoys stream stats to.
public struct MetricsServiceSourceConfiguration: Sendable, Hashable {
    /// The default largest message: 64 MiB, 16 times gRPC's usual 4 MiB, because Envoy sends a
    /// whole flush in one message unless its sink sets `batch_size`.
    public static let defaultMaxMessageBytes: UInt64 = 64 << 20
    /// The accepted range of `max_message_bytes`: 64 KiB to 1 GiB.
    public static let maxMessageBytesRange: ClosedRange<UInt64> = (64 << 10)...(1 << 30)
    /// The default quiet time before a stream's open snapshot is written: 200 ms.
    public static let defaultSnapshotIdleTimeout = Duration.milliseconds(200)
    /// The accepted range of `snapshot_idle_timeout`: 1 ms to 60 s.
    public static let snapshotIdleTimeoutRange = Duration.milliseconds(1)...Duration.seconds(60)

    /// Where the gRPC server listens. Required in the section.
    public var listen: ListenAddress
    /// Whether the Envoys send counter deltas: set it to the `report_counters_as_deltas` of
    /// their `metrics_service` sink. With `false` (Envoy's default) the values are cumulative.
    /// Default: `false`.
    public var reportCountersAsDeltas: Bool
    /// The largest `StreamMetricsMessage` accepted, in bytes (`max_message_bytes`, a byte size).
    /// Default: ``defaultMaxMessageBytes``.
    public var maxMessageBytes: UInt64
    /// How long a stream may stay quiet before its open snapshot is written
    /// (`snapshot_idle_timeout`, a duration). Default: ``defaultSnapshotIdleTimeout``.
    public var snapshotIdleTimeout: Duration

    /// Creates a MetricsService source configuration with the documented defaults.
    public init(
        listen: ListenAddress,
        reportCountersAsDeltas: Bool = false,
        maxMessageBytes: UInt64 = MetricsServiceSourceConfiguration.defaultMaxMessageBytes,
        snapshotIdleTimeout: Duration = MetricsServiceSourceConfiguration.defaultSnapshotIdleTimeout
    ) {
        self.listen = listen
        self.reportCountersAsDeltas = reportCountersAsDeltas
        self.maxMessageBytes = maxMessageBytes
        self.snapshotIdleTimeout = snapshotIdleTimeout
    }
}

/// Self-observability (the `admin` section): `GET /metrics` and `GET /healthz`.
public struct AdminConfiguration: Sendable, Hashable {
    /// Where the admin HTTP server listens, or `nil` for no server. Default: `nil`.
    public var listen: ListenAddress?

    /// Creates an admin configuration; by default the server is disabled.
    public init(listen: ListenAddress? = nil) {
        self.listen = listen
    }
}
