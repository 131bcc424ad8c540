import StatSink
import StatSinkQueue
import Synchronization

/// A source that keeps writing while a backlog drains: a synthetic 10k-metric snapshot through
/// ``SinkWriter/write(_:counters:)`` every ``interval``, on a task as the product's
/// ``SyntheticSourceService`` does, timing each write (encode + commit) and tagging it with the
/// benchmark's phase at its start.
///
/// After ``quietWrites`` writes in ``Phase/noDrain`` it moves to ``Phase/catchUp`` itself, between
/// two writes, so the backlog the drainer starts with is exactly the rows up to ``backlogLastID``.
final class LiveWriter: Sendable {
    /// Where the benchmark was when a write started.
    enum Phase: Int, Sendable, CaseIterable {
        /// The queue filled, no drainer (the broker unavailable).
        case noDrain
        /// The drainer working through the backlog.
        case catchUp
        /// The backlog gone: only live rows left.
        case afterCatchUp
    }

    /// One write.
    struct Write: Sendable {
        var phase: Phase
        /// When it started.
        var started: ContinuousClock.Instant
        /// Wall time of `SinkWriter.write`, ms.
        var milliseconds: Double
        /// How long after its scheduled time the write started, ms (the writer falling behind).
        var lateMilliseconds: Double
        /// The record ids stored (first, last); `nil` when the snapshot was dropped.
        var ids: ClosedRange<Int64>?
        var drops: [DropReason: Int]
    }

    let interval: Duration
    let quietWrites: Int
    private let state = Mutex(State())
    private let task = Mutex<Task<Void, Never>?>(nil)

    private struct State {
        var phase = Phase.noDrain
        var writes: [Write] = []
        var failures: [String] = []
        var stopped = false
        /// The last record id written in ``Phase/noDrain``.
        var backlogLastID: Int64 = 0
    }

    init(interval: Duration, quietWrites: Int) {
        self.interval = interval
        self.quietWrites = quietWrites
    }

    /// Starts writing through `writer`, on a task of its own until ``stop()``.
    func start(writing writer: SinkWriter) {
        let started = Task { [self] in await write(through: writer) }
        task.withLock { $0 = started }
    }

    /// The current phase.
    var phase: Phase { state.withLock { $0.phase } }

    /// Moves on to `phase` (the benchmark saw the backlog gone).
    func enter(_ phase: Phase) { state.withLock { $0.phase = phase } }

    /// The last record id of the backlog, once ``phase`` is past ``Phase/noDrain``.
    var backlogLastID: Int64 { state.withLock { $0.backlogLastID } }

    /// The first record id of the `count`-th last stored snapshot (`nil` until there are that many):
    /// the queue is at steady state when its oldest row is at least this.
    func firstID(ofLast count: Int) -> Int64? {
        state.withLock { state in
            let stored = state.writes.lazy.compactMap(\.ids).suffix(count)
            return stored.count == count ? stored.first?.lowerBound : nil
        }
    }

    /// Stops after the write in progress; returns every write and failure.
    func stop() async -> (writes: [Write], failures: [String]) {
        state.withLock { $0.stopped = true }
        await task.withLock { $0 }?.value
        return state.withLock { ($0.writes, $0.failures) }
    }

    private func write(through writer: SinkWriter) async {
        var source = SyntheticBacklog.source()
        let clock = ContinuousClock()
        var next = clock.now
        while !state.withLock({ $0.stopped }) {
            try? await Task.sleep(until: next, clock: clock)
            let start = clock.now
            let late = start - next
            next = next.advanced(by: interval)
            let phase = self.phase
            let snapshot = source.nextSnapshot(timestampMs: MessageQueue.currentTimeMs())
            do {
                let outcome = try writer.write(snapshot)
                let elapsed = clock.now - start
                let ids = outcome.recordIDs.first.flatMap { first in outcome.recordIDs.last.map { first...$0 } }
                state.withLock { state in
                    state.writes.append(Write(phase: phase, started: start, milliseconds: elapsed.milliseconds, lateMilliseconds: late.milliseconds, ids: ids, drops: outcome.drops))
                    if phase == .noDrain, let ids { state.backlogLastID = ids.upperBound }
                    if phase == .noDrain, state.writes.count >= quietWrites { state.phase = .catchUp }
                }
            } catch {
                state.withLock { $0.failures.append("\(error)") }
            }
        }
    }
}
