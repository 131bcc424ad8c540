/// Number spelling of the JSON format (`wire-format.md` §3).
enum JSONNumber {
    /// Appends the decimal digits of an unsigned integer.
    static func appendInteger(_ value: UInt64, to bytes: inout [UInt8]) {
        if value < 10 {
            bytes.append(UInt8(truncatingIfNeeded: value) &+ UInt8(ascii: "0"))
            return
        }
        // 20 digits hold UInt64.max.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var remaining = value
            var start = 20
            while remaining > 0 {
                start -= 1
                digits[start] = UInt8(truncatingIfNeeded: remaining % 10) &+ UInt8(ascii: "0")
                remaining /= 10
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: digits[start..<20]))
        }
    }

    /// Appends the decimal digits of a signed integer.
    static func appendInteger(_ value: Int64, to bytes: inout [UInt8]) {
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        appendInteger(value.magnitude, to: &bytes)
    }

    /// Appends a double the way Envoy's (fmt) builds write it: the shortest digits that read back
    /// to the same double, no fraction for integral values, plain for decimal exponents -4...15 and
    /// scientific otherwise (`1e-07`, `1e+21`). NaN is `null`, and so are the infinities, which
    /// JSON cannot spell.
    static func appendDouble(_ value: Double, to bytes: inout [UInt8]) {
        guard value.isFinite else {
            bytes.append(contentsOf: "null".utf8)
            return
        }
        if let integral = Int64(exactly: value), integral.magnitude < 10_000_000_000_000_000 {
            // Exact integers below 1e16 print plain; `-0.0` keeps its sign as fmt does.
            if integral == 0, value.sign == .minus { bytes.append(UInt8(ascii: "-")) }
            appendInteger(integral, to: &bytes)
            return
        }
        // Swift's description is already shortest round-trip, with the same exponent thresholds
        // and exponent spelling (`e-05`, `e+16`) as fmt; it only adds `.0` to integral values,
        // which the branch above handles.
        bytes.append(contentsOf: value.description.utf8)
    }
}

/// String escaping of the JSON format.
enum JSONString {
    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// Appends `string` as a quoted JSON string: `"` and `\` backslash-escaped, control characters
    /// as `\u00XX`, everything else (valid UTF-8 by construction) as is.
    static func append(_ string: String, to bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "\""))
        var string = string
        string.withUTF8 { utf8 in
            var runStart = 0
            for index in 0..<utf8.count {
                let byte = utf8[index]
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<index]))
                runStart = index + 1
                bytes.append(UInt8(ascii: "\\"))
                if byte >= 0x20 {
                    bytes.append(byte)
                } else {
                    bytes.append(contentsOf: [UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")])
                    bytes.append(hexDigits[Int(byte >> 4)])
                    bytes.append(hexDigits[Int(byte & 0xF)])
                }
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<utf8.count]))
        }
        bytes.append(UInt8(ascii: "\""))
    }
}
