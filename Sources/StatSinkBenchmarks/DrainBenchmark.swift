import Foundation
import Logging
import ServiceLifecycle
import StatSink
import StatSinkConfig
import StatSinkKafka
import StatSinkQueue
import StatSinkTestKit

/// Issue 3 (b) and (c): a pre-filled backlog drained by the real ``Drainer`` to a mock broker in
/// another process (`statsink-mock-broker`), against librdkafka producing the same payloads from
/// memory; and this process's peak RSS while draining against its RSS with an empty queue.
///
/// Order matters for (c): the backlog is written one snapshot at a time, the empty-queue RSS is
/// taken next (same heap history), then the first drain; only after it are the baseline's payloads
/// read into memory, from a copy of the backlog file made before the drain.
///
/// (b) runs in ``rounds``, each a drain of a fresh copy of the same backlog followed by the
/// baseline: on two cores the drain moved between 550 and 1000 MB/s from round to round and the
/// raw producer between 430 and 1360 (the same binary, minutes apart), so the figures are those
/// of the round with the median ratio, and every round's ratio is shown.
struct DrainBenchmark {
    /// One drain and its baseline.
    struct Round {
        var drainSeconds = 0.0
        var baselineSeconds = 0.0
        /// CPU used while draining and while producing the baseline.
        var drainCPU = CPUTime(machineBusySeconds: 0, processSeconds: 0, brokerSeconds: 0)
        var baselineCPU = CPUTime(machineBusySeconds: 0, processSeconds: 0, brokerSeconds: 0)
        var baselineFailures = 0
        var drainerTotals: DrainerTotals?

        /// Ours over the baseline, in throughput.
        var ratio: Double { baselineSeconds / drainSeconds }
    }

    /// The figures of one run.
    struct Result {
        var backlogRows = 0
        var backlogPayloadBytes: Int64 = 0
        var backlogFileBytes: Int64 = 0
        var fillSeconds = 0.0
        /// Every round, in the order run.
        var rounds: [Round] = []

        /// The round whose ratio is the median (the lower one of an even count).
        var median: Round { rounds.sorted { $0.ratio < $1.ratio }[(rounds.count - 1) / 2] }
        var drainSeconds: Double { median.drainSeconds }
        var baselineSeconds: Double { median.baselineSeconds }
        var drainCPU: CPUTime { median.drainCPU }
        var baselineCPU: CPUTime { median.baselineCPU }
        /// Rows delivered, retried and dead-lettered by the drainer, over every round: a retry
        /// or a dead letter in any round must show, not only the median round's.
        var drainCounts: (delivered: Int, retried: Int, deadLettered: Int) {
            rounds.compactMap(\.drainerTotals).reduce((0, 0, 0)) { ($0.0 + $1.delivered, $0.1 + $1.retried, $0.2 + $1.deadLettered) }
        }
        /// Every round's ratio in order, e.g. `0.94x, 0.84x, 0.80x`.
        var roundRatios: String { rounds.map { cell($0.ratio, 2) + "x" }.joined(separator: ", ") }
        /// Failed delivery reports of the baseline, over every round.
        var baselineFailures: Int { rounds.reduce(0) { $0 + $1.baselineFailures } }
        /// Largest sampled `VmRSS` with the drainer running on an empty queue.
        var emptyResidentBytes = 0
        /// Largest sampled `VmRSS` while the drainer drained the backlog in the first round (the
        /// only one without the baseline's payloads in memory), and samples taken.
        var drainResidentBytes = 0
        var drainSamples = 0
        /// `VmHWM` over each phase (reset before it), when the kernel lets us reset it.
        var emptyPeakBytes: Int?
        var drainPeakBytes: Int?
    }

    /// What went wrong.
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Payload bytes to queue before draining.
    let backlogBytes: Int64
    /// Where the queue files go; removed afterwards.
    let directory: URL
    /// How long the drainer idles on an empty queue for the RSS baseline.
    var idleTime = Duration.seconds(2)
    /// Drains of the backlog, each with its baseline.
    var rounds = 5
    /// A drain taking longer than this is a failure, not a figure.
    var drainTimeout = Duration.seconds(900)

    static let drainTopic = "statsink-bench-drain"
    static let baselineTopic = "statsink-bench-baseline"

    func run() async throws -> Result {
        // One partition each: every message carries the node id as its key, so they would all
        // land on one partition anyway.
        let broker = try MockBrokerProcess(topics: [(Self.drainTopic, 1), (Self.baselineTopic, 1)])
        defer { broker.stop() }
        // The product's producer properties (acks=all, idempotence), with linger 5 ms.
        let sink = KafkaSinkConfiguration(
            brokerList: broker.bootstrapServers, topic: Self.drainTopic, batchSize: 100, bufferFlushTimeoutMs: 5, format: .json
        )
        var logger = Logger(label: "statsink-bench")
        logger.logLevel = .warning

        let backlogPath = directory.appendingPathComponent("drain-backlog.db").path
        let copyPath = directory.appendingPathComponent("drain-baseline-copy.db").path
        let emptyPath = directory.appendingPathComponent("drain-empty.db").path
        defer { [backlogPath, copyPath, emptyPath].forEach(EnqueueBenchmark.removeDatabase) }

        var result = Result()
        let clock = ContinuousClock()
        let fillStart = clock.now
        (result.backlogRows, result.backlogPayloadBytes) = try fill(queueConfiguration(backlogPath), sink: sink)
        result.fillSeconds = (clock.now - fillStart).seconds
        result.backlogFileBytes = SyntheticBacklog.fileBytes(backlogPath).main
        // The backlog as filled: every later round drains a copy of it, and the baseline's
        // payloads are read from it after the first drain.
        try FileManager.default.copyItem(atPath: backlogPath, toPath: copyPath)
        // The fill and the copy left ~2 GiB of dirty pages: written back now, not by kernel
        // threads competing with the drain for the CPU.
        sync()

        // (c) baseline: the same drainer, idle on an empty queue.
        do {
            let queue = try MessageQueue(configuration: queueConfiguration(emptyPath), role: .drainer)
            defer { queue.close() }
            let drainer = Drainer(stream: QueueStream(topic: sink.topic, brokerList: sink.brokerList), queue: queue, properties: sink.producerProperties, logger: logger)
            let peakReset = MemorySampler.resetPeak()
            let sampler = MemorySampler()
            try await Self.running(drainer, logger: logger) {
                try await Task.sleep(for: idleTime)
            }
            result.emptyResidentBytes = sampler.stop().maximumBytes
            result.emptyPeakBytes = peakReset ? MemorySampler.status()?.peakBytes : nil
        }

        var records: [OutgoingRecord] = []
        for index in 0..<max(rounds, 1) {
            var round = Round()
            if index > 0 {
                // A fresh copy of the same backlog; its pages written back before the drain.
                EnqueueBenchmark.removeDatabase(backlogPath)
                try FileManager.default.copyItem(atPath: copyPath, toPath: backlogPath)
                sync()
            }
            // (b) and (c): the drain, timed from the drainer's start to the last row deleted.
            let drain = try await drain(backlogPath, rows: result.backlogRows, broker: broker, sink: sink, logger: logger, into: &round)
            if index == 0 {
                (result.drainResidentBytes, result.drainSamples, result.drainPeakBytes) = drain
                // (b) baseline: only now are the payloads read into memory.
                records = try Self.records(atPath: copyPath, stream: QueueStream(topic: sink.topic, brokerList: sink.brokerList), topic: Self.baselineTopic)
            }
            sync()  // the drain's deletions and checkpoints, likewise
            let cpu = CPUTime.now(broker: broker)
            let start = clock.now
            round.baselineFailures = try await Self.produce(records, properties: sink.producerProperties, logger: logger) {
                round.baselineSeconds = (clock.now - start).seconds
                round.baselineCPU = CPUTime.now(broker: broker).since(cpu)
            }
            result.rounds.append(round)
        }
        return result
    }

    /// Drains the queue at `path` with the real ``Drainer`` until its `rows` are gone; fills in
    /// the round's time, CPU and totals, and returns the RSS seen meanwhile.
    private func drain(
        _ path: String, rows: Int, broker: MockBrokerProcess, sink: KafkaSinkConfiguration, logger: Logger, into round: inout Round
    ) async throws -> (residentBytes: Int, samples: Int, peakBytes: Int?) {
        let queue = try MessageQueue(configuration: queueConfiguration(path), role: .drainer)
        defer { queue.close() }
        let drainer = Drainer(stream: QueueStream(topic: sink.topic, brokerList: sink.brokerList), queue: queue, properties: sink.producerProperties, logger: logger)
        let peakReset = MemorySampler.resetPeak()
        let sampler = MemorySampler()
        let clock = ContinuousClock()
        let cpu = CPUTime.now(broker: broker)
        let start = clock.now
        try await Self.running(drainer, logger: logger) {
            while true {
                // The in-memory count first: the table is only counted once it should be empty.
                let totals = drainer.totals
                if totals.delivered + totals.deadLettered >= rows, try queue.statistics().rows == 0 { break }
                guard clock.now - start < drainTimeout else {
                    throw Failure(description: "the drain did not finish within \(drainTimeout): \(totals)")
                }
                try await Task.sleep(for: .milliseconds(5))
            }
            // Stopped here: the drainer's shutdown that follows is not part of the drain.
            round.drainSeconds = (clock.now - start).seconds
            round.drainCPU = CPUTime.now(broker: broker).since(cpu)
        }
        round.drainerTotals = drainer.totals
        let resident = sampler.stop()
        return (resident.maximumBytes, resident.samples, peakReset ? MemorySampler.status()?.peakBytes : nil)
    }

    /// The queue's configuration: room for the whole backlog, so nothing is dropped at the cap.
    private func queueConfiguration(_ path: String) -> MessageQueueConfiguration {
        MessageQueueConfiguration(path: path, maxBytes: UInt64(backlogBytes) * 2 + (1 << 30))
    }

    /// Writes the backlog (``SyntheticBacklog``) until the queue holds ``backlogBytes`` of
    /// payload, then checkpoints; returns the rows and payload bytes queued.
    private func fill(_ configuration: MessageQueueConfiguration, sink: KafkaSinkConfiguration) throws -> (rows: Int, payloadBytes: Int64) {
        let queue = try MessageQueue(configuration: configuration, role: .writer)
        defer { queue.close() }
        var source = SyntheticBacklog.source()
        let filled = try SyntheticBacklog.fill(
            queue, stream: QueueStream(topic: sink.topic, brokerList: sink.brokerList), options: sink.encodingOptions,
            source: &source, bytes: backlogBytes
        )
        try queue.checkpoint()  // everything in the main file, so a file copy is the whole queue
        return (filled.rows, filled.payloadBytes)
    }

    /// Runs `drainer` as `statsink run` does (a `ServiceGroup`) while `body` runs, then shuts it
    /// down gracefully.
    static func running(_ drainer: Drainer, logger: Logger, _ body: () async throws -> Void) async throws {
        let group = ServiceGroup(services: [drainer], logger: logger)
        async let run: Void = group.run()
        do {
            try await body()
        } catch {
            await group.triggerGracefulShutdown()
            try? await run
            throw error
        }
        await group.triggerGracefulShutdown()
        try await run
    }

    /// Every row of the queue file at `path`, as records for `topic`.
    private static func records(atPath path: String, stream: QueueStream, topic: String) throws -> [OutgoingRecord] {
        let queue = try MessageQueue(configuration: MessageQueueConfiguration(path: path, maxBytes: 1 << 40), role: .writer)
        defer { queue.close() }
        var records: [OutgoingRecord] = []
        var cursor: Int64 = 0
        while true {
            let page = try queue.pendingRecords(stream: stream, afterID: cursor, limit: 1024, maxBytes: .max)
            guard let last = page.last else { return records }
            cursor = last.id
            records += page.map {
                OutgoingRecord(id: UInt64($0.id), topic: topic, key: $0.key, value: $0.value, headers: $0.headers.map { ($0.name, $0.value) })
            }
        }
    }

    /// The baseline: produces every record with one ``KafkaProducer`` as fast as librdkafka takes
    /// them, calls `allReported` once every delivery report is in (before the producer's
    /// shutdown), and returns the number of failed reports.
    private static func produce(
        _ records: [OutgoingRecord], properties: KafkaProducerProperties, logger: Logger, allReported: () -> Void
    ) async throws -> Int {
        let producer = try KafkaProducer(properties: properties, logger: logger)
        producer.start()
        async let failures: Int = {
            var reported = 0
            var failed = 0
            for await report in producer.deliveryReports {
                if case .failed = report.outcome { failed += 1 }
                reported += 1
                if reported == records.count { break }
            }
            return failed
        }()
        for record in records {
            while true {
                do throws(KafkaError) {
                    try producer.produce(record)
                    break
                } catch .queueFull {
                    try await Task.sleep(for: .milliseconds(1))  // librdkafka's queue is full: let it send
                }
            }
        }
        let failed = await failures
        allReported()
        await producer.shutdown(timeout: .seconds(5))
        return failed
    }
}

extension Duration {
    var seconds: Double { milliseconds / 1000 }
}
