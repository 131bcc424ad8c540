/// A bounded log-linear histogram of non-negative values, for quantile estimates.
///
/// Each power of two in `[2^-24, 2^56)` is split into 64 equal sub-buckets, so a bucket's width
/// is at most 1/64 of its lower edge, and its midpoint is within **2^-7 ≈ 0.78 %** (relative) of
/// any value in it. The index comes from the double's exponent and top 6 mantissa bits: no
/// logarithm on the hot path. Values below `2^-24` (zero included) and from `2^56` up are only
/// counted; estimates there fall back to the interval's exact minimum and maximum.
///
/// Memory is bounded: 65 counts (520 bytes) per power of two that ever saw a value, allocated on
/// first use and kept (zeroed) across intervals, at most 80 of them.
struct LogLinearSketch: Sendable {
    /// Sub-buckets per power of two: `2^subBucketBits`.
    static let subBucketBits = 6
    static let subBucketCount = 1 << subBucketBits
    /// The smallest tracked power of two, as an exponent.
    static let minimumExponent = -24
    /// The number of tracked powers of two: `[2^-24, 2^56)`.
    static let binadeCount = 80
    /// The biased IEEE 754 exponent of `2^minimumExponent`.
    private static let biasedMinimumExponent = 1023 + minimumExponent

    /// A value's place in the sketch, computed outside any lock.
    struct Index: Sendable {
        /// `-1` below the range, ``binadeCount`` above it, else the power of two.
        fileprivate var binade: Int
        fileprivate var subBucket: Int

        /// The number of distinct ``slot`` values.
        static let slotCount = (LogLinearSketch.binadeCount + 2) * LogLinearSketch.subBucketCount

        /// A dense number for the index, in `0..<slotCount`: below the range and above it are
        /// one row of sub-buckets each.
        var slot: Int { (binade &+ 1) << LogLinearSketch.subBucketBits | subBucket }

        /// The index of `value`, which is finite and non-negative.
        init(_ value: Double) {
            let bits = value.bitPattern
            let binade = Int(truncatingIfNeeded: bits >> 52) - LogLinearSketch.biasedMinimumExponent
            self.binade = binade < 0 ? -1 : min(binade, LogLinearSketch.binadeCount)
            subBucket = Int(truncatingIfNeeded: (bits >> UInt64(52 - LogLinearSketch.subBucketBits))) & (LogLinearSketch.subBucketCount - 1)
        }
    }

    /// Counts per power of two: one per sub-bucket, then their total (so a snapshot skips the
    /// powers of two that hold none of the ranks it looks for). An empty array is a power of
    /// two never used.
    private var binades: [[UInt64]] = Array(repeating: [], count: binadeCount)
    private var underflow: UInt64 = 0
    private var overflow: UInt64 = 0

    /// Counts one value at `index`.
    mutating func add(at index: Index) {
        switch index.binade {
        case ..<0:
            underflow &+= 1
        case Self.binadeCount...:
            overflow &+= 1
        default:
            if binades[index.binade].isEmpty {
                binades[index.binade] = Array(repeating: 0, count: Self.subBucketCount + 1)
            }
            binades[index.binade].withUnsafeMutableBufferPointer { counts in
                counts[index.subBucket] &+= 1
                counts[Self.subBucketCount] &+= 1
            }
        }
    }

    /// Zeroes every count, keeping the allocated powers of two for the next interval.
    mutating func reset() {
        underflow = 0
        overflow = 0
        for binade in binades.indices where binades[binade].last ?? 0 > 0 {
            binades[binade].withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
        }
    }

    /// Estimates the values at `ranks` (0-based positions in the sorted samples, ascending,
    /// repeats allowed) in one pass: each is the midpoint of the bucket holding that rank, clamped
    /// to `minimum...maximum`; rank 0 is `minimum` and the last rank `maximum`, exactly.
    func values(atRanks ranks: [UInt64], count: UInt64, minimum: Double, maximum: Double) -> [Double] {
        var values: [Double] = []
        values.reserveCapacity(ranks.count)
        var next = 0
        var seen: UInt64 = 0  // samples in the buckets before the current one
        // Resolves every pending rank below `seen + bucketCount` to `estimate`.
        func resolve(bucketCount: UInt64, estimate: Double) {
            guard bucketCount > 0 else { return }
            while next < ranks.count, ranks[next] < seen + bucketCount {
                let rank = ranks[next]
                values.append(rank == 0 ? minimum : rank >= count - 1 ? maximum : min(max(estimate, minimum), maximum))
                next += 1
            }
            seen += bucketCount
        }
        resolve(bucketCount: underflow, estimate: minimum)
        for binade in binades.indices where next < ranks.count {
            let counts = binades[binade]
            let total = counts.last ?? 0
            guard total > 0 else { continue }
            guard ranks[next] < seen + total else {
                seen += total  // no rank falls in this power of two
                continue
            }
            let lower = Double(sign: .plus, exponent: binade + Self.minimumExponent, significand: 1)
            let width = lower / Double(Self.subBucketCount)
            for slot in 0..<Self.subBucketCount {
                resolve(bucketCount: counts[slot], estimate: lower + width * (Double(slot) + 0.5))
            }
        }
        resolve(bucketCount: overflow, estimate: maximum)
        // Ranks past the samples (none when `count` is right) read as the maximum.
        while values.count < ranks.count { values.append(maximum) }
        return values
    }
}
