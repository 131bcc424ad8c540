import Foundation
import GRPCCore
import Logging
import ServiceLifecycle
import StatSink
import StatSinkCodec
import StatSinkGRPC
import StatSinkKafka
import StatSinkModel
import StatSinkProtobuf
import StatSinkQueue
import StatSinkTestKit
import Testing

/// Envoy-like clients of the generated stubs against the server, end to end through the queue
/// and the mock broker.
@Suite("metrics_service server, end to end", .serialized)
struct MetricsServiceServerTests {
    static let startMs: Int64 = 1_764_000_000_000

    func snapshot(_ metrics: Int, node: String = "edge-17", flush: Int = 0, seed: UInt64 = 11) -> MetricSnapshot {
        var generator = EnvoySnapshotGenerator(seed: seed)
        generator.node = NodeIdentity(id: node, cluster: "edge")
        return generator.snapshot(metricCount: metrics, timestampMs: Self.startMs + Int64(flush) * 1000)
    }

    /// The same stats one flush later: every counter grew by `growth`.
    func later(_ snapshot: MetricSnapshot, flushes: Int = 1, growth: UInt64 = 7) -> MetricSnapshot {
        var next = snapshot
        next.timestampMs += Int64(flushes) * 1000
        for index in next.counters.indices {
            next.counters[index].value += growth * UInt64(flushes)
            next.counters[index].delta = growth
        }
        return next
    }

    @Test("Envoy's flushes arrive in Kafka as Envoy's Kafka sink would write them", arguments: SerializationFormat.allCases)
    func flushesArriveAsEnvoysKafkaSinkWouldWriteThem(format: SerializationFormat) async throws {
        let harness = try MetricsServiceHarness(format: format, batchSize: 40)
        _ = try await harness.start()
        let first = snapshot(300)
        let second = later(first)
        // Envoy with tags as labels, the default SUMMARY_AND_HISTOGRAM, 50 families per message.
        let envoy = EnvoyMetricsServiceFlusher(emitTagsAsLabels: true, batchSize: 50)
        try await harness.withClient { client in
            let stream = EnvoyStream.open(client)
            stream.send(envoy.messages(first, opensStream: true))
            stream.send(envoy.messages(second, opensStream: false))
            // No half-close: the second flush is written once the stream has been quiet.
            let written = try await harness.recorder.waitFor(2)
            #expect(written.count == 2)
            await stream.reset()
        }
        await harness.stop()
        let consumed = try await harness.deliverAndRead()
        #expect(fingerprints(consumed.map(\.value)) == fingerprints(harness.expectedValues([first, second])))
        #expect(consumed.allSatisfy { $0.key == Array("edge-17".utf8) })
        #expect(consumed.first?.headers.first { $0.name == "statsink.snapshot_time_ms" }?.value == String(Self.startMs))
    }

    @Test func aSummaryAndHistogramPairIsOneKafkaHistogram() async throws {
        let harness = try MetricsServiceHarness(format: .json)
        _ = try await harness.start()
        let statistics = HistogramStatistics(
            sampleCount: 3, sampleSum: 33, cumulativeCounts: [0, 1, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3],
            quantileValues: [1, 1.5, 2, 16, 24, 27, 29.5, 29.75, 29.95, 30])
        let histogram = MetricSnapshot(
            timestampMs: Self.startMs, node: NodeIdentity(id: "edge-17"),
            histograms: [HistogramSample(
                name: MetricName(
                    fullName: "cluster.svc.upstream_rq_time", tagExtractedName: "cluster.upstream_rq_time",
                    tags: [Tag(name: "envoy.cluster_name", value: "svc")]),
                statistics: statistics)])
        // One family per message: the SUMMARY and the HISTOGRAM arrive separately.
        let envoy = EnvoyMetricsServiceFlusher(emitTagsAsLabels: true, histogramEmitMode: .summaryAndHistogram, batchSize: 1)
        let messages = envoy.messages(histogram, opensStream: true)
        #expect(messages.map { $0.envoyMetrics.map(\.type) } == [[.summary], [.histogram]])
        try await harness.withClient { client in
            let stream = EnvoyStream.open(client)
            stream.send(messages)
            _ = try await harness.recorder.waitFor(1)
            await stream.reset()
        }
        await harness.stop()
        let consumed = try await harness.deliverAndRead()
        let buckets = zip(HistogramStatistics.defaultBucketBounds, statistics.cumulativeCounts)
            .map { #"{"upper_bound":\#(json($0)),"cumulative_count":\#($1)}"# }
        let quantiles = zip(HistogramStatistics.supportedQuantiles, statistics.quantileValues)
            .map { #"{"quantile":\#(json($0)),"value":\#(json($1))}"# }
        let expected = #"{"metrics":[{"type":"histogram","name":"cluster.upstream_rq_time","tags":{"envoy.cluster_name":"svc"},"#
            + #""timestamp_ms":\#(Self.startMs),"sample_count":3,"sample_sum":33,"#
            + #""buckets":[\#(buckets.joined(separator: ","))],"quantiles":[\#(quantiles.joined(separator: ","))]}]}"#
        #expect(consumed.map { String(decoding: $0.value, as: UTF8.self) } == [expected])
    }

    @Test func severalEnvoysAtOnceKeepTheirNodesAndDeltasApart() async throws {
        // Kafka wants deltas, Envoy sends cumulative values: deltas are per node and series.
        let harness = try MetricsServiceHarness(batchSize: 0, deltas: true)
        _ = try await harness.start()
        let nodes = ["edge-1", "edge-2", "edge-3"]
        // The same stat names on every node, different values.
        let firsts = nodes.enumerated().map { index, node in snapshot(40, node: node, seed: UInt64(20 + index)) }
        let envoy = EnvoyMetricsServiceFlusher(emitTagsAsLabels: true, batchSize: 9)
        try await harness.withClient { client in
            let streams = nodes.map { _ in EnvoyStream.open(client) }
            for (stream, first) in zip(streams, firsts) { stream.send(envoy.messages(first, opensStream: true)) }
            for (stream, first) in zip(streams, firsts) { stream.send(envoy.messages(later(first), opensStream: false)) }
            _ = try await harness.recorder.waitFor(6)
            for stream in streams { await stream.reset() }
        }
        await harness.stop()
        let written = harness.recorder.snapshots
        #expect(written.count == 6)
        let consumed = try await harness.deliverAndRead()
        #expect(consumed.count == 6)
        for (node, first) in zip(nodes, firsts) {
            let values = consumed.filter { $0.key == Array(node.utf8) }.map { try? JSONSerialization.jsonObject(with: Data($0.value)) as? [String: Any] }
            #expect(values.count == 2)
            let counters = values.map { value in
                ((value?["metrics"] as? [[String: Any]]) ?? []).filter { $0["type"] as? String == "counter" }.map { $0["value"] as? Int }
            }
            // First sight: the whole value; then the growth since the previous flush.
            #expect(counters.first == first.counters.map { Int($0.value) }, "node \(node)")
            #expect(counters.last == first.counters.map { _ in 7 }, "node \(node)")
        }
    }

    @Test func aResetStreamReconnectsAndDeltasSurviveARestart() async throws {
        let harness = try MetricsServiceHarness(batchSize: 0, deltas: true)
        _ = try await harness.start()
        let envoy = EnvoyMetricsServiceFlusher(batchSize: 0)
        let first = snapshot(20)
        try await harness.withClient { client in
            let stream = EnvoyStream.open(client)
            stream.send(envoy.messages(first, opensStream: true))
            _ = try await harness.recorder.waitFor(1)
            await stream.reset()
            // A new stream after the reset: the identifier again.
            let again = EnvoyStream.open(client)
            again.send(envoy.messages(later(first), opensStream: true))
            _ = try await harness.recorder.waitFor(2)
            await again.reset()
        }
        await harness.stop()
        // statsink restarts: a new writer loads the stored counter values from the queue file.
        let restarted = try MetricsServiceHarness(batchSize: 0, deltas: true, reuse: harness)
        _ = try await restarted.start()
        var reset = later(first, flushes: 3)
        reset.counters[0].value = 3  // Envoy restarted: a smaller value is a reset
        try await restarted.withClient { client in
            let stream = EnvoyStream.open(client)
            stream.send(envoy.messages(later(first, flushes: 2), opensStream: true))
            stream.send(envoy.messages(reset, opensStream: false))
            _ = try await restarted.recorder.waitFor(2)
            await stream.reset()
        }
        await restarted.stop()
        let consumed = try await restarted.deliverAndRead()
        let deltas = consumed.map { message in
            let object = try? JSONSerialization.jsonObject(with: Data(message.value)) as? [String: Any]
            return ((object?["metrics"] as? [[String: Any]]) ?? []).filter { $0["type"] as? String == "counter" }.compactMap { $0["value"] as? Int }
        }
        #expect(deltas.count == 4)
        #expect(deltas[0] == first.counters.map { Int($0.value) })
        #expect(deltas[1] == Array(repeating: 7, count: first.counters.count))
        #expect(deltas[2] == Array(repeating: 7, count: first.counters.count), "relative to the value stored before the restart")
        #expect(deltas[3] == [3] + Array(repeating: 7, count: first.counters.count - 1))
    }

    @Test func messagesLargerThan4MiBAreTaken() async throws {
        let harness = try MetricsServiceHarness(format: .protobuf, batchSize: 5_000)
        _ = try await harness.start()
        var generator = EnvoySnapshotGenerator(seed: 5)
        generator.counterShare = 1
        let large = generator.snapshot(metricCount: 60_000, timestampMs: Self.startMs)
        let messages = EnvoyMetricsServiceFlusher(emitTagsAsLabels: true).messages(large, opensStream: true)
        #expect(messages.count == 1)
        let size = try (messages[0].serializedBytes() as [UInt8]).count
        #expect(size > 4 << 20)
        try await harness.withClient { client in
            let stream = EnvoyStream.open(client)
            stream.send(messages)
            _ = try await harness.recorder.waitFor(1, timeout: .seconds(60))
            await stream.reset()
        }
        await harness.stop()
        #expect(harness.recorder.snapshots.first?.counters.count == 60_000)
        let expected = fingerprints(harness.expectedValues([large]))
        let queued = try harness.queue.pendingRecords(
            stream: QueueStream(topic: harness.topic, brokerList: harness.sink.brokerList), afterID: 0, limit: 100, maxBytes: 64 << 20)
        #expect(fingerprints(queued.map(\.value)) == expected)
        // The mock broker keeps about 5 MB per partition: the oldest of these 7 MB are gone.
        let consumed = try await harness.deliverAndRead()
        #expect(!consumed.isEmpty)
        #expect(fingerprints(consumed.map(\.value)) == Array(expected.suffix(consumed.count)))
    }

    @Test func aMessageAboveTheLimitEndsOnlyItsStream() async throws {
        let harness = try MetricsServiceHarness(maxMessageBytes: 64 << 10)
        _ = try await harness.start()
        let envoy = EnvoyMetricsServiceFlusher(emitTagsAsLabels: true)
        try await harness.withClient { client in
            let tooLarge = EnvoyStream.open(client)
            tooLarge.send(envoy.messages(snapshot(2_000), opensStream: true))
            // The transport resets the stream (grpc-swift-nio-transport sends no status for it).
            let tooLargeStatus = await tooLarge.status()
            #expect([.resourceExhausted, .unavailable, .cancelled].contains(tooLargeStatus?.code), "\(String(describing: tooLargeStatus))")
            let fine = EnvoyStream.open(client)
            fine.send(envoy.messages(snapshot(20), opensStream: true))
            let written = try await harness.recorder.waitFor(1)
            #expect(written.count == 1)
            await fine.reset()
        }
        await harness.stop()
    }

    @Test func malformedInputEndsOnlyItsStreamWithInvalidArgument() async throws {
        let harness = try MetricsServiceHarness()
        _ = try await harness.start()
        let envoy = EnvoyMetricsServiceFlusher(emitTagsAsLabels: true, batchSize: 10)
        let healthy = snapshot(30, node: "healthy")
        try await harness.withClient { client in
            let good = EnvoyStream.open(client)
            good.send(envoy.messages(healthy, opensStream: true))

            let garbage = EnvoyStream.open(client, raw: true)
            garbage.sendRaw([0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x12, 0x99])
            let garbageStatus = await garbage.status()
            #expect(garbageStatus?.code == .invalidArgument)

            let anonymous = EnvoyStream.open(client)
            anonymous.send(envoy.messages(snapshot(5, node: "anonymous"), opensStream: false))
            let anonymousStatus = await anonymous.status()
            #expect(anonymousStatus?.code == .invalidArgument)
            #expect(anonymousStatus?.message.contains("identifier.node") == true)

            var untyped = envoy.messages(snapshot(5, node: "untyped"), opensStream: true)
            untyped[0].envoyMetrics[0].type = .untyped
            let odd = EnvoyStream.open(client)
            odd.send(untyped)
            let oddStatus = await odd.status()
            #expect(oddStatus?.code == .invalidArgument)
            #expect(oddStatus?.message.contains("UNTYPED") == true)

            // The good stream went on all along.
            good.send(envoy.messages(later(healthy), opensStream: false))
            let written = try await harness.recorder.waitFor(2)
            #expect(written.map(\.node.id) == ["healthy", "healthy"])
            await good.reset()
        }
        await harness.stop()
        let consumed = try await harness.deliverAndRead()
        #expect(fingerprints(consumed.map(\.value)) == fingerprints(harness.expectedValues([healthy, later(healthy)])))
    }

    @Test func theLastFlushIsWrittenWhenTheStreamGoesQuiet() async throws {
        let harness = try MetricsServiceHarness(snapshotIdleTimeout: .milliseconds(300))
        _ = try await harness.start()
        let envoy = EnvoyMetricsServiceFlusher(batchSize: 5)
        try await harness.withClient { client in
            let stream = EnvoyStream.open(client)
            let sent = ContinuousClock.now
            stream.send(envoy.messages(snapshot(40), opensStream: true))
            let written = try await harness.recorder.waitFor(1, timeout: .seconds(5))
            let waited = ContinuousClock.now - sent
            #expect(written.count == 1)
            #expect(written.first?.metricCount == 40)
            #expect(waited >= .milliseconds(300), "not before the idle timeout")
            #expect(waited < .seconds(3), "not a whole flush interval later")
            await stream.reset()
        }
        await harness.stop()
    }

    @Test func anEmptyNodeIDFallsBackToStatsinksOwn() async throws {
        let harness = try MetricsServiceHarness()
        _ = try await harness.start()
        try await harness.withClient { client in
            let stream = EnvoyStream.open(client)
            stream.send(EnvoyMetricsServiceFlusher().messages(snapshot(3, node: ""), opensStream: true))
            let written = try await harness.recorder.waitFor(1)
            #expect(written.first?.node.id == "statsink-host")
            await stream.reset()
        }
        await harness.stop()
    }

    @Test func gracefulShutdownWritesOpenSnapshotsAndEndsStreamsUnavailable() async throws {
        let harness = try MetricsServiceHarness(snapshotIdleTimeout: .seconds(60))
        let group = ServiceGroup(services: [harness.server], logger: Logger(label: "test"))
        let running = Task { try await group.run() }
        let port = try await harness.server.listeningPort()
        #expect(port > 0)
        try await harness.withClient { client in
            let stream = EnvoyStream.open(client)
            stream.send(EnvoyMetricsServiceFlusher().messages(snapshot(10), opensStream: true))
            // Not written yet: the idle timeout is long and no next flush comes.
            try await Task.sleep(for: .milliseconds(500))
            #expect(harness.recorder.snapshots.isEmpty)
            await group.triggerGracefulShutdown()
            #expect(await stream.status()?.code == .unavailable)
        }
        try await running.value
        #expect(harness.recorder.snapshots.map(\.metricCount) == [10])
    }
}

/// A double as the JSON writer spells the simple values of these tests.
private func json(_ value: Double) -> String {
    value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
}
