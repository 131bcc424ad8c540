/// Number spelling of the JSON format (`wire-format.md` §3).
enum JSONNumber {
    /// Writes a double the way Envoy's (fmt) builds write it: the shortest digits that read back
    /// to the same double, no fraction for integral values, plain for decimal exponents -4...15 and
    /// scientific otherwise (`1e-07`, `1e+21`). NaN is `null`, and so are the infinities, which
    /// JSON cannot spell. At most 24 bytes.
    static func write(_ value: Double, into cursor: inout ByteCursor) {
        guard value.isFinite else {
            cursor.write(utf8: "null")
            return
        }
        if let integral = Int64(exactly: value), integral.magnitude < 10_000_000_000_000_000 {
            // Exact integers below 1e16 are plain digits; `-0.0` keeps its sign as fmt does.
            if value.sign == .minus { cursor.write(UInt8(ascii: "-")) }
            cursor.writeDecimal(integral.magnitude)
            return
        }
        // Swift's description is already shortest round-trip, with fmt's exponent thresholds and
        // exponent spelling (`e-05`, `e+16`); it only adds `.0` to integral values, handled above.
        cursor.write(utf8: value.description)
    }

    /// The spelling of `value` as bytes.
    static func spelling(of value: Double) -> [UInt8] {
        var cursor = ByteCursor(capacity: 24)
        write(value, into: &cursor)
        return cursor.finish()
    }
}

/// String escaping of the JSON format.
enum JSONString {
    /// The most bytes `string` can take once quoted and escaped (a control character takes 6).
    @inline(__always)
    static func maximumQuotedLength(_ string: String) -> Int {
        string.utf8.count * 6 + 2
    }

    /// Writes `string` as a quoted JSON string: `"` and `\` backslash-escaped, control characters
    /// as `\u00XX`, everything else (valid UTF-8 by construction) as is.
    static func write(_ string: String, into cursor: inout ByteCursor) {
        cursor.write(UInt8(ascii: "\""))
        withUTF8(string) { utf8 in
            var runStart = 0
            var index = 0
            while index < utf8.count {
                // Skip 8 bytes at a time while none needs escaping: names rarely do.
                if index + 8 <= utf8.count, !wordNeedsEscape(UnsafeRawPointer(utf8.baseAddress! + index).loadUnaligned(as: UInt64.self)) {
                    index += 8
                    continue
                }
                let byte = utf8[index]
                index += 1
                guard needsEscape(byte) else { continue }
                cursor.write(UnsafeBufferPointer(rebasing: utf8[runStart..<(index - 1)]))
                runStart = index
                cursor.write(UInt8(ascii: "\\"))
                if byte >= 0x20 {
                    cursor.write(byte)
                } else {
                    cursor.write(UInt8(ascii: "u"), UInt8(ascii: "0"))
                    cursor.write(UInt8(ascii: "0"), hexDigit(byte >> 4))
                    cursor.write(hexDigit(byte & 0xF))
                }
            }
            cursor.write(UnsafeBufferPointer(rebasing: utf8[runStart..<utf8.count]))
        }
        cursor.write(UInt8(ascii: "\""))
    }

    /// Whether any of the 8 bytes of `word` is a control character, `"` or `\\` (SWAR: a byte
    /// of `x - 0x01…` has its top bit set where `x` was zero, or was >= 0x81).
    @inline(__always)
    private static func wordNeedsEscape(_ word: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highBits: UInt64 = 0x8080_8080_8080_8080
        func hasZeroByte(_ x: UInt64) -> Bool { (x &- ones) & ~x & highBits != 0 }
        let belowSpace = (word &- ones &* 0x20) & ~word & highBits != 0
        return belowSpace || hasZeroByte(word ^ (ones &* 0x22)) || hasZeroByte(word ^ (ones &* 0x5C))
    }

    @inline(__always)
    private static func needsEscape(_ byte: UInt8) -> Bool {
        byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\")
    }

    /// Runs `body` on the string's UTF-8 bytes without copying native strings.
    @inline(__always)
    private static func withUTF8<Result>(_ string: String, _ body: (UnsafeBufferPointer<UInt8>) -> Result) -> Result {
        if let result = string.utf8.withContiguousStorageIfAvailable(body) { return result }
        return Array(string.utf8).withUnsafeBufferPointer(body)
    }

    private static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? nibble + UInt8(ascii: "0") : nibble - 10 + UInt8(ascii: "a")
    }
}
