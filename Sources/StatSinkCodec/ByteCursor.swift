/// A growable byte buffer written through a raw pointer.
///
/// The encoders reserve room for a whole metric entry (its exact size, or a bound) before writing
/// it, so the per-byte writes are plain stores without capacity or bounds checks in release
/// builds; debug builds assert that every write stays inside what was reserved. Noncopyable, so
/// the storage has one owner and is freed exactly once.
struct ByteCursor: ~Copyable {
    private var base: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    private(set) var position = 0

    init(capacity: Int) {
        self.capacity = max(capacity, 16)
        base = .allocate(capacity: self.capacity)
    }

    deinit {
        base.deallocate()
    }

    /// Makes sure the next `count` bytes can be written without growing.
    @inline(__always)
    mutating func reserve(_ count: Int) {
        if position + count > capacity { grow(minimum: position + count) }
    }

    private mutating func grow(minimum: Int) {
        let newCapacity = max(minimum, capacity * 2)
        let newBase = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        newBase.update(from: base, count: position)
        base.deallocate()
        base = newBase
        capacity = newCapacity
    }

    /// The bytes written, as an array.
    consuming func finish() -> [UInt8] {
        Array(UnsafeBufferPointer(start: base, count: position))
    }

    @inline(__always)
    mutating func write(_ byte: UInt8) {
        assert(position < capacity, "write beyond the reserved bytes")
        base[position] = byte
        position &+= 1
    }

    @inline(__always)
    mutating func write(_ first: UInt8, _ second: UInt8) {
        write(first)
        write(second)
    }

    mutating func write(_ bytes: UnsafeBufferPointer<UInt8>) {
        assert(position + bytes.count <= capacity, "write beyond the reserved bytes")
        guard let source = bytes.baseAddress else { return }
        (base + position).update(from: source, count: bytes.count)
        position &+= bytes.count
    }

    mutating func write(_ bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { write($0) }
    }

    /// Writes a string's UTF-8 bytes.
    mutating func write(utf8 string: String) {
        let copied: Void? = string.utf8.withContiguousStorageIfAvailable { write($0) }
        if copied == nil {
            for byte in string.utf8 { write(byte) }
        }
    }

    /// Writes an unsigned LEB128 varint.
    @inline(__always)
    mutating func writeVarint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            write(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        write(UInt8(truncatingIfNeeded: value))
    }

    /// Writes a double as 8 little-endian bytes (protobuf `fixed64`).
    @inline(__always)
    mutating func writeLittleEndian(_ value: Double) {
        assert(position + 8 <= capacity, "write beyond the reserved bytes")
        UnsafeMutableRawPointer(base + position).storeBytes(of: value.bitPattern.littleEndian, as: UInt64.self)
        position &+= 8
    }

    /// Writes the decimal digits of `value`.
    mutating func writeDecimal(_ value: UInt64) {
        let digits = Self.decimalDigitCount(value)
        assert(position + digits <= capacity, "write beyond the reserved bytes")
        var remaining = value
        var index = position + digits
        repeat {
            index -= 1
            base[index] = UInt8(truncatingIfNeeded: remaining % 10) &+ 48
            remaining /= 10
        } while remaining > 0
        position &+= digits
    }

    /// The number of decimal digits of `value` (1 for zero).
    static func decimalDigitCount(_ value: UInt64) -> Int {
        var count = 1
        var threshold: UInt64 = 10
        while value >= threshold {
            count += 1
            if count == 20 { break }
            threshold &*= 10
        }
        return count
    }
}
