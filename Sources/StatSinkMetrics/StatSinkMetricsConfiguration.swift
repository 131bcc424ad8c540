import CoreMetrics
import StatSinkModel

/// How a ``StatSinkMetricsFactory`` turns swift-metrics values into Envoy stats.
///
/// The defaults are Envoy's: its 19 histogram bucket bounds, its 10 quantiles, and durations in
/// milliseconds (the unit of Envoy's `*_time` / `*_ms` histograms, which its bounds are made for).
public struct StatSinkMetricsConfiguration: Sendable, Equatable {
    /// The bucket upper bounds of every histogram without an entry in
    /// ``histogramBucketBoundsByLabel``: strictly ascending, finite.
    /// Default: ``HistogramStatistics/defaultBucketBounds`` (Envoy's 19).
    public var histogramBucketBounds: [Double]
    /// Bucket bounds for the histograms of one label (whatever their dimensions), like Envoy's
    /// `histogram_bucket_settings`. Default: none.
    public var histogramBucketBoundsByLabel: [String: [Double]]
    /// The quantiles computed for every histogram at every flush: ascending, in `0...1`.
    /// Default: ``HistogramStatistics/supportedQuantiles`` (Envoy's 10).
    public var quantiles: [Double]
    /// The unit `Timer` durations are recorded in. Default: milliseconds, as Envoy's duration
    /// histograms. `TimerHandler.preferDisplayUnit(_:)` is ignored, so every timer of a factory
    /// shares this unit and the bucket bounds keep one meaning.
    public var timerUnit: TimeUnit

    /// Creates a configuration; every argument defaults to Envoy's behaviour.
    public init(
        histogramBucketBounds: [Double] = HistogramStatistics.defaultBucketBounds,
        histogramBucketBoundsByLabel: [String: [Double]] = [:],
        quantiles: [Double] = HistogramStatistics.supportedQuantiles,
        timerUnit: TimeUnit = .milliseconds
    ) {
        self.histogramBucketBounds = histogramBucketBounds
        self.histogramBucketBoundsByLabel = histogramBucketBoundsByLabel
        self.quantiles = quantiles
        self.timerUnit = timerUnit
    }

    /// The bucket bounds of the histograms named `label`.
    public func bucketBounds(forLabel label: String) -> [Double] {
        histogramBucketBoundsByLabel[label] ?? histogramBucketBounds
    }

    /// Stops with a message naming the first setting that breaks its rule.
    func validate() {
        for (label, bounds) in [("", histogramBucketBounds)] + histogramBucketBoundsByLabel.sorted(by: { $0.key < $1.key }) {
            let name = label.isEmpty ? "histogramBucketBounds" : "histogramBucketBoundsByLabel[\(label)]"
            precondition(bounds.allSatisfy(\.isFinite), "\(name): bounds must be finite")
            precondition(zip(bounds, bounds.dropFirst()).allSatisfy { $0 < $1 }, "\(name): bounds must be strictly ascending")
        }
        precondition(quantiles.allSatisfy { (0...1).contains($0) }, "quantiles must be in 0...1")
        precondition(zip(quantiles, quantiles.dropFirst()).allSatisfy { $0 <= $1 }, "quantiles must be ascending")
    }
}
