import StatSinkModel

/// Writes Envoy's PROTOBUF message value: a serialized `envoy.service.metrics.v3.StreamMetricsMessage`
/// with only `envoy_metrics` (field 2), one `io.prometheus.client.MetricFamily` per stat.
///
/// The bytes are written directly instead of filling generated message structs: the sizes of the
/// few nested messages are computed arithmetically, so the value is allocated once at its exact
/// size and each byte written once. Tests compare the output with swift-protobuf's serialization
/// of the same messages (`ReferenceProtobufEncoder`). The Prometheus messages are proto2: every
/// field Envoy sets is written even when zero (`type: COUNTER` is `18 00`).
struct ProtobufMessageWriter: MetricValueWriter {
    let options: EncodingOptions
    /// The snapshot's timestamp, written on every metric.
    let timestampMs: Int64

    // Field keys (field number << 3 | wire type; 0 varint, 1 fixed64, 2 length-delimited).
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

    // io.prometheus.client.MetricType values.
    private static let counterType: UInt8 = 0
    private static let gaugeType: UInt8 = 1
    private static let histogramType: UInt8 = 4
    /// `Counter { value }` and `Gauge { value }`: a one-byte key and a double.
    private static let singleValueSize = 9

    init(options: EncodingOptions, timestampMs: Int64) {
        self.options = options
        self.timestampMs = timestampMs
    }

    func estimatedSize(counters: Int, gauges: Int, histograms: Int) -> Int {
        // About 60-85 bytes per counter or gauge family, 350 per histogram family.
        (counters + gauges) * 96 + histograms * 400
    }

    // MARK: Writing

    mutating func writeStart(into cursor: inout ByteCursor) {}
    mutating func writeEnd(into cursor: inout ByteCursor) {}

    mutating func write(_ counter: CounterSample, into cursor: inout ByteCursor) {
        let value = Double(options.reportCountersAsDeltas ? counter.delta : counter.value)
        writeFamilyStart(counter.name, type: Self.counterType, valueSize: Self.singleValueSize, into: &cursor)
        cursor.write(FieldKey.metricCounter, UInt8(Self.singleValueSize))
        cursor.write(FieldKey.singleValue)
        cursor.writeLittleEndian(value)
        writeTimestamp(into: &cursor)
    }

    mutating func write(_ gauge: GaugeSample, into cursor: inout ByteCursor) {
        writeFamilyStart(gauge.name, type: Self.gaugeType, valueSize: Self.singleValueSize, into: &cursor)
        cursor.write(FieldKey.metricGauge, UInt8(Self.singleValueSize))
        cursor.write(FieldKey.singleValue)
        cursor.writeLittleEndian(Double(gauge.value))
        writeTimestamp(into: &cursor)
    }

    mutating func write(_ histogram: HistogramSample, into cursor: inout ByteCursor) {
        let statistics = histogram.statistics
        let histogramSize = Self.histogramSize(statistics)
        writeFamilyStart(histogram.name, type: Self.histogramType, valueSize: histogramSize, into: &cursor)
        // Field-number order: timestamp_ms (6) before histogram (7).
        writeTimestamp(into: &cursor)
        cursor.write(FieldKey.metricHistogram)
        cursor.writeVarint(UInt64(histogramSize))
        cursor.write(FieldKey.histogramSampleCount)
        cursor.writeVarint(statistics.sampleCount)
        cursor.write(FieldKey.histogramSampleSum)
        cursor.writeLittleEndian(statistics.sampleSum)
        statistics.cumulativeCounts.withUnsafeBufferPointer { counts in
            statistics.bucketBounds.withUnsafeBufferPointer { bounds in
                for index in 0..<counts.count {
                    let count = counts[index]
                    cursor.write(FieldKey.histogramBucket, UInt8(Self.bucketSize(count)))
                    cursor.write(FieldKey.bucketCumulativeCount)
                    cursor.writeVarint(count)
                    cursor.write(FieldKey.bucketUpperBound)
                    cursor.writeLittleEndian(bounds[index])
                }
            }
        }
    }

    // MARK: Family layout

    /// `MetricFamily { name, type, metric { label* ...` up to the metric's value and timestamp.
    private func writeFamilyStart(_ name: MetricName, type: UInt8, valueSize: Int, into cursor: inout ByteCursor) {
        let layout = familyLayout(name, valueSize: valueSize)
        cursor.reserve(Self.fieldSize(payload: layout.familySize))
        cursor.write(FieldKey.envoyMetrics)
        cursor.writeVarint(UInt64(layout.familySize))
        cursor.write(FieldKey.familyName)
        cursor.writeVarint(UInt64(layout.familyName.utf8.count))
        cursor.write(utf8: layout.familyName)
        cursor.write(FieldKey.familyType, type)
        cursor.write(FieldKey.familyMetric)
        cursor.writeVarint(UInt64(layout.metricSize))
        guard options.emitTagsAsLabels else { return }
        for tag in name.tags {
            cursor.write(FieldKey.metricLabel)
            cursor.writeVarint(UInt64(Self.labelSize(tag)))
            cursor.write(FieldKey.labelName)
            cursor.writeVarint(UInt64(tag.name.utf8.count))
            cursor.write(utf8: tag.name)
            cursor.write(FieldKey.labelValue)
            cursor.writeVarint(UInt64(tag.value.utf8.count))
            cursor.write(utf8: tag.value)
        }
    }

    private func writeTimestamp(into cursor: inout ByteCursor) {
        cursor.write(FieldKey.metricTimestampMs)
        cursor.writeVarint(UInt64(bitPattern: timestampMs))
    }

    private struct FamilyLayout {
        var familyName: String
        var metricSize: Int
        var familySize: Int
    }

    private func familyLayout(_ name: MetricName, valueSize: Int) -> FamilyLayout {
        let labelled = options.emitTagsAsLabels
        let familyName = labelled ? name.tagExtractedName : name.fullName
        var metricSize = Self.fieldSize(payload: valueSize) + 1 + Self.varintSize(UInt64(bitPattern: timestampMs))
        if labelled {
            for tag in name.tags { metricSize += Self.fieldSize(payload: Self.labelSize(tag)) }
        }
        let familySize = Self.fieldSize(payload: familyName.utf8.count) + 2 + Self.fieldSize(payload: metricSize)
        return FamilyLayout(familyName: familyName, metricSize: metricSize, familySize: familySize)
    }

    private static func labelSize(_ tag: Tag) -> Int {
        fieldSize(payload: tag.name.utf8.count) + fieldSize(payload: tag.value.utf8.count)
    }

    private static func histogramSize(_ statistics: HistogramStatistics) -> Int {
        var size = 1 + varintSize(statistics.sampleCount) + 9
        for count in statistics.cumulativeCounts { size += fieldSize(payload: bucketSize(count)) }
        return size
    }

    /// `Bucket { cumulative_count, upper_bound }`; at most 20 bytes, so its length is one byte.
    private static func bucketSize(_ count: UInt64) -> Int {
        1 + varintSize(count) + 9
    }

    /// The size of a length-delimited field (one-byte key) whose payload is `length` bytes.
    private static func fieldSize(payload length: Int) -> Int {
        1 + varintSize(UInt64(length)) + length
    }

    private static func varintSize(_ value: UInt64) -> Int {
        // 7 bits per byte; zero still takes one byte.
        max(1, (64 - value.leadingZeroBitCount + 6) / 7)
    }
}
