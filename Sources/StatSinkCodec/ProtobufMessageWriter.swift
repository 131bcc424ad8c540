import StatSinkModel

/// Writes Envoy's PROTOBUF message value: a serialized `envoy.service.metrics.v3.StreamMetricsMessage`
/// with only `envoy_metrics` (field 2), one `io.prometheus.client.MetricFamily` per stat.
///
/// The bytes are written directly instead of building generated message structs: sizes of the
/// few nested messages are computed arithmetically, so each byte is written once. Tests check the
/// output against swift-protobuf's serialization of the same messages (`StatSinkProtobuf`).
/// The Prometheus messages are proto2: every field Envoy sets is written even when zero.
struct ProtobufMessageWriter {
    private(set) var bytes: [UInt8] = []
    private let options: EncodingOptions

    // Wire types: 0 varint, 1 fixed64, 2 length-delimited.
    private enum FieldKey {
        static let envoyMetrics: UInt8 = 2 << 3 | 2  // StreamMetricsMessage.envoy_metrics
        static let familyName: UInt8 = 1 << 3 | 2
        static let familyType: UInt8 = 3 << 3 | 0
        static let familyMetric: UInt8 = 4 << 3 | 2
        static let metricLabel: UInt8 = 1 << 3 | 2
        static let metricGauge: UInt8 = 2 << 3 | 2
        static let metricCounter: UInt8 = 3 << 3 | 2
        static let metricTimestampMs: UInt8 = 6 << 3 | 0
        static let metricHistogram: UInt8 = 7 << 3 | 2
        static let labelName: UInt8 = 1 << 3 | 2
        static let labelValue: UInt8 = 2 << 3 | 2
        static let singleValue: UInt8 = 1 << 3 | 1  // Counter.value, Gauge.value
        static let histogramSampleCount: UInt8 = 1 << 3 | 0
        static let histogramSampleSum: UInt8 = 2 << 3 | 1
        static let histogramBucket: UInt8 = 3 << 3 | 2
        static let bucketCumulativeCount: UInt8 = 1 << 3 | 0
        static let bucketUpperBound: UInt8 = 2 << 3 | 1
    }

    private enum MetricType: UInt8 {
        case counter = 0
        case gauge = 1
        case histogram = 4
    }

    init(options: EncodingOptions, capacity: Int) {
        self.options = options
        bytes.reserveCapacity(capacity)
    }

    mutating func finish() -> [UInt8] { bytes }

    mutating func writeCounter(_ counter: CounterSample, timestampMs: Int64) {
        let value = Double(options.reportCountersAsDeltas ? counter.delta : counter.value)
        // Counter { value }: tag + 8 bytes.
        writeFamily(name: counter.name, type: .counter, timestampMs: timestampMs, valueSize: 9) { writer in
            writer.bytes.append(FieldKey.metricCounter)
            writer.bytes.append(9)
            writer.writeDouble(FieldKey.singleValue, value)
        }
    }

    mutating func writeGauge(_ gauge: GaugeSample, timestampMs: Int64) {
        let value = Double(gauge.value)
        writeFamily(name: gauge.name, type: .gauge, timestampMs: timestampMs, valueSize: 9) { writer in
            writer.bytes.append(FieldKey.metricGauge)
            writer.bytes.append(9)
            writer.writeDouble(FieldKey.singleValue, value)
        }
    }

    mutating func writeHistogram(_ histogram: HistogramSample, timestampMs: Int64) {
        let statistics = histogram.statistics
        var histogramSize = 1 + Self.varintSize(statistics.sampleCount) + 9
        for count in statistics.cumulativeCounts {
            let bucketSize = 1 + Self.varintSize(count) + 9
            histogramSize += 1 + Self.varintSize(UInt64(bucketSize)) + bucketSize
        }
        // Field 7 follows timestamp_ms (6): field-number order.
        writeFamily(
            name: histogram.name, type: .histogram, timestampMs: timestampMs, valueSize: histogramSize,
            valueAfterTimestamp: true
        ) { writer in
            writer.bytes.append(FieldKey.metricHistogram)
            writer.writeVarint(UInt64(histogramSize))
            writer.bytes.append(FieldKey.histogramSampleCount)
            writer.writeVarint(statistics.sampleCount)
            writer.writeDouble(FieldKey.histogramSampleSum, statistics.sampleSum)
            for (count, bound) in zip(statistics.cumulativeCounts, statistics.bucketBounds) {
                writer.bytes.append(FieldKey.histogramBucket)
                writer.writeVarint(UInt64(1 + Self.varintSize(count) + 9))
                writer.bytes.append(FieldKey.bucketCumulativeCount)
                writer.writeVarint(count)
                writer.writeDouble(FieldKey.bucketUpperBound, bound)
            }
        }
    }

    /// Writes one `envoy_metrics` entry: `MetricFamily { name, type, metric { label*, VALUE,
    /// timestamp_ms } }`, where `writeValue` writes the value field whose payload is `valueSize`
    /// bytes long.
    private mutating func writeFamily(
        name: MetricName,
        type: MetricType,
        timestampMs: Int64,
        valueSize: Int,
        valueAfterTimestamp: Bool = false,
        writeValue: (inout ProtobufMessageWriter) -> Void
    ) {
        let labelled = options.emitTagsAsLabels
        let familyName = labelled ? name.tagExtractedName : name.fullName
        let tags = labelled ? name.tags : []

        var metricSize = 1 + Self.varintSize(UInt64(valueSize)) + valueSize
        metricSize += 1 + Self.varintSize(UInt64(bitPattern: timestampMs))
        for tag in tags {
            let labelSize = Self.lengthDelimitedSize(tag.name.utf8.count) + Self.lengthDelimitedSize(tag.value.utf8.count)
            metricSize += Self.lengthDelimitedSize(labelSize)
        }
        let familySize = Self.lengthDelimitedSize(familyName.utf8.count) + 2 + Self.lengthDelimitedSize(metricSize)

        bytes.append(FieldKey.envoyMetrics)
        writeVarint(UInt64(familySize))
        writeString(FieldKey.familyName, familyName)
        bytes.append(FieldKey.familyType)
        bytes.append(type.rawValue)
        bytes.append(FieldKey.familyMetric)
        writeVarint(UInt64(metricSize))
        for tag in tags {
            bytes.append(FieldKey.metricLabel)
            let labelSize = Self.lengthDelimitedSize(tag.name.utf8.count) + Self.lengthDelimitedSize(tag.value.utf8.count)
            writeVarint(UInt64(labelSize))
            writeString(FieldKey.labelName, tag.name)
            writeString(FieldKey.labelValue, tag.value)
        }
        if !valueAfterTimestamp { writeValue(&self) }
        bytes.append(FieldKey.metricTimestampMs)
        writeVarint(UInt64(bitPattern: timestampMs))
        if valueAfterTimestamp { writeValue(&self) }
    }

    private mutating func writeVarint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }

    private mutating func writeDouble(_ key: UInt8, _ value: Double) {
        bytes.append(key)
        let bits = value.bitPattern.littleEndian
        withUnsafeBytes(of: bits) { bytes.append(contentsOf: $0) }
    }

    private mutating func writeString(_ key: UInt8, _ string: String) {
        bytes.append(key)
        writeVarint(UInt64(string.utf8.count))
        bytes.append(contentsOf: string.utf8)
    }

    /// The size of a length-delimited field (one-byte key) whose payload is `length` bytes.
    private static func lengthDelimitedSize(_ length: Int) -> Int {
        1 + varintSize(UInt64(length)) + length
    }

    private static func varintSize(_ value: UInt64) -> Int {
        // Each byte carries 7 bits; zero still takes one byte.
        (64 - value.leadingZeroBitCount + 6) / 7 + (value == 0 ? 1 : 0)
    }
}
