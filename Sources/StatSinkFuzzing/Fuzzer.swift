import Dispatch
import Foundation
import StatSinkSynthetic
import Synchronization

/// The seeded mutation loop: a target's seeds first, then mutations of its corpus, which grows
/// by every input with an outcome class not seen before; every input checked by the target's
/// oracles, timed, and guarded against crashes and hangs (``CrashGuard``).
///
/// A run is deterministic: the same target, seed and extra seeds give the same inputs in the
/// same order, so iteration `i` of seed `s` is made again by running `i + 1` iterations.
public enum Fuzzer {
    /// One run at a time per process: the crash guard's state is global.
    private static let session = NSLock()

    /// Runs `target` on a thread of its own (``FuzzOptions/stackSize``) and waits for it.
    /// `progress` gets a line every 10 seconds and each failure as it is found.
    public static func run(
        _ target: any FuzzTarget, options: FuzzOptions, progress: (@Sendable (String) -> Void)? = nil
    ) -> FuzzReport {
        let done = DispatchSemaphore(value: 0)
        let result = Mutex<FuzzReport?>(nil)
        start(target, options: options, progress: progress) { report in
            result.withLock { $0 = report }
            done.signal()
        }
        done.wait()
        return result.withLock { $0! }
    }

    /// ``run(_:options:progress:)`` for async callers: the caller's thread is not blocked.
    public static func run(
        _ target: any FuzzTarget, options: FuzzOptions, progress: (@Sendable (String) -> Void)? = nil
    ) async -> FuzzReport {
        await withCheckedContinuation { continuation in
            start(target, options: options, progress: progress) { continuation.resume(returning: $0) }
        }
    }

    /// Runs `target` once on `input`, with its oracles and the time limit, on a thread with the
    /// stack of a run (`stackSize`).
    public static func replay(
        _ target: any FuzzTarget, input: [UInt8], timeout: Duration = .seconds(2), stackSize: Int = FuzzOptions().stackSize
    ) -> (FuzzOutcome, Duration) {
        let done = DispatchSemaphore(value: 0)
        let result = Mutex<(FuzzOutcome, Duration)?>(nil)
        let thread = Thread {
            let clock = ContinuousClock()
            let start = clock.now
            var outcome = target.run(input)
            let took = start.duration(to: clock.now)
            if outcome.failureMessage == nil, took > timeout { outcome = .failure("took \(took) (limit \(timeout))") }
            result.withLock { $0 = (outcome, took) }
            done.signal()
        }
        thread.stackSize = stackSize
        thread.start()
        done.wait()
        return result.withLock { $0! }
    }

    private static func start(
        _ target: any FuzzTarget, options: FuzzOptions, progress: (@Sendable (String) -> Void)?,
        completion: @escaping @Sendable (FuzzReport) -> Void
    ) {
        let thread = Thread {
            session.lock()
            let report = loop(target, options: options, progress: progress)
            session.unlock()
            completion(report)
        }
        thread.stackSize = options.stackSize
        thread.start()
    }

    private static func loop(_ target: any FuzzTarget, options: FuzzOptions, progress: (@Sendable (String) -> Void)?) -> FuzzReport {
        var random = SplitMix64(seed: options.seed)
        var corpus = target.seeds() + options.extraSeeds
        if corpus.isEmpty { corpus = [[]] }
        let seedCount = corpus.count
        var seen = Set<String>()
        var report = FuzzReport(target: target.name, seed: options.seed)
        let clock = ContinuousClock()
        let started = clock.now
        let seconds = options.seconds ?? (options.iterations == nil ? 60 : nil)
        let deadline = seconds.map { started + .nanoseconds(Int64($0 * 1e9)) }
        var nextProgress = started + .seconds(10)
        var slowestInput: [UInt8] = []
        /// Positions in `corpus` of inputs that were accepted.
        var accepted: [Int] = []

        CrashGuard.install(target: target.name, seed: options.seed, directory: options.artifactsDirectory, capacity: target.maximumInputSize)
        defer { CrashGuard.uninstall() }
        let watchdog = Watchdog(limit: options.hangTimeout)

        inputs: while options.iterations.map({ report.iterations < $0 }) ?? true {
            let now = clock.now
            if let deadline, now >= deadline { break inputs }
            if let progress, now >= nextProgress {
                progress(progressLine(report, elapsed: started.duration(to: now), corpus: corpus.count))
                nextProgress = now + .seconds(10)
            }
            let iteration = report.iterations
            // Making the input is watched too: a mutation that never ends is a hang as well.
            watchdog.begin()
            var input: [UInt8]
            if iteration < seedCount {
                input = corpus[iteration]
            } else {
                // Half the time an input the code took: small changes of those reach the
                // oracles of accepted inputs, which few random inputs do.
                let base = !accepted.isEmpty && Bool.random(using: &random)
                    ? accepted[Int.random(in: accepted.indices, using: &random)] : Int.random(in: corpus.indices, using: &random)
                input = corpus[base]
                let donor = corpus[Int.random(in: corpus.indices, using: &random)]
                // Mostly one or two changes, sometimes up to eight stacked.
                let steps = 1 + min(Int.random(in: 0..<8, using: &random), Int.random(in: 0..<8, using: &random))
                for _ in 0..<steps { target.mutate(&input, donor: donor, using: &random) }
            }
            if input.count > target.maximumInputSize { input.removeLast(input.count - target.maximumInputSize) }

            CrashGuard.setInput(input, iteration: iteration)
            let before = clock.now
            var outcome = target.run(input)
            watchdog.end()
            CrashGuard.finished()
            let took = before.duration(to: clock.now)
            report.iterations += 1
            if took > report.slowest {
                report.slowest = took
                report.slowestIteration = iteration
                slowestInput = input
            }
            if outcome.failureMessage == nil, took > options.timeout {
                outcome = .failure("took \(took) (limit \(options.timeout))")
            }
            report.outcomes[outcome.signature, default: 0] += 1
            switch outcome.verdict {
            case .accepted: report.accepted += 1
            case .rejected: report.rejected += 1
            case .failure(let message):
                let failure = FuzzFailure(iteration: iteration, message: message, input: input, file: save(input, name: "\(target.name)-seed\(options.seed)-iteration\(iteration).bin", options: options))
                report.failures.append(failure)
                progress?(failure.description(target: target.name, seed: options.seed))
                if report.failures.count >= options.maximumFailures { break inputs }
                continue
            }
            let isAccepted = outcome.verdict == .accepted
            if iteration < seedCount {
                if isAccepted { accepted.append(iteration) }
                seen.insert(outcome.signature)
            } else if seen.insert(outcome.signature).inserted {
                let position = corpus.count < options.maximumCorpus ? corpus.count : Int.random(in: seedCount..<corpus.count, using: &random)
                if position == corpus.count { corpus.append(input) } else { corpus[position] = input }
                accepted.removeAll { $0 == position }
                if isAccepted { accepted.append(position) }
            }
        }
        watchdog.stop()
        report.elapsed = started.duration(to: clock.now)
        report.corpusSize = corpus.count
        if options.saveSlowest {
            report.slowestFile = save(slowestInput, name: "\(target.name)-seed\(options.seed)-slowest.bin", options: options)
        }
        return report
    }

    private static func progressLine(_ report: FuzzReport, elapsed: Duration, corpus: Int) -> String {
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return "\(report.target): \(fixed(seconds, 0)) s, \(report.iterations) inputs (\(fixed(Double(report.iterations) / max(seconds, 0.001), 0))/s), "
            + "\(report.outcomes.count) outcomes, corpus \(corpus), failures \(report.failures.count)"
    }

    private static func save(_ input: [UInt8], name: String, options: FuzzOptions) -> String? {
        let directory = options.artifactsDirectory
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = "\(directory)/\(name)"
        return FileManager.default.createFile(atPath: path, contents: Data(input)) ? path : nil
    }
}

/// Watches the input in flight from a thread of its own: one running past the limit is a
/// hang that no call returns from, so the process reports it (``CrashGuard``) and exits 3.
private final class Watchdog: Sendable {
    private let startedAt = Atomic<UInt64>(0)
    private let stopped = Atomic<Bool>(false)

    init(limit: Duration) {
        let limitNanoseconds = UInt64(limit.components.seconds) * 1_000_000_000 + UInt64(limit.components.attoseconds / 1_000_000_000)
        let thread = Thread { [self] in
            while !stopped.load(ordering: .relaxed) {
                Thread.sleep(forTimeInterval: 0.1)
                let start = startedAt.load(ordering: .relaxed)
                if start != 0, DispatchTime.now().uptimeNanoseconds - start > limitNanoseconds {
                    CrashGuard.report("hung: still running after this many seconds: ", number: limitNanoseconds / 1_000_000_000)
                    _exit(3)
                }
            }
        }
        thread.start()
    }

    func begin() { startedAt.store(DispatchTime.now().uptimeNanoseconds, ordering: .relaxed) }
    func end() { startedAt.store(0, ordering: .relaxed) }
    func stop() { stopped.store(true, ordering: .relaxed) }
}
