import Foundation
import StatSinkCodec
import StatSinkKafka
import StatSinkQueue
import StatSinkSynthetic
import StatSinkTestKit

/// Runs `statsink run` under load while its broker (another process) goes down and up in random
/// cycles, with retriable produce errors injected while it is up and poison rows (larger than
/// `message.max.bytes`) slipped into the queue file by a second writer; then checks the topic.
///
/// Outages are longer than the producer's `message.timeout.ms`, so librdkafka gives rows back as
/// failed and the drainer's retry path is what keeps them. Every committed message must arrive
/// except the poison rows, and exactly those must be dead letters.
struct OutageHarness {
    var cycles: Int
    var seed: UInt64
    var outage: ClosedRange<Double>
    var uptime: ClosedRange<Double>
    var directory: URL
    var verbose: Bool

    static let topic = "statsink-outage"
    /// Small snapshots (45 metrics in 9 messages), compressed with lz4: the mock broker keeps only
    /// the last 5 MB of a partition, and the backlog an outage leaves must reach the harness's
    /// reader before that, even when other work slows the reader down. (librdkafka checks
    /// `message.max.bytes` before compressing, so the poison rows stay too large.)
    static let batchSize = 5
    static let messageTimeoutMs = 2000
    static let retriableErrors = ["NOT_ENOUGH_REPLICAS", "REQUEST_TIMED_OUT", "NOT_LEADER_FOR_PARTITION", "LEADER_NOT_AVAILABLE"]

    func run() async throws -> Bool {
        var random = SplitMix64(seed: seed)
        func uniform(_ range: ClosedRange<Double>) -> Double {
            range.lowerBound + Double(random.next() % 1_000_000) / 1_000_000 * (range.upperBound - range.lowerBound)
        }
        let broker = try MockBrokerProcess(topics: [(Self.topic, 1)])
        defer { broker.stop() }
        let queuePath = directory.appendingPathComponent("queue.db").path
        let producerConfig = ["message.timeout.ms": "\(Self.messageTimeoutMs)", "compression.type": "lz4"]
        let loaded = try SinkUnderTest.writeConfiguration(
            in: directory, name: "load.yaml", broker: broker.bootstrapServers, topic: Self.topic, queuePath: queuePath,
            batchSize: Self.batchSize, synthetic: (counters: 30, gauges: 10, histograms: 5), producerConfig: producerConfig
        )
        let drainOnly = try SinkUnderTest.writeConfiguration(
            in: directory, name: "drain.yaml", broker: broker.bootstrapServers, topic: Self.topic, queuePath: queuePath,
            batchSize: Self.batchSize, synthetic: nil, producerConfig: producerConfig
        )
        let follower = try await TopicFollower.start(bootstrapServers: broker.bootstrapServers, topic: Self.topic)
        let sink = try SinkUnderTest(configuration: loaded, log: directory.appendingPathComponent("run.log"))
        try await sink.waitUntilRunning()
        // A second writer on the same file, as an app writing through the library would be.
        let writer = try MessageQueue(configuration: MessageQueueConfiguration(path: queuePath, maxBytes: 4 << 30), role: .writer)
        defer { writer.close() }
        let stream = QueueStream(topic: Self.topic, brokerList: broker.bootstrapServers)

        var poisonRows = 0
        var injectedErrors = 0
        var outageSeconds = 0.0
        var outageEndsMs: [Int64] = []
        let clock = ContinuousClock()
        for cycle in 1...cycles {
            let up = uniform(uptime)
            if random.next() % 2 == 0 {
                let codes = (0..<Int(random.next() % 4 + 1)).map { _ in Self.retriableErrors[Int(random.next() % UInt64(Self.retriableErrors.count))] }
                try broker.send("errors \(codes.joined(separator: ","))")
                injectedErrors += codes.count
            }
            if random.next() % 2 == 0 {
                try Self.enqueuePoison(writer, stream: stream)
                poisonRows += 1
            }
            try await Task.sleep(for: .seconds(up))
            let down = uniform(outage)
            try broker.send("down 1")
            try await Task.sleep(for: .seconds(down))
            try broker.send("up 1")
            outageSeconds += down
            outageEndsMs.append(MessageQueue.currentTimeMs())
            if verbose { print("cycle \(cycle): up \(String(format: "%.1f", up)) s, down \(String(format: "%.1f", down)) s") }
        }

        // Drained after the last outage: every row queued before the broker came back is gone.
        let backUpMs = outageEndsMs.last ?? MessageQueue.currentTimeMs()
        let backUp = clock.now
        var drainSeconds: Double?
        while clock.now - backUp < .seconds(300) {
            let statistics = try writer.statistics()
            if (statistics.oldestEnqueuedAtMs ?? .max) >= backUpMs {
                drainSeconds = Double((clock.now - backUp).components.attoseconds) / 1e18 + Double((clock.now - backUp).components.seconds)
                break
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        try sink.terminate()

        // The rest of the backlog, with nothing new coming in.
        let drainer = try SinkUnderTest(configuration: drainOnly, log: directory.appendingPathComponent("drain.log"))
        try await drainer.waitUntilRunning()
        let finalStart = clock.now
        while try writer.statistics().rows > 0 {
            guard clock.now - finalStart < .seconds(300) else {
                drainer.kill()
                throw HarnessFailure(description: "the queue did not drain within 300 s; see \(directory.path)/drain.log")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        try drainer.terminate()

        let committed = try SinkUnderTest.lastSnapshotSequence(queuePath: queuePath)
        let deadLetters = try SinkUnderTest.deadLetters(queuePath: queuePath)
        let poisonDeadLetters = try SinkUnderTest.query(queuePath, "SELECT count(*) FROM dead_letters WHERE payload_bytes > 1000000").first?.first ?? 0
        let statistics = try writer.statistics()
        let followed = try await follower.finish()
        let report = DeliveryAudit(ledger: followed.ledger, committedSnapshots: committed, killTimesMs: outageEndsMs, deadLettered: deadLetters)
        let drops = statistics.drops.values.reduce(0, +)
        print("""
            Outage harness: \(cycles) cycles (seed \(seed)): broker up \(uptime.lowerBound)-\(uptime.upperBound) s, then down \(outage.lowerBound)-\(outage.upperBound) s \
            (message.timeout.ms \(Self.messageTimeoutMs), so outages fail rows back to the drainer); retriable produce errors injected \
            and poison rows (> message.max.bytes) written by a second writer while up; statsink under load throughout (45 metrics per \
            100 ms snapshot), broker in another process; then a drain-only run until the queue was empty.
            | cycles | outage total, s | snapshots committed | messages delivered (unique) | lost | corrupt | poison rows | dead-lettered | injected retriable errors | duplicates | drain after last outage, s | drops |
            |---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|
            | \(cycles) | \(String(format: "%.1f", outageSeconds)) | \(committed) | \(report.uniqueMessages) | \(report.lostMessages) | \(report.corruptMessages) | \(poisonRows) | \(deadLetters.count) | \(injectedErrors) | \(report.duplicateMessages) | \(drainSeconds.map { String(format: "%.2f", $0) } ?? "not within 300") | \(drops) |
            """)
        var problems = report.problems
        let missed = followed.offsetsLost
        if missed > 0 { problems.insert("the broker let \(missed) messages go before the harness read them: the check is incomplete", at: 0) }
        problems += followed.errors.map { "reading the topic: \($0)" }
        if deadLetters.count != poisonRows || poisonDeadLetters != Int64(poisonRows) {
            problems.append("\(deadLetters.count) dead letters (\(poisonDeadLetters) of them poison) for \(poisonRows) poison rows injected")
        }
        if drainSeconds == nil { problems.append("the backlog of the last outage did not drain within 300 s") }
        if drops > 0 { problems.append("\(drops) rows dropped (the cap is far away)") }
        for problem in problems.prefix(20) { print("FAIL: \(problem)") }
        return problems.isEmpty
    }

    /// One snapshot of one message too large for the broker, written as any writer writes.
    static func enqueuePoison(_ queue: MessageQueue, stream: QueueStream) throws {
        let now = MessageQueue.currentTimeMs()
        _ = try queue.enqueueSnapshot(stream: stream, nodeID: "harness-node", snapshotTimeMs: now, format: .json) { sequence in
            let value = Array("{\"metrics\":[]}".utf8) + [UInt8](repeating: UInt8(ascii: " "), count: 1_100_000)
            let headers = [
                KafkaHeader(name: KafkaHeader.Name.contentType, value: SerializationFormat.json.contentType),
                KafkaHeader(name: KafkaHeader.Name.nodeID, value: "harness-node"),
                KafkaHeader(name: KafkaHeader.Name.snapshotSequence, value: "\(sequence)"),
                KafkaHeader(name: KafkaHeader.Name.snapshotTimeMs, value: "\(now)"),
                KafkaHeader(name: KafkaHeader.Name.batchIndex, value: "0"),
                KafkaHeader(name: KafkaHeader.Name.batchCount, value: "1"),
            ]
            return [KafkaMessage(value: value, key: Array("harness-node".utf8), headers: headers, metricCount: 0, batchIndex: 0, batchCount: 1)]
        }
    }
}
