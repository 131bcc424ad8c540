import StatSinkModel
import StatSinkProtobuf
import StatSinkTestKit
import SwiftProtobuf

/// Seed `StreamMetricsMessage`s, serialized with swift-protobuf's generated messages: what
/// Envoy's `metrics_service` sink sends in each of its modes, and the odd values and fields a
/// peer could send.
enum MetricsMessageSeeds {
    typealias Message = Envoy_Service_Metrics_V3_StreamMetricsMessage
    typealias Family = Io_Prometheus_Client_MetricFamily

    static func all() -> [[UInt8]] {
        var seeds: [[UInt8]] = [[], GoldenVectors.streamMetricsMessage, GoldenVectors.counterEntry]
        seeds += envoyFlushes()
        seeds += handMade().compactMap { try? $0.serializedBytes() }
        return seeds
    }

    /// Envoy's messages for small generated snapshots: every `histogram_emit_mode`, with and
    /// without labels, one message per flush or batches of 3, the first of a stream or not.
    static func envoyFlushes() -> [[UInt8]] {
        var seeds: [[UInt8]] = []
        var generator = EnvoySnapshotGenerator(seed: 6)
        for (index, mode) in EnvoyMetricsServiceFlusher.HistogramEmitMode.allCases.enumerated() {
            for labels in [false, true] {
                let snapshot = generator.snapshot(metricCount: 4 + 3 * index)
                for batchSize in [0, 3] {
                    let flusher = EnvoyMetricsServiceFlusher(
                        emitTagsAsLabels: labels, reportCountersAsDeltas: batchSize > 0, histogramEmitMode: mode, batchSize: batchSize)
                    for message in flusher.messages(snapshot, opensStream: batchSize == 0) {
                        if let bytes = try? message.serializedBytes() as [UInt8] { seeds.append(bytes) }
                    }
                }
            }
        }
        let empty = MetricSnapshot(timestampMs: 0, node: NodeIdentity(id: "edge-17"))
        if let bytes = try? EnvoyMetricsServiceFlusher().messages(empty, opensStream: true)[0].serializedBytes() as [UInt8] {
            seeds.append(bytes)
        }
        return seeds
    }

    /// Messages with what Envoy never sends but a peer may: extreme values, every optional
    /// field, several timestamps, refused family types.
    static func handMade() -> [Message] {
        var messages: [Message] = []

        var node = Message()
        node.identifier.node.id = "edge-\u{1F600}"
        node.identifier.node.cluster = "c\n\"\\"
        node.identifier.node.userAgentName = "envoy"
        node.identifier.node.userAgentVersion = "1.34.0"
        node.identifier.node.clientFeatures = ["a", "b"]
        node.identifier.node.locality.region = "eu"
        node.identifier.node.metadata.fields["k"] = Google_Protobuf_Value(stringValue: "v")
        node.envoyMetrics = [counter("c", 1, timestamp: 5)]
        messages.append(node)

        var odd = Message()
        odd.envoyMetrics = [
            counter("nan", .nan, timestamp: 1), counter("negative", -3, timestamp: 1), counter("huge", 1e300, timestamp: 1),
            counter("two64", 18_446_744_073_709_551_616.0, timestamp: 1), gauge("inf", .infinity, timestamp: 1),
            gauge("half", 2.5, timestamp: 1), gauge("", 0, timestamp: 1),
            counter("dup", 1, timestamp: 1), counter("dup", 2, timestamp: 1),
        ]
        messages.append(odd)

        var labelled = Message()
        var family = counter("rq", 7, timestamp: 9)
        family.help = "requests"
        family.unit = "1"
        family.metric[0].label = [label("envoy.cluster_name", "svc \"a\"\n\\"), label("", ""), label("é", "\u{0}")]
        family.metric[0].counter.exemplar.value = 1
        family.metric[0].counter.exemplar.label = [label("trace", "x")]
        family.metric[0].counter.createdTimestamp.seconds = 5
        labelled.envoyMetrics = [family, family]
        messages.append(labelled)

        var histograms = Message()
        histograms.envoyMetrics = [
            summary("h", count: 3, sum: .nan, quantiles: [(0, 1), (0.5, .nan), (1, .infinity), (.nan, 2)], timestamp: 4),
            histogram("h", count: .max, sum: -0.0, buckets: [(0.5, 0), (1, .max), (.infinity, 7), (.nan, 1), (-1, 2)], timestamp: 4),
            histogram("lone", count: 0, sum: 0, buckets: [], timestamp: 4),
            summary("lone-summary", count: 0, sum: 0, quantiles: [], timestamp: 4),
            histogram("h", count: 1, sum: 1, buckets: [(1, 1)], timestamp: 4),
        ]
        messages.append(histograms)

        var timestamps = Message()
        var untimed = gauge("untimed", 1, timestamp: 0)
        untimed.metric[0].clearTimestampMs()
        timestamps.envoyMetrics = [
            counter("a", 1, timestamp: 10), untimed, counter("b", 1, timestamp: 20), counter("c", 1, timestamp: .min),
            counter("d", 1, timestamp: .max), counter("e", 1, timestamp: 20),
        ]
        messages.append(timestamps)

        var refused = Message()
        var untyped = Family()
        untyped.name = "untyped"
        untyped.type = .untyped
        untyped.metric = [Io_Prometheus_Client_Metric()]
        untyped.metric[0].untyped.value = 1
        var native = histogram("native", count: 1, sum: 1, buckets: [(1, 1)], timestamp: 1)
        native.metric[0].histogram.schema = 3
        native.metric[0].histogram.positiveSpan = [Io_Prometheus_Client_BucketSpan()]
        native.metric[0].histogram.positiveDelta = [1, -1]
        var missing = counter("missing", 1, timestamp: 1)
        missing.metric[0].clearCounter()
        missing.metric[0].gauge.value = 1
        for family in [untyped, native, missing] {
            refused.envoyMetrics = [counter("ok", 1, timestamp: 1), family]
            messages.append(refused)
        }

        var empty = Message()
        empty.identifier.node.id = ""
        messages.append(empty)
        var noMetrics = Message()
        var bare = Family()
        bare.name = "no-metrics"
        bare.type = .gaugeHistogram
        noMetrics.envoyMetrics = [bare]
        messages.append(noMetrics)
        return messages
    }

    /// A family of one metric stamped `timestamp`, its value set by `fill`.
    static func family(
        _ name: String, _ type: Io_Prometheus_Client_MetricType, timestamp: Int64, fill: (inout Io_Prometheus_Client_Metric) -> Void
    ) -> Family {
        var family = Family()
        family.name = name
        family.type = type
        var metric = Io_Prometheus_Client_Metric()
        fill(&metric)
        metric.timestampMs = timestamp
        family.metric = [metric]
        return family
    }

    static func counter(_ name: String, _ value: Double, timestamp: Int64) -> Family {
        family(name, .counter, timestamp: timestamp) { $0.counter.value = value }
    }

    static func gauge(_ name: String, _ value: Double, timestamp: Int64) -> Family {
        family(name, .gauge, timestamp: timestamp) { $0.gauge.value = value }
    }

    static func summary(_ name: String, count: UInt64, sum: Double, quantiles: [(Double, Double)], timestamp: Int64) -> Family {
        family(name, .summary, timestamp: timestamp) { metric in
            metric.summary.sampleCount = count
            metric.summary.sampleSum = sum
            metric.summary.quantile = quantiles.map { point, value in
                var quantile = Io_Prometheus_Client_Quantile()
                quantile.quantile = point
                quantile.value = value
                return quantile
            }
        }
    }

    static func histogram(_ name: String, count: UInt64, sum: Double, buckets: [(Double, UInt64)], timestamp: Int64) -> Family {
        family(name, .histogram, timestamp: timestamp) { metric in
            metric.histogram.sampleCount = count
            metric.histogram.sampleSum = sum
            metric.histogram.bucket = buckets.map { bound, count in
                var bucket = Io_Prometheus_Client_Bucket()
                bucket.upperBound = bound
                bucket.cumulativeCount = count
                return bucket
            }
        }
    }

    static func label(_ name: String, _ value: String) -> Io_Prometheus_Client_LabelPair {
        var label = Io_Prometheus_Client_LabelPair()
        label.name = name
        label.value = value
        return label
    }
}
