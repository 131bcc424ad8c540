import StatSinkCodec
import StatSinkModel
import StatSinkTestKit
import Testing

/// The JSON writer against a plain, string-building reference of `wire-format.md` §3, byte for
/// byte: the writer's fast paths (pre-sized output, strings copied 8 bytes at a time, cached
/// fragments, digit tables) must not change a byte.
@Suite("JSON message values against a reference encoder")
struct JSONReferenceTests {
    // MARK: Reference encoder

    static func referenceValue(_ snapshot: MetricSnapshot, metrics: Range<Int>, options: EncodingOptions) -> [UInt8] {
        var entries: [String] = []
        for (position, counter) in snapshot.counters.enumerated() where metrics.contains(position) {
            let value = options.reportCountersAsDeltas ? counter.delta : counter.value
            entries.append(entryStart("counter", counter.name, snapshot, options) + #","value":\#(value)"#
                + (options.reportCountersAsDeltas ? #","delta":true}"# : "}"))
        }
        for (offset, gauge) in snapshot.gauges.enumerated() where metrics.contains(snapshot.counters.count + offset) {
            entries.append(entryStart("gauge", gauge.name, snapshot, options) + #","value":\#(gauge.value)}"#)
        }
        for (offset, histogram) in snapshot.histograms.enumerated()
        where metrics.contains(snapshot.counters.count + snapshot.gauges.count + offset) {
            let statistics = histogram.statistics
            let buckets = zip(statistics.bucketBounds, statistics.cumulativeCounts).map {
                #"{"upper_bound":\#(double($0)),"cumulative_count":\#($1)}"#
            }
            let quantiles = zip(statistics.quantiles, statistics.quantileValues).map {
                #"{"quantile":\#(double($0)),"value":\#(double($1))}"#
            }
            entries.append(entryStart("histogram", histogram.name, snapshot, options)
                + #","sample_count":\#(statistics.sampleCount),"sample_sum":\#(double(statistics.sampleSum))"#
                + #","buckets":[\#(buckets.joined(separator: ","))],"quantiles":[\#(quantiles.joined(separator: ","))]}"#)
        }
        return Array(#"{"metrics":[\#(entries.joined(separator: ","))]}"#.utf8)
    }

    static func entryStart(_ type: String, _ name: MetricName, _ snapshot: MetricSnapshot, _ options: EncodingOptions) -> String {
        var text = #"{"type":"\#(type)","name":\#(string(options.emitTagsAsLabels ? name.tagExtractedName : name.fullName))"#
        if options.emitTagsAsLabels, !name.tags.isEmpty {
            text += #","tags":{\#(name.tags.map { string($0.name) + ":" + string($0.value) }.joined(separator: ","))}"#
        }
        return text + #","timestamp_ms":\#(snapshot.timestampMs)"#
    }

    static func string(_ string: String) -> String {
        "\"" + JSONFormatTests.referenceEscape(string) + "\""
    }

    /// fmt's spelling: integral values below 1e16 without a fraction, otherwise Swift's shortest
    /// round-trip description (same digits and exponent style); NaN and the infinities as `null`.
    static func double(_ value: Double) -> String {
        guard value.isFinite else { return "null" }
        if value == value.rounded(), value.magnitude < 1e16 {
            return (value.sign == .minus ? "-" : "") + String(UInt64(value.magnitude))
        }
        return value.description
    }

    // MARK: Snapshots

    /// Strings made of bytes that need escapes, multi-byte characters and plain ASCII, from empty
    /// to long (escapes both in the 8-byte blocks and in the tail, in names and in tags).
    static func awkwardSnapshot(seed: UInt64, metricCount: Int) -> MetricSnapshot {
        var random = SplitMix64(seed: seed)
        let alphabet: [Character] = ["a", "b", ".", "_", "7", "\"", "\\", "\u{0}", "\u{1F}", "\n", "é", "☃", "🙂", "\u{7F}", "~", "/"]
        func text() -> String {
            // Mostly plain, so that both clean and escaped strings are common.
            let plain = Int.random(in: 0..<3, using: &random) > 0
            let length = [0, 1, 7, 8, 9, 15, 16, 17, 40, 100][Int.random(in: 0..<10, using: &random)]
            return String((0..<length).map { _ in
                plain ? alphabet[Int.random(in: 0..<5, using: &random)] : alphabet[Int.random(in: 0..<alphabet.count, using: &random)]
            })
        }
        func integer() -> UInt64 {
            UInt64.random(in: 0...UInt64.max, using: &random) >> UInt64.random(in: 0...63, using: &random)
        }
        func double() -> Double {
            switch Int.random(in: 0..<6, using: &random) {
            case 0: Double(bitPattern: UInt64.random(in: 0...UInt64.max, using: &random))
            case 1: Double(Int.random(in: -1_000_000...1_000_000, using: &random))
            case 2: Double.random(in: 0..<1, using: &random) * [1e-30, 1e-6, 1e-4, 1, 1e15, 1e16, 1e30][Int.random(in: 0..<7, using: &random)]
            case 3: [0.0, -0.0, .nan, .infinity, -.infinity, 1e15, 1e16, 1e-4, 1e-5, 9_007_199_254_740_992, .leastNonzeroMagnitude]
                .randomElement(using: &random)!
            default: Double.random(in: -1e6..<1e6, using: &random)
            }
        }
        // A few bounds arrays, shared and not, with 0.0 and -0.0 (equal as doubles, not in JSON).
        let boundsChoices: [[Double]] = [HistogramStatistics.defaultBucketBounds, [0.0, 1], [-0.0, 1], [], [.nan, 2.5]]
        var snapshot = MetricSnapshot(timestampMs: Int64.random(in: -5_000...Int64.max, using: &random), node: NodeIdentity(id: "n"))
        for index in 0..<metricCount {
            let name = MetricName(
                fullName: text(), tagExtractedName: text(),
                tags: (0..<Int.random(in: 0...3, using: &random)).map { _ in Tag(name: text(), value: text()) }
            )
            switch index % 3 {
            case 0: snapshot.counters.append(CounterSample(name: name, value: integer(), delta: integer()))
            case 1: snapshot.gauges.append(GaugeSample(name: name, value: integer()))
            default:
                let bounds = Bool.random(using: &random)
                    ? boundsChoices[Int.random(in: 0..<boundsChoices.count, using: &random)]
                    : (0..<Int.random(in: 0...20, using: &random)).map { _ in double() }
                let quantiles = (0..<Int.random(in: 0...12, using: &random)).map { _ in double() }
                snapshot.histograms.append(HistogramSample(name: name, statistics: HistogramStatistics(
                    sampleCount: integer(), sampleSum: double(),
                    bucketBounds: bounds, cumulativeCounts: bounds.map { _ in integer() },
                    quantiles: quantiles, quantileValues: quantiles.map { _ in double() }
                )))
            }
        }
        return snapshot
    }

    static let optionCases: [EncodingOptions] = [false, true].flatMap { labels in
        [false, true].flatMap { deltas in
            [0, 1, 7, 100].map { EncodingOptions(batchSize: $0, emitTagsAsLabels: labels, reportCountersAsDeltas: deltas) }
        }
    }

    func expectMatchesReference(_ snapshot: MetricSnapshot, _ options: EncodingOptions) {
        let encoder = SnapshotEncoder(options: options)
        let messages = encoder.encode(snapshot, sequence: 1)
        let ranges = encoder.batchRanges(metricCount: snapshot.metricCount)
        #expect(messages.count == ranges.count)
        for (message, range) in zip(messages, ranges) {
            let expected = Self.referenceValue(snapshot, metrics: range, options: options)
            #expect(message.value == expected, "\(options), metrics \(range)")
            if message.value != expected { return }
        }
    }

    // MARK: Tests

    @Test(arguments: optionCases)
    func realisticSnapshotsMatchTheReference(options: EncodingOptions) {
        for (seed, count) in [(1, 0), (2, 1), (3, 37), (4, 400)] as [(UInt64, Int)] {
            var generator = EnvoySnapshotGenerator(seed: seed)
            expectMatchesReference(generator.snapshot(metricCount: count), options)
        }
    }

    @Test(arguments: optionCases)
    func awkwardStringsAndNumbersMatchTheReference(options: EncodingOptions) {
        for seed in 1...3 as ClosedRange<UInt64> {
            expectMatchesReference(Self.awkwardSnapshot(seed: seed, metricCount: 150), options)
        }
    }

    /// Every string needs 6 bytes per byte: far more than the output was sized for, so the bytes
    /// move to a larger buffer mid-value.
    @Test func outputLargerThanItsSizingStillMatches() {
        let control = String(repeating: "\u{1}", count: 300)
        let name = MetricName(fullName: control, tagExtractedName: control, tags: [Tag(name: control, value: control)])
        let snapshot = MetricSnapshot(
            timestampMs: 1, node: NodeIdentity(id: "n"),
            counters: Array(repeating: CounterSample(name: name, value: 1, delta: 1), count: 50),
            gauges: [GaugeSample(name: MetricName("plain"), value: 2)]
        )
        expectMatchesReference(snapshot, EncodingOptions())
        expectMatchesReference(snapshot, EncodingOptions(emitTagsAsLabels: false))
    }

    /// Integers around every power of ten and of two: the digit count is computed, not counted.
    @Test func integersAtDigitBoundaries() {
        var values: [UInt64] = [0, 1, 9, 10, 11, UInt64.max, UInt64.max - 1]
        var power: UInt64 = 10
        for _ in 1...19 {
            values += [power - 1, power, power + 1]
            power = power.multipliedReportingOverflow(by: 10).partialValue
        }
        for shift in 1..<64 { values += [(1 << shift) - 1, 1 << shift] }
        let snapshot = MetricSnapshot(
            timestampMs: 0, node: NodeIdentity(id: "n"),
            counters: values.map { CounterSample(name: MetricName("c"), value: $0, delta: $0) },
            gauges: values.map { GaugeSample(name: MetricName("g"), value: $0) },
            histograms: values.map {
                HistogramSample(name: MetricName("h"), statistics: HistogramStatistics(
                    sampleCount: $0, sampleSum: Double($0), bucketBounds: [1], cumulativeCounts: [$0], quantiles: [], quantileValues: []
                ))
            }
        )
        expectMatchesReference(snapshot, EncodingOptions())
        expectMatchesReference(snapshot, EncodingOptions(reportCountersAsDeltas: true))
    }

    /// Bounds `[0]` then `[-0]`: equal doubles, different spellings; the cached fragments must not
    /// be reused across them.
    @Test func negativeZeroBoundIsNotTakenForZero() {
        let histograms = [[0.0], [-0.0], [0.0]].map {
            HistogramSample(name: MetricName("h"), statistics: HistogramStatistics(
                sampleCount: 0, sampleSum: 0, bucketBounds: $0, cumulativeCounts: [0], quantiles: [], quantileValues: []
            ))
        }
        let snapshot = MetricSnapshot(timestampMs: 0, node: NodeIdentity(id: "n"), histograms: histograms)
        let value = String(decoding: SnapshotEncoder(options: EncodingOptions()).encode(snapshot, sequence: 1)[0].value, as: UTF8.self)
        #expect(value.contains(#"{"upper_bound":0,"cumulative_count":0}]"#))
        #expect(value.contains(#"{"upper_bound":-0,"cumulative_count":0}]"#))
        expectMatchesReference(snapshot, EncodingOptions())
    }
}
