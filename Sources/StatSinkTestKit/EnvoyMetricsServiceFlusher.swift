import GRPCCore
import StatSinkModel
import StatSinkProtobuf

/// What Envoy's `envoy.stat_sinks.metrics_service` sink sends for a snapshot, for tests and
/// benchmarks of the gRPC source: the `MetricFamily` of each stat as Envoy's `MetricsFlusher`
/// fills it, split into messages of `batch_size` families, the node identifier on the first
/// message of a stream only (`wire-format.md` §4).
public struct EnvoyMetricsServiceFlusher: Sendable {
    /// Envoy's `histogram_emit_mode`.
    public enum HistogramEmitMode: Sendable, Hashable, CaseIterable {
        /// A `SUMMARY` family then a `HISTOGRAM` family with the same name (Envoy's default).
        case summaryAndHistogram
        /// The `SUMMARY` family only.
        case summary
        /// The `HISTOGRAM` family only.
        case histogram
    }

    /// Tag-extracted names and tags as labels, or full names without labels (Envoy's default).
    public var emitTagsAsLabels: Bool
    /// Counter deltas instead of cumulative values.
    public var reportCountersAsDeltas: Bool
    /// How histograms are sent.
    public var histogramEmitMode: HistogramEmitMode
    /// Families per message; 0 sends a whole flush in one message.
    public var batchSize: Int

    /// Creates a flusher; the defaults are those of Envoy's `MetricsServiceConfig`.
    public init(
        emitTagsAsLabels: Bool = false, reportCountersAsDeltas: Bool = false,
        histogramEmitMode: HistogramEmitMode = .summaryAndHistogram, batchSize: Int = 0
    ) {
        self.emitTagsAsLabels = emitTagsAsLabels
        self.reportCountersAsDeltas = reportCountersAsDeltas
        self.histogramEmitMode = histogramEmitMode
        self.batchSize = batchSize
    }

    /// The families of one flush of `snapshot`: counters, gauges, then histograms.
    public func families(_ snapshot: MetricSnapshot) -> [Io_Prometheus_Client_MetricFamily] {
        var families: [Io_Prometheus_Client_MetricFamily] = []
        families.reserveCapacity(snapshot.metricCount + snapshot.histograms.count)
        for counter in snapshot.counters {
            var family = family(counter.name, .counter, snapshot.timestampMs)
            family.metric[0].counter.value = Double(reportCountersAsDeltas ? counter.delta : counter.value)
            families.append(family)
        }
        for gauge in snapshot.gauges {
            var family = family(gauge.name, .gauge, snapshot.timestampMs)
            family.metric[0].gauge.value = Double(gauge.value)
            families.append(family)
        }
        for histogram in snapshot.histograms {
            let statistics = histogram.statistics
            if histogramEmitMode != .histogram {
                var family = family(histogram.name, .summary, snapshot.timestampMs)
                family.metric[0].summary.quantile = zip(statistics.quantiles, statistics.quantileValues).map { quantile, value in
                    var entry = Io_Prometheus_Client_Quantile()
                    entry.quantile = quantile
                    entry.value = value
                    return entry
                }
                family.metric[0].summary.sampleCount = statistics.sampleCount
                family.metric[0].summary.sampleSum = statistics.sampleSum
                families.append(family)
            }
            if histogramEmitMode != .summary {
                var family = family(histogram.name, .histogram, snapshot.timestampMs)
                family.metric[0].histogram.sampleCount = statistics.sampleCount
                family.metric[0].histogram.sampleSum = statistics.sampleSum
                family.metric[0].histogram.bucket = zip(statistics.bucketBounds, statistics.cumulativeCounts).map { bound, count in
                    var bucket = Io_Prometheus_Client_Bucket()
                    bucket.upperBound = bound
                    bucket.cumulativeCount = count
                    return bucket
                }
                families.append(family)
            }
        }
        return families
    }

    /// The messages of one flush of `snapshot`; the first carries `identifier` (the node) when
    /// the flush opens a stream.
    public func messages(_ snapshot: MetricSnapshot, opensStream: Bool) -> [Envoy_Service_Metrics_V3_StreamMetricsMessage] {
        let families = families(snapshot)
        let size = batchSize > 0 ? batchSize : max(families.count, 1)
        var messages: [Envoy_Service_Metrics_V3_StreamMetricsMessage] = []
        // An empty flush is one empty message.
        for start in stride(from: 0, to: max(families.count, 1), by: size) {
            var message = Envoy_Service_Metrics_V3_StreamMetricsMessage()
            message.envoyMetrics = Array(families[start..<min(start + size, families.count)])
            messages.append(message)
        }
        if opensStream {
            messages[0].identifier.node.id = snapshot.node.id
            messages[0].identifier.node.cluster = snapshot.node.cluster
        }
        return messages
    }

    private func family(_ name: MetricName, _ type: Io_Prometheus_Client_MetricType, _ timestampMs: Int64) -> Io_Prometheus_Client_MetricFamily {
        var family = Io_Prometheus_Client_MetricFamily()
        family.type = type
        var metric = Io_Prometheus_Client_Metric()
        metric.timestampMs = timestampMs
        if emitTagsAsLabels {
            family.name = name.tagExtractedName
            metric.label = name.tags.map { tag in
                var label = Io_Prometheus_Client_LabelPair()
                label.name = tag.name
                label.value = tag.value
                return label
            }
        } else {
            family.name = name.fullName
        }
        family.metric = [metric]
        return family
    }
}

/// Sends bytes as they are: for clients that stream pre-serialized or deliberately broken
/// messages.
public struct RawBytesSerializer: MessageSerializer {
    /// Creates the serializer.
    public init() {}

    /// The bytes themselves.
    public func serialize<Bytes: GRPCContiguousBytes>(_ message: [UInt8]) throws -> Bytes {
        Bytes(message)
    }
}
