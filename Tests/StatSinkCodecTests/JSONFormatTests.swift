import StatSinkCodec
import StatSinkModel
import StatSinkTestKit
import Testing

@Suite("JSON message values (wire-format.md §3)")
struct JSONFormatTests {
    let node = NodeIdentity(id: "n1", cluster: "c1")
    let tagged = MetricName(
        fullName: "cluster.service_a.upstream_rq_total",
        tagExtractedName: "cluster.upstream_rq_total",
        tags: [Tag(name: "envoy.cluster_name", value: "service_a")]
    )

    func json(_ snapshot: MetricSnapshot, _ options: EncodingOptions = EncodingOptions()) -> String {
        let messages = SnapshotEncoder(options: options).encode(snapshot, sequence: 1)
        #expect(messages.count == 1)
        return String(decoding: messages[0].value, as: UTF8.self)
    }

    @Test func counterWithTagsAsLabels() {
        let snapshot = MetricSnapshot(timestampMs: 1000, node: node, counters: [CounterSample(name: tagged, value: 5, delta: 2)])
        #expect(json(snapshot) == #"{"metrics":[{"type":"counter","name":"cluster.upstream_rq_total","tags":{"envoy.cluster_name":"service_a"},"timestamp_ms":1000,"value":5}]}"#)
    }

    @Test func counterAsDelta() {
        let snapshot = MetricSnapshot(timestampMs: 1000, node: node, counters: [CounterSample(name: tagged, value: 5, delta: 2)])
        #expect(json(snapshot, EncodingOptions(reportCountersAsDeltas: true)) == #"{"metrics":[{"type":"counter","name":"cluster.upstream_rq_total","tags":{"envoy.cluster_name":"service_a"},"timestamp_ms":1000,"value":2,"delta":true}]}"#)
    }

    @Test func tagsOffWritesFullNameWithoutTags() {
        let snapshot = MetricSnapshot(timestampMs: 1000, node: node, counters: [CounterSample(name: tagged, value: 5, delta: 2)])
        #expect(json(snapshot, EncodingOptions(emitTagsAsLabels: false)) == #"{"metrics":[{"type":"counter","name":"cluster.service_a.upstream_rq_total","timestamp_ms":1000,"value":5}]}"#)
    }

    @Test func untaggedMetricHasNoTagsKeyEvenWithLabelsOn() {
        let snapshot = MetricSnapshot(timestampMs: 7, node: node, gauges: [GaugeSample(name: MetricName("server.live"), value: 1)])
        #expect(json(snapshot) == #"{"metrics":[{"type":"gauge","name":"server.live","timestamp_ms":7,"value":1}]}"#)
    }

    @Test func gaugeWithSeveralTagsKeepsTheirOrder() {
        let name = MetricName(fullName: "x.b.a.g", tagExtractedName: "x.g", tags: [Tag(name: "z", value: "b"), Tag(name: "a", value: "a")])
        let snapshot = MetricSnapshot(timestampMs: 7, node: node, gauges: [GaugeSample(name: name, value: UInt64.max)])
        #expect(json(snapshot) == #"{"metrics":[{"type":"gauge","name":"x.g","tags":{"z":"b","a":"a"},"timestamp_ms":7,"value":18446744073709551615}]}"#)
    }

    @Test func histogramWithSamples() {
        let statistics = HistogramStatistics(
            sampleCount: 3, sampleSum: 12.5,
            bucketBounds: [0.5, 10, 3_600_000], cumulativeCounts: [1, 2, 3],
            quantiles: [0, 0.5, 0.999], quantileValues: [0.25, 2, 1.5e-7]
        )
        let snapshot = MetricSnapshot(timestampMs: 1000, node: node, histograms: [HistogramSample(name: MetricName("rq_time"), statistics: statistics)])
        #expect(json(snapshot) == #"{"metrics":[{"type":"histogram","name":"rq_time","timestamp_ms":1000,"sample_count":3,"sample_sum":12.5,"buckets":[{"upper_bound":0.5,"cumulative_count":1},{"upper_bound":10,"cumulative_count":2},{"upper_bound":3600000,"cumulative_count":3}],"quantiles":[{"quantile":0,"value":0.25},{"quantile":0.5,"value":2},{"quantile":0.999,"value":1.5e-07}]}]}"#)
    }

    @Test func histogramWithoutSamplesHasNullQuantilesAndAllDefaultBuckets() {
        let snapshot = MetricSnapshot(timestampMs: 1, node: node, histograms: [HistogramSample(name: MetricName("h"), statistics: .empty())])
        let buckets = HistogramStatistics.defaultBucketBounds.map { bound in
            let text = bound == bound.rounded() ? String(Int(bound)) : String(bound)
            return #"{"upper_bound":\#(text),"cumulative_count":0}"#
        }.joined(separator: ",")
        let quantiles = ["0", "0.25", "0.5", "0.75", "0.9", "0.95", "0.99", "0.995", "0.999", "1"]
            .map { #"{"quantile":\#($0),"value":null}"# }.joined(separator: ",")
        #expect(json(snapshot) == #"{"metrics":[{"type":"histogram","name":"h","timestamp_ms":1,"sample_count":0,"sample_sum":0,"buckets":[\#(buckets)],"quantiles":[\#(quantiles)]}]}"#)
    }

    @Test func emptyFlushIsOneEmptyMessage() {
        let messages = SnapshotEncoder(options: EncodingOptions(batchSize: 10)).encode(MetricSnapshot(timestampMs: 1, node: node), sequence: 1)
        #expect(messages.count == 1)
        #expect(String(decoding: messages[0].value, as: UTF8.self) == #"{"metrics":[]}"#)
        #expect(messages[0].metricCount == 0)
    }

    @Test func stringsAreEscaped() {
        let name = MetricName(fullName: "f", tagExtractedName: "q\"b\\s/\u{01}\n\t\u{1F}é☃", tags: [Tag(name: "k\"", value: "v\r")])
        let snapshot = MetricSnapshot(timestampMs: 1, node: node, gauges: [GaugeSample(name: name, value: 0)])
        #expect(json(snapshot) == #"{"metrics":[{"type":"gauge","name":"q\"b\\s/\u0001\u000a\u0009\u001fé☃","tags":{"k\"":"v\u000d"},"timestamp_ms":1,"value":0}]}"#)
    }

    /// The escaper skips 8 bytes at a time; escapes at every offset of long names must still be
    /// found. Checked against a byte-at-a-time reference.
    @Test func escapesAreFoundAtEveryPositionOfLongStrings() {
        let specials: [Character] = ["\"", "\\", "\u{0}", "\u{1F}", "\n", "é", "a", "~", "\u{7F}"]
        var random = SplitMix64(seed: 3)
        for length in [0, 1, 7, 8, 9, 15, 16, 17, 33] {
            for position in 0..<max(length, 1) {
                var characters = (0..<length).map { _ in Character(UnicodeScalar(UInt8.random(in: 0x23...0x5B, using: &random))) }
                if length > 0 { characters[position] = specials[Int.random(in: 0..<specials.count, using: &random)] }
                let name = String(characters)
                let snapshot = MetricSnapshot(timestampMs: 1, node: node, gauges: [GaugeSample(name: MetricName(name), value: 0)])
                #expect(json(snapshot) == #"{"metrics":[{"type":"gauge","name":"\#(Self.referenceEscape(name))","timestamp_ms":1,"value":0}]}"#)
            }
        }
    }

    static func referenceEscape(_ string: String) -> String {
        var out = ""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _ where scalar.value < 0x20: out += "\\u00" + (scalar.value < 0x10 ? "0" : "") + String(scalar.value, radix: 16)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    @Test func negativeTimestampIsASignedInteger() {
        let snapshot = MetricSnapshot(timestampMs: -5, node: node, gauges: [GaugeSample(name: MetricName("g"), value: 0)])
        #expect(json(snapshot).contains(#""timestamp_ms":-5,"#))
    }

    @Test(arguments: [
        (123.0, "123"), (0.0, "0"), (-0.0, "-0"), (-2.5, "-2.5"), (0.1, "0.1"),
        (1e15, "1000000000000000"), (1e16, "1e+16"), (123456789012345680.0, "1.2345678901234568e+17"),
        (1e21, "1e+21"), (0.0001, "0.0001"), (0.00001, "1e-05"), (1.5e-7, "1.5e-07"),
        (0.00015000000000000001, "0.00015000000000000001"), (1.7976931348623157e308, "1.7976931348623157e+308"),
        (Double.leastNonzeroMagnitude, "5e-324"), (3_600_000, "3600000"), (12345.678, "12345.678"), (1e15 + 0.5, "1000000000000000.5"),
        (Double.nan, "null"), (Double.infinity, "null"), (-Double.infinity, "null"),
    ])
    func doublesUseShortestRoundTripDigitsInEnvoyStyle(value: Double, expected: String) {
        let statistics = HistogramStatistics(
            sampleCount: 1, sampleSum: value, bucketBounds: [], cumulativeCounts: [], quantiles: [], quantileValues: []
        )
        let snapshot = MetricSnapshot(timestampMs: 1, node: node, histograms: [HistogramSample(name: MetricName("h"), statistics: statistics)])
        #expect(json(snapshot).contains(#""sample_sum":\#(expected),"#))
        if value.isFinite { #expect(Double(expected) == value) }
    }

    @Test func orderIsCountersThenGaugesThenHistograms() {
        let snapshot = MetricSnapshot(
            timestampMs: 1, node: node,
            counters: [CounterSample(name: MetricName("c"), value: 1, delta: 1)],
            gauges: [GaugeSample(name: MetricName("g"), value: 2)],
            histograms: [HistogramSample(name: MetricName("h"), statistics: .empty(bucketBounds: [], quantiles: []))]
        )
        #expect(json(snapshot) == #"{"metrics":[{"type":"counter","name":"c","timestamp_ms":1,"value":1},{"type":"gauge","name":"g","timestamp_ms":1,"value":2},{"type":"histogram","name":"h","timestamp_ms":1,"sample_count":0,"sample_sum":0,"buckets":[],"quantiles":[]}]}"#)
    }
}
