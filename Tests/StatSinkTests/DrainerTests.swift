import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import StatSink
import StatSinkCodec
import StatSinkConfig
@testable import StatSinkKafka
import StatSinkModel
import StatSinkQueue
import StatSinkTestKit
import Testing

/// The drainer against a real Kafka-protocol broker: librdkafka's mock cluster over TCP.
@Suite("Drainer against the mock broker", .serialized)
struct DrainerTests {
    let scratch = TemporaryDirectory(prefix: "statsink-drainer")
    var directory: URL { scratch.url }
    let cluster: KafkaMockCluster
    let topic = "envoy-metrics"

    init() throws {
        cluster = try KafkaMockCluster(brokerCount: 1)
        try cluster.createTopic(name: topic, partitions: 1)
    }

    func sink(batchSize: UInt32 = 50, deltas: Bool = false, producerConfig: [ProducerProperty] = []) -> KafkaSinkConfiguration {
        KafkaSinkConfiguration(
            brokerList: cluster.bootstrapServers, topic: topic, batchSize: batchSize, reportCountersAsDeltas: deltas,
            producerConfig: [
                ProducerProperty(name: "message.timeout.ms", value: "1500"),
                ProducerProperty(name: "retry.backoff.ms", value: "20"),
                ProducerProperty(name: "reconnect.backoff.ms", value: "20"),
                ProducerProperty(name: "reconnect.backoff.max.ms", value: "100"),
            ] + producerConfig,
            bufferFlushTimeoutMs: 5
        )
    }

    func openQueue(_ role: MessageQueue.Role = .drainer) throws -> MessageQueue {
        try MessageQueue(configuration: MessageQueueConfiguration(path: directory.appendingPathComponent("queue.db").path), role: role)
    }

    static let fast = DrainerConfiguration(
        idlePollInterval: .milliseconds(20), initialBackoff: .milliseconds(50), maxBackoff: .milliseconds(400),
        shutdownGracePeriod: .seconds(2), maintenanceInterval: .seconds(1)
    )

    /// Writes `count` synthetic snapshots; returns every message written, in order.
    func writeSnapshots(_ count: Int, metrics: Int = 120, sink: KafkaSinkConfiguration, writer: SinkWriter, seed: UInt64 = 7) throws -> [KafkaMessage] {
        var source = SyntheticSource(counters: metrics * 7 / 10, gauges: metrics * 2 / 10, histograms: metrics / 10, node: NodeIdentity(id: "edge-17"), seed: seed)
        let encoder = SnapshotEncoder(options: sink.encodingOptions)
        var written: [KafkaMessage] = []
        for index in 0..<count {
            let snapshot = source.nextSnapshot(timestampMs: 1_764_000_000_000 + Int64(index) * 1000)
            let outcome = try writer.write(snapshot)
            written += encoder.encode(snapshot, sequence: outcome.sequence)
        }
        return written
    }

    /// Whether every value is large enough to be read into memory the producer lends to
    /// librdkafka and reuses (``KafkaPayloadPool``), so that delete-on-acknowledgement and no loss
    /// are shown for that path, not for values librdkafka copies.
    static func lentFromThePool(_ written: [KafkaMessage]) -> Bool {
        written.allSatisfy { $0.value.count >= KafkaPayloadPool.smallestPooledBytes }
    }

    /// Runs `drainer` until `condition` holds (or `timeout`), then stops it.
    func drain(_ drainer: Drainer, until condition: @escaping @Sendable () throws -> Bool, timeout: Duration = .seconds(30)) async throws -> Bool {
        let task = Task { try await drainer.run() }
        defer { task.cancel() }
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while ContinuousClock.now < deadline {
            if try condition() {
                task.cancel()
                try await task.value
                return true
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        task.cancel()
        try await task.value
        return false
    }

    /// Reads `count` messages, or with `nil` everything up to the end of the topic (use that when
    /// duplicates are possible: everything was acknowledged before reading).
    func read(_ count: Int?) async throws -> [ConsumedMessage] {
        try await KafkaTopicReader(bootstrapServers: cluster.bootstrapServers, topic: topic).read(count: count, timeout: .seconds(20))
    }

    @Test func deliveredRowsAreDeletedAndArriveIntactInOrder() async throws {
        let queue = try openQueue()
        defer { queue.close() }
        let sink = sink()
        let written = try writeSnapshots(5, sink: sink, writer: SinkWriter(sink: sink, queue: queue))
        #expect(written.count == 15)
        #expect(Self.lentFromThePool(written), "\(written.map(\.value.count))")
        let drainer = Drainer(stream: QueueStream(topic: topic, brokerList: sink.brokerList), queue: queue, properties: sink.producerProperties, configuration: Self.fast, logger: Logger(label: "test"))
        #expect(try await drain(drainer) { try queue.statistics().rows == 0 })
        #expect(drainer.totals.delivered == 15)
        let consumed = try await read(15)
        #expect(fingerprints(consumed.map(\.value)) == fingerprints(written.map(\.value)))
        #expect(consumed.map(\.key) == written.map(\.key))
        #expect(consumed.map { $0.headers.map { "\($0.name)=\($0.value)" } } == written.map { $0.headers.map { "\($0.name)=\($0.value)" } })
        #expect(try queue.statistics().deliveredRows == 15)
    }

    @Test func brokerOutageLongerThanMessageTimeoutLosesNothing() async throws {
        let queue = try openQueue()
        defer { queue.close() }
        let sink = sink()
        let writer = try SinkWriter(sink: sink, queue: queue)
        try cluster.setBrokerDown(1)
        let written = try writeSnapshots(4, sink: sink, writer: writer)
        #expect(Self.lentFromThePool(written), "\(written.map(\.value.count))")
        let drainer = Drainer(stream: QueueStream(topic: topic, brokerList: sink.brokerList), queue: queue, properties: sink.producerProperties, configuration: Self.fast, logger: Logger(label: "test"))
        let task = Task { try await drainer.run() }
        // Twice message.timeout.ms: every attempt in this window fails.
        try await Task.sleep(for: .seconds(3.5))
        #expect(try queue.statistics().rows == written.count, "nothing deleted while the broker is down")
        #expect(drainer.totals.retried > 0)
        #expect(drainer.totals.delivered == 0)
        try cluster.setBrokerUp(1)
        let deadline = ContinuousClock.now.advanced(by: .seconds(30))
        while try queue.statistics().rows > 0, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        task.cancel()
        try await task.value
        #expect(try queue.statistics().rows == 0)
        let consumed = try await read(nil)
        // At least once, in order: the first arrival of each message keeps the written order.
        var seen = Set<[UInt8]>()
        let firstArrivals = consumed.filter { seen.insert($0.value).inserted }
        #expect(fingerprints(firstArrivals.map(\.value)) == fingerprints(written.map(\.value)))
        #expect(try sqlite3Count(queue: directory, "SELECT count(*) FROM streams WHERE last_error IS NOT NULL") == 1)
    }

    @Test func aBrokerBackFromAnOutageIsUsedBeforeTheBackoffEnds() async throws {
        let queue = try openQueue()
        defer { queue.close() }
        let sink = sink()
        let writer = try SinkWriter(sink: sink, queue: queue)
        try cluster.setBrokerDown(1)
        let written = try writeSnapshots(3, sink: sink, writer: writer)
        // Every retry waits at least 30 s (60 s with 50-100 % jitter) unless the probe ends it.
        var configuration = Self.fast
        configuration.initialBackoff = .seconds(60)
        configuration.maxBackoff = .seconds(120)
        let drainer = Drainer(stream: QueueStream(topic: topic, brokerList: sink.brokerList), queue: queue, properties: sink.producerProperties, configuration: configuration, logger: Logger(label: "test"))
        let task = Task { try await drainer.run() }
        defer { task.cancel() }
        // Past message.timeout.ms (1.5 s): the rows failed back and the drainer is backing off.
        let failedBy = ContinuousClock.now.advanced(by: .seconds(10))
        while drainer.totals.retried == 0, ContinuousClock.now < failedBy { try await Task.sleep(for: .milliseconds(50)) }
        #expect(drainer.totals.retried > 0)
        try await Task.sleep(for: .seconds(1))
        #expect(try queue.statistics().rows == written.count)
        try cluster.setBrokerUp(1)
        let upAt = ContinuousClock.now
        while try queue.statistics().rows > 0, ContinuousClock.now - upAt < .seconds(40) { try await Task.sleep(for: .milliseconds(50)) }
        let took = ContinuousClock.now - upAt
        #expect(try queue.statistics().rows == 0)
        // Well within the backoff's 30 s minimum (a probe a second; slack for a loaded machine).
        #expect(took < .seconds(15), "delivered \(took) after the broker came back")
        task.cancel()
        try await task.value
    }

    @Test func aQueueThatCannotTakeWritesForAWhileDelaysDeletionsButNeverStopsTheDrainer() async throws {
        let path = directory.appendingPathComponent("queue.db").path
        let queue = try MessageQueue(configuration: MessageQueueConfiguration(path: path, busyTimeoutMs: 50), role: .drainer)
        defer { queue.close() }
        let sink = sink()
        _ = try writeSnapshots(5, sink: sink, writer: SinkWriter(sink: sink, queue: queue))
        // Another process holds the write lock for 2 s: every delete the drainer tries meanwhile
        // fails with SQLITE_BUSY, as it would on a full disk with SQLITE_FULL.
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        holder.arguments = [path, "BEGIN IMMEDIATE;", "UPDATE streams SET topic = topic;", ".shell sleep 2", "COMMIT;"]
        try holder.run()
        try await Task.sleep(for: .milliseconds(300))
        let drainer = Drainer(stream: QueueStream(topic: topic, brokerList: sink.brokerList), queue: queue, properties: sink.producerProperties, configuration: Self.fast, logger: Logger(label: "test"))
        // `drain` rethrows whatever ended the drainer: it must run on and delete everything.
        #expect(try await drain(drainer) { try queue.statistics().rows == 0 })
        holder.waitUntilExit()
        #expect(holder.terminationStatus == 0)
        #expect(try queue.statistics().deliveredRows == 15)
        #expect(Set(try await read(nil).map { $0.headers.first { $0.name == "statsink.snapshot_seq" }?.value ?? "" }).count == 5)
    }

    @Test func permanentErrorsAreDeadLetteredWhileLaterRowsFlow() async throws {
        let queue = try openQueue()
        defer { queue.close() }
        let sink = sink(batchSize: 0)
        let writer = try SinkWriter(sink: sink, queue: queue)
        // One message per produce request, so each injected error hits exactly one row.
        var configuration = Self.fast
        configuration.maxInFlightRows = 1
        let drainer = Drainer(stream: QueueStream(topic: topic, brokerList: sink.brokerList), queue: queue, properties: sink.producerProperties, configuration: configuration, logger: Logger(label: "test"))
        // Size: wrong for this row only, dead-lettered at once. Authorization: a topic-level error,
        // dead-lettered when it persists (twice in a row for the same row).
        cluster.pushProduceErrors([.messageSizeTooLarge, .topicAuthorizationFailed, .topicAuthorizationFailed])
        let written = try writeSnapshots(5, sink: sink, writer: writer)
        #expect(try await drain(drainer) { try queue.statistics().rows == 0 })
        let errors = try sqlite3Lines(queue: directory, "SELECT id, error_name, error FROM dead_letters ORDER BY id")
        #expect(drainer.totals.deadLettered == 2, "\(errors)")
        #expect(drainer.totals.delivered == 3)
        let statistics = try queue.statistics()
        #expect(statistics.deadLetters == 2)
        let consumed = try await read(3)
        #expect(fingerprints(consumed.map(\.value)) == fingerprints(Array(written.dropFirst(2)).map(\.value)))
        let names = try sqlite3Lines(queue: directory, "SELECT error_name FROM dead_letters ORDER BY id")
        #expect(names == ["MSG_SIZE_TOO_LARGE", "TOPIC_AUTHORIZATION_FAILED"])
    }

    @Test func reopeningMidStreamResumesWithoutLoss() async throws {
        let sink = sink()
        let stream = QueueStream(topic: topic, brokerList: sink.brokerList)
        var configuration = Self.fast
        configuration.maxInFlightRows = 4
        let firstQueue = try openQueue()
        let written = try writeSnapshots(60, sink: sink, writer: SinkWriter(sink: sink, queue: firstQueue))
        #expect(Self.lentFromThePool(written), "\(written.map(\.value.count))")
        let first = Drainer(stream: stream, queue: firstQueue, properties: sink.producerProperties, configuration: configuration, logger: Logger(label: "test"))
        // Stop part-way: a slow link (4 rows per 50 ms round trip, 180 rows) so that part-way is
        // long enough to be seen, even by a check that runs late on a loaded machine (the
        // drainer refills from librdkafka's thread, not from the cooperative pool the check
        // shares with other tests).
        try cluster.setBrokerRoundTrip(-1, milliseconds: 50)
        _ = try await drain(first) { try firstQueue.statistics().deliveredRows >= 10 }
        try cluster.setBrokerRoundTrip(-1, milliseconds: 0)
        let remaining = try firstQueue.statistics().rows
        #expect(remaining > 0 && remaining < written.count)
        firstQueue.close()

        let queue = try openQueue()
        defer { queue.close() }
        let second = Drainer(stream: stream, queue: queue, properties: sink.producerProperties, configuration: configuration, logger: Logger(label: "test"))
        #expect(try await drain(second) { try queue.statistics().rows == 0 })
        let consumed = try await read(nil)
        var seen = Set<[UInt8]>()
        let firstArrivals = consumed.filter { seen.insert($0.value).inserted }
        let expected = fingerprints(written.map(\.value))
        let actual = fingerprints(firstArrivals.map(\.value))
        let mismatch = zip(expected, actual).enumerated().first { $0.element.0 != $0.element.1 }?.offset
        #expect(actual == expected, "counts \(actual.count)/\(expected.count), first mismatch at \(String(describing: mismatch)); consumed \(consumed.count)")
        #expect(consumed.count - firstArrivals.count <= configuration.maxInFlightRows, "duplicates only within the in-flight window")
    }

    @Test func aFatalProducerErrorLeadsToAFreshProducerAndLosesNothing() async throws {
        let queue = try openQueue()
        defer { queue.close() }
        let sink = sink()
        // 90 rows, over two seconds at the link below: the kill lands mid-stream even when the
        // check runs late on a loaded machine.
        let written = try writeSnapshots(30, sink: sink, writer: SinkWriter(sink: sink, queue: queue))
        #expect(Self.lentFromThePool(written), "\(written.map(\.value.count))")
        let producers = Mutex<[KafkaProducer]>([])
        var configuration = Self.fast
        configuration.maxInFlightRows = 2
        let drainer = Drainer(
            stream: QueueStream(topic: topic, brokerList: sink.brokerList), queue: queue, properties: sink.producerProperties,
            configuration: configuration, logger: Logger(label: "test")
        ) { properties, logger throws(KafkaError) in
            let producer = try KafkaProducer(properties: properties, logger: logger)
            producers.withLock { $0.append(producer) }
            return producer
        }
        // A slow link (2 rows per 50 ms round trip), so that the producer fails mid-stream.
        try cluster.setBrokerRoundTrip(-1, milliseconds: 50)
        let delivered = try await drain(drainer) {
            // Kill the first producer once it has delivered something.
            if let first = producers.withLock({ $0.first }), first.fatalError == nil, try queue.statistics().deliveredRows > 0 {
                first.simulateFatalError(reason: "test")
            }
            return try queue.statistics().rows == 0
        }
        #expect(delivered)
        #expect(producers.withLock { $0.count } >= 2, "a fresh producer replaced the failed one")
        #expect(producers.withLock { $0.first?.fatalError } != nil)
        let consumed = try await read(nil)
        var seen = Set<[UInt8]>()
        let firstArrivals = consumed.filter { seen.insert($0.value).inserted }
        #expect(fingerprints(firstArrivals.map(\.value)) == fingerprints(written.map(\.value)))
    }

    @Test func acknowledgedRowsThatCannotBeDeletedEndTheDrainerWithTheErrorInsteadOfFeedingOn() async throws {
        let queue = try openQueue()
        defer { queue.close() }
        let sink = sink()
        let written = try writeSnapshots(30, sink: sink, writer: SinkWriter(sink: sink, queue: queue))
        var configuration = Self.fast
        configuration.maxInFlightRows = 2
        let drainer = Drainer(
            stream: QueueStream(topic: topic, brokerList: sink.brokerList), queue: queue, properties: sink.producerProperties,
            configuration: configuration, logger: Logger(label: "test")
        )
        // A slow link (90 rows, 2 per 50 ms round trip), so that deletions fail mid-stream.
        try cluster.setBrokerRoundTrip(-1, milliseconds: 50)
        defer { try? cluster.setBrokerRoundTrip(-1, milliseconds: 0) }
        let run = Task { try await drainer.run() }
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .seconds(20))
        while try queue.statistics().deliveredRows == 0, clock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        // Reads still work; every deletion now fails (not a transient error): the drainer must
        // stop with that error rather than keep producing rows it cannot account for.
        let path = directory.appendingPathComponent("queue.db").path
        try SQLiteShell.run(path, """
            PRAGMA busy_timeout = 5000;
            CREATE TRIGGER test_refuses_deletes BEFORE DELETE ON messages BEGIN SELECT RAISE(ABORT, 'deletions refused by the test'); END;
            """, readOnly: false)
        let outcome = await withTaskGroup(of: Result<Void, any Error>?.self) { group in
            group.addTask { await run.result }
            group.addTask {
                try? await Task.sleep(for: .seconds(10))
                return nil
            }
            let first = await group.next() ?? nil
            run.cancel()
            group.cancelAll()
            return first
        }
        let result = try #require(outcome, "the drainer still ran 10 s after its deletions started failing")
        #expect(throws: QueueError.self) { try result.get() }
        #expect(drainer.totals.delivered < written.count, "it stopped mid-stream")
        try SQLiteShell.run(path, "PRAGMA busy_timeout = 5000; DROP TRIGGER test_refuses_deletes;", readOnly: false)
        let statistics = try queue.statistics()
        #expect(statistics.rows + statistics.deliveredRows == written.count, "every row deleted on acknowledgement or still queued")
    }

    @Test func gracefulShutdownWithTheBrokerDownDeletesNothingAndStopsPromptly() async throws {
        let queue = try openQueue()
        defer { queue.close() }
        let sink = sink()
        let written = try writeSnapshots(3, sink: sink, writer: SinkWriter(sink: sink, queue: queue))
        try cluster.setBrokerDown(1)
        var configuration = Self.fast
        configuration.shutdownGracePeriod = .milliseconds(500)
        let drainer = Drainer(stream: QueueStream(topic: topic, brokerList: sink.brokerList), queue: queue, properties: sink.producerProperties, configuration: configuration, logger: Logger(label: "test"))
        let group = ServiceGroup(services: [drainer], logger: Logger(label: "test"))
        let run = Task { try await group.run() }
        try await Task.sleep(for: .milliseconds(500))  // rows are in flight, the broker unreachable
        let start = ContinuousClock.now
        await group.triggerGracefulShutdown()
        try await run.value
        #expect(ContinuousClock.now - start < .seconds(3), "the grace period bounds the wait")
        #expect(try queue.statistics().rows == written.count, "nothing deleted without an acknowledgement")
        #expect(drainer.totals.delivered == 0)
        try cluster.setBrokerUp(1)
    }

    @Test func deltaCountersStayRightAcrossARestart() throws {
        let sink = sink(batchSize: 0, deltas: true)
        let name = MetricName("cluster.upstream_rq_total")
        func snapshot(_ value: UInt64, sourceDelta: UInt64) -> MetricSnapshot {
            MetricSnapshot(timestampMs: 1, node: NodeIdentity(id: "n"), counters: [CounterSample(name: name, value: value, delta: sourceDelta)])
        }
        var queue = try openQueue(.writer)
        try SinkWriter(sink: sink, queue: queue).write(snapshot(100, sourceDelta: 100))
        queue.close()
        queue = try openQueue(.drainer)
        defer { queue.close() }
        let writer = try SinkWriter(sink: sink, queue: queue)
        // The source restarted too and claims a delta of 130; the true increase is 30.
        try writer.write(snapshot(130, sourceDelta: 130))
        // A smaller value is a counter reset: the delta is the new value.
        try writer.write(snapshot(7, sourceDelta: 0))
        let values = try queuedValues(queue, stream: QueueStream(topic: topic, brokerList: sink.brokerList))
        #expect(values.count == 3)
        #expect(values[0].contains(#""value":100,"delta":true"#))
        #expect(values[1].contains(#""value":30,"delta":true"#))
        #expect(values[2].contains(#""value":7,"delta":true"#))
    }

    @Test func deltaCountersOfSeveralNodesOnOneStreamStayApart() throws {
        let sink = sink(batchSize: 0, deltas: true)
        let queue = try openQueue()
        defer { queue.close() }
        let writer = try SinkWriter(sink: sink, queue: queue)
        let name = MetricName("cluster.upstream_rq_total")
        func write(_ node: String, _ value: UInt64) throws {
            try writer.write(MetricSnapshot(
                timestampMs: 1, node: NodeIdentity(id: node), counters: [CounterSample(name: name, value: value, delta: value)]))
        }
        try write("a", 100)
        try write("b", 5_000)
        try write("a", 110)
        try write("b", 5_003)
        let values = try queuedValues(queue, stream: writer.stream)
        #expect(values.map { $0.contains(#""value":10,"delta":true"#) || $0.contains(#""value":3,"delta":true"#) } == [false, false, true, true])
        #expect(try queue.counterValues(stream: writer.stream) == [
            SinkWriter.counterStateKey(node: NodeIdentity(id: "a"), counter: name): 110,
            SinkWriter.counterStateKey(node: NodeIdentity(id: "b"), counter: name): 5_003,
        ])
    }

    @Test func deltasFromTheSourceAreSummedForACumulativeSinkAcrossARestart() throws {
        let sink = sink(batchSize: 0, deltas: false)
        let name = MetricName("cluster.upstream_rq_total")
        func snapshot(delta: UInt64) -> MetricSnapshot {
            MetricSnapshot(timestampMs: 1, node: NodeIdentity(id: "n"), counters: [CounterSample(name: name, value: delta, delta: delta)])
        }
        var queue = try openQueue(.writer)
        try SinkWriter(sink: sink, queue: queue).write(snapshot(delta: 40), counters: .deltas)
        try SinkWriter(sink: sink, queue: queue).write(snapshot(delta: 2), counters: .deltas)
        queue.close()
        queue = try openQueue(.drainer)
        defer { queue.close() }
        try SinkWriter(sink: sink, queue: queue).write(snapshot(delta: 0), counters: .deltas)
        try SinkWriter(sink: sink, queue: queue).write(snapshot(delta: 5), counters: .deltas)
        let values = try queuedValues(queue, stream: QueueStream(topic: topic, brokerList: sink.brokerList))
        #expect(values.map { $0.contains(#""value":"#) } == [true, true, true, true])
        #expect(zip(values, [40, 42, 42, 47]).allSatisfy { value, total in value.contains(#""value":\#(total)}"#) })
    }

    @Test func deltasFromTheSourcePassThroughADeltaSink() throws {
        let sink = sink(batchSize: 0, deltas: true)
        let queue = try openQueue()
        defer { queue.close() }
        let writer = try SinkWriter(sink: sink, queue: queue)
        let name = MetricName("c")
        for delta in [UInt64(4), 9] {
            try writer.write(
                MetricSnapshot(timestampMs: 1, node: NodeIdentity(id: "n"), counters: [CounterSample(name: name, value: delta, delta: delta)]),
                counters: .deltas)
        }
        let values = try queuedValues(queue, stream: writer.stream)
        #expect(values[0].contains(#""value":4,"delta":true"#))
        #expect(values[1].contains(#""value":9,"delta":true"#))
        #expect(try queue.counterValues(stream: writer.stream).isEmpty, "nothing to remember")
    }
}

/// The values queued for `stream`, as text (JSON sinks), oldest first.
func queuedValues(_ queue: MessageQueue, stream: QueueStream) throws -> [String] {
    try queue.pendingRecords(stream: stream, afterID: 0, limit: 100, maxBytes: 1 << 20).map { String(decoding: $0.value, as: UTF8.self) }
}

func sqlite3Lines(queue directory: URL, _ sql: String) throws -> [String] {
    try SQLiteShell.run(directory.appendingPathComponent("queue.db").path, sql)
}

func sqlite3Count(queue directory: URL, _ sql: String) throws -> Int {
    Int(try sqlite3Lines(queue: directory, sql).first ?? "") ?? -1
}

/// `length:hash` of each value: comparable in a failure message, unlike the bytes.
func fingerprints(_ values: [[UInt8]]) -> [String] {
    values.map { value in
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in value { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return "\(value.count):\(String(hash, radix: 16))"
    }
}
