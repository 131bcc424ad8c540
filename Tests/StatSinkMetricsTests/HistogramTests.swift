import CoreMetrics
import Foundation
import StatSinkMetrics
import StatSinkModel
import Testing

/// Recorders and timers: interval semantics, exact buckets, units, quantile estimates.
@Suite struct HistogramTests {
    @Test func eachSnapshotReportsOnlyTheIntervalSinceThePreviousOne() {
        let factory = StatSinkMetricsFactory()
        let recorder = Recorder(label: "sizes", factory: factory)
        recorder.record(1)
        recorder.record(2)
        recorder.record(3)
        var statistics = factory.take().histograms.first?.statistics
        #expect(statistics?.sampleCount == 3)
        #expect(statistics?.sampleSum == 6)
        #expect(statistics?.quantileValues.first == 1)
        #expect(statistics?.quantileValues.last == 3)
        // Nothing new: still emitted, as an empty interval.
        #expect(factory.take().histograms.first?.statistics == HistogramStatistics.empty())
        recorder.record(10)
        statistics = factory.take().histograms.first?.statistics
        #expect(statistics?.sampleCount == 1)
        #expect(statistics?.sampleSum == 10)
        #expect(statistics?.quantileValues == Array(repeating: 10, count: 10))
    }

    @Test func bucketCountsAreExactAndCumulativeWithEnvoysBounds() {
        let factory = StatSinkMetricsFactory()
        let recorder = Recorder(label: "latency", factory: factory)
        // A bound counts the samples <= it; above the last bound only the total counts.
        for value in [0.0, 0.5, 0.5000001, 1, 7, 100, 100.5, 3_600_000, 3_600_000.5, 1e12] { recorder.record(value) }
        let statistics = factory.take().histograms.first?.statistics
        #expect(statistics?.bucketBounds == HistogramStatistics.defaultBucketBounds)
        #expect(statistics?.sampleCount == 10)
        #expect(statistics?.cumulativeCounts == [2, 4, 4, 5, 5, 5, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 8])
        #expect(statistics?.quantiles == HistogramStatistics.supportedQuantiles)
    }

    @Test func bucketsMatchTheExactComputationForManySamples() {
        let factory = StatSinkMetricsFactory()
        let timer = Timer(label: "rq_time", factory: factory)
        let samples = Self.logUniformSamples(count: 5_000, from: 0.01, to: 5_000_000, seed: 42)
        for sample in samples { timer.recordNanoseconds(Int64(sample * 1e6)) }
        let statistics = factory.take().histograms.first?.statistics
        let exact = HistogramStatistics(samples: samples.map { Double(Int64($0 * 1e6)) / 1e6 })
        #expect(statistics?.cumulativeCounts == exact.cumulativeCounts)
        #expect(statistics?.sampleCount == 5_000)
    }

    @Test func bucketsAreExactForBoundsInsideSketchSlotsAndAtTheirEdges() {
        // Bounds that fall inside a sketch slot, on a slot edge (0.5, 2^-30, 2^60), below and above
        // the sketch's range, and two bounds in one slot.
        let bounds = [1e-12, 0x1p-30, 0.3, 0.30001, 0.5, 7.77, 7.7701, 1e17, 0x1p60]
        let factory = StatSinkMetricsFactory(configuration: StatSinkMetricsConfiguration(histogramBucketBounds: bounds))
        let recorder = Recorder(label: "edges", factory: factory)
        var samples: [Double] = bounds.flatMap { bound -> [Double] in [bound.nextDown, bound, bound.nextUp] } + [0, 1e300]
        samples += Self.logUniformSamples(count: 2_000, from: 1e-13, to: 1e19, seed: 3)
        samples += Self.logUniformSamples(count: 2_000, from: 0.29, to: 8, seed: 4)
        for sample in samples { recorder.record(sample) }
        let statistics = factory.take().histograms.first?.statistics
        #expect(statistics?.cumulativeCounts == HistogramStatistics(samples: samples, bucketBounds: bounds).cumulativeCounts)
    }

    @Test func quantilesAreWithinTheSketchErrorOfTheExactInterpolation() throws {
        let factory = StatSinkMetricsFactory()
        let recorder = Recorder(label: "r", factory: factory)
        let samples = Self.logUniformSamples(count: 10_000, from: 0.001, to: 1e9, seed: 7)
        for sample in samples { recorder.record(sample) }
        let statistics = try #require(factory.take().histograms.first?.statistics)
        let exact = HistogramStatistics(samples: samples)
        #expect(statistics.quantileValues.first == samples.min())
        #expect(statistics.quantileValues.last == samples.max())
        for (estimate, truth) in zip(statistics.quantileValues, exact.quantileValues) {
            #expect(abs(estimate - truth) <= truth * 0x1p-7, "estimate \(estimate), exact \(truth)")
        }
        #expect(abs(statistics.sampleSum - exact.sampleSum) <= exact.sampleSum * 1e-12)
    }

    @Test func quantilesOfASmallIntervalInterpolateBetweenRanks() {
        let factory = StatSinkMetricsFactory(configuration: StatSinkMetricsConfiguration(quantiles: [0, 0.5, 0.75, 1]))
        let recorder = Recorder(label: "r", factory: factory)
        for value in [1.0, 2, 3, 4, 100] { recorder.record(value) }
        let values = factory.take().histograms.first?.statistics.quantileValues ?? []
        let exact = [1.0, 3, 4, 100]
        #expect(values.count == 4)
        for (estimate, truth) in zip(values, exact) {
            #expect(abs(estimate - truth) <= truth * 0x1p-7)
        }
    }

    @Test func timerDurationsAreInMillisecondsByDefault() {
        let factory = StatSinkMetricsFactory()
        let timer = Timer(label: "d", factory: factory)
        timer.recordMilliseconds(250)
        timer.recordMicroseconds(500)
        timer.recordNanoseconds(-5)  // recorded as 0
        let statistics = factory.take().histograms.first?.statistics
        #expect(statistics?.sampleSum == 250.5)
        #expect(statistics?.sampleCount == 3)
        #expect(statistics?.cumulativeCounts.prefix(2) == [2, 2])  // 0 and 0.5 <= 0.5
    }

    @Test func timerUnitAndBoundsByLabelAreConfigurable() {
        let factory = StatSinkMetricsFactory(configuration: StatSinkMetricsConfiguration(
            histogramBucketBoundsByLabel: ["payload": [10, 100]], timerUnit: .seconds
        ))
        Timer(label: "d", factory: factory).recordMilliseconds(1_500)
        let payload = Recorder(label: "payload", dimensions: [("route", "/")], factory: factory)
        payload.record(50)
        payload.record(500)
        let histograms = factory.take().histograms
        #expect(histograms.map(\.statistics.sampleSum) == [1.5, 550])
        #expect(histograms.last?.statistics.bucketBounds == [10, 100])
        #expect(histograms.last?.statistics.cumulativeCounts == [0, 1])
        #expect(histograms.first?.statistics.bucketBounds == HistogramStatistics.defaultBucketBounds)
    }

    @Test func nonFiniteValuesAreIgnoredAndNegativeOnesRecordedAsZero() {
        let factory = StatSinkMetricsFactory()
        let recorder = Recorder(label: "r", factory: factory)
        recorder.record(Double.nan)
        recorder.record(Double.infinity)
        recorder.record(-Double.infinity)
        #expect(factory.take().histograms.isEmpty)  // nothing usable was recorded
        recorder.record(-3)
        let statistics = factory.take().histograms.first?.statistics
        #expect(statistics?.sampleCount == 1)
        #expect(statistics?.sampleSum == 0)
        #expect(statistics?.quantileValues == Array(repeating: 0, count: 10))
    }

    /// Deterministic samples spread evenly over the logarithm of `from...to`.
    static func logUniformSamples(count: Int, from: Double, to: Double, seed: UInt64) -> [Double] {
        var state = seed
        return (0..<count).map { _ in
            // SplitMix64: reproducible on every platform.
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            let unit = Double(z >> 11) / 0x1p53
            return from * Foundation.exp(unit * Foundation.log(to / from))
        }
    }
}
