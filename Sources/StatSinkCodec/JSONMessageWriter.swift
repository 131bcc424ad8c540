import StatSinkModel

/// Writes Envoy's JSON message value (`{"metrics":[...]}`) straight into bytes.
///
/// Hand-written rather than `JSONEncoder`: the key order, the integer/double distinction and the
/// number spelling are part of the wire format (`wire-format.md` §3), and the encoder is on the
/// snapshot hot path.
struct JSONMessageWriter {
    private(set) var bytes: [UInt8] = []
    private var metricCount = 0
    private let options: EncodingOptions
    /// `{"upper_bound":B,"cumulative_count":` for each bound of the last bounds seen; histograms
    /// almost always share one bounds array, so its doubles are formatted once per message.
    private var bucketPrefixes = FragmentCache(key: "upper_bound", second: "cumulative_count")
    private var quantilePrefixes = FragmentCache(key: "quantile", second: "value")

    init(options: EncodingOptions, capacity: Int) {
        self.options = options
        bytes.reserveCapacity(capacity)
        append("{\"metrics\":[")
    }

    mutating func finish() -> [UInt8] {
        bytes.append(UInt8(ascii: "]"))
        bytes.append(UInt8(ascii: "}"))
        return bytes
    }

    mutating func writeCounter(_ counter: CounterSample, timestampMs: Int64) {
        beginEntry(type: "counter", name: counter.name, timestampMs: timestampMs)
        append(",\"value\":")
        if options.reportCountersAsDeltas {
            appendInteger(counter.delta)
            append(",\"delta\":true}")
        } else {
            appendInteger(counter.value)
            bytes.append(UInt8(ascii: "}"))
        }
    }

    mutating func writeGauge(_ gauge: GaugeSample, timestampMs: Int64) {
        beginEntry(type: "gauge", name: gauge.name, timestampMs: timestampMs)
        append(",\"value\":")
        appendInteger(gauge.value)
        bytes.append(UInt8(ascii: "}"))
    }

    mutating func writeHistogram(_ histogram: HistogramSample, timestampMs: Int64) {
        let statistics = histogram.statistics
        beginEntry(type: "histogram", name: histogram.name, timestampMs: timestampMs)
        append(",\"sample_count\":")
        appendInteger(statistics.sampleCount)
        append(",\"sample_sum\":")
        JSONNumber.appendDouble(statistics.sampleSum, to: &bytes)
        append(",\"buckets\":[")
        let bucketPrefixes = bucketPrefixes.fragments(for: statistics.bucketBounds)
        for (index, count) in statistics.cumulativeCounts.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            bytes.append(contentsOf: bucketPrefixes[index])
            appendInteger(count)
            bytes.append(UInt8(ascii: "}"))
        }
        append("],\"quantiles\":[")
        let quantilePrefixes = quantilePrefixes.fragments(for: statistics.quantiles)
        for (index, value) in statistics.quantileValues.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            bytes.append(contentsOf: quantilePrefixes[index])
            JSONNumber.appendDouble(value, to: &bytes)
            bytes.append(UInt8(ascii: "}"))
        }
        append("]}")
    }

    /// Writes `{"type":T,"name":N,["tags":{...},]"timestamp_ms":I` (the entry stays open).
    private mutating func beginEntry(type: String, name: MetricName, timestampMs: Int64) {
        if metricCount > 0 { bytes.append(UInt8(ascii: ",")) }
        metricCount += 1
        append("{\"type\":\"")
        append(type)
        append("\",\"name\":")
        let labelled = options.emitTagsAsLabels
        JSONString.append(labelled ? name.tagExtractedName : name.fullName, to: &bytes)
        if labelled, !name.tags.isEmpty {
            append(",\"tags\":{")
            for (index, tag) in name.tags.enumerated() {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                JSONString.append(tag.name, to: &bytes)
                bytes.append(UInt8(ascii: ":"))
                JSONString.append(tag.value, to: &bytes)
            }
            bytes.append(UInt8(ascii: "}"))
        }
        append(",\"timestamp_ms\":")
        JSONNumber.appendInteger(timestampMs, to: &bytes)
    }

    private mutating func append(_ literal: String) {
        bytes.append(contentsOf: literal.utf8)
    }

    private mutating func appendInteger(_ value: UInt64) {
        JSONNumber.appendInteger(value, to: &bytes)
    }
}

/// Remembers the formatted `{"K":D,"S":` prefixes of the last list of doubles it was asked for.
private struct FragmentCache {
    let key: String
    let second: String
    private var doubles: [Double] = []
    private var prefixes: [[UInt8]] = []

    init(key: String, second: String) {
        self.key = key
        self.second = second
    }

    mutating func fragments(for values: [Double]) -> [[UInt8]] {
        if values != doubles {
            doubles = values
            prefixes = values.map { value in
                var fragment = Array("{\"\(key)\":".utf8)
                JSONNumber.appendDouble(value, to: &fragment)
                fragment.append(contentsOf: ",\"\(second)\":".utf8)
                return fragment
            }
        }
        return prefixes
    }
}
