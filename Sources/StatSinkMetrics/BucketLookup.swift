/// Finds a sample's bucket (the first bound at least the sample) from its ``LogLinearSketch``
/// slot with one table load.
///
/// A sketch slot is a narrow range of values; unless a bound falls inside it, every value of the
/// slot belongs to one bucket, which the table holds. Only the few slots that straddle a bound
/// (at most two per bound) fall back to a binary search. On varied samples a search costs more
/// than the rest of a record, as its branches are unpredictable. One table serves every
/// histogram with the same bounds: 82 × 64 two-byte entries (about 10 KiB).
struct BucketLookup: Sendable {
    let bounds: [Double]
    /// The bucket of every value in each slot, or -1 for a slot that straddles a bound.
    private let table: [Int16]

    init(bounds: [Double]) {
        precondition(bounds.count < Int(Int16.max), "fewer than 32767 bucket bounds")
        self.bounds = bounds
        let binades = LogLinearSketch.binadeCount
        let width = LogLinearSketch.subBucketCount
        var table = [Int16](repeating: -1, count: LogLinearSketch.Index.slotCount)
        for row in -1...binades {
            for column in 0..<width {
                // The slot's values: [low, high), with `high` exclusive.
                let low: Double
                let high: Double
                switch row {
                case -1:
                    (low, high) = (0, Double(sign: .plus, exponent: LogLinearSketch.minimumExponent, significand: 1))
                case binades:
                    (low, high) = (Double(sign: .plus, exponent: LogLinearSketch.minimumExponent + binades, significand: 1), .infinity)
                default:
                    let base = Double(sign: .plus, exponent: LogLinearSketch.minimumExponent + row, significand: 1)
                    let step = base / Double(width)
                    (low, high) = (base + step * Double(column), base + step * Double(column + 1))
                }
                let first = Self.search(bounds, low)
                if first == Self.search(bounds, high.nextDown) {
                    table[(row + 1) * width + column] = Int16(first)
                }
            }
        }
        self.table = table
    }

    /// The bucket of `value`, whose sketch index is `index`.
    @inline(__always)
    func bucket(of value: Double, at index: LogLinearSketch.Index) -> Int {
        let bucket = table[index.slot]
        return bucket >= 0 ? Int(bucket) : Self.search(bounds, value)
    }

    /// The first index whose bound is at least `value`, or `bounds.count`.
    static func search(_ bounds: [Double], _ value: Double) -> Int {
        var low = 0
        var high = bounds.count
        while low < high {
            let middle = (low + high) / 2
            if value <= bounds[middle] { high = middle } else { low = middle + 1 }
        }
        return low
    }
}
