/// Everything a source reports at one flush: the unit the queue stores atomically.
///
/// A snapshot mirrors what Envoy hands its stat sinks on every flush: all counters, then all
/// gauges, then all histograms, in the order the source gave them, each stamped with the single
/// flush time ``timestampMs``. Only stats that were ever updated appear, and every such stat
/// appears on every flush, whether it changed or not.
public struct MetricSnapshot: Sendable, Hashable {
    /// The flush time in milliseconds since the Unix epoch; written on every metric.
    public var timestampMs: Int64
    /// The node the metrics describe. Its ``NodeIdentity/id`` keys every Kafka message.
    public var node: NodeIdentity
    /// Counters, in emission order.
    public var counters: [CounterSample]
    /// Gauges, in emission order.
    public var gauges: [GaugeSample]
    /// Histograms, in emission order.
    public var histograms: [HistogramSample]

    /// Creates a snapshot.
    public init(
        timestampMs: Int64,
        node: NodeIdentity,
        counters: [CounterSample] = [],
        gauges: [GaugeSample] = [],
        histograms: [HistogramSample] = []
    ) {
        self.timestampMs = timestampMs
        self.node = node
        self.counters = counters
        self.gauges = gauges
        self.histograms = histograms
    }

    /// The number of metrics, counting a histogram as one (the unit of `batch_size`).
    public var metricCount: Int { counters.count + gauges.count + histograms.count }

    /// Whether the snapshot holds no metric at all (it still produces one Kafka message).
    public var isEmpty: Bool { metricCount == 0 }
}

/// Who produced a snapshot, in the shape of Envoy's bootstrap `node: {id, cluster}`.
public struct NodeIdentity: Sendable, Hashable {
    /// The node id: the Kafka message key and the `statsink.node_id` header.
    public var id: String
    /// The node's cluster, informative only.
    public var cluster: String

    /// Creates a node identity.
    public init(id: String, cluster: String = "") {
        self.id = id
        self.cluster = cluster
    }
}
