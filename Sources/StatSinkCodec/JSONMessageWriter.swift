import StatSinkModel

/// Writes Envoy's JSON message value (`{"metrics":[...]}`) straight into bytes.
///
/// Hand-written rather than `JSONEncoder`: the key order, the integer/double distinction and the
/// number spelling are part of the wire format (`wire-format.md` §3), and the encoder is on the
/// snapshot hot path. Sizes are bounded first (exact for strings, the longest spelling for
/// numbers) and reserved before each entry is written.
struct JSONMessageWriter: MetricValueWriter {
    let options: EncodingOptions
    /// The snapshot's timestamp, written on every metric.
    let timestampMs: Int64
    private var metricCount = 0
    /// `{"upper_bound":B,"cumulative_count":` for each bound of the bounds last seen: histograms
    /// almost always share one bounds array, so its doubles are spelled once per message.
    private var bucketPrefixes = FragmentCache(key: "upper_bound", second: "cumulative_count")
    private var quantilePrefixes = FragmentCache(key: "quantile", second: "value")

    /// The longest spelling of a UInt64 / Int64 and of a double (`-1.7976931348623157e+308`).
    private static let maximumIntegerLength = 20
    private static let maximumDoubleLength = 24
    /// `{"type":"histogram","name":` … `,"timestamp_ms":` … `,"delta":true}` and separators.
    private static let entryOverhead = 96

    init(options: EncodingOptions, timestampMs: Int64) {
        self.options = options
        self.timestampMs = timestampMs
    }

    func estimatedSize(counters: Int, gauges: Int, histograms: Int) -> Int {
        // A labelled Envoy counter or gauge takes about 130-160 bytes, a histogram about 1 KB.
        16 + (counters + gauges) * 176 + histograms * 1200
    }

    /// The most bytes the common part of an entry takes.
    private func maximumEntryStartSize(_ name: MetricName) -> Int {
        let labelled = options.emitTagsAsLabels
        var size = Self.entryOverhead + Self.maximumIntegerLength
        size += JSONString.maximumQuotedLength(labelled ? name.tagExtractedName : name.fullName)
        if labelled {
            for tag in name.tags {
                size += JSONString.maximumQuotedLength(tag.name) + JSONString.maximumQuotedLength(tag.value) + 2
            }
        }
        return size
    }

    // MARK: Writing

    mutating func writeStart(into cursor: inout ByteCursor) {
        cursor.reserve(16)
        cursor.write(utf8: "{\"metrics\":[")
    }

    mutating func writeEnd(into cursor: inout ByteCursor) {
        cursor.reserve(2)
        cursor.write(UInt8(ascii: "]"), UInt8(ascii: "}"))
    }

    mutating func write(_ counter: CounterSample, into cursor: inout ByteCursor) {
        cursor.reserve(maximumEntryStartSize(counter.name) + Self.maximumIntegerLength)
        writeEntryStart(type: "counter", name: counter.name, into: &cursor)
        cursor.write(utf8: ",\"value\":")
        if options.reportCountersAsDeltas {
            cursor.writeDecimal(counter.delta)
            cursor.write(utf8: ",\"delta\":true}")
        } else {
            cursor.writeDecimal(counter.value)
            cursor.write(UInt8(ascii: "}"))
        }
    }

    mutating func write(_ gauge: GaugeSample, into cursor: inout ByteCursor) {
        cursor.reserve(maximumEntryStartSize(gauge.name) + Self.maximumIntegerLength)
        writeEntryStart(type: "gauge", name: gauge.name, into: &cursor)
        cursor.write(utf8: ",\"value\":")
        cursor.writeDecimal(gauge.value)
        cursor.write(UInt8(ascii: "}"))
    }

    mutating func write(_ histogram: HistogramSample, into cursor: inout ByteCursor) {
        let statistics = histogram.statistics
        let bucketPrefixes = bucketPrefixes.fragments(for: statistics.bucketBounds)
        let quantilePrefixes = quantilePrefixes.fragments(for: statistics.quantiles)
        cursor.reserve(
            maximumEntryStartSize(histogram.name) + 2 * Self.maximumIntegerLength + 64
                + self.bucketPrefixes.length + statistics.cumulativeCounts.count * (Self.maximumIntegerLength + 2)
                + self.quantilePrefixes.length + statistics.quantileValues.count * (Self.maximumDoubleLength + 2)
        )
        writeEntryStart(type: "histogram", name: histogram.name, into: &cursor)
        cursor.write(utf8: ",\"sample_count\":")
        cursor.writeDecimal(statistics.sampleCount)
        cursor.write(utf8: ",\"sample_sum\":")
        JSONNumber.write(statistics.sampleSum, into: &cursor)
        cursor.write(utf8: ",\"buckets\":[")
        for (index, count) in statistics.cumulativeCounts.enumerated() {
            if index > 0 { cursor.write(UInt8(ascii: ",")) }
            cursor.write(bucketPrefixes[index])
            cursor.writeDecimal(count)
            cursor.write(UInt8(ascii: "}"))
        }
        cursor.write(utf8: "],\"quantiles\":[")
        for (index, value) in statistics.quantileValues.enumerated() {
            if index > 0 { cursor.write(UInt8(ascii: ",")) }
            cursor.write(quantilePrefixes[index])
            JSONNumber.write(value, into: &cursor)
            cursor.write(UInt8(ascii: "}"))
        }
        cursor.write(UInt8(ascii: "]"), UInt8(ascii: "}"))
    }

    /// Writes `{"type":T,"name":N,["tags":{...},]"timestamp_ms":I` (the entry stays open).
    private mutating func writeEntryStart(type: String, name: MetricName, into cursor: inout ByteCursor) {
        if metricCount > 0 { cursor.write(UInt8(ascii: ",")) }
        metricCount += 1
        cursor.write(utf8: "{\"type\":\"")
        cursor.write(utf8: type)
        cursor.write(utf8: "\",\"name\":")
        let labelled = options.emitTagsAsLabels
        JSONString.write(labelled ? name.tagExtractedName : name.fullName, into: &cursor)
        if labelled, !name.tags.isEmpty {
            cursor.write(utf8: ",\"tags\":{")
            for (index, tag) in name.tags.enumerated() {
                if index > 0 { cursor.write(UInt8(ascii: ",")) }
                JSONString.write(tag.name, into: &cursor)
                cursor.write(UInt8(ascii: ":"))
                JSONString.write(tag.value, into: &cursor)
            }
            cursor.write(UInt8(ascii: "}"))
        }
        cursor.write(utf8: ",\"timestamp_ms\":")
        if timestampMs < 0 { cursor.write(UInt8(ascii: "-")) }
        cursor.writeDecimal(timestampMs.magnitude)
    }
}

/// Remembers the spelled-out `{"K":D,"S":` prefixes of the last list of doubles it was asked for.
private struct FragmentCache {
    let key: String
    let second: String
    private var doubles: [Double] = []
    private var prefixes: [[UInt8]] = []
    /// The length of the current prefixes together.
    private(set) var length = 0

    init(key: String, second: String) {
        self.key = key
        self.second = second
    }

    mutating func fragments(for values: [Double]) -> [[UInt8]] {
        if values != doubles {
            doubles = values
            prefixes = values.map { value in
                Array("{\"\(key)\":".utf8) + JSONNumber.spelling(of: value) + Array(",\"\(second)\":".utf8)
            }
            length = prefixes.reduce(0) { $0 + $1.count }
        }
        return prefixes
    }

}
