import StatSinkModel

/// Writes Envoy's JSON message value (`{"metrics":[...]}`) straight into bytes.
///
/// Hand-written rather than `JSONEncoder`: the key order, the integer/double distinction and the
/// number spelling are part of the wire format (`wire-format.md` §3), and the encoder is on the
/// snapshot hot path. Each part of an entry (its start with the name and tags, a number with the
/// constant before it, …) reserves its room just before it is written, counting strings without
/// escapes; ``capacity(for:counters:gauges:histograms:)`` adds up the same reservations
/// beforehand, so the value is allocated once, at its final size give or take the slack of the
/// doubles, and only moves if strings need escapes.
struct JSONMessageWriter: MetricValueWriter {
    let options: EncodingOptions
    /// The snapshot's timestamp, written on every metric.
    let timestampMs: Int64
    private var metricCount = 0
    /// `"timestamp_ms":T,"value":` and `"timestamp_ms":T,"sample_count":`: the timestamp is the
    /// same on every metric, so it is spelled once.
    private let valuePrefix: [UInt8]
    private let sampleCountPrefix: [UInt8]
    /// The spelled-out fragments around each bucket count and quantile value: histograms almost
    /// always share one bounds array and one quantiles array, so their doubles are spelled once.
    private var bucketFragments = ListFragments(list: "buckets", key: "upper_bound", second: "cumulative_count", end: "")
    /// The quantiles end the entry, so their end closes it too.
    private var quantileFragments = ListFragments(list: "quantiles", key: "quantile", second: "value", end: "}")

    init(options: EncodingOptions, timestampMs: Int64) {
        self.options = options
        self.timestampMs = timestampMs
        valuePrefix = Array("\"timestamp_ms\":\(timestampMs),\"value\":".utf8)
        sampleCountPrefix = Array("\"timestamp_ms\":\(timestampMs),\"sample_count\":".utf8)
    }

    // MARK: Constant pieces

    private static let messageStart: StaticString = "{\"metrics\":["
    private static let messageEnd: StaticString = "]}"
    // An entry's start, after the comma that separates it from the previous one.
    private static let counterStart: StaticString = "{\"type\":\"counter\",\"name\":"
    private static let gaugeStart: StaticString = "{\"type\":\"gauge\",\"name\":"
    private static let histogramStart: StaticString = "{\"type\":\"histogram\",\"name\":"
    private static let tagsStart: StaticString = "\"tags\":{"
    private static let sampleSumKey: StaticString = ",\"sample_sum\":"
    private static let deltaCounterEnd: StaticString = ",\"delta\":true}"

    /// The length of the end of a counter entry: `}`, or `,"delta":true}` for deltas.
    private var counterEndLength: Int {
        options.reportCountersAsDeltas ? Self.deltaCounterEnd.utf8CodeUnitCount : 1
    }

    // MARK: Sizing

    /// The bytes to allocate for these metrics: the sum of what their writes reserve (the
    /// ranges index the snapshot's counters, gauges and histograms).
    mutating func capacity(for snapshot: MetricSnapshot, counters: Range<Int>, gauges: Range<Int>, histograms: Range<Int>) -> Int {
        var size = Self.messageStart.utf8CodeUnitCount + Self.messageEnd.utf8CodeUnitCount
        snapshot.counters.forEachPointer(in: counters) { counter in
            size += entryStartSize(Self.counterStart, counter.pointer(to: \.name)!)
                + valuePrefix.count + ByteCursor.decimalDigitCount(counterValue(counter)) + counterEndLength
        }
        snapshot.gauges.forEachPointer(in: gauges) { gauge in
            size += entryStartSize(Self.gaugeStart, gauge.pointer(to: \.name)!)
                + valuePrefix.count + ByteCursor.decimalDigitCount(gauge.pointee.value) + 1
        }
        snapshot.histograms.forEachPointer(in: histograms) { histogram in
            size += entryStartSize(Self.histogramStart, histogram.pointer(to: \.name)!)
                + histogramBodySize(histogram.pointer(to: \.statistics)!)
        }
        return size
    }

    /// What ``writeEntryStart(_:_:into:)`` reserves: the entry start with unescaped strings.
    @inline(__always)
    private func entryStartSize(_ start: StaticString, _ name: UnsafePointer<MetricName>) -> Int {
        var size = 1 + start.utf8CodeUnitCount
        guard options.emitTagsAsLabels else { return size + JSONString.unescapedLength(name.pointee.fullName) }
        size += JSONString.unescapedLength(name.pointee.tagExtractedName)
        name.pointee.tags.withUnsafeBufferPointer { tags in
            guard !tags.isEmpty, let first = tags.baseAddress else { return }
            size += Self.tagsStart.utf8CodeUnitCount + 1
            for tag in first..<(first + tags.count) {
                size += JSONString.unescapedLength(tag.pointee.name) + JSONString.unescapedLength(tag.pointee.value)
            }
        }
        return size
    }

    /// What the histogram writer reserves after the entry start.
    private mutating func histogramBodySize(_ statistics: UnsafePointer<HistogramStatistics>) -> Int {
        var size = sampleCountPrefix.count + ByteCursor.decimalDigitCount(statistics.pointee.sampleCount)
            + Self.sampleSumKey.utf8CodeUnitCount + JSONNumber.maximumDoubleLength
        bucketFragments.update(for: statistics.pointee.bucketBounds)
        size += bucketFragments.totalLength
        statistics.pointee.cumulativeCounts.withUnsafeBufferPointer { counts in
            for count in counts { size += ByteCursor.decimalDigitCount(count) }
        }
        quantileFragments.update(for: statistics.pointee.quantiles)
        size += quantileFragments.totalLength + statistics.pointee.quantileValues.count * JSONNumber.maximumDoubleLength
        return size
    }

    // MARK: Writing
    //
    // Samples come as pointers into the snapshot's arrays and are read in place: a sample passed
    // by value would be copied first, retaining its strings and tags.

    mutating func writeStart(into cursor: inout ByteCursor) {
        cursor.reserve(Self.messageStart.utf8CodeUnitCount)
        cursor.write(Self.messageStart)
    }

    mutating func writeEnd(into cursor: inout ByteCursor) {
        cursor.reserve(Self.messageEnd.utf8CodeUnitCount)
        cursor.write(Self.messageEnd)
    }

    @inline(__always)
    private func counterValue(_ counter: UnsafePointer<CounterSample>) -> UInt64 {
        options.reportCountersAsDeltas ? counter.pointee.delta : counter.pointee.value
    }

    mutating func write(_ counter: UnsafePointer<CounterSample>, into cursor: inout ByteCursor) {
        writeEntryStart(Self.counterStart, counter.pointer(to: \.name)!, into: &cursor)
        let value = counterValue(counter)
        let digits = ByteCursor.decimalDigitCount(value)
        cursor.reserve(valuePrefix.count + digits + counterEndLength)
        cursor.write(valuePrefix)
        cursor.writeDecimal(value, digitCount: digits)
        if options.reportCountersAsDeltas {
            cursor.write(Self.deltaCounterEnd)
        } else {
            cursor.write(UInt8(ascii: "}"))
        }
    }

    mutating func write(_ gauge: UnsafePointer<GaugeSample>, into cursor: inout ByteCursor) {
        writeEntryStart(Self.gaugeStart, gauge.pointer(to: \.name)!, into: &cursor)
        let value = gauge.pointee.value
        let digits = ByteCursor.decimalDigitCount(value)
        cursor.reserve(valuePrefix.count + digits + 1)
        cursor.write(valuePrefix)
        cursor.writeDecimal(value, digitCount: digits)
        cursor.write(UInt8(ascii: "}"))
    }

    mutating func write(_ histogram: UnsafePointer<HistogramSample>, into cursor: inout ByteCursor) {
        writeEntryStart(Self.histogramStart, histogram.pointer(to: \.name)!, into: &cursor)
        let statistics = histogram.pointer(to: \.statistics)!
        let sampleCount = statistics.pointee.sampleCount
        let sampleCountDigits = ByteCursor.decimalDigitCount(sampleCount)
        cursor.reserve(sampleCountPrefix.count + sampleCountDigits + Self.sampleSumKey.utf8CodeUnitCount + JSONNumber.maximumDoubleLength)
        cursor.write(sampleCountPrefix)
        cursor.writeDecimal(sampleCount, digitCount: sampleCountDigits)
        cursor.write(Self.sampleSumKey)
        JSONNumber.write(statistics.pointee.sampleSum, into: &cursor)

        bucketFragments.update(for: statistics.pointee.bucketBounds)
        statistics.pointee.cumulativeCounts.withUnsafeBufferPointer { counts in
            bucketFragments.withFragments { fragments, end in
                for index in counts.indices {
                    let digits = ByteCursor.decimalDigitCount(counts[index])
                    cursor.reserve(fragments[index].count + digits)
                    cursor.write(fragments[index])
                    cursor.writeDecimal(counts[index], digitCount: digits)
                }
                cursor.reserve(end.count)
                cursor.write(end)
            }
        }
        quantileFragments.update(for: statistics.pointee.quantiles)
        statistics.pointee.quantileValues.withUnsafeBufferPointer { values in
            quantileFragments.withFragments { fragments, end in
                for index in values.indices {
                    cursor.reserve(fragments[index].count + JSONNumber.maximumDoubleLength)
                    cursor.write(fragments[index])
                    JSONNumber.write(values[index], into: &cursor)
                }
                cursor.reserve(end.count)
                cursor.write(end)
            }
        }
    }

    /// Writes `,{"type":T,"name":N,["tags":{...},]` (the entry stays open; no comma before the
    /// first entry).
    @inline(__always)
    private mutating func writeEntryStart(_ start: StaticString, _ name: UnsafePointer<MetricName>, into cursor: inout ByteCursor) {
        // One reservation, then plain copies: no call in between that could release the strings,
        // so they are read without being retained.
        cursor.reserve(entryStartSize(start, name))
        if metricCount > 0 { cursor.write(UInt8(ascii: ",")) }
        metricCount += 1
        cursor.write(start)
        let stringsStart = cursor.position
        if !writeNameAndTags(name, escaping: false, into: &cursor) {
            cursor.rewind(to: stringsStart)
            writeNameAndTags(name, escaping: true, into: &cursor)
        }
    }

    /// Writes `N,["tags":{...},]`. Without `escaping`, it expects no string to need an escape and
    /// writes only into what ``writeEntryStart(_:_:into:)`` reserved; it returns false, having
    /// written part, at the first string that does. With `escaping`, it reserves room as it goes.
    @inline(__always)
    @discardableResult
    private func writeNameAndTags(_ name: UnsafePointer<MetricName>, escaping: Bool, into cursor: inout ByteCursor) -> Bool {
        func write(_ string: UnsafePointer<String>, followedBy last: UInt8) -> Bool {
            if escaping {
                JSONString.write(string.pointee, followedBy: last, into: &cursor)
                return true
            }
            return JSONString.writeUnescaped(string.pointee, followedBy: last, into: &cursor)
        }
        guard options.emitTagsAsLabels else { return write(name.pointer(to: \.fullName)!, followedBy: UInt8(ascii: ",")) }
        guard write(name.pointer(to: \.tagExtractedName)!, followedBy: UInt8(ascii: ",")) else { return false }
        return name.pointee.tags.withUnsafeBufferPointer { tags in
            guard !tags.isEmpty, let first = tags.baseAddress else { return true }
            if escaping { cursor.reserve(Self.tagsStart.utf8CodeUnitCount) }
            cursor.write(Self.tagsStart)
            let last = first + (tags.count - 1)
            for tag in first...last {
                guard write(tag.pointer(to: \.name)!, followedBy: UInt8(ascii: ":")),
                      write(tag.pointer(to: \.value)!, followedBy: UInt8(ascii: tag == last ? "}" : ","))
                else { return false }
            }
            if escaping { cursor.reserve(1) }
            cursor.write(UInt8(ascii: ","))
            return true
        }
    }
}

/// The spelled-out fragments of a JSON list of `{"key":D,"second":X}` objects, for the last list
/// of doubles `D` it was given: the fragment before each `X`, and the list's end.
///
/// With `list: "buckets"`: `,"buckets":[{"upper_bound":0.5,"cumulative_count":`, then
/// `},{"upper_bound":1,"cumulative_count":`, …, and `}]` (or `,"buckets":[]` for no bound).
private struct ListFragments {
    let list: String
    let key: String
    let second: String
    /// Bytes written after the list's `]`.
    let end: String
    /// The doubles the fragments spell (none yet: nil).
    private var doubles: [Double]?
    /// All fragments, back to back, then the end.
    private var bytes: [UInt8] = []
    /// Where each fragment ends in `bytes`; the end follows the last.
    private var fragmentEnds: [Int] = []

    init(list: String, key: String, second: String, end: String) {
        self.list = list
        self.key = key
        self.second = second
        self.end = end
    }

    /// The length of all fragments and the end together.
    var totalLength: Int { bytes.count }

    mutating func update(for values: [Double]) {
        if let doubles, Self.identical(doubles, values) { return }
        doubles = values
        bytes = []
        fragmentEnds = []
        for (index, value) in values.enumerated() {
            bytes += Array((index == 0 ? ",\"\(list)\":[{" : "},{").utf8)
            bytes += Array("\"\(key)\":".utf8) + JSONNumber.spelling(of: value) + Array(",\"\(second)\":".utf8)
            fragmentEnds.append(bytes.count)
        }
        bytes += Array((values.isEmpty ? ",\"\(list)\":[]" : "}]").utf8) + Array(end.utf8)
    }

    /// Whether the arrays hold the same bit patterns: usually they share storage; `0.0 == -0.0`,
    /// but they are spelled differently.
    private static func identical(_ first: [Double], _ second: [Double]) -> Bool {
        first.withUnsafeBufferPointer { first in
            second.withUnsafeBufferPointer { second in
                guard first.count == second.count else { return false }
                if first.baseAddress == second.baseAddress { return true }
                return first.indices.allSatisfy { first[$0].bitPattern == second[$0].bitPattern }
            }
        }
    }

    /// Calls `body` with the fragments (one per value) and the end.
    func withFragments<Result>(
        _ body: (_ fragments: Fragments, _ end: UnsafeBufferPointer<UInt8>) -> Result
    ) -> Result {
        bytes.withUnsafeBufferPointer { bytes in
            fragmentEnds.withUnsafeBufferPointer { ends in
                let last = ends.last ?? 0
                return body(Fragments(bytes: bytes, ends: ends), UnsafeBufferPointer(rebasing: bytes[last...]))
            }
        }
    }

    /// The fragments, by index.
    struct Fragments {
        let bytes: UnsafeBufferPointer<UInt8>
        let ends: UnsafeBufferPointer<Int>

        subscript(index: Int) -> UnsafeBufferPointer<UInt8> {
            let start = index == 0 ? 0 : ends[index - 1]
            return UnsafeBufferPointer(rebasing: bytes[start..<ends[index]])
        }
    }
}
