import StatSinkModel
import StatSinkProtobuf

/// Prometheus metric families, as Envoy's `metrics_service` sink writes them, into the model.
///
/// - Names: a family without labels (Envoy's `emit_tags_as_labels: false`) carries the full stat
///   name, which is also used as the tag-extracted name, with no tags. A family with labels
///   (`emit_tags_as_labels: true`) carries the tag-extracted name and the tags; Envoy's full
///   name cannot be rebuilt from them (tag extraction is by regular expressions), so the full
///   name is derived as `name{tag="value",...}` (values escaped as in Prometheus' text format),
///   unique per series.
/// - Values: Envoy's counters and gauges are unsigned integers sent as doubles; they are rounded
///   to the nearest integer, negative values and NaN become 0, values of 2^64 and more
///   `UInt64.max`.
/// - Histograms: a `SUMMARY` family gives the quantiles, a `HISTOGRAM` family the buckets (a
///   `+Inf` bucket is dropped: the sample count is the total); the assembler pairs them.
/// - Rejected: `UNTYPED` and `GAUGE_HISTOGRAM` families, native (sparse or float) histograms, and
///   a metric without the value of its family's type. Envoy sends none of these.
enum MetricFamilyConverter {
    /// Converts `families`, or throws for the first one that cannot be taken (and takes none).
    static func convert(_ families: [Io_Prometheus_Client_MetricFamily]) throws(MalformedMetricsError) -> [ReceivedMetric] {
        var received: [ReceivedMetric] = []
        received.reserveCapacity(families.count)
        for family in families {
            for metric in family.metric {
                let name = metricName(family.name, labels: metric.label)
                let timestamp = metric.hasTimestampMs ? metric.timestampMs : nil
                let value: ReceivedMetric.Value
                switch family.type {
                case .counter:
                    guard metric.hasCounter else { throw missingValue("counter", family) }
                    let count = unsignedValue(metric.counter.value)
                    value = .counter(CounterSample(name: name, value: count, delta: count))
                case .gauge:
                    guard metric.hasGauge else { throw missingValue("gauge", family) }
                    value = .gauge(GaugeSample(name: name, value: unsignedValue(metric.gauge.value)))
                case .summary:
                    guard metric.hasSummary else { throw missingValue("summary", family) }
                    value = .summary(name, summaryHalf(metric.summary))
                case .histogram:
                    guard metric.hasHistogram else { throw missingValue("histogram", family) }
                    value = .histogram(name, try histogramHalf(metric.histogram, family))
                case .untyped, .gaugeHistogram:
                    throw MalformedMetricsError(
                        "metric family \(quoted(family.name)) has type \(typeName(family.type)), which Envoy does not send; "
                            + "accepted: COUNTER, GAUGE, SUMMARY, HISTOGRAM")
                }
                received.append(ReceivedMetric(timestampMs: timestamp, value: value))
            }
        }
        return received
    }

    /// The name of a series: see the type's documentation.
    static func metricName(_ name: String, labels: [Io_Prometheus_Client_LabelPair]) -> MetricName {
        guard !labels.isEmpty else { return MetricName(name) }
        var tags: [Tag] = []
        tags.reserveCapacity(labels.count)
        var fullName = name
        fullName.reserveCapacity(name.utf8.count + labels.count * 32)
        fullName.append("{")
        for (index, label) in labels.enumerated() {
            if index > 0 { fullName.append(",") }
            fullName.append(label.name)
            fullName.append("=\"")
            appendEscaped(label.value, to: &fullName)
            fullName.append("\"")
            tags.append(Tag(name: label.name, value: label.value))
        }
        fullName.append("}")
        return MetricName(fullName: fullName, tagExtractedName: name, tags: tags)
    }

    /// An Envoy unsigned integer sent as a double: see the type's documentation.
    static func unsignedValue(_ value: Double) -> UInt64 {
        guard value > 0 else { return 0 }  // also NaN
        guard value < 18_446_744_073_709_551_616.0 else { return .max }
        return UInt64(value.rounded())
    }

    private static func summaryHalf(_ summary: Io_Prometheus_Client_Summary) -> ReceivedMetric.HistogramHalf {
        var quantiles: [Double] = []
        var values: [Double] = []
        quantiles.reserveCapacity(summary.quantile.count)
        values.reserveCapacity(summary.quantile.count)
        for quantile in summary.quantile {
            quantiles.append(quantile.quantile)
            values.append(quantile.value)
        }
        // Share Envoy's constant array instead of keeping one copy per histogram.
        if quantiles == HistogramStatistics.supportedQuantiles { quantiles = HistogramStatistics.supportedQuantiles }
        return ReceivedMetric.HistogramHalf(
            sampleCount: summary.sampleCount, sampleSum: summary.sampleSum, points: quantiles, values: values, counts: [])
    }

    private static func histogramHalf(
        _ histogram: Io_Prometheus_Client_Histogram, _ family: Io_Prometheus_Client_MetricFamily
    ) throws(MalformedMetricsError) -> ReceivedMetric.HistogramHalf {
        let isNative = histogram.hasSchema || histogram.hasZeroThreshold || histogram.hasZeroCount
            || histogram.hasZeroCountFloat || histogram.hasSampleCountFloat
            || !histogram.positiveSpan.isEmpty || !histogram.negativeSpan.isEmpty
            || !histogram.positiveDelta.isEmpty || !histogram.negativeDelta.isEmpty
            || !histogram.positiveCount.isEmpty || !histogram.negativeCount.isEmpty
        if isNative {
            throw MalformedMetricsError(
                "metric family \(quoted(family.name)) is a native (sparse or float) histogram, which Envoy does not send; "
                    + "accepted: classic histograms with bucket counts")
        }
        var bounds: [Double] = []
        var counts: [UInt64] = []
        bounds.reserveCapacity(histogram.bucket.count)
        counts.reserveCapacity(histogram.bucket.count)
        for bucket in histogram.bucket {
            if bucket.hasCumulativeCountFloat {
                throw MalformedMetricsError(
                    "metric family \(quoted(family.name)) has float bucket counts, which Envoy does not send")
            }
            if bucket.upperBound == .infinity { continue }
            bounds.append(bucket.upperBound)
            counts.append(bucket.cumulativeCount)
        }
        if bounds == HistogramStatistics.defaultBucketBounds { bounds = HistogramStatistics.defaultBucketBounds }
        return ReceivedMetric.HistogramHalf(
            sampleCount: histogram.sampleCount, sampleSum: histogram.sampleSum, points: bounds, values: [], counts: counts)
    }

    private static func missingValue(_ field: String, _ family: Io_Prometheus_Client_MetricFamily) -> MalformedMetricsError {
        MalformedMetricsError(
            "metric family \(quoted(family.name)) of type \(typeName(family.type)) has a metric without its \(field) value")
    }

    private static func typeName(_ type: Io_Prometheus_Client_MetricType) -> String {
        switch type {
        case .counter: "COUNTER"
        case .gauge: "GAUGE"
        case .summary: "SUMMARY"
        case .untyped: "UNTYPED"
        case .histogram: "HISTOGRAM"
        case .gaugeHistogram: "GAUGE_HISTOGRAM"
        }
    }

    /// A name in double quotes, cut at 200 characters so that an error stays one short line.
    private static func quoted(_ name: String) -> String {
        var text = "\""
        appendEscaped(name.count > 200 ? String(name.prefix(200)) + "…" : name, to: &text)
        return text + "\""
    }

    /// Appends `value` with `\`, `"` and line feeds escaped, as Prometheus' text format does.
    private static func appendEscaped(_ value: String, to text: inout String) {
        guard value.utf8.contains(where: { $0 == UInt8(ascii: "\\") || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\n") }) else {
            text.append(value)
            return
        }
        for character in value.unicodeScalars {
            switch character {
            case "\\": text.append("\\\\")
            case "\"": text.append("\\\"")
            case "\n": text.append("\\n")
            default: text.unicodeScalars.append(character)
            }
        }
    }
}
