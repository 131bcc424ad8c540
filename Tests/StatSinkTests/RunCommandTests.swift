import Foundation
import StatSinkKafka
import StatSinkTestKit
import Testing

/// `statsink run` as a real process against the mock broker (which serves any process over TCP).
@Suite("statsink run", .serialized)
struct RunCommandTests {
    @Test func runsUntilSIGTERMThenStopsGracefullyWithEverythingAccountedFor() async throws {
        let cluster = try KafkaMockCluster(brokerCount: 1)
        defer { cluster.close() }
        try cluster.createTopic(name: "envoy-metrics", partitions: 1)
        let scratch = TemporaryDirectory(prefix: "statsink-run")
        defer { withExtendedLifetime(scratch) {} }
        let directory = scratch.url
        let queuePath = directory.appendingPathComponent("queue.db").path
        let configPath = directory.appendingPathComponent("statsink.yaml").path
        let adminPort = try HTTP.freePort()
        try """
            node: {id: run-test, cluster: test}
            stats_flush_interval: 200ms
            stats_sinks:
              - name: envoy.stat_sinks.kafka
                typed_config:
                  "@type": type.googleapis.com/envoy.extensions.stat_sinks.kafka.v3.KafkaStatsSinkConfig
                  broker_list: "\(cluster.bootstrapServers)"
                  topic: envoy-metrics
                  batch_size: 20
                  buffer_flush_timeout_ms: 5
            buffer: {path: "\(queuePath)"}
            sources:
              synthetic: {counters: 35, gauges: 10, histograms: 5}
            admin: {listen: "127.0.0.1:\(adminPort)"}
            """.write(toFile: configPath, atomically: false, encoding: .utf8)

        let process = Process()
        process.executableURL = CheckConfigCommandTests.statsink
        process.arguments = ["run", "--config", configPath]
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        try await Task.sleep(for: .seconds(2.5))
        #expect(process.isRunning)
        // The admin server of `admin.listen`.
        #expect(try HTTP.request(port: adminPort, path: "/healthz").status == 200)
        let metrics = try HTTP.request(port: adminPort, path: "/metrics")
        #expect(metrics.status == 200)
        #expect(metrics.body.contains("# TYPE statsink_delivered_total counter"))
        #expect(metrics.body.contains("statsink_drainer_running{stream=\"envoy-metrics@\(cluster.bootstrapServers)\"} 1"))
        process.terminate()  // SIGTERM
        let deadline = ContinuousClock.now.advanced(by: .seconds(10))
        while process.isRunning, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        #expect(!process.isRunning, "stops within the grace period")
        if process.isRunning { process.interrupt() }
        process.waitUntilExit()
        let log = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 0, "\(log.suffix(2000))")

        // Every message written is either still queued or was delivered; nothing else.
        let written = Int(try SQLiteShell.run(queuePath, "SELECT enqueued_rows FROM streams").first ?? "") ?? -1
        let delivered = Int(try SQLiteShell.run(queuePath, "SELECT delivered_rows FROM streams").first ?? "") ?? -1
        let queued = Int(try SQLiteShell.run(queuePath, "SELECT count(*) FROM messages").first ?? "") ?? -1
        #expect(written >= 10, "several snapshots of 3 messages were written")
        #expect(delivered + queued == written)
        let consumed = try await KafkaTopicReader(bootstrapServers: cluster.bootstrapServers, topic: "envoy-metrics").read(timeout: .seconds(20))
        let identities = Set(consumed.map { message in
            message.headers.filter { $0.name == "statsink.snapshot_seq" || $0.name == "statsink.batch_index" }.map(\.value).joined(separator: "/")
        })
        #expect(identities.count == delivered)
        #expect(consumed.allSatisfy { $0.key == Array("run-test".utf8) })
    }
}
