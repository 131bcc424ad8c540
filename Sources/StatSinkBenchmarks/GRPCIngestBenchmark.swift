import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import StatSink
import StatSinkCodec
import StatSinkConfig
import StatSinkGRPC
import StatSinkModel
import StatSinkProtobuf
import StatSinkQueue
import StatSinkSynthetic
import StatSinkTestKit
import Synchronization

/// Issue 4: ingest throughput of the gRPC `metrics_service` server, in MetricFamily/s, end to end
/// into the queue.
///
/// Envoy-like clients on loopback stream pre-serialized flushes (a 10k-stat snapshot: 70 %
/// counters, 20 % gauges, 10 % histograms, tags as labels, `SUMMARY_AND_HISTOGRAM`,
/// `batch_size` 1000: 11,000 families in 11 messages per flush, each flush with its own
/// timestamp) as fast as the server takes them; the clock stops when every flush is committed
/// to the queue file (the server answers a half-closed stream only after its last write). Next to
/// it, measured in the same run on the same bytes: the server's decoding and assembling
/// in-process (no gRPC, no queue), writing the assembled snapshots through ``SinkWriter`` (no
/// gRPC, no decoding), and for reference swift-protobuf's generated messages decoding the bytes.
struct GRPCIngestBenchmark {
    /// One measured path.
    struct Row {
        var path: String
        var streams: Int
        var families: Int
        var seconds: Double
        /// CPU-seconds of this process (client and server) and of every other process.
        var cpu: CPUTime?
        var familiesPerSecond: Double { Double(families) / seconds }
    }

    /// Flushes per stream.
    let flushes: Int
    /// Where the queue files go; removed afterwards.
    let directory: URL
    let sink = KafkaSinkConfiguration(brokerList: "bench:9092", topic: "envoy-metrics", batchSize: 500, format: .protobuf)
    let envoy = EnvoyMetricsServiceFlusher(emitTagsAsLabels: true, histogramEmitMode: .summaryAndHistogram, batchSize: 1000)

    /// The serialized messages of `flushes` flushes of one Envoy, and their family count.
    func envoyMessages(node: String) -> (messages: [[UInt8]], families: Int) {
        var source = SyntheticSource(counters: 7_000, gauges: 2_000, histograms: 1_000, node: NodeIdentity(id: node, cluster: "edge"))
        var messages: [[UInt8]] = []
        var families = 0
        for flush in 0..<flushes {
            let snapshot = source.nextSnapshot(timestampMs: 1_764_000_000_000 + Int64(flush) * 10_000)
            for message in envoy.messages(snapshot, opensStream: flush == 0) {
                families += message.envoyMetrics.count
                messages.append(try! message.serializedBytes())  // swift-protobuf cannot fail on a valid message
            }
        }
        return (messages, families)
    }

    func run(streamCounts: [Int]) async throws -> [Row] {
        let logger = Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() })
        let inputs = (0..<(streamCounts.max() ?? 1)).map { envoyMessages(node: "edge-\($0)") }
        var rows: [Row] = []

        // Reference: swift-protobuf's generated messages (what the server's decoder replaces).
        let clock = ContinuousClock()
        var decoded = 0
        let generatedTime = try clock.measure {
            for bytes in inputs[0].messages {
                decoded += try Envoy_Service_Metrics_V3_StreamMetricsMessage(serializedBytes: bytes).envoyMetrics.count
            }
        }
        rows.append(Row(path: "reference: swift-protobuf generated messages, decoding alone", streams: 1, families: decoded, seconds: generatedTime.seconds))

        // Baseline 1: the server's decoding and assembly, in-process.
        var assembled: [MetricSnapshot] = []
        let decodeTime = try clock.measure {
            var assembler = SnapshotAssembler(node: NodeIdentity(id: "edge-0"))
            for bytes in inputs[0].messages {
                let message = try bytes.withUnsafeBytes { try DecodedMetricsMessage(serializedBytes: $0) }
                assembled += assembler.add(message, receivedAtMs: 0)
            }
            if let last = assembler.closeOpenSnapshot() { assembled.append(last) }
        }
        rows.append(Row(path: "decode + assemble in-process (no gRPC, no queue)", streams: 1, families: inputs[0].families, seconds: decodeTime.seconds))

        // Baseline 2: the assembled snapshots through SinkWriter (encode + one commit each).
        try withQueue("writer") { queue in
            let writer = try SinkWriter(sink: sink, queue: queue)
            let time = try clock.measure { for snapshot in assembled { try writer.write(snapshot) } }
            rows.append(Row(path: "SinkWriter.write of the assembled snapshots (no gRPC)", streams: 1, families: inputs[0].families, seconds: time.seconds))
        }

        // The product path: gRPC over loopback into the queue, 1..n concurrent streams.
        for streams in streamCounts {
            let start = CPUTime.now()
            let seconds = try await measureServer(inputs: Array(inputs.prefix(streams)), logger: logger)
            rows.append(Row(
                path: "gRPC server end to end into the queue", streams: streams, families: inputs.prefix(streams).map(\.families).reduce(0, +),
                seconds: seconds, cpu: CPUTime.now().since(start)))
        }
        return rows
    }

    private func measureServer(inputs: [(messages: [[UInt8]], families: Int)], logger: Logger) async throws -> Double {
        let path = directory.appendingPathComponent("grpc-\(inputs.count).db").path
        defer { EnqueueBenchmark.removeDatabase(path) }
        let queue = try MessageQueue(configuration: MessageQueueConfiguration(path: path, maxBytes: 64 << 30), role: .writer)
        defer { queue.close() }
        let group = SinkWriterGroup(writers: [try SinkWriter(sink: sink, queue: queue)], counters: .cumulative, logger: logger)
        let server = MetricsServiceServer(
            configuration: MetricsServiceServerConfiguration(
                host: "127.0.0.1", port: 0, maxMessageBytes: 64 << 20, snapshotIdleTimeout: .milliseconds(200),
                fallbackNode: NodeIdentity(id: "bench")),
            sink: group, logger: logger)
        let serving = Task { try await server.run() }
        defer { serving.cancel() }
        let port = try await server.listeningPort()
        let transport = try HTTP2ClientTransport.Posix(
            target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext,
            config: .defaults { $0.http2.targetWindowSize = 8 << 20 })
        return try await withGRPCClient(transport: transport) { client in
            let clock = ContinuousClock()
            let start = clock.now
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                for input in inputs {
                    tasks.addTask {
                        let request = StreamingClientRequest<[UInt8]> { writer in try await writer.write(contentsOf: input.messages) }
                        // Half-closed at the end, so the answer comes once the last flush is committed.
                        _ = try await client.clientStreaming(
                            request: request, descriptor: Envoy_Service_Metrics_V3_MetricsService.Method.StreamMetrics.descriptor,
                            serializer: RawBytesSerializer(), deserializer: GRPCProtobufResponseDeserializer(), options: .defaults
                        ) { try $0.message }
                    }
                }
                try await tasks.waitForAll()
            }
            let seconds = (clock.now - start).seconds
            let committed = try queue.statistics().rows
            precondition(committed > 0, "nothing reached the queue")
            return seconds
        }
    }

    private func withQueue(_ name: String, _ body: (MessageQueue) throws -> Void) throws {
        let path = directory.appendingPathComponent("grpc-\(name).db").path
        defer { EnqueueBenchmark.removeDatabase(path) }
        let queue = try MessageQueue(configuration: MessageQueueConfiguration(path: path, maxBytes: 64 << 30), role: .writer)
        defer { queue.close() }
        try body(queue)
    }

    /// The server's decoding and assembly alone in a loop, for `perf record`.
    func profileDecoding(seconds: Double) throws {
        let input = envoyMessages(node: "edge-0")
        let deadline = ContinuousClock.now.advanced(by: .milliseconds(Int(seconds * 1000)))
        var snapshots = 0
        while ContinuousClock.now < deadline {
            var assembler = SnapshotAssembler(node: NodeIdentity(id: "edge-0"))
            for bytes in input.messages {
                let message = try bytes.withUnsafeBytes { try DecodedMetricsMessage(serializedBytes: $0) }
                snapshots += assembler.add(message, receivedAtMs: 0).count
            }
        }
        print("assembled \(snapshots) snapshots")
    }

    /// Prints the table.
    static func report(_ rows: [Row], flushes: Int) {
        print("gRPC metrics_service ingest (Envoy-like flushes of 10k stats = 11,000 MetricFamily in 11 messages, \(flushes) per stream;")
        print("PROTOBUF Kafka sink, batch_size 500; queue durability normal). Target: 200k MetricFamily/s end to end.")
        print("CPU-s: this process (client and server together) / every other process, over the phase.")
        print("| path | streams | MetricFamily | s | MetricFamily/s | CPU-s | other CPU-s |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for row in rows {
            let cpu = row.cpu.map { [String(format: "%.2f", $0.processSeconds), String(format: "%.2f", $0.otherSeconds)] } ?? ["", ""]
            print("| \(row.path) | \(row.streams) | \(row.families) | \(String(format: "%.3f", row.seconds)) | \(String(format: "%.0f", row.familiesPerSecond)) | \(cpu[0]) | \(cpu[1]) |")
        }
        if rows.contains(where: { ($0.cpu?.otherSeconds ?? 0) > 0.2 * $0.seconds }) {
            print("warning: other processes used the CPU during the gRPC phases; figures are lower than on a quiet machine")
        }
    }
}

/// The server's empty answer, decoded.
struct GRPCProtobufResponseDeserializer: MessageDeserializer {
    func deserialize<Bytes: GRPCContiguousBytes>(_ serializedMessageBytes: Bytes) throws -> Envoy_Service_Metrics_V3_StreamMetricsResponse {
        try serializedMessageBytes.withUnsafeBytes { try Envoy_Service_Metrics_V3_StreamMetricsResponse(serializedBytes: Array($0)) }
    }
}
