import StatSinkModel

/// Where two decodings of the same bytes differ; doubles compare by bit pattern, so that NaN
/// equals NaN and `-0.0` differs from `0.0`.
enum SnapshotDifference {
    /// A description of the first difference, or `nil` when the two are the same.
    static func first(_ lhs: [MetricSnapshot], _ rhs: [MetricSnapshot]) -> String? {
        guard lhs.count == rhs.count else { return "\(lhs.count) snapshots against \(rhs.count)" }
        for (index, (left, right)) in zip(lhs, rhs).enumerated() {
            if let difference = first(left, right) { return "snapshot \(index): \(difference)" }
        }
        return nil
    }

    static func first(_ lhs: MetricSnapshot, _ rhs: MetricSnapshot) -> String? {
        if lhs.timestampMs != rhs.timestampMs { return "timestamp \(lhs.timestampMs) against \(rhs.timestampMs)" }
        if lhs.node != rhs.node { return "node \(lhs.node) against \(rhs.node)" }
        if lhs.counters != rhs.counters { return "counters \(lhs.counters) against \(rhs.counters)" }
        if lhs.gauges != rhs.gauges { return "gauges \(lhs.gauges) against \(rhs.gauges)" }
        guard lhs.histograms.count == rhs.histograms.count else {
            return "\(lhs.histograms.count) histograms against \(rhs.histograms.count)"
        }
        for (left, right) in zip(lhs.histograms, rhs.histograms) {
            if left.name != right.name { return "histogram \(left.name) against \(right.name)" }
            let a = left.statistics
            let b = right.statistics
            let same = a.sampleCount == b.sampleCount && a.sampleSum.bitPattern == b.sampleSum.bitPattern
                && a.bucketBounds.map(\.bitPattern) == b.bucketBounds.map(\.bitPattern) && a.cumulativeCounts == b.cumulativeCounts
                && a.quantiles.map(\.bitPattern) == b.quantiles.map(\.bitPattern)
                && a.quantileValues.map(\.bitPattern) == b.quantileValues.map(\.bitPattern)
            if !same { return "histogram \(left.name.fullName): \(a) against \(b)" }
        }
        return nil
    }
}
