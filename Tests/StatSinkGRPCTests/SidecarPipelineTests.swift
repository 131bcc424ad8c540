import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import ServiceLifecycle
import StatSink
import StatSinkCodec
import StatSinkConfig
import StatSinkKafka
import StatSinkModel
import StatSinkProtobuf
import StatSinkTestKit
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The example of `tools/envoy-sidecar/` and the `statsink run` pipeline it configures.
@Suite("Envoy sidecar example", .serialized)
struct SidecarPipelineTests {
    static let exampleDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("tools/envoy-sidecar")

    @Test func theExampleConfigurationLoads() throws {
        let configuration = try ConfigurationLoader.load(path: Self.exampleDirectory.appendingPathComponent("statsink.yaml").path)
        let source = try #require(configuration.sources.metricsService)
        #expect(source == MetricsServiceSourceConfiguration(
            listen: ListenAddress(host: "127.0.0.1", port: 18000), reportCountersAsDeltas: false,
            maxMessageBytes: 64 << 20, snapshotIdleTimeout: .milliseconds(200)))
        #expect(configuration.sources.synthetic == nil)
        let sink = try #require(configuration.kafkaSinks.first)
        #expect(sink.emitTagsAsLabels && sink.reportCountersAsDeltas && sink.format == .protobuf)
        // The Envoy side points its metrics_service at the same address.
        let envoy = try String(contentsOf: Self.exampleDirectory.appendingPathComponent("envoy.yaml"), encoding: .utf8)
        #expect(envoy.contains("socket_address: {address: 127.0.0.1, port_value: 18000}"))
        #expect(envoy.contains("emit_tags_as_labels: true"))
        #expect(envoy.contains("report_counters_as_deltas: false"))
    }

    @Test func thePipelineOfTheExampleShipsEnvoysFlushesToKafka() async throws {
        let cluster = try KafkaMockCluster(brokerCount: 1)
        defer { cluster.close() }
        try cluster.createTopic(name: "envoy-metrics", partitions: 1)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("statsink-sidecar-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let port = try freePort()
        // The example, pointed at the mock broker, a scratch queue file and a free port.
        let yaml = try String(contentsOf: Self.exampleDirectory.appendingPathComponent("statsink.yaml"), encoding: .utf8)
            .replacingOccurrences(of: "\"kafka1:9092,kafka2:9092\"", with: "\"\(cluster.bootstrapServers)\"")
            .replacingOccurrences(of: "/var/lib/statsink/queue.db", with: directory.appendingPathComponent("queue.db").path)
            .replacingOccurrences(of: "127.0.0.1:18000", with: "127.0.0.1:\(port)")
        let configuration = try ConfigurationLoader.parse(yaml: yaml, fileName: "statsink.yaml")
        // Without the sink's own stats, which would change the bytes (tested on their own).
        let pipeline = try Pipeline(configuration: configuration, shipsOwnStats: false, logger: Logger(label: "test"))
        defer { pipeline.queue.close() }
        let group = ServiceGroup(services: pipeline.services, logger: Logger(label: "test"))
        let running = Task { try await group.run() }
        // The server starts inside the group: an Envoy connecting before it listens would only
        // be retried after gRPC's reconnect backoff, beyond the read below.
        try await waitUntilListening(port: port)

        var generator = EnvoySnapshotGenerator(seed: 9)
        generator.node = NodeIdentity(id: "edge-42", cluster: "edge")
        let first = generator.snapshot(metricCount: 120, timestampMs: 1_764_000_000_000)
        var second = first
        second.timestampMs += 10_000
        for index in second.counters.indices { second.counters[index].value += 3 }
        let envoy = EnvoyMetricsServiceFlusher(emitTagsAsLabels: true, histogramEmitMode: .summaryAndHistogram, batchSize: 1000)

        // The Kafka messages: what the sink's encoder makes of the two flushes, with the deltas
        // statsink computed (the whole value on first sight, then the growth).
        var expectedFirst = first
        for index in expectedFirst.counters.indices { expectedFirst.counters[index].delta = first.counters[index].value }
        var expectedSecond = second
        for index in expectedSecond.counters.indices { expectedSecond.counters[index].delta = 3 }
        let encoder = SnapshotEncoder(options: configuration.kafkaSinks[0].encodingOptions)
        let expected = encoder.encode(expectedFirst, sequence: 1).map(\.value) + encoder.encode(expectedSecond, sequence: 2).map(\.value)

        let consumed = try await withGRPCClient(
            transport: try .http2NIOPosix(target: .ipv4(address: "127.0.0.1", port: Int(port)), transportSecurity: .plaintext)
        ) { client in
            let stream = EnvoyStream.open(client)
            stream.send(envoy.messages(first, opensStream: true))
            stream.send(envoy.messages(second, opensStream: false))
            let messages = try await KafkaTopicReader(bootstrapServers: cluster.bootstrapServers, topic: "envoy-metrics")
                .read(count: expected.count, timeout: .seconds(30))
            await stream.reset()
            return messages
        }
        await group.triggerGracefulShutdown()
        try await running.value
        #expect(fingerprints(consumed.map(\.value)) == fingerprints(expected))
        #expect(consumed.allSatisfy { $0.key == Array("edge-42".utf8) })
    }
}

/// Waits until something accepts TCP connections on loopback `port` (at most 10 s).
func waitUntilListening(port: UInt16) async throws {
    let deadline = ContinuousClock.now.advanced(by: .seconds(10))
    while ContinuousClock.now < deadline {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = port.bigEndian
        let connected = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        close(socket)
        if connected { return }
        try await Task.sleep(for: .milliseconds(20))
    }
    throw POSIXError(.ECONNREFUSED)
}

/// A TCP port on loopback that nothing listens on (the configuration needs a real port).
func freePort() throws -> UInt16 {
    let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(socket) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
            bind(socket, socketAddress, length) == 0 && getsockname(socket, socketAddress, &length) == 0
        }
    }
    guard bound else { throw POSIXError(.EADDRNOTAVAIL) }
    return UInt16(bigEndian: address.sin_port)
}
