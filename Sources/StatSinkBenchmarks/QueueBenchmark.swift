import Foundation
import StatSinkQueue

/// The issue-3 benchmark of the durable core: (a) enqueue latency against a raw SQLite insert,
/// (b) drain throughput against raw librdkafka, (c) peak RSS while draining against an empty
/// queue. Prints one markdown table per section, every figure next to its baseline from this run.
struct QueueBenchmark {
    /// Measured snapshots per durability in (a); 0 runs (b) and (c) alone.
    let snapshots: Int
    /// Payload bytes of the backlog in (b) and (c).
    let backlogBytes: Int64
    /// Drains of the backlog in (b), each followed by its baseline.
    var drainRounds = 5

    /// The figures of both parts.
    struct Result {
        /// One row per durability.
        var enqueue: [EnqueueBenchmark.Row]
        /// CPU used over the enqueue part, and its length.
        var enqueueCPU: CPUTime
        var enqueueSeconds: Double
        var drain: DrainBenchmark.Result
    }

    /// Runs both parts, prints their tables, and returns the figures.
    func run(in directory: URL) async throws -> Result {
        let machine = MachineDescription()

        let enqueue = EnqueueBenchmark(snapshots: snapshots, directory: directory)
        let cpu = CPUTime.now()
        let start = ContinuousClock.now
        let rows = try snapshots == 0 ? [] : [MessageQueueConfiguration.Durability.normal, .full].map { try enqueue.run(durability: $0) }
        let enqueueSeconds = (ContinuousClock.now - start).seconds
        let enqueueCPU = CPUTime.now().since(cpu)
        if !rows.isEmpty {
            printEnqueue(rows, directory: directory, machine: machine)
            if enqueueCPU.otherSeconds > 0.1 * Double(machine.processors) * enqueueSeconds {
                print("WARNING: other processes used \(cell(enqueueCPU.otherSeconds, 2)) CPU-seconds during the enqueue runs, so the figures above are not trustworthy: rerun on a quiet machine.")
            }
        }

        var benchmark = DrainBenchmark(backlogBytes: backlogBytes, directory: directory)
        benchmark.rounds = drainRounds
        let drain = try await benchmark.run()
        printDrain(drain, machine: machine)
        return Result(enqueue: rows, enqueueCPU: enqueueCPU, enqueueSeconds: enqueueSeconds, drain: drain)
    }

    private func printEnqueue(_ rows: [EnqueueBenchmark.Row], directory: URL, machine: MachineDescription) {
        let first = rows[0]
        let mix = EnqueueBenchmark.metricMix
        print("""

            Queue (a): enqueue of a 10k-metric Envoy-like snapshot (\(mix.counters) counters, \(mix.gauges) gauges, \
            \(mix.histograms) histograms; JSON, batch_size 100: \(first.messagesPerSnapshot) messages, \
            \(cell(Double(first.payloadBytesPerSnapshot) / 1e6, 2)) MB), \(first.snapshots) snapshots per durability, \
            files in \(directory.path).
            Ours: MessageQueue.enqueueSnapshot of the encoded messages (one transaction, returns once committed). \
            Baseline: the same payload BLOBs as the same number of rows, one transaction, into a plain table of a WAL \
            database with the same synchronous (SQLite C API). Ratio = ours / baseline.
            | durability | enqueue p50 ms | enqueue p99 ms | raw insert p50 ms | raw insert p99 ms | ratio p50 | ratio p99 | SinkWriter.write (encode + enqueue) p50 / p99 ms |
            |---|---:|---:|---:|---:|---:|---:|---:|
            """)
        for row in rows {
            let ours = (row.enqueue.percentile(50), row.enqueue.percentile(99))
            let raw = (row.raw.percentile(50), row.raw.percentile(99))
            let sync = row.durability == .full ? "FULL" : "NORMAL"
            print("| \(row.durability.rawValue) (synchronous=\(sync)) | \(cell(ours.0, 2)) | \(cell(ours.1, 2)) | \(cell(raw.0, 2)) | \(cell(raw.1, 2)) | \(cell(ours.0 / raw.0, 2))x | \(cell(ours.1 / raw.1, 2))x | \(cell(row.writer.percentile(50), 2)) / \(cell(row.writer.percentile(99), 2)) |")
        }
        print(machine)
    }

    private func printDrain(_ result: DrainBenchmark.Result, machine: MachineDescription) {
        let (drainCPU, baselineCPU) = (result.drainCPU, result.baselineCPU)
        func busy(_ cpu: CPUTime, _ seconds: Double) -> String {
            "\(cell(100 * cpu.machineBusySeconds / (Double(machine.processors) * seconds), 0)) %"
        }
        let megabytes = Double(result.backlogPayloadBytes) / 1e6
        let mebibyte = Double(1 << 20)
        let ours = (megabytes / result.drainSeconds, Double(result.backlogRows) / result.drainSeconds)
        let baseline = (megabytes / result.baselineSeconds, Double(result.backlogRows) / result.baselineSeconds)
        let totals = result.drainCounts
        print("""

            Queue (b), (c): drain of a \(cell(Double(result.backlogPayloadBytes) / mebibyte, 0)) MiB backlog \
            (\(result.backlogRows) rows of \(cell(Double(result.backlogPayloadBytes) / Double(max(result.backlogRows, 1)) / 1024, 1)) KiB, \
            queue file \(cell(Double(result.backlogFileBytes) / mebibyte, 0)) MiB, filled in \(cell(result.fillSeconds, 1)) s) \
            to statsink-mock-broker (librdkafka's mock cluster in a separate process, 1 partition), with the product's \
            producer properties (acks=all, enable.idempotence=true, linger.ms=5).
            Drainer: the real Drainer (default DrainerConfiguration) in a ServiceGroup, timed from its start to the last \
            row deleted (in all rounds: \(totals.delivered) delivered, \(totals.retried) retried, \(totals.deadLettered) dead-lettered). \
            Baseline: one KafkaProducer producing the same payloads, keys and headers from memory (read after the first drain; \
            no SQLite), timed from its creation to the last delivery report (\(result.baselineFailures) failed in all rounds).
            Rounds: \(result.rounds.count), each a drain of a fresh copy of the backlog then the baseline; the figures are \
            those of the round with the median ratio. Each round in order, ratio (ours / baseline MB/s): \
            \(result.rounds.map { "\(cell($0.ratio, 2))x (\(cell(megabytes / $0.drainSeconds, 0)) / \(cell(megabytes / $0.baselineSeconds, 0)))" }.joined(separator: ", ")).
            RSS: this process's VmRSS sampled every 50 ms (\(result.drainSamples) samples during the first drain, before the \
            baseline's payloads are in memory); the baseline is the same drainer idle on an empty queue for 2 s. VmHWM is \
            reset before each phase.
            | measure | Drainer | baseline | ratio | target |
            |---|---:|---:|---:|---|
            | drain throughput, payload MB/s | \(cell(ours.0, 1)) | \(cell(baseline.0, 1)) (raw KafkaProducer) | \(cell(ours.0 / baseline.0, 2))x | >= 0.9x |
            | drain throughput, rows/s | \(cell(ours.1, 0)) | \(cell(baseline.1, 0)) (raw KafkaProducer) | \(cell(ours.1 / baseline.1, 2))x | >= 0.9x |
            | drain time, s | \(cell(result.drainSeconds, 2)) | \(cell(result.baselineSeconds, 2)) (raw KafkaProducer) | | |
            | CPU-seconds, this process | \(cell(drainCPU.processSeconds, 2)) | \(cell(baselineCPU.processSeconds, 2)) | \(cell(drainCPU.processSeconds / baselineCPU.processSeconds, 2))x | |
            | CPU-seconds, broker process | \(cell(drainCPU.brokerSeconds, 2)) | \(cell(baselineCPU.brokerSeconds, 2)) | | |
            | CPU-seconds, other processes (~0 on a quiet machine) | \(cell(drainCPU.otherSeconds, 2)) | \(cell(baselineCPU.otherSeconds, 2)) | | |
            | machine CPU busy (busy / nproc x time) | \(busy(drainCPU, result.drainSeconds)) | \(busy(baselineCPU, result.baselineSeconds)) | | |
            | peak RSS, MiB (sampled VmRSS) | \(cell(Double(result.drainResidentBytes) / mebibyte, 1)) draining | \(cell(Double(result.emptyResidentBytes) / mebibyte, 1)) empty queue | \(cell(Double(result.drainResidentBytes) / Double(result.emptyResidentBytes), 2))x | <= 1.2x |
            """)
        if let drainPeak = result.drainPeakBytes, let emptyPeak = result.emptyPeakBytes {
            print("| peak RSS, MiB (VmHWM) | \(cell(Double(drainPeak) / mebibyte, 1)) draining | \(cell(Double(emptyPeak) / mebibyte, 1)) empty queue | \(cell(Double(drainPeak) / Double(emptyPeak), 2))x | <= 1.2x |")
        }
        for (phase, cpu, seconds) in [("drain", drainCPU, result.drainSeconds), ("baseline", baselineCPU, result.baselineSeconds)]
        where cpu.otherSeconds > 0.1 * Double(machine.processors) * seconds {
            print("WARNING: other processes used \(cell(cpu.otherSeconds, 2)) CPU-seconds during the \(phase), so the ratios above are not trustworthy: rerun on a quiet machine.")
        }
        print(machine)
    }
}
