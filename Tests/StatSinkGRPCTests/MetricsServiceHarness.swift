import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import GRPCProtobuf
import Logging
import StatSink
import StatSinkCodec
import StatSinkConfig
import StatSinkGRPC
import StatSinkKafka
import StatSinkModel
import StatSinkProtobuf
import StatSinkQueue
import StatSinkTestKit
import Synchronization
import Testing

typealias MetricsClient = Envoy_Service_Metrics_V3_MetricsService.Client<HTTP2ClientTransport.Posix>
typealias StreamMessage = Envoy_Service_Metrics_V3_StreamMetricsMessage

/// Forwards to another sink (if any) and keeps every snapshot, in the order written.
final class RecordingSink: MetricSnapshotSink {
    private let next: (any MetricSnapshotSink)?
    private let recorded = Mutex<[MetricSnapshot]>([])

    init(forwardingTo next: (any MetricSnapshotSink)? = nil) {
        self.next = next
    }

    func write(_ snapshot: MetricSnapshot) async {
        await next?.write(snapshot)
        recorded.withLock { $0.append(snapshot) }
    }

    var snapshots: [MetricSnapshot] { recorded.withLock { $0 } }

    /// Waits until `count` snapshots were written (or `timeout`); returns them all.
    func waitFor(_ count: Int, timeout: Duration = .seconds(20)) async throws -> [MetricSnapshot] {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while snapshots.count < count, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        return snapshots
    }
}

/// A `metrics_service` server writing through a ``SinkWriter`` into a queue file, drained to a
/// mock broker: the whole path of `statsink run` with the gRPC source.
final class MetricsServiceHarness: Sendable {
    let directory: URL
    let cluster: KafkaMockCluster
    let topic = "envoy-metrics"
    let sink: KafkaSinkConfiguration
    let queue: MessageQueue
    let recorder: RecordingSink
    let server: MetricsServiceServer
    private let serverTask: Mutex<Task<Void, any Error>?> = Mutex(nil)
    /// The harness whose queue file and broker this one took over (kept alive with it).
    private let previous: MetricsServiceHarness?

    /// Creates the harness; `counters` is what the Envoys send (`sources.metrics_service.report_counters_as_deltas`).
    init(
        format: SerializationFormat = .json, batchSize: UInt32 = 100, deltas: Bool = false,
        counters: SinkWriter.CounterInput = .cumulative, maxMessageBytes: Int = 64 << 20,
        snapshotIdleTimeout: Duration = .seconds(1), reuse previous: MetricsServiceHarness? = nil
    ) throws {
        self.previous = previous
        if let previous {
            directory = previous.directory
            cluster = previous.cluster
            queue = previous.queue
        } else {
            directory = FileManager.default.temporaryDirectory.appendingPathComponent("statsink-grpc-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            cluster = try KafkaMockCluster(brokerCount: 1)
            try cluster.createTopic(name: topic, partitions: 1)
            queue = try MessageQueue(
                configuration: MessageQueueConfiguration(path: directory.appendingPathComponent("queue.db").path), role: .drainer)
        }
        sink = KafkaSinkConfiguration(
            brokerList: cluster.bootstrapServers, topic: topic, batchSize: batchSize, reportCountersAsDeltas: deltas,
            producerConfig: [ProducerProperty(name: "message.timeout.ms", value: "5000")], bufferFlushTimeoutMs: 5, format: format
        )
        let writer = try SinkWriter(sink: sink, queue: queue)
        recorder = RecordingSink(forwardingTo: SinkWriterGroup(writers: [writer], counters: counters, logger: Logger(label: "test")))
        server = MetricsServiceServer(
            configuration: MetricsServiceServerConfiguration(
                host: "127.0.0.1", port: 0, maxMessageBytes: maxMessageBytes, snapshotIdleTimeout: snapshotIdleTimeout,
                fallbackNode: NodeIdentity(id: "statsink-host")),
            sink: recorder, logger: Logger(label: "test"))
    }

    /// Starts the server; returns its port.
    func start() async throws -> Int {
        let server = server
        serverTask.withLock { $0 = Task { try await server.run() } }
        return try await server.listeningPort()
    }

    /// Stops the server (every stream's open snapshot is written first).
    func stop() async {
        let task = serverTask.withLock { $0 }
        task?.cancel()
        _ = await task?.result
    }

    /// Runs `body` with a client connected to the server (see ``EnvoyStream/open(_:raw:)``).
    func withClient<Result: Sendable>(_ body: (GRPCClient<HTTP2ClientTransport.Posix>) async throws -> Result) async throws -> Result {
        let port = try await server.listeningPort()
        return try await withGRPCClient(
            transport: try .http2NIOPosix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext)
        ) { client in
            try await body(client)
        }
    }

    /// Delivers the whole queue to the broker and reads the topic back.
    func deliverAndRead() async throws -> [ConsumedMessage] {
        let drainer = Drainer(
            stream: QueueStream(topic: topic, brokerList: sink.brokerList), queue: queue, properties: sink.producerProperties,
            configuration: DrainerConfiguration(idlePollInterval: .milliseconds(20), initialBackoff: .milliseconds(50), maxBackoff: .milliseconds(400)),
            logger: Logger(label: "test"))
        let task = Task { try await drainer.run() }
        let deadline = ContinuousClock.now.advanced(by: .seconds(30))
        while try queue.statistics().rows > 0, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        task.cancel()
        try await task.value
        #expect(try queue.statistics().rows == 0, "everything delivered")
        return try await KafkaTopicReader(bootstrapServers: cluster.bootstrapServers, topic: topic).read(timeout: .seconds(20))
    }

    /// The Kafka values the sink's encoder makes of `snapshots`, numbered from `firstSequence`.
    func expectedValues(_ snapshots: [MetricSnapshot], firstSequence: UInt64 = 1) -> [[UInt8]] {
        let encoder = SnapshotEncoder(options: sink.encodingOptions)
        return snapshots.enumerated().flatMap { index, snapshot in
            encoder.encode(snapshot, sequence: firstSequence + UInt64(index)).map(\.value)
        }
    }

    deinit {
        if previous == nil { try? FileManager.default.removeItem(at: directory) }
    }
}

/// One stream the way Envoy drives it: the identifier on its first message only, flushes sent
/// whenever the test says, never a half-close; it ends with a reset (``reset()``) or when the
/// server ends it.
final class EnvoyStream: Sendable {
    private enum Outgoing: Sendable {
        case message(StreamMessage)
        case raw([UInt8])
    }

    private let continuation: AsyncStream<Outgoing>.Continuation
    private let task: Task<RPCError?, Never>

    private init(continuation: AsyncStream<Outgoing>.Continuation, task: Task<RPCError?, Never>) {
        self.continuation = continuation
        self.task = task
    }

    /// Opens a stream through the generated client on `client`, which must outlive it. A `raw`
    /// stream sends bytes (``sendRaw(_:)``) through the generated method descriptor instead.
    static func open(_ client: GRPCClient<HTTP2ClientTransport.Posix>, raw: Bool = false) -> EnvoyStream {
        let (outgoing, continuation) = AsyncStream.makeStream(of: Outgoing.self)
        let task = Task<RPCError?, Never> {
            do {
                if raw {
                    let request = StreamingClientRequest<[UInt8]> { writer in
                        for await item in outgoing {
                            switch item {
                            case .message(let message): try await writer.write(try message.serializedBytes())
                            case .raw(let bytes): try await writer.write(bytes)
                            }
                        }
                        try await Task.sleep(for: .seconds(3600))
                    }
                    _ = try await client.clientStreaming(
                        request: request, descriptor: Envoy_Service_Metrics_V3_MetricsService.Method.StreamMetrics.descriptor,
                        serializer: RawBytesSerializer(),
                        deserializer: ProtobufDeserializer<Envoy_Service_Metrics_V3_StreamMetricsResponse>(),
                        options: .defaults
                    ) { try $0.message }
                } else {
                    _ = try await MetricsClient(wrapping: client).streamMetrics { writer in
                        for await item in outgoing {
                            if case .message(let message) = item { try await writer.write(message) }
                        }
                        // Envoy never half-closes: the stream stays open until it is reset.
                        try await Task.sleep(for: .seconds(3600))
                    }
                }
                return nil
            } catch let error as RPCError {
                return error
            } catch {
                return RPCError(code: .unknown, message: "\(error)")
            }
        }
        return EnvoyStream(continuation: continuation, task: task)
    }

    /// Sends messages on the stream.
    func send(_ messages: [StreamMessage]) {
        for message in messages { continuation.yield(.message(message)) }
    }

    /// Sends bytes as one message, whatever they are (raw streams only).
    func sendRaw(_ bytes: [UInt8]) {
        continuation.yield(.raw(bytes))
    }

    /// Resets the stream, as Envoy's restart or a network failure does.
    func reset() async {
        task.cancel()
        _ = await task.value
    }

    /// How the server ended the stream (`nil`: OK); waits for it.
    func status() async -> RPCError? {
        await task.value
    }
}

/// `length:hash` of each value: comparable in a failure message, unlike the bytes.
func fingerprints(_ values: [[UInt8]]) -> [String] {
    values.map { value in
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in value { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return "\(value.count):\(String(hash, radix: 16))"
    }
}
