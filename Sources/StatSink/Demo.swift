import Foundation
import Logging
import ServiceLifecycle
import StatSinkCodec
import StatSinkConfig
import StatSinkKafka
import StatSinkModel
import StatSinkQueue
import StatSinkSynthetic
import Synchronization

/// `statsink demo`: the whole pipeline with no setup. An in-process Kafka-protocol broker
/// (librdkafka's mock cluster on loopback), the synthetic source, the queue and the drainer;
/// the broker goes down for a while and comes back, and at the end every message is read back
/// from the topic to show that nothing was lost.
public enum Demo {
    /// What the demo does.
    public struct Options: Sendable {
        /// Normal operation before the outage. Default 5 s.
        public var warmUp: Duration = .seconds(5)
        /// How long the broker stays down. Default 10 s.
        public var outage: Duration = .seconds(10)
        /// The flush interval of the synthetic source. Default 1 s.
        public var flushInterval: Duration = .seconds(1)
        /// The synthetic stats. Default: Envoy's typical mix, 700 / 200 / 100.
        public var counters = 700, gauges = 200, histograms = 100
        /// Metrics per Kafka message. Default 100.
        public var batchSize: UInt32 = 100
        /// The format. Default JSON.
        public var format: SerializationFormat = .json
        /// The queue file; default a fresh file in a temporary directory.
        public var queuePath: String?

        /// The defaults.
        public init() {}
    }

    /// What the demo saw.
    public struct Result: Sendable {
        /// Snapshots written to the queue.
        public var snapshots = 0
        /// Messages written to the queue.
        public var messages = 0
        /// Distinct messages read back from the topic.
        public var received = 0
        /// Extra copies read back (at-least-once delivery).
        public var duplicates = 0
        /// Messages written but not read back: must be 0.
        public var lost = 0
        /// Offsets the broker let go before the demo's reader got to them (the mock cluster keeps
        /// about the last 5 MB of a partition); 0 unless the machine is badly overloaded.
        public var unread = 0
    }

    /// Runs the demo, writing progress lines to `output`.
    public static func run(options: Options, logger: Logger, output: @escaping @Sendable (String) -> Void) async throws -> Result {
        let cluster = try KafkaMockCluster(brokerCount: 1)
        defer { cluster.close() }
        let topic = "envoy-metrics"
        try cluster.createTopic(name: topic, partitions: 1)
        let path = options.queuePath ?? FileManager.default.temporaryDirectory
            .appendingPathComponent("statsink-demo-\(ProcessInfo.processInfo.processIdentifier)-\(UInt32.random(in: 0...UInt32.max)).db").path
        // A scratch queue of the demo's own goes when it ends (its disk reserve alone is 16 MiB);
        // one the user named stays, to be read with sqlite3 afterwards.
        defer { if options.queuePath == nil { MessageQueue.removeFiles(atPath: path) } }
        // Read the topic the whole time: the mock broker keeps only the newest 5 MB of a partition
        // (about 17 of the default snapshots), and a slow machine can write more than that.
        let seen = Mutex((identities: Set<String>(), duplicates: 0))
        let follower = try await KafkaTopicFollower.start(bootstrapServers: cluster.bootstrapServers, topic: topic) { message in
            let header = { (name: String) in message.headers.first { $0.name == name }?.value ?? "?" }
            let identity = "\(header("statsink.snapshot_seq"))/\(header("statsink.batch_index"))"
            seen.withLock { if !$0.identities.insert(identity).inserted { $0.duplicates += 1 } }
        }
        output("statsink demo: broker \(cluster.bootstrapServers) (librdkafka \(Librdkafka.version) mock cluster), topic \(topic), queue \(path)")

        let pipeline: (snapshots: Int, messages: Int, statistics: QueueStatistics)
        do {
            pipeline = try await runPipeline(cluster: cluster, topic: topic, path: path, options: options, logger: logger, output: output)
        } catch {
            await follower.stop()
            throw error
        }

        var result = Result()
        (result.snapshots, result.messages) = (pipeline.snapshots, pipeline.messages)
        let caughtUp = await follower.waitUntilCaughtUp(timeout: .seconds(60))
        await follower.stop()
        if !caughtUp { output("the topic could not be read to its end within 60 s") }
        (result.received, result.duplicates) = seen.withLock { ($0.identities.count, $0.duplicates) }
        result.unread = follower.progress.offsetsLost
        result.lost = max(0, result.messages - result.received - result.unread)
        let statistics = pipeline.statistics
        output("""
            done: \(result.snapshots) snapshots, \(result.messages) messages queued; \(result.received) distinct messages \
            in Kafka (+\(result.duplicates) duplicates); lost \(result.lost)\(result.unread > 0 ? " (\(result.unread) let go by the broker before they were read: not checked)" : ""); dead letters \(statistics.deadLetters); \
            queue now \(statistics.rows) rows
            """)
        return result
    }

    /// Runs source and drainer through warm-up, outage and recovery, until the queue is empty;
    /// returns what was written and the queue's final statistics.
    private static func runPipeline(
        cluster: KafkaMockCluster, topic: String, path: String, options: Options, logger: Logger,
        output: @escaping @Sendable (String) -> Void
    ) async throws -> (snapshots: Int, messages: Int, statistics: QueueStatistics) {
        let sink = KafkaSinkConfiguration(
            brokerList: cluster.bootstrapServers, topic: topic, batchSize: options.batchSize,
            producerConfig: [
                ProducerProperty(name: "message.timeout.ms", value: "3000"),
                ProducerProperty(name: "reconnect.backoff.max.ms", value: "500"),
                // The mock broker keeps only the newest 5 MB of a partition; compressed, a long
                // outage's backlog still fits when it drains at once, so every message is read back.
                ProducerProperty(name: "compression.type", value: "lz4"),
            ],
            bufferFlushTimeoutMs: 20, format: options.format
        )
        let queue = try MessageQueue(configuration: MessageQueueConfiguration(path: path), role: .drainer)
        defer { queue.close() }
        let writer = try SinkWriter(sink: sink, queue: queue)
        let drainer = Drainer(
            stream: writer.stream, queue: queue, properties: sink.producerProperties,
            configuration: DrainerConfiguration(idlePollInterval: .milliseconds(50), maxBackoff: .seconds(2)), logger: logger
        )
        let written = Mutex((snapshots: 0, messages: 0))
        let source = SyntheticSourceService(
            source: SyntheticSource(counters: options.counters, gauges: options.gauges, histograms: options.histograms, node: NodeIdentity(id: "demo-node", cluster: "demo")),
            writers: [writer], flushInterval: options.flushInterval, logger: logger
        ) { _, outcomes in
            written.withLock { $0.snapshots += 1; $0.messages += outcomes.reduce(0) { $0 + $1.recordIDs.count } }
        }

        let sourceGroup = ServiceGroup(services: [source], logger: logger)
        let drainerGroup = ServiceGroup(services: [drainer], logger: logger)
        async let sourceRun: Void = try sourceGroup.run()
        async let drainerRun: Void = try drainerGroup.run()

        let clock = ContinuousClock()
        let start = clock.now
        func report(_ phase: String) throws {
            let statistics = try queue.statistics()
            let counts = written.withLock { $0 }
            let age = statistics.oldestEnqueuedAtMs.map { Double(MessageQueue.currentTimeMs() - $0) / 1000 } ?? 0
            let elapsed = Double((clock.now - start).components.seconds)
            output(String(
                format: "t=%3.0fs  %@  snapshots %4d  backlog %5d rows %8.1f KiB  oldest %5.1fs  delivered %6d  retried %5d",
                elapsed, phase, counts.snapshots, statistics.rows, Double(statistics.payloadBytes) / 1024, age,
                drainer.totals.delivered, drainer.totals.retried
            ))
        }
        do {
            for _ in 0..<Int(options.warmUp.components.seconds) {
                try await Task.sleep(for: .seconds(1))
                try report("broker up  ")
            }
            try cluster.setBrokerDown(1)
            output("--- broker down: snapshots keep going to the queue ---")
            for _ in 0..<Int(options.outage.components.seconds) {
                try await Task.sleep(for: .seconds(1))
                try report("broker DOWN")
            }
            try cluster.setBrokerUp(1)
            output("--- broker up: the backlog drains ---")
            // Until the outage's backlog is delivered, then two more seconds. (Not "until the
            // queue is empty": sampled once a second, it may always catch the newest snapshot
            // just written and not yet delivered, and run on for minutes.)
            let backlog = written.withLock { $0.messages }
            var afterDrain = 0
            while afterDrain < 2, clock.now - start < options.warmUp + options.outage + .seconds(120) {
                try await Task.sleep(for: .seconds(1))
                try report("broker up  ")
                if drainer.totals.delivered >= backlog { afterDrain += 1 }
            }
        } catch {
            await sourceGroup.triggerGracefulShutdown()
            await drainerGroup.triggerGracefulShutdown()
            throw error
        }
        // Stop the source first, let the drainer deliver its last snapshot, then stop it.
        await sourceGroup.triggerGracefulShutdown()
        try await sourceRun
        while try queue.statistics().rows > 0, clock.now - start < options.warmUp + options.outage + .seconds(180) {
            try await Task.sleep(for: .milliseconds(100))
        }
        await drainerGroup.triggerGracefulShutdown()
        try await drainerRun
        let counts = written.withLock { $0 }
        return (counts.snapshots, counts.messages, try queue.statistics())
    }
}
