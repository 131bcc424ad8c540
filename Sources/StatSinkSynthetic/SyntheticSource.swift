import StatSinkModel

/// An Envoy-like source for demos, load and crash tests: a fixed set of stats whose values move
/// like a busy proxy's between flushes.
///
/// Counters only grow (by a random delta per flush), gauges wander, histograms get a fresh
/// interval of latency-like samples every flush. Names and tags are Envoy's style
/// (`cluster.upstream_rq_total` with `envoy.cluster_name`, …). Reproducible from a seed.
public struct SyntheticSource: Sendable {
    private var generator: EnvoySnapshotGenerator
    private var current: MetricSnapshot

    /// Creates a source of `counters`, `gauges` and `histograms` stats for `node`.
    public init(counters: Int, gauges: Int, histograms: Int, node: NodeIdentity, seed: UInt64 = 17) {
        generator = EnvoySnapshotGenerator(seed: seed)
        generator.node = node
        current = generator.snapshot(counters: counters, gauges: gauges, histograms: histograms, timestampMs: 0)
        // Start from zero, as a freshly started proxy does.
        for index in current.counters.indices {
            current.counters[index].value = 0
            current.counters[index].delta = 0
        }
    }

    /// The snapshot of the next flush, taken at `timestampMs`.
    public mutating func nextSnapshot(timestampMs: Int64) -> MetricSnapshot {
        current.timestampMs = timestampMs
        for index in current.counters.indices {
            let delta = UInt64.random(in: 0...200, using: &generator.random)
            current.counters[index].value &+= delta
            current.counters[index].delta = delta
        }
        for index in current.gauges.indices {
            let step = Int64.random(in: -5...5, using: &generator.random)
            current.gauges[index].value = UInt64(max(0, Int64(clamping: current.gauges[index].value) + step))
        }
        for index in current.histograms.indices {
            current.histograms[index].statistics = generator.histogramStatistics()
        }
        return current
    }
}
