import StatSinkCodec
import StatSinkModel
import StatSinkProtobuf
import StatSinkTestKit
import Testing

@testable import StatSinkGRPC

@Suite("Messages to snapshots")
struct SnapshotAssemblerTests {
    let node = NodeIdentity(id: "edge-17", cluster: "edge")

    func generated(_ metrics: Int = 60, timestampMs: Int64 = 1_764_000_000_000, seed: UInt64 = 3) -> MetricSnapshot {
        var generator = EnvoySnapshotGenerator(seed: seed)
        generator.node = node
        return generator.snapshot(metricCount: metrics, timestampMs: timestampMs)
    }

    /// Feeds every message, then closes: the snapshots in order.
    func assemble(_ messages: [Envoy_Service_Metrics_V3_StreamMetricsMessage], receivedAtMs: Int64 = 5) throws -> [MetricSnapshot] {
        var assembler = SnapshotAssembler(node: node)
        var snapshots: [MetricSnapshot] = []
        for message in messages { snapshots += try assembler.add(message.envoyMetrics, receivedAtMs: receivedAtMs) }
        if let last = assembler.closeOpenSnapshot() { snapshots.append(last) }
        return snapshots
    }

    /// What the assembler can know of `snapshot` after Envoy sent it with `flusher`.
    func expected(_ snapshot: MetricSnapshot, _ flusher: EnvoyMetricsServiceFlusher) -> MetricSnapshot {
        var expected = snapshot
        func received(_ name: MetricName) -> MetricName {
            flusher.emitTagsAsLabels
                ? MetricFamilyConverter.metricName(name.tagExtractedName, labels: name.tags.map { label($0.name, $0.value) })
                : MetricName(name.fullName)
        }
        for index in expected.counters.indices {
            expected.counters[index].name = received(expected.counters[index].name)
            expected.counters[index].delta = expected.counters[index].value
        }
        for index in expected.gauges.indices { expected.gauges[index].name = received(expected.gauges[index].name) }
        for index in expected.histograms.indices {
            expected.histograms[index].name = received(expected.histograms[index].name)
            let statistics = expected.histograms[index].statistics
            switch flusher.histogramEmitMode {
            case .summaryAndHistogram: break
            case .summary:
                expected.histograms[index].statistics = HistogramStatistics(
                    sampleCount: statistics.sampleCount, sampleSum: statistics.sampleSum, bucketBounds: [], cumulativeCounts: [],
                    quantiles: statistics.quantiles, quantileValues: statistics.quantileValues)
            case .histogram:
                expected.histograms[index].statistics = HistogramStatistics(
                    sampleCount: statistics.sampleCount, sampleSum: statistics.sampleSum, bucketBounds: statistics.bucketBounds,
                    cumulativeCounts: statistics.cumulativeCounts, quantiles: [], quantileValues: [])
            }
        }
        return expected
    }

    @Test("every histogram_emit_mode, with and without labels, split by batch_size",
          arguments: EnvoyMetricsServiceFlusher.HistogramEmitMode.allCases, [false, true])
    func envoyFlushesRoundTrip(mode: EnvoyMetricsServiceFlusher.HistogramEmitMode, labels: Bool) throws {
        let snapshot = generated()
        // 7 splits many SUMMARY/HISTOGRAM pairs across two messages.
        for batchSize in [0, 7] {
            let flusher = EnvoyMetricsServiceFlusher(emitTagsAsLabels: labels, histogramEmitMode: mode, batchSize: batchSize)
            let messages = flusher.messages(snapshot, opensStream: true)
            #expect(messages.count == (batchSize == 0 ? 1 : (flusher.families(snapshot).count + 6) / 7))
            let snapshots = try assemble(messages)
            #expect(snapshots == [expected(snapshot, flusher)])
        }
    }

    @Test func withLabelsTheKafkaValuesAreEnvoysOwn() throws {
        // Kafka sink and Envoy both with tags as labels: the values are those of the original.
        let snapshot = generated(200)
        let flusher = EnvoyMetricsServiceFlusher(emitTagsAsLabels: true, batchSize: 50)
        let assembled = try assemble(flusher.messages(snapshot, opensStream: true))
        for format in SerializationFormat.allCases {
            let encoder = SnapshotEncoder(options: EncodingOptions(format: format, batchSize: 100))
            #expect(encoder.encode(assembled[0], sequence: 1).map(\.value) == encoder.encode(snapshot, sequence: 1).map(\.value))
        }
    }

    @Test func aSnapshotIsCompleteWhenTheNextTimestampArrives() throws {
        let flusher = EnvoyMetricsServiceFlusher(batchSize: 10)
        let first = generated(30, timestampMs: 1000)
        let second = generated(30, timestampMs: 2000, seed: 4)
        var assembler = SnapshotAssembler(node: node)
        for message in flusher.messages(first, opensStream: true) {
            let completed = try assembler.add(message.envoyMetrics, receivedAtMs: 1)
        #expect(completed.isEmpty)
        }
        #expect(assembler.openTimestampMs == 1000)
        let secondMessages = flusher.messages(second, opensStream: false)
        let completed = try assembler.add(secondMessages[0].envoyMetrics, receivedAtMs: 1)
        #expect(completed == [expected(first, flusher)])
        #expect(assembler.openTimestampMs == 2000)
    }

    @Test func anEmptyMessageIsAnEmptyFlushAtTheReceiveTime() throws {
        var assembler = SnapshotAssembler(node: node)
        _ = try assembler.add([counterFamily("c", 1, timestampMs: 1000)], receivedAtMs: 1)
        let completed = try assembler.add([], receivedAtMs: 1500)
        #expect(completed.map(\.timestampMs) == [1000, 1500])
        #expect(completed[1].isEmpty)
        #expect(completed[1].node == node)
        #expect(assembler.openTimestampMs == nil)
    }

    @Test func metricsWithoutTimestampJoinTheOpenSnapshotOrTheReceiveTime() throws {
        var assembler = SnapshotAssembler(node: node)
        _ = try assembler.add([counterFamily("a", 1, timestampMs: nil)], receivedAtMs: 700)
        _ = try assembler.add([counterFamily("b", 1, timestampMs: nil)], receivedAtMs: 900)
        let closed = assembler.closeOpenSnapshot()
        let snapshot = try #require(closed)
        #expect(snapshot.timestampMs == 700)
        #expect(snapshot.counters.map(\.name.fullName) == ["a", "b"])
    }

    @Test func aMalformedMessageLeavesTheOpenSnapshotAsItWas() throws {
        var assembler = SnapshotAssembler(node: node)
        _ = try assembler.add([counterFamily("a", 1)], receivedAtMs: 1)
        #expect(throws: MalformedMetricsError.self) {
            _ = try assembler.add([counterFamily("b", 2, timestampMs: 2000), family("u", .untyped) { $0.untyped.value = 1 }], receivedAtMs: 1)
        }
        let closed = assembler.closeOpenSnapshot()
        let snapshot = try #require(closed)
        #expect(snapshot.timestampMs == 1000)
        #expect(snapshot.counters.map(\.name.fullName) == ["a"])
    }

    @Test func theSpecGoldenMessageBecomesItsSnapshot() throws {
        let message = try Envoy_Service_Metrics_V3_StreamMetricsMessage(serializedBytes: GoldenVectors.streamMetricsMessage)
        #expect(message.identifier.node.id == "n1")
        var assembler = SnapshotAssembler(node: NodeIdentity(id: message.identifier.node.id, cluster: message.identifier.node.cluster))
        let completed = try assembler.add(message.envoyMetrics, receivedAtMs: 1)
        #expect(completed.isEmpty)
        let closed = assembler.closeOpenSnapshot()
        let snapshot = try #require(closed)
        #expect(snapshot == MetricSnapshot(
            timestampMs: 1000, node: NodeIdentity(id: "n1", cluster: "c1"),
            counters: [CounterSample(
                name: MetricName(
                    fullName: #"cluster.upstream_rq_total{envoy.cluster_name="svc"}"#, tagExtractedName: "cluster.upstream_rq_total",
                    tags: [Tag(name: "envoy.cluster_name", value: "svc")]),
                value: 5, delta: 5)],
            gauges: [GaugeSample(name: MetricName("server.live"), value: 1)]
        ))
    }
}
