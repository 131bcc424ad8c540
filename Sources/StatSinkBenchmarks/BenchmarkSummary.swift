import Foundation

/// The one table `statsink-bench --summary` ends with (issue 6): a row per figure, each next to
/// its baseline measured in the same run, their ratio, and the target where an issue sets one;
/// then how busy the rest of the machine was during each phase.
struct BenchmarkSummary {
    /// One figure.
    struct Row {
        var figure: String
        var ours: String
        var baseline: String
        var ratio: String
        var target: String
    }

    /// Other processes' CPU during one phase.
    struct Load {
        var phase: String
        var cpu: CPUTime
        var seconds: Double
    }

    private(set) var rows: [Row] = []
    private(set) var loads: [Load] = []

    /// Adds a row; `ratio` is ours / baseline; `target` says what is asked and `met` whether
    /// this run met it.
    mutating func add(_ figure: String, ours: String, baseline: String, ratio: Double? = nil, target: String = "", met: Bool? = nil) {
        let verdict = met.map { $0 ? " (met)" : " (**not met**)" } ?? ""
        rows.append(Row(figure: figure, ours: ours, baseline: baseline, ratio: ratio.map(Self.ratio) ?? "", target: target + verdict))
    }

    /// `1.23x`; a small ratio also as a fraction (`0.0034x (1/292)`), which two decimals would
    /// round to nothing.
    private static func ratio(_ value: Double) -> String {
        value >= 0.1 || value <= 0 ? "\(cell(value, 2))x" : "\(cell(value, 4))x (1/\(cell(1 / value, 0)))"
    }

    /// Records what other processes used while a phase ran.
    mutating func noteLoad(_ phase: String, cpu: CPUTime, seconds: Double) {
        loads.append(Load(phase: phase, cpu: cpu, seconds: seconds))
    }

    /// Prints the table, the machine, and a warning for each phase other processes disturbed.
    func report(machine: MachineDescription) {
        print("""

            Summary (issue 6): each figure next to its baseline measured in this run; ratio = ours / baseline.
            | figure | ours | baseline (what it is) | ratio | target |
            |---|---:|---|---:|---|
            """)
        for row in rows {
            print("| \(row.figure) | \(row.ours) | \(row.baseline) | \(row.ratio) | \(row.target) |")
        }
        let capacity = Double(machine.processors)
        let shares = loads.map { "\($0.phase): \(cell(100 * $0.cpu.otherSeconds / (capacity * max($0.seconds, 1e-9)), 0)) %" }
        print("\nOther processes' share of the machine's CPU during each phase (~0 on a quiet machine): \(shares.joined(separator: "; ")).")
        for load in loads where load.cpu.otherSeconds > 0.1 * capacity * load.seconds {
            print("WARNING: other processes used \(cell(load.cpu.otherSeconds, 2)) CPU-seconds during \(load.phase) (\(cell(load.seconds, 1)) s): its figures are not trustworthy; rerun on a quiet machine.")
        }
        print(machine)
    }
}

extension BenchmarkSummary {
    /// Encode 10k metrics, whole snapshot as one message, per format; `load` is the encoder phase's.
    mutating func addEncoding(_ rows: [EncoderBenchmark.Row], load: Load) {
        loads.append(load)
        for row in rows where row.metrics == 10_000 && row.batchSize == 0 {
            add(
                "encode 10k metrics, \(row.format), ms/snapshot", ours: cell(row.ours.milliseconds, 2),
                baseline: "\(cell(row.baseline.milliseconds, 2)) (\(EncoderBenchmark.baselineName(row.format)), same snapshot)",
                ratio: row.ours.milliseconds / row.baseline.milliseconds
            )
        }
    }

    /// Enqueue commit p50/p99 per durability, and the drain's throughput and memory.
    mutating func addQueue(_ result: QueueBenchmark.Result) {
        for row in result.enqueue {
            let sync = row.durability == .full ? "FULL" : "NORMAL"
            for p in [50.0, 99.0] {
                let (ours, raw) = (row.enqueue.percentile(p), row.raw.percentile(p))
                add(
                    "enqueue commit p\(Int(p)), durability \(row.durability.rawValue), ms (10k metrics, 100 rows, \(cell(Double(row.payloadBytesPerSnapshot) / 1e6, 1)) MB)",
                    ours: cell(ours, 2), baseline: "\(cell(raw, 2)) (raw SQLite insert, same BLOBs, one transaction, synchronous=\(sync))",
                    ratio: ours / raw
                )
            }
        }
        let drain = result.drain
        let megabytes = Double(drain.backlogPayloadBytes) / 1e6
        let (ours, raw) = (megabytes / drain.drainSeconds, megabytes / drain.baselineSeconds)
        add(
            "drain of a \(mebibytes(drain.backlogPayloadBytes)) MiB backlog, payload MB/s", ours: cell(ours, 1),
            baseline: "\(cell(raw, 1)) (raw librdkafka producer, same payloads and broker; the median of \(drain.rounds.count) rounds: \(drain.roundRatios))",
            ratio: ours / raw, target: ">= 0.9x", met: ours / raw >= 0.9
        )
        let mebibyte = Double(1 << 20)
        let rss = Double(drain.drainResidentBytes) / Double(drain.emptyResidentBytes)
        add(
            "peak RSS while draining it, MiB (VmRSS every 50 ms)", ours: cell(Double(drain.drainResidentBytes) / mebibyte, 1),
            baseline: "\(cell(Double(drain.emptyResidentBytes) / mebibyte, 1)) (same drainer, empty queue)", ratio: rss, target: "<= 1.2x", met: rss <= 1.2
        )
        if let drainPeak = drain.drainPeakBytes, let emptyPeak = drain.emptyPeakBytes {
            let ratio = Double(drainPeak) / Double(emptyPeak)
            add(
                "peak RSS while draining it, MiB (VmHWM)", ours: cell(Double(drainPeak) / mebibyte, 1),
                baseline: "\(cell(Double(emptyPeak) / mebibyte, 1)) (same drainer, empty queue)", ratio: ratio, target: "<= 1.2x", met: ratio <= 1.2
            )
        }
        noteLoad("enqueue", cpu: result.enqueueCPU, seconds: result.enqueueSeconds)
        noteLoad("drain", cpu: drain.drainCPU, seconds: drain.drainSeconds)
        noteLoad("raw librdkafka", cpu: drain.baselineCPU, seconds: drain.baselineSeconds)
    }

    /// Catch-up with live data, and the file's size; `drain` (same run, no live data) is the
    /// throughput baseline when the queue benchmark ran too.
    mutating func addCatchUp(_ result: CatchUpBenchmark.Result, drain: DrainBenchmark.Result?) {
        let live = "live: 10k metrics every \(cell(result.liveInterval.milliseconds, 0)) ms"
        let megabytesPerSecond = Double(result.backlogPayloadBytes) / 1e6 / result.catchUpSeconds
        let drainBaseline = drain.map { Double($0.backlogPayloadBytes) / 1e6 / $0.drainSeconds }
        add(
            "catch-up of a \(mebibytes(result.backlogPayloadBytes)) MiB backlog, \(live), s", ours: cell(result.catchUpSeconds, 1),
            baseline: drain.map { "\(cell($0.drainSeconds, 1)) (drain of \(mebibytes($0.backlogPayloadBytes)) MiB, no live data)" } ?? ""
        )
        add(
            "catch-up, backlog payload MB/s", ours: cell(megabytesPerSecond, 1),
            baseline: drainBaseline.map { "\(cell($0, 1)) (drain, no live data)" } ?? "", ratio: drainBaseline.map { megabytesPerSecond / $0 }
        )
        add("back to steady state (only live rows queued), s from the drainer's start", ours: cell(result.steadySeconds, 1), baseline: "")
        let (quiet, catchUp) = (result.latencies(.noDrain), result.latencies(.catchUp))
        if !quiet.isEmpty, !catchUp.isEmpty {
            add(
                "live enqueue p99 during catch-up, ms (encode + commit; writes: \(catchUp.count))", ours: cell(catchUp.percentile(99), 1),
                baseline: "\(cell(quiet.percentile(99), 1)) (same writer, no drain; writes: \(quiet.count))", ratio: catchUp.percentile(99) / quiet.percentile(99)
            )
        }
        if let slowest = result.slowestAfterCatchUp, !quiet.isEmpty {
            add(
                "slowest live enqueue after catch-up, ms (it started \(cell(slowest.startSeconds, 1)) s after the drainer; upkeep every \(cell(result.maintenanceInterval.seconds, 0)) s)",
                ours: cell(slowest.milliseconds, 1), baseline: "\(cell(quiet.percentile(100), 1)) (slowest with no drain)", ratio: slowest.milliseconds / quiet.percentile(100)
            )
        }
        add(
            "live snapshots dropped or failed; rows not delivered", ours: "\(result.droppedWrites) of \(result.writes.count + result.writeFailures.count); \(result.expectedDeliveries - result.delivered)",
            baseline: "", target: "0", met: result.everythingDelivered
        )
        let full = result.fullFile.main + result.fullFile.wal
        add(
            "queue file (main + WAL) with the backlog full, MiB", ours: mebibytes(full),
            baseline: "\(mebibytes(result.backlogPayloadBytes)) (payload bytes queued)", ratio: Double(full) / Double(result.backlogPayloadBytes)
        )
        let settled = result.settledFile.main + result.settledFile.wal
        let shrink = result.shrinkSeconds.map { "shrank \(cell($0, 0)) s after catch-up" } ?? "no shrink needed"
        add(
            "queue file after the drain (live data flowing; \(shrink), upkeep every \(cell(result.maintenanceInterval.seconds, 0)) s), MiB",
            ours: mebibytes(settled), baseline: "\(mebibytes(full)) (with the backlog full)", ratio: Double(settled) / Double(full)
        )
        noteLoad("catch-up", cpu: result.catchUpCPU, seconds: result.catchUpSeconds)
    }

    /// gRPC ingest end to end, per stream count.
    mutating func addGRPC(_ rows: [GRPCIngestBenchmark.Row]) {
        let reference = rows.first { $0.path.hasPrefix("reference") }
        for row in rows where row.cpu != nil {
            add(
                "gRPC ingest end to end into the queue, \(row.streams) stream\(row.streams == 1 ? "" : "s"), MetricFamily/s",
                ours: cell(row.familiesPerSecond, 0),
                baseline: reference.map { "\(cell($0.familiesPerSecond, 0)) (swift-protobuf generated messages, decoding alone)" } ?? "",
                ratio: reference.map { row.familiesPerSecond / $0.familiesPerSecond }, target: ">= 200000/s", met: row.familiesPerSecond >= 200_000
            )
            if let cpu = row.cpu { noteLoad("gRPC, \(row.streams) stream\(row.streams == 1 ? "" : "s")", cpu: cpu, seconds: row.seconds) }
        }
    }

    private func mebibytes(_ bytes: Int64) -> String { cell(Double(bytes) / Double(1 << 20), 0) }
}
