import Foundation
import Logging
import StatSink
import StatSinkConfig
import StatSinkQueue
import StatSinkTestKit

/// Issue 6: catch-up of a backlog while live data keeps flowing, and the queue file's size full
/// and after the drain, in the product's layout (``Pipeline``: one queue file opened as the
/// drainer, its ``SinkWriter`` and ``Drainer`` sharing it).
///
/// 1. The backlog (``SyntheticBacklog``) is written with no drainer, as an outage leaves it.
/// 2. A ``LiveWriter`` starts writing a 10k-metric snapshot every ``liveInterval``, still with no
///    drainer: its commit latency is the baseline (``quietWrites`` writes).
/// 3. The real ``Drainer`` (default configuration) starts against `statsink-mock-broker` while the
///    writer goes on. Catch-up: from the drainer's start until every row of the backlog (record
///    ids up to the last one written before the start) is deleted. Steady state: the oldest row
///    left belongs to one of the last two live snapshots.
/// 4. The file is watched until the drainer's upkeep (every
///    ``DrainerConfiguration/maintenanceInterval``) has given the freed pages back, then the
///    writer stops, the queue empties, and every live row must have been delivered.
struct CatchUpBenchmark {
    /// The figures of one run.
    struct Result {
        var backlogRows = 0
        var backlogPayloadBytes: Int64 = 0
        var fillSeconds = 0.0
        /// Main file and WAL with the backlog full (at the drainer's start), and pages used.
        var fullFile: (main: Int64, wal: Int64) = (0, 0)
        var fullUsedBytes: Int64 = 0
        var liveInterval = Duration.zero
        /// When the drainer started (live writes' start times are relative to it).
        var drainerStart = ContinuousClock.now
        var catchUpSeconds = 0.0
        var steadySeconds = 0.0
        var catchUpCPU = CPUTime(machineBusySeconds: 0, processSeconds: 0, brokerSeconds: 0)
        /// The file when the backlog was gone, and once the drainer's upkeep returned the pages.
        var caughtUpFile: (main: Int64, wal: Int64) = (0, 0)
        var settledFile: (main: Int64, wal: Int64) = (0, 0)
        /// Seconds from catch-up until the main file shrank; `nil` if it did not within two
        /// upkeep intervals (it was already small).
        var shrinkSeconds: Double?
        /// Used and free bytes of the file, and payload still queued, when settled.
        var settledUsedBytes: Int64 = 0
        var settledFreeBytes: Int64 = 0
        var settledPayloadBytes: Int64 = 0
        var maintenanceInterval = Duration.zero
        var writes: [LiveWriter.Write] = []
        var writeFailures: [String] = []
        /// The drainer's counts at the end.
        var delivered = 0
        var deadLettered = 0
        var retried = 0
        /// Rows expected delivered at the end: the backlog and every live row after it.
        var expectedDeliveries = 0
        var queueDrops: [DropReason: Int] = [:]

        /// The slowest write after catch-up, and when it started, in seconds after the drainer's start.
        var slowestAfterCatchUp: (milliseconds: Double, startSeconds: Double)? {
            writes.filter { $0.phase == .afterCatchUp }.max { $0.milliseconds < $1.milliseconds }.map {
                ($0.milliseconds, ($0.started - drainerStart).seconds)
            }
        }

        /// Write latencies (ms) of one phase.
        func latencies(_ phase: LiveWriter.Phase) -> [Double] { writes.filter { $0.phase == phase }.map(\.milliseconds) }
        /// Live snapshots dropped (by the cap) or failed.
        var droppedWrites: Int { writes.filter { !$0.drops.isEmpty || $0.ids == nil }.count + writeFailures.count }
        /// Whether every row was delivered once, none dead-lettered or dropped.
        var everythingDelivered: Bool {
            delivered == expectedDeliveries && deadLettered == 0 && queueDrops.isEmpty && droppedWrites == 0
        }
    }

    /// What went wrong.
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Payload bytes of the backlog.
    let backlogBytes: Int64
    /// Where the queue file goes; removed afterwards.
    let directory: URL
    /// One live snapshot per interval.
    var liveInterval = Duration.milliseconds(100)
    /// Live writes timed before the drainer starts (the latency baseline).
    var quietWrites = 100
    /// A phase taking longer than this is a failure, not a figure.
    var timeout = Duration.seconds(900)

    static let topic = "statsink-bench-catch-up"

    func run() async throws -> Result {
        let broker = try MockBrokerProcess(topics: [(Self.topic, 1)])
        defer { broker.stop() }
        let sink = KafkaSinkConfiguration(brokerList: broker.bootstrapServers, topic: Self.topic, batchSize: 100, bufferFlushTimeoutMs: 5, format: .json)
        var logger = Logger(label: "statsink-bench")
        logger.logLevel = .warning
        let path = directory.appendingPathComponent("catch-up.db").path
        defer { EnqueueBenchmark.removeDatabase(path) }
        // Room for the backlog and the live data: nothing may be dropped at the cap.
        let queue = try MessageQueue(configuration: MessageQueueConfiguration(path: path, maxBytes: UInt64(backlogBytes) * 2 + (1 << 30)), role: .drainer)
        defer { queue.close() }
        let writer = try SinkWriter(sink: sink, queue: queue)
        let drainerConfiguration = DrainerConfiguration()
        var result = Result()
        result.liveInterval = liveInterval
        result.maintenanceInterval = drainerConfiguration.maintenanceInterval
        let clock = ContinuousClock()

        let fillStart = clock.now
        var source = SyntheticBacklog.source()
        // The live writes before the drainer's start complete the backlog (at most half of it).
        let snapshotBytes = SyntheticBacklog.snapshotPayloadBytes(options: sink.encodingOptions)
        let quietWrites = max(1, min(self.quietWrites, Int(backlogBytes / 2 / snapshotBytes)))
        _ = try SyntheticBacklog.fill(queue, stream: writer.stream, options: sink.encodingOptions, source: &source, bytes: backlogBytes - Int64(quietWrites) * snapshotBytes)
        result.fillSeconds = (clock.now - fillStart).seconds
        sync()  // the fill's dirty pages written back now, not during the measured phases

        // The live writer alone: the baseline, and the rest of the backlog.
        let live = LiveWriter(interval: liveInterval, quietWrites: quietWrites)
        live.start(writing: writer)
        let quietEnd = clock.now.advanced(by: liveInterval * quietWrites + timeout)
        while live.phase == .noDrain {
            guard clock.now < quietEnd else { throw Failure(description: "the live writer did not write \(quietWrites) snapshots") }
            try await Task.sleep(for: .milliseconds(5))
        }
        let backlogLastID = live.backlogLastID
        let full = try queue.statistics()
        (result.backlogRows, result.backlogPayloadBytes) = (full.rows, full.payloadBytes)
        result.fullUsedBytes = Int64(full.usedPages) * Int64(full.pageSize)
        result.fullFile = SyntheticBacklog.fileBytes(path)

        let drainer = Drainer(stream: writer.stream, queue: queue, properties: sink.producerProperties, configuration: drainerConfiguration, logger: logger)
        /// The id of the oldest row queued, `nil` when empty.
        func oldestID() throws -> Int64? {
            var oldest: Int64?
            try queue.forEachPendingRecord(stream: writer.stream, afterID: 0, limit: 1, maxBytes: .max) { row in
                oldest = row.id
                return false
            }
            return oldest
        }
        do {
            try await DrainBenchmark.running(drainer, logger: logger) {
                let cpu = CPUTime.now(broker: broker)
                let start = clock.now
                result.drainerStart = start
                var caughtUp: ContinuousClock.Instant?
                while true {
                    try await Task.sleep(for: .milliseconds(5))
                    let now = clock.now
                    guard now - start < timeout else {
                        throw Failure(description: "no catch-up within \(timeout): \(drainer.totals)")
                    }
                    // The in-memory count first: the table is only read once it may be done.
                    if caughtUp == nil, drainer.totals.delivered >= result.backlogRows, try (oldestID() ?? .max) > backlogLastID {
                        caughtUp = now
                        live.enter(.afterCatchUp)
                        result.catchUpSeconds = (now - start).seconds
                        result.catchUpCPU = CPUTime.now(broker: broker).since(cpu)
                        result.caughtUpFile = SyntheticBacklog.fileBytes(path)
                    }
                    if caughtUp != nil, let recent = live.firstID(ofLast: 2), try (oldestID() ?? .max) >= recent {
                        result.steadySeconds = (now - start).seconds
                        break
                    }
                }
                // The upkeep returns freed pages on its own schedule, and returning a large backlog's
                // takes seconds: watch for the shrink over two intervals.
                let caughtUpAt = caughtUp ?? start
                let watchEnd = caughtUpAt.advanced(by: drainerConfiguration.maintenanceInterval * 2)
                while clock.now < watchEnd {
                    if SyntheticBacklog.fileBytes(path).main * 2 < result.caughtUpFile.main {
                        result.shrinkSeconds = (clock.now - caughtUpAt).seconds
                        break
                    }
                    try await Task.sleep(for: .milliseconds(20))
                }
                try await Task.sleep(for: .seconds(1))  // the WAL's checkpoint that follows the shrink
                result.settledFile = SyntheticBacklog.fileBytes(path)
                let settled = try queue.statistics()
                result.settledUsedBytes = Int64(settled.usedPages) * Int64(settled.pageSize)
                result.settledFreeBytes = Int64(settled.freePages) * Int64(settled.pageSize)
                result.settledPayloadBytes = settled.payloadBytes

                // Every live row delivered too.
                (result.writes, result.writeFailures) = await live.stop()
                result.expectedDeliveries = result.backlogRows + result.writes.filter { $0.phase != .noDrain }.reduce(0) { $0 + ($1.ids?.count ?? 0) }
                let drainEnd = clock.now.advanced(by: timeout)
                while try oldestID() != nil || drainer.inFlight.rows > 0 {
                    guard clock.now < drainEnd else { throw Failure(description: "the live rows were not delivered within \(timeout)") }
                    try await Task.sleep(for: .milliseconds(10))
                }
            }
        } catch {
            _ = await live.stop()
            throw error
        }
        (result.delivered, result.deadLettered, result.retried) = (drainer.totals.delivered, drainer.totals.deadLettered, drainer.totals.retried)
        result.queueDrops = try queue.statistics().drops
        return result
    }
}

extension CatchUpBenchmark {
    /// Prints the detailed table of `result`.
    static func report(_ result: Result, machine: MachineDescription) {
        let mebibyte = Double(1 << 20)
        func mib(_ bytes: Int64) -> String { cell(Double(bytes) / mebibyte, 1) }
        func file(_ sizes: (main: Int64, wal: Int64)) -> String { "\(mib(sizes.main + sizes.wal)) (main \(mib(sizes.main)) + WAL \(mib(sizes.wal)))" }
        let quiet = result.latencies(.noDrain)
        let catchUp = result.latencies(.catchUp)
        let after = result.latencies(.afterCatchUp)
        func percentiles(_ samples: [Double], _ p: Double) -> String { samples.isEmpty ? "-" : cell(samples.percentile(p), 1) }
        func ratio(_ p: Double) -> String {
            guard !quiet.isEmpty, !catchUp.isEmpty else { return "" }
            return "\(cell(catchUp.percentile(p) / quiet.percentile(p), 2))x"
        }
        let late = { (phase: LiveWriter.Phase) in
            result.writes.filter { $0.phase == phase && $0.lateMilliseconds > result.liveInterval.milliseconds / 2 }.count
        }
        let interval = result.liveInterval.milliseconds
        let payloadMB = Double(result.backlogPayloadBytes) / 1e6
        let full = result.fullFile.main + result.fullFile.wal
        let shrink = result.shrinkSeconds.map { "\(cell($0, 1)) s after catch-up" } ?? "no shrink within \(cell(result.maintenanceInterval.seconds * 2, 0)) s of catch-up"
        let cpu = result.catchUpCPU
        print("""

            Catch-up: a \(cell(Double(result.backlogPayloadBytes) / mebibyte, 0)) MiB backlog (\(result.backlogRows) rows, filled in \
            \(cell(result.fillSeconds, 1)) s with no drainer) drained by the real Drainer (default DrainerConfiguration) to \
            statsink-mock-broker while live data keeps flowing, in the product's layout (one queue file, durability normal, \
            shared by SinkWriter and Drainer as in `statsink run`).
            Live: a 10k-metric snapshot (JSON, batch_size 100: 100 messages, ~3 MB) through SinkWriter.write every \
            \(cell(interval, 0)) ms (\(cell(1000 / interval, 1))/s), timed per write (encode + commit); the baseline is the \
            same writer before the drainer starts (\(quiet.count) writes, the broker unavailable). Catch-up: from the \
            drainer's start until every row of the backlog (ids up to the last one written before the start) is deleted; \
            steady state: the oldest row left is from one of the last two live snapshots.
            | measure | during catch-up | baseline | ratio |
            |---|---:|---:|---:|
            | catch-up time, s | \(cell(result.catchUpSeconds, 2)) | | |
            | backlog payload drained, MB/s | \(cell(payloadMB / result.catchUpSeconds, 1)) | | |
            | time to steady state from the drainer's start, s | \(cell(result.steadySeconds, 2)) | | |
            | live write p50, ms | \(percentiles(catchUp, 50)) | \(percentiles(quiet, 50)) (no drainer) | \(ratio(50)) |
            | live write p99, ms | \(percentiles(catchUp, 99)) | \(percentiles(quiet, 99)) (no drainer) | \(ratio(99)) |
            | live write max, ms | \(percentiles(catchUp, 100)) | \(percentiles(quiet, 100)) (no drainer) | \(ratio(100)) |
            | live writes (started more than half an interval late) | \(catchUp.count) (\(late(.catchUp))) | \(quiet.count) (\(late(.noDrain))) | |
            | live write p50 / p99 / max after catch-up (upkeep included), ms | \(percentiles(after, 50)) / \(percentiles(after, 99)) / \(percentiles(after, 100)) (\(after.count) writes) | | |
            | slowest live write after catch-up: started s after the drainer's start (upkeep every \(cell(result.maintenanceInterval.seconds, 0)) s) | \(result.slowestAfterCatchUp.map { cell($0.startSeconds, 2) } ?? "-") | | |
            | live snapshots dropped or failed | \(result.droppedWrites) of \(result.writes.count + result.writeFailures.count) | | |
            | rows delivered / expected (backlog + live), dead letters, retries | \(result.delivered) / \(result.expectedDeliveries), \(result.deadLettered), \(result.retried) | | |
            | queue file with the backlog full, MiB | \(file(result.fullFile)) | \(mib(result.backlogPayloadBytes)) payload | \(cell(Double(full) / Double(result.backlogPayloadBytes), 3))x |
            | pages in use with the backlog full, MiB | \(mib(result.fullUsedBytes)) | \(mib(result.backlogPayloadBytes)) payload | \(cell(Double(result.fullUsedBytes) / Double(result.backlogPayloadBytes), 3))x |
            | queue file when the backlog was gone, MiB | \(file(result.caughtUpFile)) | \(mib(full)) full | \(cell(Double(result.caughtUpFile.main + result.caughtUpFile.wal) / Double(full), 3))x |
            | queue file after the drainer's upkeep (every \(cell(result.maintenanceInterval.seconds, 0)) s; shrank \(shrink)), MiB | \(file(result.settledFile)) | \(mib(full)) full | \(cell(Double(result.settledFile.main + result.settledFile.wal) / Double(full), 3))x |
            | of which pages in use / free, and live payload still queued, MiB | \(mib(result.settledUsedBytes)) / \(mib(result.settledFreeBytes)), \(mib(result.settledPayloadBytes)) | | |
            | CPU-seconds during catch-up: this process / broker / other processes | \(cell(cpu.processSeconds, 2)) / \(cell(cpu.brokerSeconds, 2)) / \(cell(cpu.otherSeconds, 2)) | | |
            """)
        if cpu.otherSeconds > 0.1 * Double(machine.processors) * result.catchUpSeconds {
            print("WARNING: other processes used \(cell(cpu.otherSeconds, 2)) CPU-seconds during the catch-up, so its figures are not trustworthy: rerun on a quiet machine.")
        }
        if !result.everythingDelivered {
            print("WARNING: not everything was delivered exactly once: \(result.delivered) of \(result.expectedDeliveries) rows delivered, \(result.deadLettered) dead letters, drops \(result.queueDrops), write failures \(result.writeFailures.prefix(3)).")
        }
        print(machine)
    }
}
