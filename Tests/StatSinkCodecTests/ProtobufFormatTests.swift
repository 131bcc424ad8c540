import Foundation
import StatSinkCodec
import StatSinkModel
import StatSinkProtobuf
import StatSinkTestKit
import SwiftProtobuf
import Testing

@Suite("PROTOBUF message values (wire-format.md §4)")
struct ProtobufFormatTests {
    static let goldenStream = GoldenVectors.streamMetricsMessage
    static let goldenCounterEntry = GoldenVectors.counterEntry

    @Test func goldenStreamMessageDecodesAndReencodesByteForByte() throws {
        #expect(Self.goldenStream.count == 119)
        let message = try Envoy_Service_Metrics_V3_StreamMetricsMessage(serializedBytes: Self.goldenStream)
        #expect(message.identifier.node.id == "n1")
        #expect(message.identifier.node.cluster == "c1")
        #expect(message.envoyMetrics.map(\.name) == ["cluster.upstream_rq_total", "server.live"])
        #expect(message.envoyMetrics[0].type == .counter)
        #expect(message.envoyMetrics[0].hasType)
        #expect(message.envoyMetrics[0].metric[0].label.map { "\($0.name)=\($0.value)" } == ["envoy.cluster_name=svc"])
        #expect(message.envoyMetrics[0].metric[0].counter.value == 5)
        #expect(message.envoyMetrics[1].metric[0].gauge.value == 1)
        #expect(message.envoyMetrics[1].metric[0].timestampMs == 1000)
        let reencoded: [UInt8] = try message.serializedBytes()
        #expect(reencoded == Self.goldenStream)
    }

    @Test func goldenCounterEntryDecodesAndReencodes() throws {
        let message = try Envoy_Service_Metrics_V3_StreamMetricsMessage(serializedBytes: Self.goldenCounterEntry)
        #expect(!message.hasIdentifier)
        #expect(message.envoyMetrics.count == 1)
        let reencoded: [UInt8] = try message.serializedBytes()
        #expect(reencoded == Self.goldenCounterEntry)
    }

    @Test func ourEncoderProducesTheGoldenBytesWithoutIdentifier() {
        let snapshot = MetricSnapshot(
            timestampMs: 1000,
            node: NodeIdentity(id: "n1", cluster: "c1"),
            counters: [CounterSample(
                name: MetricName(fullName: "cluster.svc.upstream_rq_total", tagExtractedName: "cluster.upstream_rq_total", tags: [Tag(name: "envoy.cluster_name", value: "svc")]),
                value: 5, delta: 0
            )],
            gauges: [GaugeSample(name: MetricName("server.live"), value: 1)]
        )
        let value = SnapshotEncoder(options: EncodingOptions(format: .protobuf)).encode(snapshot, sequence: 1)[0].value
        // The golden stream minus its identifier field (12 bytes: 0a 0a <node>).
        #expect(value == Array(Self.goldenStream.dropFirst(12)))
    }

    @Test func ourEncoderProducesTheGoldenCounterEntry() {
        let snapshot = MetricSnapshot(timestampMs: 1000, node: NodeIdentity(id: "n"), counters: [CounterSample(name: MetricName("c"), value: 5, delta: 0)])
        let value = SnapshotEncoder(options: EncodingOptions(format: .protobuf)).encode(snapshot, sequence: 1)[0].value
        #expect(value == Self.goldenCounterEntry)
    }

    @Test func emptyFlushIsOneZeroLengthMessage() {
        let messages = SnapshotEncoder(options: EncodingOptions(format: .protobuf, batchSize: 5)).encode(MetricSnapshot(timestampMs: 1, node: NodeIdentity(id: "n")), sequence: 3)
        #expect(messages.count == 1)
        #expect(messages[0].value.isEmpty)
    }

    @Test func histogramIsOneHistogramFamilyWithBucketsAndNoQuantiles() throws {
        let statistics = HistogramStatistics(samples: [0.2, 3, 7, 40, 99_999])
        let snapshot = MetricSnapshot(timestampMs: 42, node: NodeIdentity(id: "n"), histograms: [HistogramSample(name: MetricName("h"), statistics: statistics)])
        let value = SnapshotEncoder(options: EncodingOptions(format: .protobuf)).encode(snapshot, sequence: 1)[0].value
        let decoded = try Envoy_Service_Metrics_V3_StreamMetricsMessage(serializedBytes: value)
        #expect(!decoded.hasIdentifier)
        #expect(decoded.envoyMetrics.count == 1)
        let family = decoded.envoyMetrics[0]
        #expect(family.type == .histogram)
        #expect(family.metric.count == 1)
        let histogram = family.metric[0].histogram
        #expect(!family.metric[0].hasSummary)
        #expect(histogram.sampleCount == 5)
        #expect(histogram.sampleSum == statistics.sampleSum)
        #expect(histogram.bucket.map(\.upperBound) == HistogramStatistics.defaultBucketBounds)
        #expect(histogram.bucket.map(\.cumulativeCount) == [1, 1, 2, 3, 3, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 5, 5, 5, 5])
        #expect(family.metric[0].timestampMs == 42)
    }

    /// Differential check: for many realistic snapshots and every option combination, our direct
    /// writer's bytes equal swift-protobuf's serialization of the same messages.
    @Test(arguments: [false, true], [false, true])
    func matchesSwiftProtobufSerialization(labels: Bool, deltas: Bool) throws {
        var generator = EnvoySnapshotGenerator(seed: labels ? 11 : 12)
        for size in [0, 1, 7, 64, 300] {
            var snapshot = generator.snapshot(metricCount: size, timestampMs: deltas ? -1 : 1_764_000_000_123)
            if size == 7 {
                snapshot.counters[0].value = UInt64.max  // a double cannot hold it exactly; both round the same way
            }
            let options = EncodingOptions(format: .protobuf, emitTagsAsLabels: labels, reportCountersAsDeltas: deltas)
            let ours = SnapshotEncoder(options: options).encode(snapshot, sequence: 1)[0].value
            let reference: [UInt8] = try ReferenceProtobufEncoder.message(for: snapshot, options: options).serializedBytes()
            #expect(ours == reference, "snapshot of \(size) metrics")
        }
    }
}
