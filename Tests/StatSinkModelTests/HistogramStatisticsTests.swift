import StatSinkModel
import Testing

@Suite struct HistogramStatisticsTests {
    @Test func envoyDefaults() {
        #expect(HistogramStatistics.defaultBucketBounds.count == 19)
        #expect(HistogramStatistics.defaultBucketBounds.first == 0.5)
        #expect(HistogramStatistics.defaultBucketBounds.last == 3_600_000)
        #expect(HistogramStatistics.supportedQuantiles == [0, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.995, 0.999, 1])
    }

    @Test func emptyIntervalHasZeroCountsAndNaNQuantiles() {
        let empty = HistogramStatistics.empty()
        #expect(empty.sampleCount == 0)
        #expect(empty.cumulativeCounts == Array(repeating: 0, count: 19))
        #expect(empty.quantileValues.count == 10)
        #expect(empty.quantileValues.allSatisfy { $0.isNaN })
        // NaN quantiles still compare equal, so snapshots can be compared in tests and queues.
        #expect(empty == HistogramStatistics.empty())
    }

    @Test func samplesGiveCumulativeBucketsAndInterpolatedQuantiles() {
        let statistics = HistogramStatistics(samples: [1, 2, 3, 4, 100], bucketBounds: [1, 3, 50], quantiles: [0, 0.5, 0.75, 1])
        #expect(statistics.sampleCount == 5)
        #expect(statistics.sampleSum == 110)
        #expect(statistics.cumulativeCounts == [1, 3, 4])  // a bound counts samples <= it; 100 is only in the total
        #expect(statistics.quantileValues == [1, 3, 4, 100])
    }

    @Test func snapshotCountsAHistogramAsOneMetric() {
        let snapshot = MetricSnapshot(
            timestampMs: 0, node: NodeIdentity(id: "n"),
            counters: [CounterSample(name: MetricName("c"), value: 1, delta: 1)],
            histograms: [HistogramSample(name: MetricName("h"), statistics: .empty())]
        )
        #expect(snapshot.metricCount == 2)
        #expect(!snapshot.isEmpty)
        #expect(MetricSnapshot(timestampMs: 0, node: NodeIdentity(id: "n")).isEmpty)
    }
}
