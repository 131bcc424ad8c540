import CoreMetrics
import StatSinkModel
import Synchronization

/// The handler of an aggregating `Recorder` and of a `Timer`: an Envoy histogram with interval
/// semantics (each snapshot reports what was recorded since the previous one, then starts over).
///
/// A sample's sketch slot and bucket (see ``BucketLookup``) are found before taking the lock;
/// the lock then only guards a handful of increments. Envoy's histograms are unsigned: NaN and
/// ±∞ are ignored, negative values are recorded as 0. Timer durations are converted to the
/// factory's unit.
final class StatSinkHistogram: RecorderHandler, TimerHandler, Sendable {
    let name: MetricName
    private let buckets: BucketLookup
    private let nanosecondsPerUnit: Double
    /// The interval being recorded.
    private let current: Mutex<HistogramInterval>
    /// Snapshot side only: the other interval buffer (swapped in at each snapshot, so the lock
    /// above is held for a swap, not a copy) and whether a sample was ever recorded.
    private let spare: Mutex<(interval: HistogramInterval, used: Bool)>

    init(name: MetricName, buckets: BucketLookup, timerUnit: TimeUnit) {
        self.name = name
        self.buckets = buckets
        nanosecondsPerUnit = Double(timerUnit.scaleFromNanoseconds)
        current = Mutex(HistogramInterval(boundCount: buckets.bounds.count))
        spare = Mutex((HistogramInterval(boundCount: buckets.bounds.count), false))
    }

    func record(_ value: Int64) {
        record(Double(value))
    }

    func record(_ value: Double) {
        guard value.isFinite else { return }
        let sample = value > 0 ? value : 0
        let index = LogLinearSketch.Index(sample)
        let bucket = buckets.bucket(of: sample, at: index)
        current.withLock { $0.record(sample, bucket: bucket, index: index) }
    }

    func recordNanoseconds(_ duration: Int64) {
        record(Double(duration) / nanosecondsPerUnit)
    }

    /// Ends the interval: its statistics, or nil while nothing was ever recorded.
    func takeInterval(quantiles: [Double]) -> HistogramStatistics? {
        spare.withLock { spare in
            current.withLock { swap(&$0, &spare.interval) }
            if spare.interval.count > 0 { spare.used = true }
            guard spare.used else { return nil }
            let statistics = spare.interval.statistics(bounds: buckets.bounds, quantiles: quantiles)
            spare.interval.reset()
            return statistics
        }
    }
}
