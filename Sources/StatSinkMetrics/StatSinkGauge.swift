import CoreMetrics
import StatSinkModel
import Synchronization

/// The handler of a `Meter` and of a non-aggregating `Recorder` (a `Gauge`): an Envoy gauge.
///
/// The value is a `Double` in one atomic word (integers are exact up to 2^53): `set` and
/// `record` store it, `increment` and `decrement` update it with a compare-and-exchange.
/// Setting NaN, and incrementing or decrementing by NaN, ±∞ or a negative amount, are ignored.
/// Envoy's gauges are unsigned integers, so ``Self/gaugeValue(_:)`` maps the value at each
/// snapshot: rounded to the nearest integer (halves away from zero), negative values to 0,
/// values from 2^64 to `UInt64.max`.
final class StatSinkGauge: MeterHandler, RecorderHandler, Sendable {
    let name: MetricName
    /// The value's bit pattern, or ``unset`` until the first update.
    private let bits = Atomic<UInt64>(StatSinkGauge.unset)
    /// A NaN payload: updates never store NaN, so this marks a gauge never used.
    private static let unset: UInt64 = Double.nan.bitPattern | 0x5747

    init(name: MetricName) {
        self.name = name
    }

    func set(_ value: Int64) { set(Double(value)) }

    func set(_ value: Double) {
        guard !value.isNaN else { return }
        bits.store(value.bitPattern, ordering: .relaxed)
    }

    func record(_ value: Int64) { set(Double(value)) }

    func record(_ value: Double) { set(value) }

    func increment(by amount: Double) {
        guard amount.isFinite, amount >= 0 else { return }
        update { $0 + amount }
    }

    func decrement(by amount: Double) {
        guard amount.isFinite, amount >= 0 else { return }
        update { $0 - amount }
    }

    /// The gauge's sample, or nil when it was never set.
    func sample() -> GaugeSample? {
        let current = bits.load(ordering: .relaxed)
        guard current != Self.unset else { return nil }
        return GaugeSample(name: name, value: Self.gaugeValue(Double(bitPattern: current)))
    }

    /// The Envoy gauge value of `value`: rounded to the nearest integer (halves away from zero),
    /// clamped to `0...UInt64.max`; NaN is 0.
    static func gaugeValue(_ value: Double) -> UInt64 {
        guard value > 0 else { return 0 }
        let rounded = value.rounded(.toNearestOrAwayFromZero)
        return rounded < 0x1p64 ? UInt64(rounded) : .max
    }

    private func update(_ change: (Double) -> Double) {
        var current = bits.load(ordering: .relaxed)
        while true {
            let old = current == Self.unset ? 0 : Double(bitPattern: current)
            let (exchanged, original) = bits.weakCompareExchange(
                expected: current, desired: change(old).bitPattern, ordering: .relaxed
            )
            if exchanged { return }
            current = original
        }
    }
}
