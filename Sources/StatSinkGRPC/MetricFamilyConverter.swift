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
                    guard metric.hasCounter else { throw missingValue("counter", family.name, family.type) }
                    let count = unsignedValue(metric.counter.value)
                    value = .counter(CounterSample(name: name, value: count, delta: count))
                case .gauge:
                    guard metric.hasGauge else { throw missingValue("gauge", family.name, family.type) }
                    value = .gauge(GaugeSample(name: name, value: unsignedValue(metric.gauge.value)))
                case .summary:
                    guard metric.hasSummary else { throw missingValue("summary", family.name, family.type) }
                    value = .summary(name, summaryHalf(metric.summary))
                case .histogram:
                    guard metric.hasHistogram else { throw missingValue("histogram", family.name, family.type) }
                    value = .histogram(name, try histogramHalf(metric.histogram, family))
                case .untyped, .gaugeHistogram:
                    throw unsupportedType(family.name, family.type)
                }
                received.append(ReceivedMetric(timestampMs: timestamp, value: value))
            }
        }
        return received
    }

    /// The name of a series: see the type's documentation.
    static func metricName(_ name: String, labels: [Io_Prometheus_Client_LabelPair]) -> MetricName {
        metricName(name, tags: labels.map { Tag(name: $0.name, value: $0.value) })
    }

    /// The name of a series with these tags (its labels): see the type's documentation.
    static func metricName(_ name: String, tags: [Tag]) -> MetricName {
        guard !tags.isEmpty else { return MetricName(name) }
        // Written in one go into a string of the largest size it can take (every value byte
        // escaped): appending piece by piece costs several times more.
        var capacity = name.utf8.count + 2
        for tag in tags { capacity += tag.name.utf8.count + 2 * tag.value.utf8.count + 4 }
        let fullName = String(unsafeUninitializedCapacity: capacity) { buffer in
            var index = 0
            func write(_ text: String, escaped: Bool) {
                var text = text
                text.withUTF8 { bytes in
                    for byte in bytes {
                        if escaped, let escape = escapedByte(byte) {
                            buffer[index] = UInt8(ascii: "\\")
                            buffer[index + 1] = escape
                            index += 2
                        } else {
                            buffer[index] = byte
                            index += 1
                        }
                    }
                }
            }
            func write(_ byte: UInt8) {
                buffer[index] = byte
                index += 1
            }
            write(name, escaped: false)
            write(UInt8(ascii: "{"))
            for (position, tag) in tags.enumerated() {
                if position > 0 { write(UInt8(ascii: ",")) }
                write(tag.name, escaped: false)
                write(UInt8(ascii: "="))
                write(UInt8(ascii: "\""))
                write(tag.value, escaped: true)
                write(UInt8(ascii: "\""))
            }
            write(UInt8(ascii: "}"))
            return index
        }
        return MetricName(fullName: fullName, tagExtractedName: name, tags: tags)
    }

    /// The letter after `\` for a byte that Prometheus' text format escapes in label values.
    private static func escapedByte(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "\\"): UInt8(ascii: "\\")
        case UInt8(ascii: "\""): UInt8(ascii: "\"")
        case UInt8(ascii: "\n"): UInt8(ascii: "n")
        default: nil
        }
    }

    /// An Envoy unsigned integer sent as a double: see the type's documentation.
    static func unsignedValue(_ value: Double) -> UInt64 {
        guard value > 0 else { return 0 }  // also NaN
        guard value < 18_446_744_073_709_551_616.0 else { return .max }
        return UInt64(value.rounded())
    }

    private static func summaryHalf(_ summary: Io_Prometheus_Client_Summary) -> ReceivedMetric.HistogramHalf {
        var half = ReceivedMetric.HistogramHalf(summaryCount: summary.sampleCount, sum: summary.sampleSum, capacity: summary.quantile.count)
        for quantile in summary.quantile { half.addQuantile(quantile.quantile, value: quantile.value) }
        half.shareConstantPoints()
        return half
    }

    private static func histogramHalf(
        _ histogram: Io_Prometheus_Client_Histogram, _ family: Io_Prometheus_Client_MetricFamily
    ) throws(MalformedMetricsError) -> ReceivedMetric.HistogramHalf {
        let isNative = histogram.hasSchema || histogram.hasZeroThreshold || histogram.hasZeroCount
            || histogram.hasZeroCountFloat || histogram.hasSampleCountFloat
            || !histogram.positiveSpan.isEmpty || !histogram.negativeSpan.isEmpty
            || !histogram.positiveDelta.isEmpty || !histogram.negativeDelta.isEmpty
            || !histogram.positiveCount.isEmpty || !histogram.negativeCount.isEmpty
        if isNative { throw nativeHistogram(family.name) }
        var half = ReceivedMetric.HistogramHalf(histogramCount: histogram.sampleCount, sum: histogram.sampleSum, capacity: histogram.bucket.count)
        for bucket in histogram.bucket {
            if bucket.hasCumulativeCountFloat { throw nativeHistogram(family.name) }
            half.addBucket(bucket.upperBound, count: bucket.cumulativeCount)
        }
        half.shareConstantPoints()
        return half
    }

    static func missingValue(_ field: String, _ family: String, _ type: Io_Prometheus_Client_MetricType) -> MalformedMetricsError {
        MalformedMetricsError("metric family \(quoted(family)) of type \(typeName(type)) has a metric without its \(field) value")
    }

    static func unsupportedType(_ family: String, _ type: Io_Prometheus_Client_MetricType) -> MalformedMetricsError {
        MalformedMetricsError(
            "metric family \(quoted(family)) has type \(typeName(type)), which Envoy does not send; "
                + "accepted: COUNTER, GAUGE, SUMMARY, HISTOGRAM")
    }

    static func nativeHistogram(_ family: String) -> MalformedMetricsError {
        MalformedMetricsError(
            "metric family \(quoted(family)) is a native (sparse or float) histogram, which Envoy does not send; "
                + "accepted: classic histograms with bucket counts")
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
        for scalar in value.unicodeScalars {
            if scalar.isASCII, let escape = escapedByte(UInt8(scalar.value)) {
                text.append("\\")
                text.unicodeScalars.append(Unicode.Scalar(escape))
            } else {
                text.unicodeScalars.append(scalar)
            }
        }
    }
}
