import StatSinkModel

/// Makes snapshots that look like an Envoy's: names and tags in Envoy's style, a realistic mix of
/// metric kinds, reproducible from a seed.
///
/// The default mix is Envoy's typical one: 70 % counters, 20 % gauges, 10 % histograms, each with
/// 0–3 tags. Histograms use Envoy's default bounds and quantiles; some have an empty interval.
public struct EnvoySnapshotGenerator: Sendable {
    /// The share of counters among the metrics.
    public var counterShare = 0.7
    /// The share of gauges among the metrics (histograms take the rest).
    public var gaugeShare = 0.2
    /// The node of generated snapshots.
    public var node = NodeIdentity(id: "edge-17", cluster: "edge")

    var random: SplitMix64

    /// Creates a generator.
    public init(seed: UInt64 = 17) {
        random = SplitMix64(seed: seed)
    }

    /// Makes a snapshot of `metricCount` metrics taken at `timestampMs`, in the generator's mix.
    public mutating func snapshot(metricCount: Int, timestampMs: Int64 = 1_764_000_000_000) -> MetricSnapshot {
        let counterCount = Int((Double(metricCount) * counterShare).rounded())
        let gaugeCount = min(metricCount - counterCount, Int((Double(metricCount) * gaugeShare).rounded()))
        return snapshot(counters: counterCount, gauges: gaugeCount, histograms: metricCount - counterCount - gaugeCount, timestampMs: timestampMs)
    }

    /// Makes a snapshot with exactly these numbers of each kind.
    public mutating func snapshot(counters counterCount: Int, gauges gaugeCount: Int, histograms histogramCount: Int, timestampMs: Int64) -> MetricSnapshot {
        var snapshot = MetricSnapshot(timestampMs: timestampMs, node: node)
        snapshot.counters.reserveCapacity(counterCount)
        for index in 0..<counterCount {
            let delta = UInt64.random(in: 0...5_000, using: &random)
            snapshot.counters.append(CounterSample(
                name: name(index, suffixes: Self.counterSuffixes),
                value: delta + UInt64.random(in: 0...10_000_000_000, using: &random),
                delta: delta
            ))
        }
        for index in 0..<gaugeCount {
            snapshot.gauges.append(GaugeSample(
                name: name(index, suffixes: Self.gaugeSuffixes),
                value: UInt64.random(in: 0...100_000, using: &random)
            ))
        }
        for index in 0..<histogramCount {
            snapshot.histograms.append(HistogramSample(
                name: name(index, suffixes: Self.histogramSuffixes),
                statistics: histogramStatistics()
            ))
        }
        return snapshot
    }

    /// Interval statistics of a latency-like histogram; one interval in eight has no sample.
    public mutating func histogramStatistics() -> HistogramStatistics {
        // One in eight intervals saw no sample: quantiles are NaN then.
        guard Int.random(in: 0..<8, using: &random) != 0 else { return .empty() }
        let sampleCount = Int.random(in: 1...64, using: &random)
        let samples = (0..<sampleCount).map { _ in
            // Latency-like: mostly small, a long tail.
            (Double.random(in: 0..<1, using: &random) * Double.random(in: 0..<1, using: &random)) * 3000
        }
        return HistogramStatistics(samples: samples)
    }

    /// An Envoy-style name with 0–3 tags, e.g. `cluster.svc_4.upstream_rq_total`
    /// (`cluster.upstream_rq_total`, `envoy.cluster_name=svc_4`).
    private mutating func name(_ index: Int, suffixes: [String]) -> MetricName {
        let suffix = suffixes[index % suffixes.count]
        let series = index / suffixes.count
        let tagCount = Int.random(in: 0...3, using: &random)
        let scope = Self.scopes[series % Self.scopes.count]
        var full = scope.prefix
        var extracted = scope.prefix
        var tags: [Tag] = []
        for tagIndex in 0..<tagCount {
            let tagName = scope.tagNames[tagIndex % scope.tagNames.count]
            let value = "\(tagName.split(separator: ".").last ?? "v")_\(series)_\(tagIndex)"
            full += ".\(value)"
            tags.append(Tag(name: tagName, value: value))
        }
        full += ".\(suffix)_\(series)"
        extracted += ".\(suffix)_\(series)"
        return MetricName(fullName: full, tagExtractedName: extracted, tags: tags)
    }

    private static let scopes: [(prefix: String, tagNames: [String])] = [
        ("cluster", ["envoy.cluster_name", "envoy.response_code_class", "envoy.zone"]),
        ("http", ["envoy.http_conn_manager_prefix", "envoy.response_code", "envoy.virtual_host"]),
        ("listener", ["envoy.listener_address", "envoy.worker_id", "envoy.tcp_prefix"]),
    ]
    private static let counterSuffixes = ["upstream_rq_total", "upstream_cx_total", "downstream_rq_2xx", "upstream_rq_retry"]
    private static let gaugeSuffixes = ["upstream_cx_active", "membership_healthy", "downstream_cx_active"]
    private static let histogramSuffixes = ["upstream_rq_time", "downstream_rq_time", "upstream_cx_length_ms"]
}
