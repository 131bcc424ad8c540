/// Number spelling of the JSON format (`wire-format.md` §3).
enum JSONNumber {
    /// The most bytes a double takes (`-1.7976931348623157e+308`).
    static let maximumDoubleLength = 24

    /// Writes a double the way Envoy's (fmt) builds write it: the shortest digits that read back
    /// to the same double, no fraction for integral values, plain for decimal exponents -4...15 and
    /// scientific otherwise (`1e-07`, `1e+21`). NaN is `null`, and so are the infinities, which
    /// JSON cannot spell. At most ``maximumDoubleLength`` bytes, which the caller reserves.
    static func write(_ value: Double, into cursor: inout ByteCursor) {
        guard value.isFinite else {
            cursor.write("null")
            return
        }
        if let integral = Int64(exactly: value), integral.magnitude < 10_000_000_000_000_000 {
            // Exact integers below 1e16 are plain digits; `-0.0` keeps its sign as fmt does.
            if value.sign == .minus { cursor.write(UInt8(ascii: "-")) }
            cursor.writeDecimal(integral.magnitude)
            return
        }
        // Swift's spelling (`description`) is already shortest round-trip, with fmt's exponent
        // thresholds and exponent spelling (`e-05`, `e+16`); it only adds `.0` to integral values,
        // handled above. `write(to:)` spells the same without making a String.
        cursor.write(upTo: maximumDoubleLength) { destination in
            var digits = DigitBuffer(start: destination, capacity: maximumDoubleLength)
            value.write(to: &digits)
            return digits.count
        }
    }

    /// The spelling of `value` as bytes.
    static func spelling(of value: Double) -> [UInt8] {
        var cursor = ByteCursor(capacity: maximumDoubleLength)
        write(value, into: &cursor)
        return cursor.finish()
    }
}

/// Where `Double.write(to:)` spells a double: straight into the output bytes. The standard
/// library hands the digits to `_writeASCII` as bytes; `write(_:)` is the general case.
private struct DigitBuffer: TextOutputStream {
    let start: UnsafeMutablePointer<UInt8>
    let capacity: Int
    private(set) var count = 0

    init(start: UnsafeMutablePointer<UInt8>, capacity: Int) {
        self.start = start
        self.capacity = capacity
    }

    mutating func _writeASCII(_ buffer: UnsafeBufferPointer<UInt8>) {
        precondition(buffer.count <= capacity - count, "a double spelled longer than expected")
        guard let source = buffer.baseAddress else { return }
        (start + count).update(from: source, count: buffer.count)
        count += buffer.count
    }

    mutating func write(_ string: String) {
        var string = string
        string.withUTF8 { _writeASCII($0) }
    }
}

/// String escaping of the JSON format.
enum JSONString {
    /// The bytes ``write(_:followedBy:into:)`` takes for `string` when it needs no escape, which
    /// is what it reserves up front.
    @inline(__always)
    static func unescapedLength(_ string: String) -> Int {
        string.utf8.count + 3
    }

    /// Writes `string` quoted, then `last`, if none of its bytes needs an escape, into room the
    /// caller reserved (``unescapedLength(_:)``); returns false, having written part, otherwise.
    /// No call that could release `string` happens while it is read, so reading it from memory
    /// needs no retain.
    @inline(__always)
    static func writeUnescaped(_ string: String, followedBy last: UInt8, into cursor: inout ByteCursor) -> Bool {
        let clean: Bool? = string.utf8.withContiguousStorageIfAvailable { utf8 in
            cursor.write(UInt8(ascii: "\""))
            var copied = 0
            if let source = utf8.baseAddress {
                cursor.write(upTo: utf8.count) { destination in
                    copied = copyUntilEscape(from: source, count: utf8.count, to: destination)
                    return copied
                }
            }
            cursor.write(UInt8(ascii: "\""), last)
            return copied == utf8.count
        }
        // A non-contiguous (bridged) string takes the escaping path.
        return clean ?? false
    }

    /// Writes `string` as a quoted JSON string and then `last` (the separator after it, so both
    /// take one reservation): `"` and `\` backslash-escaped, control characters as `\u00XX`,
    /// everything else (valid UTF-8 by construction) as is. Reserves its own room.
    static func write(_ string: String, followedBy last: UInt8, into cursor: inout ByteCursor) {
        withUTF8(string) { utf8 in
            cursor.reserve(utf8.count + 3)
            cursor.write(UInt8(ascii: "\""))
            if let source = utf8.baseAddress {
                var index = 0
                cursor.write(upTo: utf8.count) { index = copyUntilEscape(from: source, count: utf8.count, to: $0); return index }
                if index < utf8.count {
                    // Rare: make room for the worst case, 6 bytes for each byte left.
                    cursor.reserve((utf8.count - index) * 6 + 2)
                    while index < utf8.count {
                        writeEscape(source[index], into: &cursor)
                        index += 1
                        let remaining = utf8.count - index
                        cursor.write(upTo: remaining) { destination in
                            let copied = copyUntilEscape(from: source + index, count: remaining, to: destination)
                            index += copied
                            return copied
                        }
                    }
                }
            }
            cursor.write(UInt8(ascii: "\""), last)
        }
    }

    /// Writes the escape of a byte that needs one: `\"`, `\\` or `\u00XX`.
    private static func writeEscape(_ byte: UInt8, into cursor: inout ByteCursor) {
        cursor.write(UInt8(ascii: "\\"))
        if byte >= 0x20 {
            cursor.write(byte)
        } else {
            cursor.write(UInt8(ascii: "u"), UInt8(ascii: "0"))
            cursor.write(UInt8(ascii: "0"), hexDigit(byte >> 4))
            cursor.write(hexDigit(byte & 0xF))
        }
    }

    /// Copies bytes until the first one that needs an escape, 8 at a time while none does (names
    /// rarely need one), and returns how many it copied.
    @inline(__always)
    private static func copyUntilEscape(from source: UnsafePointer<UInt8>, count: Int, to destination: UnsafeMutablePointer<UInt8>) -> Int {
        let from = UnsafeRawPointer(source)
        let to = UnsafeMutableRawPointer(destination)
        var index = 0
        while index + 8 <= count {
            let word = from.loadUnaligned(fromByteOffset: index, as: UInt64.self)
            if wordNeedsEscape(word) { break }
            to.storeBytes(of: word, toByteOffset: index, as: UInt64.self)
            index &+= 8
        }
        if count >= 8, index + 8 > count, index < count {
            // The last 8 bytes, overlapping the ones already copied.
            let word = from.loadUnaligned(fromByteOffset: count &- 8, as: UInt64.self)
            if !wordNeedsEscape(word) {
                to.storeBytes(of: word, toByteOffset: count &- 8, as: UInt64.self)
                return count
            }
        }
        while index < count, !needsEscape(source[index]) {
            destination[index] = source[index]
            index &+= 1
        }
        return index
    }

    /// Whether any of the 8 bytes of `word` is a control character, `"` or `\\` (SWAR: a byte
    /// of `x - 0x01…` has its top bit set where `x` was zero, or was >= 0x81; `& ~x` keeps only
    /// the bytes of `x` below 0x80). One branch for the three tests.
    @inline(__always)
    private static func wordNeedsEscape(_ word: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highBits: UInt64 = 0x8080_8080_8080_8080
        let quotes = word ^ (ones &* 0x22)
        let backslashes = word ^ (ones &* 0x5C)
        let belowSpace = (word &- ones &* 0x20) & ~word
        let quote = (quotes &- ones) & ~quotes
        let backslash = (backslashes &- ones) & ~backslashes
        return (belowSpace | quote | backslash) & highBits != 0
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
