import StatSinkSynthetic

/// Byte-level mutations, blind to any structure: flips, interesting values, inserted, deleted,
/// duplicated and spliced ranges.
public enum ByteMutator {
    /// Single bytes that sit on boundaries (sign bits, varint continuation, ASCII controls).
    static let interestingBytes: [UInt8] = [0x00, 0x01, 0x7F, 0x80, 0xFF, 0xFE, 0x0A, 0x22, 0x5C, 0x09, 0x0D, 0xC0, 0xED]

    /// Varints at the edges of the integer types, and overlong or unterminated ones.
    static let interestingVarints: [[UInt8]] = [
        [0x00], [0x01], [0x7F], [0x80, 0x01], [0xFF, 0x7F],
        [0xFF, 0xFF, 0xFF, 0xFF, 0x07],  // Int32.max
        [0x80, 0x80, 0x80, 0x80, 0x08],  // 2^31
        [0xFF, 0xFF, 0xFF, 0xFF, 0x0F],  // UInt32.max
        [0x81, 0x80, 0x80, 0x80, 0x10],  // 2^32 + 1
        [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F],  // Int64.max
        [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01],  // 2^63
        [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01],  // UInt64.max
        [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F],  // 70 bits
        [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00],  // 11 bytes
        [0x80, 0x00],  // overlong zero
        [0x80], [0xFF, 0xFF],  // unterminated
    ]

    /// Doubles that stress conversions: NaNs, infinities, signed zero, extremes, 2^64.
    static let interestingDoubles: [Double] = [
        .nan, -.nan, Double(bitPattern: 0x7FF0_0000_0000_0001), .infinity, -.infinity, 0, -0.0, 1, -1, 0.5,
        .greatestFiniteMagnitude, -.greatestFiniteMagnitude, .leastNonzeroMagnitude, .leastNormalMagnitude,
        18_446_744_073_709_551_616.0, 18_446_744_073_709_549_568.0, 9_223_372_036_854_775_808.0,
        -9_223_372_036_854_775_808.0, 4_294_967_296.0, 1e16, 1e21, 1e-7, 0.1, 1.5, 2.5,
    ]

    /// Applies one random byte-level mutation to `input`.
    public static func mutate(_ input: inout [UInt8], donor: [UInt8], maximumSize: Int, using random: inout SplitMix64) {
        if input.isEmpty {
            input = Array(randomBytes(count: Int.random(in: 1...8, using: &random), using: &random))
            return
        }
        switch Int.random(in: 0..<16, using: &random) {
        case 0:
            let index = Int.random(in: input.indices, using: &random)
            input[index] ^= 1 << UInt8.random(in: 0...7, using: &random)
        case 1:
            input[Int.random(in: input.indices, using: &random)] = UInt8.random(in: 0...255, using: &random)
        case 2:
            input[Int.random(in: input.indices, using: &random)] = interestingBytes.randomElement(using: &random)!
        case 3:
            let index = Int.random(in: input.indices, using: &random)
            input[index] = input[index] &+ (Bool.random(using: &random) ? 1 : 255)
        case 4:
            let bytes = randomBytes(count: Int.random(in: 1...16, using: &random), using: &random)
            input.insert(contentsOf: bytes, at: Int.random(in: 0...input.count, using: &random))
        case 5:
            let byte = Bool.random(using: &random) ? interestingBytes.randomElement(using: &random)! : UInt8.random(in: 0...255, using: &random)
            let count = [1, 2, 8, 64, 1024].randomElement(using: &random)!
            input.insert(contentsOf: repeatElement(byte, count: count), at: Int.random(in: 0...input.count, using: &random))
        case 6:
            input.removeSubrange(randomRange(in: input.count, maximumLength: 64, using: &random))
        case 7:
            let range = randomRange(in: input.count, maximumLength: 256, using: &random)
            let copy = input[range]
            input.insert(contentsOf: copy, at: Int.random(in: 0...input.count, using: &random))
        case 8:
            // Overwrite one range with another range of the same input.
            let source = randomRange(in: input.count, maximumLength: 64, using: &random)
            let target = Int.random(in: input.indices, using: &random)
            for (offset, byte) in input[source].enumerated() where target + offset < input.count { input[target + offset] = byte }
        case 9:
            // Splice: the head of this input, the tail of the donor.
            guard !donor.isEmpty else { return }
            let head = Int.random(in: 0...input.count, using: &random)
            let tail = Int.random(in: 0...donor.count, using: &random)
            input = Array(input[..<head]) + Array(donor[tail...])
        case 10:
            guard !donor.isEmpty else { return }
            let chunk = donor[randomRange(in: donor.count, maximumLength: 256, using: &random)]
            input.insert(contentsOf: chunk, at: Int.random(in: 0...input.count, using: &random))
        case 11:
            let varint = interestingVarints.randomElement(using: &random)!
            let index = Int.random(in: 0...input.count, using: &random)
            if Bool.random(using: &random) {
                input.insert(contentsOf: varint, at: index)
            } else {
                input.replaceSubrange(index..<min(index + varint.count, input.count), with: varint)
            }
        case 12:
            let bits = interestingDoubles.randomElement(using: &random)!.bitPattern
            let bytes = (0..<8).map { UInt8(truncatingIfNeeded: bits >> ($0 * 8)) }
            let index = Int.random(in: 0...input.count, using: &random)
            input.replaceSubrange(index..<min(index + 8, input.count), with: bytes)
        case 13:
            input.removeLast(Int.random(in: 1...input.count, using: &random))
        case 14:
            // Swap two ranges of the same length.
            let length = Int.random(in: 1...max(1, min(32, input.count / 2)), using: &random)
            guard input.count >= 2 * length else { return }
            let first = Int.random(in: 0...(input.count - 2 * length), using: &random)
            let second = Int.random(in: (first + length)...(input.count - length), using: &random)
            for offset in 0..<length { input.swapAt(first + offset, second + offset) }
        default:
            // A few bit flips at once.
            for _ in 0..<Int.random(in: 2...8, using: &random) {
                input[Int.random(in: input.indices, using: &random)] ^= 1 << UInt8.random(in: 0...7, using: &random)
            }
        }
        if input.count > maximumSize { input.removeLast(input.count - maximumSize) }
    }

    /// A random range of `1...maximumLength` positions (fewer at the end) of a buffer of `count`
    /// bytes; `count` must be positive.
    static func randomRange(in count: Int, maximumLength: Int, using random: inout SplitMix64) -> Range<Int> {
        let start = Int.random(in: 0..<count, using: &random)
        let length = Int.random(in: 1...maximumLength, using: &random)
        return start..<min(count, start + length)
    }

    static func randomBytes(count: Int, using random: inout SplitMix64) -> [UInt8] {
        (0..<count).map { _ in UInt8.random(in: 0...255, using: &random) }
    }
}
