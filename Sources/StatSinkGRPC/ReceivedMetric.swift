import StatSinkModel

/// One series of a received message, converted to the model, before it joins a snapshot.
struct ReceivedMetric: Sendable {
    /// The metric's `timestamp_ms`, when it had one.
    var timestampMs: Int64?
    /// What was received.
    var value: Value

    /// A series' value, by Prometheus family type.
    enum Value: Sendable {
        /// A counter; its delta is its value until the writer knows better.
        case counter(CounterSample)
        /// A gauge.
        case gauge(GaugeSample)
        /// The quantile half of an Envoy histogram (a `SUMMARY` family).
        case summary(MetricName, HistogramHalf)
        /// The bucket half of an Envoy histogram (a `HISTOGRAM` family).
        case histogram(MetricName, HistogramHalf)
    }

    /// Envoy sends each histogram as a `SUMMARY` family (quantiles), a `HISTOGRAM` family
    /// (buckets), or both, depending on its `histogram_emit_mode`.
    struct HistogramHalf: Sendable {
        var sampleCount: UInt64
        var sampleSum: Double
        /// Quantiles (summary) or bucket upper bounds (histogram).
        var points: [Double]
        /// Quantile values (summary); empty for a histogram.
        var values: [Double]
        /// Cumulative bucket counts (histogram); empty for a summary.
        var counts: [UInt64]
    }
}
