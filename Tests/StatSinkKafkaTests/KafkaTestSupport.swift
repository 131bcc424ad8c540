import Logging
import StatSinkKafka
import Synchronization

/// Quiet: librdkafka's warnings while a broker is down are expected here.
let quietLogger = Logger(label: "statsink.kafka.test") { _ in SwiftLogNoOpLogHandler() }

/// A one-broker mock cluster with one fresh topic.
struct MockKafka {
    let cluster: KafkaMockCluster
    let topic: String

    init(partitions: Int = 3) throws {
        cluster = try KafkaMockCluster(brokerCount: 1)
        topic = "stats-\(UInt32.random(in: 0...UInt32.max))"
        try cluster.createTopic(name: topic, partitions: partitions)
    }

    /// A started producer with fast retries; `config` entries come last and win.
    func producer(_ config: [(name: String, value: String)] = []) throws -> KafkaProducer {
        let fast: [(name: String, value: String)] = [
            ("message.timeout.ms", "5000"),
            ("reconnect.backoff.ms", "10"),
            ("reconnect.backoff.max.ms", "100"),
            ("retry.backoff.ms", "10"),
        ]
        let properties = KafkaProducerProperties(
            brokerList: cluster.bootstrapServers, lingerMs: 5, producerConfig: fast + config
        )
        let producer = try KafkaProducer(properties: properties, logger: quietLogger)
        producer.start()
        return producer
    }

    var reader: KafkaTopicReader {
        KafkaTopicReader(bootstrapServers: cluster.bootstrapServers, topic: topic)
    }

    /// A record whose value starts with its id, so it can be recognised when read back.
    func record(_ id: UInt64, node: String = "node-a", size: Int = 64) -> OutgoingRecord {
        var value = Array("record-\(id);".utf8)
        value += (0..<max(0, size - value.count)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(id)) }
        return OutgoingRecord(
            id: id, topic: topic, key: Array(node.utf8), value: value,
            headers: [
                ("content-type", "application/json"),
                ("statsink.node_id", node),
                ("statsink.snapshot_seq", "7"),
                ("statsink.batch_index", "\(id)"),
                ("statsink.batch_count", "100"),
                ("x-empty", ""),
                ("content-type", "duplicate names keep their place"),
            ]
        )
    }
}

/// Collects a producer's reports from a task of its own, so tests can wait with a timeout.
final class ReportCollector: Sendable {
    private let state = Mutex<(reports: [DeliveryReport], finished: Bool)>(([], false))

    init(_ producer: KafkaProducer) {
        let reports = producer.deliveryReports
        Task {
            for await report in reports {
                self.state.withLock { $0.reports.append(report) }
            }
            self.state.withLock { $0.finished = true }
        }
    }

    var reports: [DeliveryReport] { state.withLock { $0.reports } }
    var finished: Bool { state.withLock { $0.finished } }

    /// Waits until at least `count` reports have arrived or `timeout` has passed; returns them all.
    func waitFor(_ count: Int, timeout: Duration = .seconds(15)) async -> [DeliveryReport] {
        let deadline = ContinuousClock.now + timeout
        while reports.count < count, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
        return reports
    }

    /// Waits until the sequence has ended or `timeout` has passed.
    func waitForEnd(timeout: Duration = .seconds(15)) async -> (reports: [DeliveryReport], finished: Bool) {
        let deadline = ContinuousClock.now + timeout
        while !finished, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
        return state.withLock { ($0.reports, $0.finished) }
    }
}

extension DeliveryReport {
    var isDelivered: Bool {
        if case .delivered = outcome { return true }
        return false
    }
}

extension ConsumedMessage {
    func header(_ name: String) -> String? {
        headers.first { $0.name == name }?.value
    }
}

/// Keeps what is logged, to check that librdkafka's own logs and errors reach our logger.
final class CapturingLogHandler: LogHandler, Sendable {
    private let entries = Mutex<[(level: Logger.Level, message: String, metadata: Logger.Metadata)]>([])

    var messages: [(level: Logger.Level, message: String, metadata: Logger.Metadata)] {
        entries.withLock { $0 }
    }

    var logLevel: Logger.Level {
        get { .trace }
        set {}  // keeps everything
    }

    var metadata: Logger.Metadata {
        get { [:] }
        set {}
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { nil }
        set {}
    }

    func log(event: LogEvent) {
        entries.withLock { $0.append((event.level, "\(event.message)", event.metadata ?? [:])) }
    }
}
