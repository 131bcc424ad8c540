import StatSinkModel
import StatSinkProtobuf

/// Turns the messages of one `StreamMetrics` stream into snapshots.
///
/// Envoy stamps every metric of one flush with the flush time and, with its `batch_size`, splits
/// the flush across several messages sent back to back. So metrics with the same `timestamp_ms`
/// form one snapshot, across messages; a metric with another timestamp closes the open snapshot
/// and opens the next. Whoever feeds the assembler also closes the open snapshot (see
/// ``closeOpenSnapshot()``) when the stream goes quiet or ends, so that the last flush is not
/// held back until the next one.
///
/// - A message without metrics is Envoy's empty flush (Envoy never sends an empty batch within
///   a flush): it closes the open snapshot and makes an empty one, stamped with the receive time.
/// - A metric without a timestamp joins the open snapshot (or opens one at the receive time).
/// - A `SUMMARY` and a `HISTOGRAM` family with the same name and labels in one snapshot are one
///   histogram (Envoy's `SUMMARY_AND_HISTOGRAM` mode, the default): quantiles from the first,
///   buckets from the second, in either order, in the same message or not. A lone `SUMMARY`
///   (`SUMMARY` mode) is a histogram without buckets; a lone `HISTOGRAM` (`HISTOGRAM` mode) one
///   without quantiles.
/// - Counters keep their value as their delta too: `SinkWriter` computes the real delta from the
///   previous value it stored.
public struct SnapshotAssembler: Sendable {
    /// The node the stream's snapshots describe.
    public let node: NodeIdentity
    private var open: OpenSnapshot?

    /// Creates an assembler for the stream of `node`.
    public init(node: NodeIdentity) {
        self.node = node
    }

    /// The timestamp of the snapshot being assembled, or `nil` when none is open.
    public var openTimestampMs: Int64? { open?.snapshot.timestampMs }

    /// Adds the metrics of one message; returns the snapshots it completed, oldest first.
    ///
    /// - Throws: ``MalformedMetricsError`` when a family cannot be taken; then nothing of the
    ///   message is added and the open snapshot is left as it was.
    public mutating func add(
        _ families: [Io_Prometheus_Client_MetricFamily], receivedAtMs: Int64
    ) throws(MalformedMetricsError) -> [MetricSnapshot] {
        add(try MetricFamilyConverter.convert(families), receivedAtMs: receivedAtMs)
    }

    /// Adds the metrics of one decoded message (the server's way); returns the snapshots it
    /// completed, oldest first.
    public mutating func add(_ message: DecodedMetricsMessage, receivedAtMs: Int64) -> [MetricSnapshot] {
        add(message.metrics, receivedAtMs: receivedAtMs)
    }

    private mutating func add(_ metrics: [ReceivedMetric], receivedAtMs: Int64) -> [MetricSnapshot] {
        var completed: [MetricSnapshot] = []
        if metrics.isEmpty {
            if let snapshot = closeOpenSnapshot() { completed.append(snapshot) }
            completed.append(MetricSnapshot(timestampMs: receivedAtMs, node: node))
            return completed
        }
        for metric in metrics {
            let timestamp = metric.timestampMs ?? open?.snapshot.timestampMs ?? receivedAtMs
            if open?.snapshot.timestampMs != timestamp {
                if let snapshot = closeOpenSnapshot() { completed.append(snapshot) }
                open = OpenSnapshot(snapshot: MetricSnapshot(timestampMs: timestamp, node: node))
            }
            open!.add(metric.value)
        }
        return completed
    }

    /// Closes and returns the snapshot being assembled, if any.
    public mutating func closeOpenSnapshot() -> MetricSnapshot? {
        defer { open = nil }
        return open?.snapshot
    }
}

/// A snapshot being assembled, with what it needs to pair histogram halves.
private struct OpenSnapshot {
    var snapshot: MetricSnapshot
    /// Per histogram series (full name, labels included): its position in
    /// `snapshot.histograms` and which half it still lacks.
    var unpaired: [String: (index: Int, lacks: Half)] = [:]

    enum Half { case summary, histogram }

    mutating func add(_ value: ReceivedMetric.Value) {
        switch value {
        case .counter(let counter): snapshot.counters.append(counter)
        case .gauge(let gauge): snapshot.gauges.append(gauge)
        case .summary(let name, let half): addHalf(.summary, name: name, half)
        case .histogram(let name, let half): addHalf(.histogram, name: name, half)
        }
    }

    private mutating func addHalf(_ kind: Half, name: MetricName, _ half: ReceivedMetric.HistogramHalf) {
        if let pending = unpaired[name.fullName], pending.lacks == kind {
            unpaired[name.fullName] = nil
            let other = snapshot.histograms[pending.index].statistics
            // Counts and sums are the same in both halves; the bucket half's are kept.
            snapshot.histograms[pending.index].statistics = kind == .summary
                ? HistogramStatistics(
                    sampleCount: other.sampleCount, sampleSum: other.sampleSum,
                    bucketBounds: other.bucketBounds, cumulativeCounts: other.cumulativeCounts,
                    quantiles: half.points, quantileValues: half.values)
                : HistogramStatistics(
                    sampleCount: half.sampleCount, sampleSum: half.sampleSum,
                    bucketBounds: half.points, cumulativeCounts: half.counts,
                    quantiles: other.quantiles, quantileValues: other.quantileValues)
            return
        }
        let statistics = kind == .summary
            ? HistogramStatistics(
                sampleCount: half.sampleCount, sampleSum: half.sampleSum, bucketBounds: [], cumulativeCounts: [],
                quantiles: half.points, quantileValues: half.values)
            : HistogramStatistics(
                sampleCount: half.sampleCount, sampleSum: half.sampleSum, bucketBounds: half.points,
                cumulativeCounts: half.counts, quantiles: [], quantileValues: [])
        unpaired[name.fullName] = (snapshot.histograms.count, kind == .summary ? .histogram : .summary)
        snapshot.histograms.append(HistogramSample(name: name, statistics: statistics))
    }
}
