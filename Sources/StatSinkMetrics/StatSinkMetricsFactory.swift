import CoreMetrics
import StatSinkModel
import Synchronization

/// A swift-metrics backend whose snapshots are Envoy stats: bootstrap it with
/// `MetricsSystem.bootstrap(factory)` and hand ``snapshot(timestampMs:node:)`` to the queue every
/// flush interval (the `MetricsFlushService` of the `StatSink` module does both the timing and
/// the writing).
///
/// ## Types
/// | swift-metrics | Envoy stat |
/// |---|---|
/// | `Counter`, `FloatingPointCounter` | counter: cumulative value and delta since the previous snapshot |
/// | `Meter`, `Gauge` (`Recorder` with `aggregate: false`) | gauge |
/// | `Recorder` (`aggregate: true`), `Timer` | histogram of the last flush interval |
///
/// Metrics of one Envoy type with the same label and dimensions share one handler: a `Counter`
/// and a `FloatingPointCounter` add to one counter, a `Meter` and a `Gauge` set one gauge, a
/// `Recorder` and a `Timer` record into one histogram. Metrics of different types never share.
///
/// ## Names
/// The label is the stat name and each dimension a tag, so with `emit_tags_as_labels` (the sink
/// default) a stat is written as its label with its dimensions as labels. Without labels the
/// sink writes the full name: the label followed by each dimension **value**, in the order given,
/// joined by dots, verbatim (`http.requests` with `[("method", "GET"), ("status", "200")]` is
/// `http.requests.GET.200`), as Envoy embeds tag values in its full names.
/// See ``metricName(label:dimensions:)``. Dimensions are an ordered list: the same pairs in
/// another order make another metric.
///
/// ## Values
/// Envoy's stats are unsigned integers:
/// - counters saturate at `UInt64.max` and ignore negative increments; floating-point
///   increments carry their fractions, the value is the integer part of the running sum;
/// - gauges round to the nearest integer (halves away from zero) and clamp to `0...UInt64.max`;
/// - histograms ignore NaN and ±∞ and record negative values as 0; `Timer` durations are in
///   ``StatSinkMetricsConfiguration/timerUnit`` (milliseconds by default).
///
/// ## Histograms
/// Each snapshot reports the interval since the previous snapshot and starts a new one: exact
/// sample count, sum and cumulative bucket counts for the configured bounds (Envoy's 19 by
/// default), and quantiles estimated from a bounded log-linear sketch, within 0.78 % (relative)
/// of the exact interpolated quantile for values in `[2^-24, 2^56)`; the 0 and 1 quantiles are
/// the exact minimum and maximum. An interval without samples has NaN quantiles.
///
/// ## Emission
/// Only metrics that were ever updated appear, and each one then appears in every snapshot,
/// changed or not, in creation order within its type. `destroy()` removes a metric from later
/// snapshots (updates since the previous snapshot are dropped); making it again starts afresh,
/// while the destroyed handle keeps accepting updates that nothing reports.
///
/// The hot path (`increment`, `set`, `record`) is an atomic operation or a short per-metric
/// lock and never touches the queue; making and destroying metrics and taking snapshots take
/// a factory-wide lock.
public final class StatSinkMetricsFactory: MetricsFactory {
    /// The configuration, fixed at creation.
    public let configuration: StatSinkMetricsConfiguration
    private let tables = Mutex(Tables())
    /// Serializes snapshots: counter deltas and histogram intervals are per snapshot.
    private let snapshotLock = Mutex(())

    private struct Tables {
        var counters = MetricTable<StatSinkCounter>()
        var gauges = MetricTable<StatSinkGauge>()
        var histograms = MetricTable<StatSinkHistogram>()
        /// One bucket lookup table per distinct bounds, shared by their histograms.
        var bucketLookups: [[Double]: BucketLookup] = [:]
    }

    /// Creates a factory with no metrics.
    ///
    /// - Precondition: the configuration's bounds are finite and strictly ascending, its
    ///   quantiles ascending and in `0...1`.
    public init(configuration: StatSinkMetricsConfiguration = StatSinkMetricsConfiguration()) {
        configuration.validate()
        self.configuration = configuration
    }

    /// The Envoy name of the metric `label` with `dimensions`: the tag-extracted name is the
    /// label, the tags are the dimensions in order, and the full name is the label followed by
    /// each dimension value, joined by dots.
    public static func metricName(label: String, dimensions: [(String, String)]) -> MetricName {
        var fullName = label
        for (_, value) in dimensions {
            fullName += "."
            fullName += value
        }
        return MetricName(
            fullName: fullName, tagExtractedName: label,
            tags: dimensions.map { Tag(name: $0.0, value: $0.1) }
        )
    }

    // MARK: Snapshots

    /// Takes the snapshot of every used metric, stamped `timestampMs`, and starts new histogram
    /// intervals and counter deltas. Counters come first, then gauges, then histograms, each in
    /// creation order.
    public func snapshot(timestampMs: Int64, node: NodeIdentity) -> MetricSnapshot {
        snapshotLock.withLock { _ in
            let (counters, gauges, histograms) = tables.withLock { ($0.counters.handlers, $0.gauges.handlers, $0.histograms.handlers) }
            var snapshot = MetricSnapshot(timestampMs: timestampMs, node: node)
            snapshot.counters.reserveCapacity(counters.count)
            for counter in counters {
                if let sample = counter.sample() { snapshot.counters.append(sample) }
            }
            snapshot.gauges.reserveCapacity(gauges.count)
            for gauge in gauges {
                if let sample = gauge.sample() { snapshot.gauges.append(sample) }
            }
            snapshot.histograms.reserveCapacity(histograms.count)
            for histogram in histograms {
                if let statistics = histogram.takeInterval(quantiles: configuration.quantiles) {
                    snapshot.histograms.append(HistogramSample(name: histogram.name, statistics: statistics))
                }
            }
            return snapshot
        }
    }

    // MARK: MetricsFactory

    /// The counter of `label` and `dimensions`, made on first use.
    public func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        counter(label: label, dimensions: dimensions)
    }

    /// The same handler as ``makeCounter(label:dimensions:)``: floating-point increments add to
    /// the integer counter, their fractions carried.
    public func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        counter(label: label, dimensions: dimensions)
    }

    /// The gauge of `label` and `dimensions`, made on first use.
    public func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
        gauge(label: label, dimensions: dimensions)
    }

    /// A histogram when `aggregate` is true, else the gauge that ``makeMeter(label:dimensions:)``
    /// returns.
    public func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        aggregate ? histogram(label: label, dimensions: dimensions) : gauge(label: label, dimensions: dimensions)
    }

    /// The histogram of `label` and `dimensions`, recording durations in
    /// ``StatSinkMetricsConfiguration/timerUnit``.
    public func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        histogram(label: label, dimensions: dimensions)
    }

    /// Removes the counter from later snapshots.
    public func destroyCounter(_ handler: any CounterHandler) {
        tables.withLock { $0.counters.remove(handler) }
    }

    /// Removes the counter from later snapshots.
    public func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {
        tables.withLock { $0.counters.remove(handler) }
    }

    /// Removes the gauge from later snapshots.
    public func destroyMeter(_ handler: any MeterHandler) {
        tables.withLock { $0.gauges.remove(handler) }
    }

    /// Removes the histogram (or, for a non-aggregating recorder, the gauge) from later snapshots.
    public func destroyRecorder(_ handler: any RecorderHandler) {
        tables.withLock { tables in
            if handler is StatSinkHistogram {
                tables.histograms.remove(handler)
            } else {
                tables.gauges.remove(handler)
            }
        }
    }

    /// Removes the histogram from later snapshots.
    public func destroyTimer(_ handler: any TimerHandler) {
        tables.withLock { $0.histograms.remove(handler) }
    }

    // MARK: Handlers

    private func counter(label: String, dimensions: [(String, String)]) -> StatSinkCounter {
        let key = MetricKey(label: label, dimensions: dimensions)
        return tables.withLock { tables in
            tables.counters.handler(for: key) { StatSinkCounter(name: Self.metricName(label: label, dimensions: dimensions)) }
        }
    }

    private func gauge(label: String, dimensions: [(String, String)]) -> StatSinkGauge {
        let key = MetricKey(label: label, dimensions: dimensions)
        return tables.withLock { tables in
            tables.gauges.handler(for: key) { StatSinkGauge(name: Self.metricName(label: label, dimensions: dimensions)) }
        }
    }

    private func histogram(label: String, dimensions: [(String, String)]) -> StatSinkHistogram {
        let key = MetricKey(label: label, dimensions: dimensions)
        return tables.withLock { tables in
            if let existing = tables.histograms.existingHandler(for: key) { return existing }
            let bounds = configuration.bucketBounds(forLabel: label)
            let buckets = tables.bucketLookups[bounds] ?? BucketLookup(bounds: bounds)
            tables.bucketLookups[bounds] = buckets
            return tables.histograms.handler(for: key) {
                StatSinkHistogram(name: Self.metricName(label: label, dimensions: dimensions), buckets: buckets, timerUnit: configuration.timerUnit)
            }
        }
    }
}
