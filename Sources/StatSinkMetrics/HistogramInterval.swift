import StatSinkModel

/// What one histogram recorded since the last flush: exact count, sum, extremes and bucket
/// counts, and a ``LogLinearSketch`` for the quantiles.
struct HistogramInterval: Sendable {
    var count: UInt64 = 0
    var sum: Double = 0
    var minimum: Double = .infinity
    var maximum: Double = -.infinity
    /// Samples per bucket, not cumulative; the last slot holds those above every bound.
    var bucketCounts: [UInt64]
    var sketch = LogLinearSketch()

    init(boundCount: Int) {
        bucketCounts = Array(repeating: 0, count: boundCount + 1)
    }

    /// Adds one finite, non-negative sample whose bucket and sketch index were found beforehand.
    mutating func record(_ value: Double, bucket: Int, index: LogLinearSketch.Index) {
        count &+= 1
        sum += value
        if value < minimum { minimum = value }
        if value > maximum { maximum = value }
        bucketCounts[bucket] &+= 1
        sketch.add(at: index)
    }

    /// Empties the interval, keeping its storage.
    mutating func reset() {
        count = 0
        sum = 0
        minimum = .infinity
        maximum = -.infinity
        for slot in bucketCounts.indices { bucketCounts[slot] = 0 }
        sketch.reset()
    }

    /// The interval's statistics: exact cumulative bucket counts, and each quantile interpolated
    /// between the closest ranks as ``HistogramStatistics/init(samples:bucketBounds:quantiles:)``
    /// does, from the sketch's estimates of those ranks.
    func statistics(bounds: [Double], quantiles: [Double]) -> HistogramStatistics {
        guard count > 0 else { return .empty(bucketBounds: bounds, quantiles: quantiles) }
        var cumulative: [UInt64] = []
        cumulative.reserveCapacity(bounds.count)
        var running: UInt64 = 0
        for bucket in bounds.indices {
            running &+= bucketCounts[bucket]
            cumulative.append(running)
        }
        // Each quantile needs the values at the two ranks around its position.
        let last = Double(count - 1)
        let positions = quantiles.map { $0 * last }
        var ranks: [UInt64] = []
        ranks.reserveCapacity(positions.count * 2)
        for position in positions {
            let lower = UInt64(position.rounded(.down))
            ranks.append(lower)
            ranks.append(min(lower + 1, count - 1))
        }
        ranks.sort()
        let estimates = sketch.values(atRanks: ranks, count: count, minimum: minimum, maximum: maximum)
        func value(atRank rank: UInt64) -> Double {
            var low = 0
            var high = ranks.count - 1
            while low < high {
                let middle = (low + high) / 2
                if ranks[middle] < rank { low = middle + 1 } else { high = middle }
            }
            return estimates[low]
        }
        let values = positions.map { position -> Double in
            let lower = UInt64(position.rounded(.down))
            let fraction = position - position.rounded(.down)
            guard fraction > 0 else { return value(atRank: lower) }
            let lowerValue = value(atRank: lower)
            return lowerValue + (value(atRank: min(lower + 1, count - 1)) - lowerValue) * fraction
        }
        return HistogramStatistics(
            sampleCount: count, sampleSum: sum, bucketBounds: bounds, cumulativeCounts: cumulative,
            quantiles: quantiles, quantileValues: values
        )
    }
}
