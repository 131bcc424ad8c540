/// The statistics of one histogram over one flush interval, as Envoy reports them.
///
/// Counts are cumulative per bucket (the count of samples `<=` the bound); there is no `+Inf`
/// bucket, ``sampleCount`` is the total. Quantile values are NaN when the interval had no sample.
/// Bounds and quantiles are usually shared by many histograms; as arrays they are copied on write,
/// so sharing them costs nothing.
public struct HistogramStatistics: Sendable {
    /// The number of samples recorded in the interval.
    public var sampleCount: UInt64
    /// The sum of the samples recorded in the interval.
    public var sampleSum: Double
    /// The bucket upper bounds, ascending.
    public private(set) var bucketBounds: [Double]
    /// For each bound, the number of samples less than or equal to it.
    public private(set) var cumulativeCounts: [UInt64]
    /// The quantiles that are computed, in `0...1`.
    public private(set) var quantiles: [Double]
    /// For each quantile, its value (NaN when there was no sample).
    public private(set) var quantileValues: [Double]

    /// Creates interval statistics.
    ///
    /// - Precondition: `cumulativeCounts` has one entry per bound and `quantileValues` one per
    ///   quantile.
    public init(
        sampleCount: UInt64,
        sampleSum: Double,
        bucketBounds: [Double] = HistogramStatistics.defaultBucketBounds,
        cumulativeCounts: [UInt64],
        quantiles: [Double] = HistogramStatistics.supportedQuantiles,
        quantileValues: [Double]
    ) {
        precondition(bucketBounds.count == cumulativeCounts.count, "one cumulative count per bucket bound")
        precondition(quantiles.count == quantileValues.count, "one value per quantile")
        self.sampleCount = sampleCount
        self.sampleSum = sampleSum
        self.bucketBounds = bucketBounds
        self.cumulativeCounts = cumulativeCounts
        self.quantiles = quantiles
        self.quantileValues = quantileValues
    }

    /// The statistics of an interval without samples: zero counts, NaN quantiles.
    public static func empty(
        bucketBounds: [Double] = defaultBucketBounds,
        quantiles: [Double] = supportedQuantiles
    ) -> HistogramStatistics {
        HistogramStatistics(
            sampleCount: 0,
            sampleSum: 0,
            bucketBounds: bucketBounds,
            cumulativeCounts: Array(repeating: 0, count: bucketBounds.count),
            quantiles: quantiles,
            quantileValues: Array(repeating: .nan, count: quantiles.count)
        )
    }

    /// Computes interval statistics from raw samples: exact cumulative bucket counts and quantiles
    /// interpolated linearly between the closest ranks.
    public init(
        samples: [Double],
        bucketBounds: [Double] = HistogramStatistics.defaultBucketBounds,
        quantiles: [Double] = HistogramStatistics.supportedQuantiles
    ) {
        let sorted = samples.sorted()
        var counts = [UInt64]()
        counts.reserveCapacity(bucketBounds.count)
        var index = 0
        for bound in bucketBounds {
            while index < sorted.count, sorted[index] <= bound { index += 1 }
            counts.append(UInt64(index))
        }
        let values = quantiles.map { quantile -> Double in
            guard !sorted.isEmpty else { return .nan }
            let rank = quantile * Double(sorted.count - 1)
            let lower = Int(rank.rounded(.down))
            let upper = min(lower + 1, sorted.count - 1)
            let fraction = rank - Double(lower)
            return sorted[lower] + (sorted[upper] - sorted[lower]) * fraction
        }
        self.init(
            sampleCount: UInt64(sorted.count),
            sampleSum: sorted.reduce(0, +),
            bucketBounds: bucketBounds,
            cumulativeCounts: counts,
            quantiles: quantiles,
            quantileValues: values
        )
    }

    /// Envoy's 19 default bucket upper bounds.
    public static let defaultBucketBounds: [Double] = [
        0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000,
        600000, 1800000, 3600000,
    ]

    /// The 10 quantiles Envoy computes for every histogram.
    public static let supportedQuantiles: [Double] = [0, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.995, 0.999, 1]
}

extension HistogramStatistics: Hashable {
    /// Equal when every field is equal, NaN quantile values comparing equal to NaN (an empty
    /// interval equals an empty interval).
    public static func == (lhs: HistogramStatistics, rhs: HistogramStatistics) -> Bool {
        lhs.sampleCount == rhs.sampleCount
            && lhs.sampleSum.bitPattern == rhs.sampleSum.bitPattern
            && lhs.bucketBounds == rhs.bucketBounds
            && lhs.cumulativeCounts == rhs.cumulativeCounts
            && lhs.quantiles == rhs.quantiles
            && lhs.quantileValues.map(\.bitPattern) == rhs.quantileValues.map(\.bitPattern)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(sampleCount)
        hasher.combine(sampleSum.bitPattern)
        hasher.combine(bucketBounds)
        hasher.combine(cumulativeCounts)
        hasher.combine(quantiles)
        for value in quantileValues { hasher.combine(value.bitPattern) }
    }
}
