import StatSinkCodec
import StatSinkModel
import StatSinkProtobuf

/// The PROTOBUF format built the slow, obvious way: swift-protobuf's generated messages filled the
/// way Envoy's sink fills them. The reference that tests compare `SnapshotEncoder` against, and the
/// baseline of the encoder benchmark.
public enum ReferenceProtobufEncoder {
    /// The `StreamMetricsMessage` (without identifier) of the whole snapshot.
    public static func message(for snapshot: MetricSnapshot, options: EncodingOptions) -> Envoy_Service_Metrics_V3_StreamMetricsMessage {
        var message = Envoy_Service_Metrics_V3_StreamMetricsMessage()
        func family(_ name: MetricName, _ type: Io_Prometheus_Client_MetricType, _ fill: (inout Io_Prometheus_Client_Metric) -> Void) -> Io_Prometheus_Client_MetricFamily {
            var family = Io_Prometheus_Client_MetricFamily()
            family.name = options.emitTagsAsLabels ? name.tagExtractedName : name.fullName
            family.type = type
            var metric = Io_Prometheus_Client_Metric()
            if options.emitTagsAsLabels {
                metric.label = name.tags.map { tag in
                    var pair = Io_Prometheus_Client_LabelPair()
                    pair.name = tag.name
                    pair.value = tag.value
                    return pair
                }
            }
            metric.timestampMs = snapshot.timestampMs
            fill(&metric)
            family.metric = [metric]
            return family
        }
        for counter in snapshot.counters {
            message.envoyMetrics.append(family(counter.name, .counter) {
                $0.counter.value = Double(options.reportCountersAsDeltas ? counter.delta : counter.value)
            })
        }
        for gauge in snapshot.gauges {
            message.envoyMetrics.append(family(gauge.name, .gauge) { $0.gauge.value = Double(gauge.value) })
        }
        for histogram in snapshot.histograms {
            message.envoyMetrics.append(family(histogram.name, .histogram) { metric in
                let statistics = histogram.statistics
                metric.histogram.sampleCount = statistics.sampleCount
                metric.histogram.sampleSum = statistics.sampleSum
                metric.histogram.bucket = zip(statistics.bucketBounds, statistics.cumulativeCounts).map { bound, count in
                    var bucket = Io_Prometheus_Client_Bucket()
                    bucket.cumulativeCount = count
                    bucket.upperBound = bound
                    return bucket
                }
            })
        }
        return message
    }
}
