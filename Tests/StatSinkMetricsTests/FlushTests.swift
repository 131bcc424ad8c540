import CoreMetrics
import Foundation
import Logging
import ServiceLifecycle
import StatSink
import StatSinkConfig
import StatSinkMetrics
import StatSinkModel
import StatSinkQueue
import StatSinkTestKit
import Testing

/// Snapshots of a local factory written by `MetricsFlushService` into a real queue file, read back
/// and decoded.
@Suite struct FlushTests {
    let scratch = TemporaryDirectory(prefix: "statsink-metrics")
    var directory: URL { scratch.url }
    let quiet = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
    let factory = StatSinkMetricsFactory(configuration: StatSinkMetricsConfiguration(
        histogramBucketBoundsByLabel: ["rq_time": [1, 10]], quantiles: [0, 0.5, 1]
    ))

    init() throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    func openQueue() throws -> MessageQueue {
        try MessageQueue(configuration: MessageQueueConfiguration(path: directory.appendingPathComponent("queue.db").path), role: .writer)
    }

    /// The decoded JSON metrics of every queued row of `writer`'s stream, oldest first.
    func queuedMetrics(_ queue: MessageQueue, _ writer: SinkWriter) throws -> [[[String: Any]]] {
        try queue.pendingRecords(stream: writer.stream, afterID: 0, limit: 100, maxBytes: 1 << 20).map { record in
            #expect(record.key == Array("edge-17".utf8))
            let object = try #require(try JSONSerialization.jsonObject(with: Data(record.value)) as? [String: Any])
            return try #require(object["metrics"] as? [[String: Any]])
        }
    }

    func recordSomeMetrics() {
        Counter(label: "requests", dimensions: [("method", "GET")], factory: factory).increment(by: 3)
        Meter(label: "in_flight", factory: factory).set(2)
        let timer = Timer(label: "rq_time", factory: factory)
        timer.recordMilliseconds(0.5)
        timer.recordMilliseconds(5)
        timer.recordMilliseconds(20)
    }

    @Test func aSnapshotReachesTheQueueAsEnvoyJSON() throws {
        let queue = try openQueue()
        defer { queue.close() }
        let writer = try SinkWriter(sink: KafkaSinkConfiguration(brokerList: "127.0.0.1:9092", topic: "app-metrics"), queue: queue)
        recordSomeMetrics()
        _ = Counter(label: "never_used", factory: factory)
        let service = MetricsFlushService(factory: factory, writers: [writer], node: node, flushInterval: .seconds(5), logger: quiet)
        service.flush(timestampMs: 1_700_000_000_000)

        let rows = try queuedMetrics(queue, writer)
        try #require(rows.count == 1)
        let metrics = rows[0]
        try #require(metrics.count == 3)
        #expect(metrics[0]["type"] as? String == "counter")
        #expect(metrics[0]["name"] as? String == "requests")
        #expect(metrics[0]["tags"] as? [String: String] == ["method": "GET"])
        #expect(metrics[0]["timestamp_ms"] as? Int64 == 1_700_000_000_000)
        #expect(metrics[0]["value"] as? UInt64 == 3)
        #expect(metrics[0]["delta"] == nil)

        #expect(metrics[1]["type"] as? String == "gauge")
        #expect(metrics[1]["name"] as? String == "in_flight")
        #expect(metrics[1]["tags"] == nil)
        #expect(metrics[1]["value"] as? UInt64 == 2)

        let histogram = metrics[2]
        #expect(histogram["type"] as? String == "histogram")
        #expect(histogram["name"] as? String == "rq_time")
        #expect(histogram["timestamp_ms"] as? Int64 == 1_700_000_000_000)
        #expect(histogram["sample_count"] as? UInt64 == 3)
        #expect(histogram["sample_sum"] as? Double == 25.5)
        let buckets = try #require(histogram["buckets"] as? [[String: Double]])
        #expect(buckets == [["upper_bound": 1, "cumulative_count": 1], ["upper_bound": 10, "cumulative_count": 2]])
        let quantiles = try #require(histogram["quantiles"] as? [[String: Double]])
        #expect(quantiles.map { $0["quantile"] } == [0, 0.5, 1])
        #expect(quantiles.first?["value"] == 0.5)
        #expect(quantiles.last?["value"] == 20)
        let median = try #require(quantiles[1]["value"])
        #expect(abs(median - 5) <= 5 * 0x1p-7)
    }

    @Test func withoutLabelsTheFullNameIsWrittenAndDeltasComeFromTheQueue() throws {
        let queue = try openQueue()
        defer { queue.close() }
        let sink = KafkaSinkConfiguration(brokerList: "127.0.0.1:9092", topic: "app-metrics", reportCountersAsDeltas: true, emitTagsAsLabels: false)
        let writer = try SinkWriter(sink: sink, queue: queue)
        let service = MetricsFlushService(factory: factory, writers: [writer], node: node, flushInterval: .seconds(5), logger: quiet)
        let counter = Counter(label: "requests", dimensions: [("method", "GET"), ("status", "200")], factory: factory)
        counter.increment(by: 3)
        service.flush(timestampMs: 1_000)
        counter.increment(by: 2)
        service.flush(timestampMs: 2_000)

        let rows = try queuedMetrics(queue, writer)
        try #require(rows.count == 2)
        #expect(rows.map { $0.first?["name"] as? String } == ["requests.GET.200", "requests.GET.200"])
        #expect(rows.map { $0.first?["value"] as? UInt64 } == [3, 2])
        #expect(rows.map { $0.first?["delta"] as? Bool } == [true, true])
        #expect(rows.map { $0.first?["tags"] == nil } == [true, true])
    }

    @Test func gracefulShutdownFlushesOneLastSnapshot() async throws {
        let queue = try openQueue()
        defer { queue.close() }
        let writer = try SinkWriter(sink: KafkaSinkConfiguration(brokerList: "127.0.0.1:9092", topic: "app-metrics"), queue: queue)
        // An interval that never elapses in the test: the only flush is the final one.
        let service = MetricsFlushService(factory: factory, writers: [writer], node: node, flushInterval: .seconds(3600), logger: quiet)
        recordSomeMetrics()
        let (started, ready) = AsyncStream.makeStream(of: Void.self)
        let group = ServiceGroup(services: [service, StartedProbe(ready: ready)], logger: quiet)
        async let run: Void = group.run()
        for await _ in started { break }
        await group.triggerGracefulShutdown()
        try await run

        let rows = try queuedMetrics(queue, writer)
        #expect(rows.count == 1)
        #expect(rows.first?.map { $0["name"] as? String } == ["requests", "in_flight", "rq_time"])
    }
}

/// Tells the test that the service group runs, then waits for its graceful shutdown.
struct StartedProbe: Service {
    let ready: AsyncStream<Void>.Continuation

    func run() async throws {
        ready.yield()
        try await gracefulShutdown()
    }
}
