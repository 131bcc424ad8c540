import CoreMetrics
import StatSinkModel
import Synchronization

/// The handler of a `Counter` and of a `FloatingPointCounter`: an Envoy counter (`UInt64`).
///
/// Integer increments are one atomic compare-and-exchange that saturates at `UInt64.max`;
/// negative increments are ignored (a counter only grows). Floating-point increments add their
/// integer part the same way and carry their fraction, under a lock, until it makes a whole
/// unit: the emitted value is the integer part of the running sum. NaN and negative amounts are
/// ignored, `+∞` and amounts from `2^64` saturate.
final class StatSinkCounter: CounterHandler, FloatingPointCounterHandler, Sendable {
    let name: MetricName
    private let value = Atomic<UInt64>(0)
    /// Set by the first increment, even of zero: only used metrics are emitted.
    private let used = Atomic<Bool>(false)
    /// The fraction carried by floating-point increments, in `0..<1`.
    private let fraction = Mutex<Double>(0)
    /// The value at the previous snapshot (read and written by snapshots only).
    private let lastSnapshotValue = Atomic<UInt64>(0)

    init(name: MetricName) {
        self.name = name
    }

    func increment(by amount: Int64) {
        guard amount >= 0 else { return }
        markUsed()
        add(UInt64(amount))
    }

    func increment(by amount: Double) {
        guard amount >= 0 else { return }  // NaN fails this too
        markUsed()
        guard amount < 0x1p64 else {
            add(.max)
            return
        }
        let whole = amount.rounded(.towardZero)
        let part = amount - whole
        var carry: UInt64 = 0
        if part > 0 {
            carry = fraction.withLock { fraction in
                fraction += part
                guard fraction >= 1 else { return 0 }
                fraction -= 1
                return 1
            }
        }
        // `whole` is below 2^64 - 2048, so adding the carry cannot overflow.
        add(UInt64(whole) + carry)
    }

    func reset() {
        fraction.withLock { $0 = 0 }
        value.store(0, ordering: .relaxed)
    }

    /// The counter's sample, or nil when it was never incremented. The delta is the growth since
    /// the previous call; after a `reset()` it is the whole new value.
    func sample() -> CounterSample? {
        let current = value.load(ordering: .relaxed)
        guard current != 0 || used.load(ordering: .relaxed) else { return nil }
        let previous = lastSnapshotValue.exchange(current, ordering: .relaxed)
        return CounterSample(name: name, value: current, delta: current >= previous ? current - previous : current)
    }

    @inline(__always)
    private func markUsed() {
        // A load first: after the first increment the flag's cache line is never written again.
        if !used.load(ordering: .relaxed) { used.store(true, ordering: .relaxed) }
    }

    @inline(__always)
    private func add(_ amount: UInt64) {
        var current = value.load(ordering: .relaxed)
        while true {
            let (sum, overflow) = current.addingReportingOverflow(amount)
            let (exchanged, original) = value.weakCompareExchange(
                expected: current, desired: overflow ? .max : sum, ordering: .relaxed
            )
            if exchanged { return }
            current = original
        }
    }
}
