import CoreMetrics
import Dispatch
import StatSinkCodec
import StatSinkMetrics
import StatSinkModel
import Synchronization

/// The swift-metrics backend: the hot path through swift-metrics' own API types (`Counter`,
/// `Recorder`, `Timer`, `Meter`, each a call through an existential handler), next to the bare
/// primitive it is built on, and the cost of a snapshot next to the JSON encode that follows it
/// in every flush.
struct MetricsBackendBenchmark {
    struct HotPathRow {
        var operation: String
        var threads: Int
        var nanoseconds: Double
        var baseline: String
        var baselineNanoseconds: Double
    }

    struct SnapshotRow {
        var metrics: Int
        var snapshotMilliseconds: Double
        var encodeMilliseconds: Double
    }

    /// Operations per thread per run; each figure is the median of ``runs`` runs.
    let iterations: Int
    let runs = 5
    let snapshotSizes: [Int]

    /// Holds the baselines' state in a class, as the handlers hold theirs.
    private final class Primitives: Sendable {
        let atomic = Atomic<UInt64>(0)
        let mutex = Mutex<UInt64>(0)
    }

    func runHotPath() -> [HotPathRow] {
        let factory = StatSinkMetricsFactory()
        let primitives = Primitives()
        let counter = Counter(label: "bench.counter", dimensions: [("kind", "a")], factory: factory)
        let recorder = Recorder(label: "bench.recorder", factory: factory)
        let timer = Timer(label: "bench.timer", factory: factory)
        let meter = Meter(label: "bench.meter", factory: factory)
        // swift-metrics' `Recorder` is not final: its generic `record` is reached through the
        // class's table unspecialized, which the handler called directly shows.
        let rawHandler = factory.makeRecorder(label: "bench.raw", dimensions: [], aggregate: true)
        // Varied samples (0.6 ms to 39 s), so buckets and sketch slots vary as in real traffic.
        var state: UInt64 = 1
        let values: [Double] = (0..<1024).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return 0.1 * Double(1 << (state >> 60)) * (1 + Double(state >> 40 & 0xFFFF) / 65_536) * 6
        }
        let nanoseconds = values.map { Int64($0 * 1e6) }

        let atomicAdd = (name: "`Atomic<UInt64>.wrappingAdd`", nanoseconds: measure(threads: 1) { _ in primitives.atomic.wrappingAdd(1, ordering: .relaxed) })
        let contendedAdd = (name: "`Atomic<UInt64>.wrappingAdd`, one atomic", nanoseconds: measure(threads: 2) { _ in primitives.atomic.wrappingAdd(1, ordering: .relaxed) })
        let lockedAdd = (name: "`Mutex<UInt64>` lock + add", nanoseconds: measure(threads: 1) { index in primitives.mutex.withLock { $0 &+= UInt64(index & 1) } })
        let cases: [(operation: String, threads: Int, body: @Sendable (Int) -> Void, baseline: (name: String, nanoseconds: Double))] = [
            ("`Counter.increment()`", 1, { _ in counter.increment() }, atomicAdd),
            ("`Counter.increment()`, one counter", 2, { _ in counter.increment() }, contendedAdd),
            ("`Recorder.record(Double)` (histogram)", 1, { index in recorder.record(values[index & 1023]) }, lockedAdd),
            ("its handler's `record(Double)`, called directly", 1, { index in rawHandler.record(values[index & 1023]) }, lockedAdd),
            ("`Timer.recordNanoseconds`", 1, { index in timer.recordNanoseconds(nanoseconds[index & 1023]) }, lockedAdd),
            ("`Meter.set(Double)`", 1, { index in meter.set(values[index & 1023]) }, atomicAdd),
        ]
        return cases.map { item in
            HotPathRow(
                operation: item.operation, threads: item.threads, nanoseconds: measure(threads: item.threads, item.body),
                baseline: item.baseline.name, baselineNanoseconds: item.baseline.nanoseconds
            )
        }
    }

    /// Factories of `size` metrics (70 % counters, 20 % gauges, 10 % histograms, 0-3 dimensions),
    /// every metric updated before each snapshot (histograms with 100 samples).
    func runSnapshots() -> [SnapshotRow] {
        snapshotSizes.map { size in
            let factory = StatSinkMetricsFactory()
            let counterCount = size * 7 / 10
            let gaugeCount = size * 2 / 10
            let dimensions = (0..<size).map { index in (0..<(index % 4)).map { ("tag\($0)", "value\(index % 13)") } }
            let counters = (0..<counterCount).map { Counter(label: "bench.counter\($0)", dimensions: dimensions[$0], factory: factory) }
            let meters = (0..<gaugeCount).map { Meter(label: "bench.gauge\($0)", dimensions: dimensions[$0], factory: factory) }
            let timers = (0..<(size - counterCount - gaugeCount)).map { Timer(label: "bench.timer\($0)", dimensions: dimensions[$0], factory: factory) }
            let encoder = SnapshotEncoder(options: EncodingOptions(format: .json))
            var snapshotTimes: [Double] = []
            var encodeTimes: [Double] = []
            let clock = ContinuousClock()
            for run in 0...runs {
                for counter in counters { counter.increment(by: run + 1) }
                for meter in meters { meter.set(run) }
                for (index, timer) in timers.enumerated() {
                    for sample in 0..<100 { timer.recordMicroseconds((index + 1) * (sample + 1) * 37) }
                }
                let start = clock.now
                let snapshot = factory.snapshot(timestampMs: 1_764_000_000_000, node: NodeIdentity(id: "bench"))
                let taken = clock.now
                let bytes = encoder.encode(snapshot, sequence: 1).reduce(0) { $0 + $1.value.count }
                let encoded = clock.now
                precondition(snapshot.metricCount == size && bytes > 0, "every metric is in the snapshot")
                if run > 0 {  // the first run warms up
                    snapshotTimes.append((taken - start).milliseconds)
                    encodeTimes.append((encoded - taken).milliseconds)
                }
            }
            return SnapshotRow(metrics: size, snapshotMilliseconds: snapshotTimes.median, encodeMilliseconds: encodeTimes.median)
        }
    }

    /// Median nanoseconds per call of `body` (given the iteration index) on each of `threads`
    /// threads running at once: wall time over the iterations of one thread.
    private func measure(threads: Int, _ body: @Sendable (Int) -> Void) -> Double {
        let iterations = self.iterations
        var samples: [Double] = []
        let clock = ContinuousClock()
        for run in 0...runs {
            let start = clock.now
            DispatchQueue.concurrentPerform(iterations: threads) { _ in
                for index in 0..<iterations { body(index) }
            }
            let elapsed = clock.now - start
            if run > 0 { samples.append(elapsed.milliseconds * 1e6 / Double(iterations)) }
        }
        return samples.median
    }
}

extension MetricsBackendBenchmark {
    /// Runs both parts and prints their tables.
    func report() {
        print("swift-metrics backend hot path (ns per call per thread, median of \(runs) runs of \(iterations) calls per thread)")
        print("| operation | threads | ns/call | baseline | baseline ns/call | ratio |")
        print("|---|---:|---:|---|---:|---:|")
        for row in runHotPath() {
            print("| \(row.operation) | \(row.threads) | \(cell(row.nanoseconds, 1)) | \(row.baseline) | \(cell(row.baselineNanoseconds, 1)) | \(cell(row.nanoseconds / row.baselineNanoseconds, 1))x |")
        }
        print("")
        print("Snapshot of N used metrics (70% counters, 20% gauges, 10% histograms of 100 samples; median), next to its JSON encode")
        print("| metrics | snapshot ms | JSON encode ms (whole snapshot, one message) | snapshot / encode |")
        print("|---:|---:|---:|---:|")
        for row in runSnapshots() {
            print("| \(row.metrics) | \(cell(row.snapshotMilliseconds, 3)) | \(cell(row.encodeMilliseconds, 3)) | \(cell(row.snapshotMilliseconds / row.encodeMilliseconds, 2)) |")
        }
    }
}
