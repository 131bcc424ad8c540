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
    /// Where the gRPC server listens. Required in the section.
    public var listen: ListenAddress

    /// Creates a MetricsService source configuration.
    public init(listen: ListenAddress) {
        self.listen = listen
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
