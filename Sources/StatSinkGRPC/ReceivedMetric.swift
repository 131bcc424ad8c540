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
        var points: [Double] = []
        /// Quantile values (summary); empty for a histogram.
        var values: [Double] = []
        /// Cumulative bucket counts (histogram); empty for a summary.
        var counts: [UInt64] = []

        /// An empty summary half.
        init(summaryCount: UInt64, sum: Double, capacity: Int) {
            sampleCount = summaryCount
            sampleSum = sum
            points.reserveCapacity(capacity)
            values.reserveCapacity(capacity)
        }

        /// An empty histogram half.
        init(histogramCount: UInt64, sum: Double, capacity: Int) {
            sampleCount = histogramCount
            sampleSum = sum
            points.reserveCapacity(capacity)
            counts.reserveCapacity(capacity)
        }

        mutating func addQuantile(_ quantile: Double, value: Double) {
            points.append(quantile)
            values.append(value)
        }

        /// Adds a bucket; a `+Inf` bucket is dropped (the sample count is the total).
        mutating func addBucket(_ upperBound: Double, count: UInt64) {
            guard upperBound != .infinity else { return }
            points.append(upperBound)
            counts.append(count)
        }

        /// Shares Envoy's constant bounds or quantiles instead of keeping a copy per histogram.
        mutating func shareConstantPoints() {
            if values.isEmpty, points == HistogramStatistics.defaultBucketBounds {
                points = HistogramStatistics.defaultBucketBounds
            } else if counts.isEmpty, points == HistogramStatistics.supportedQuantiles {
                points = HistogramStatistics.supportedQuantiles
            }
        }
    }
}
