/// A byte buffer written through a raw pointer, normally straight into the storage of the array
/// it produces (``bytes(capacity:_:)``).
///
/// Writers reserve room for what they write next (an entry, or one piece of one) before writing
/// it, so the per-byte writes are plain stores without capacity checks in release builds; debug
/// builds assert that every write stays inside the buffer. When a reservation does not fit, the
/// bytes move to a larger buffer of the cursor's own. Noncopyable, so the storage has one owner
/// and is freed exactly once.
struct ByteCursor: ~Copyable {
    private var base: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    private(set) var position = 0
    /// Whether `base` was allocated by the cursor (and must be freed by it), rather than being
    /// the storage of the array under construction.
    private var ownsStorage: Bool

    init(capacity: Int) {
        self.capacity = max(capacity, 16)
        base = .allocate(capacity: self.capacity)
        ownsStorage = true
    }

    private init(writingInto buffer: UnsafeMutableBufferPointer<UInt8>) {
        base = buffer.baseAddress!
        capacity = buffer.count
        ownsStorage = false
    }

    deinit {
        if ownsStorage { base.deallocate() }
    }

    /// Runs `body` with a cursor that writes into the storage of a new array of `capacity` bytes
    /// and returns that array, so the bytes are never copied, unless `body` reserves more than
    /// `capacity` (then they are copied once more, at the end).
    static func bytes(capacity: Int, _ body: (inout ByteCursor) -> Void) -> [UInt8] {
        var outgrown: [UInt8]?
        let bytes = [UInt8](unsafeUninitializedCapacity: max(capacity, 16)) { buffer, count in
            var cursor = ByteCursor(writingInto: buffer)
            body(&cursor)
            if cursor.ownsStorage {
                outgrown = cursor.finish()
            } else {
                count = cursor.position
            }
        }
        return outgrown ?? bytes
    }

    /// Makes sure the next `count` bytes can be written without growing.
    @inline(__always)
    mutating func reserve(_ count: Int) {
        if position + count > capacity { grow(minimum: position + count) }
    }

    private mutating func grow(minimum: Int) {
        let newCapacity = max(minimum, capacity * 2)
        let newBase = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        newBase.initialize(from: base, count: position)
        if ownsStorage { base.deallocate() }
        base = newBase
        capacity = newCapacity
        ownsStorage = true
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

    /// Writes a constant; its length is known where this is inlined, so the copy is a few stores.
    @inline(__always)
    mutating func write(_ text: StaticString) {
        let count = text.utf8CodeUnitCount
        assert(position + count <= capacity, "write beyond the reserved bytes")
        (base + position).update(from: text.utf8Start, count: count)
        position &+= count
    }

    @inline(__always)
    mutating func write(_ bytes: UnsafeBufferPointer<UInt8>) {
        assert(position + bytes.count <= capacity, "write beyond the reserved bytes")
        guard let source = bytes.baseAddress else { return }
        Self.copy(from: source, count: bytes.count, to: base + position)
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

    /// Drops the bytes written since `position`.
    @inline(__always)
    mutating func rewind(to position: Int) {
        precondition(position >= 0 && position <= self.position, "rewind beyond the bytes written")
        self.position = position
    }

    /// Lets `body` store up to `maximum` bytes at the next position; it returns how many it stored.
    /// For writers that store several bytes at once.
    @inline(__always)
    mutating func write(upTo maximum: Int, _ body: (UnsafeMutablePointer<UInt8>) -> Int) {
        assert(position + maximum <= capacity, "write beyond the reserved bytes")
        let written = body(base + position)
        assert(written >= 0 && written <= maximum, "wrote more than announced")
        position &+= written
    }

    /// Copies `count` bytes. Most copies here are names and JSON fragments of 8 to 64 bytes, for
    /// which 8-byte moves (the last one overlapping) beat a call to `memmove`.
    @inline(__always)
    static func copy(from source: UnsafePointer<UInt8>, count: Int, to destination: UnsafeMutablePointer<UInt8>) {
        let from = UnsafeRawPointer(source)
        let to = UnsafeMutableRawPointer(destination)
        if count >= 8, count <= 64 {
            var offset = 0
            while offset + 8 < count {
                to.storeBytes(of: from.loadUnaligned(fromByteOffset: offset, as: UInt64.self), toByteOffset: offset, as: UInt64.self)
                offset &+= 8
            }
            let last = count &- 8
            to.storeBytes(of: from.loadUnaligned(fromByteOffset: last, as: UInt64.self), toByteOffset: last, as: UInt64.self)
        } else {
            to.copyMemory(from: from, byteCount: count)
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
    @inline(__always)
    mutating func writeDecimal(_ value: UInt64) {
        writeDecimal(value, digitCount: Self.decimalDigitCount(value))
    }

    /// Writes the `digitCount` decimal digits of `value`, two at a time from the right.
    ///
    /// - Precondition: `digitCount == decimalDigitCount(value)`.
    mutating func writeDecimal(_ value: UInt64, digitCount: Int) {
        assert(digitCount == Self.decimalDigitCount(value), "wrong digit count")
        assert(position + digitCount <= capacity, "write beyond the reserved bytes")
        let pairs = Self.digitPairs.utf8Start
        var remaining = value
        var end = base + position + digitCount
        while remaining >= 100 {
            let pair = Int(truncatingIfNeeded: remaining % 100) &* 2
            remaining /= 100
            end -= 2
            end[0] = pairs[pair]
            end[1] = pairs[pair &+ 1]
        }
        if remaining >= 10 {
            let pair = Int(truncatingIfNeeded: remaining) &* 2
            end[-2] = pairs[pair]
            end[-1] = pairs[pair &+ 1]
        } else {
            end[-1] = UInt8(truncatingIfNeeded: remaining) &+ UInt8(ascii: "0")
        }
        position &+= digitCount
    }

    /// `00`, `01`, … `99`.
    private static var digitPairs: StaticString {
        """
        0001020304050607080910111213141516171819\
        2021222324252627282930313233343536373839\
        4041424344454647484950515253545556575859\
        6061626364656667686970717273747576777879\
        8081828384858687888990919293949596979899
        """
    }

    /// The number of decimal digits of `value` (1 for zero).
    @inline(__always)
    static func decimalDigitCount(_ value: UInt64) -> Int {
        // From the bit length: 1233 / 4096 is just above log10(2), so `guess` is the digit count
        // or one less; one comparison settles which (no loop over the digits).
        let nonZero = value | 1  // zero has one digit, like one
        let bitLength = UInt64.bitWidth - nonZero.leadingZeroBitCount
        let guess = (bitLength &* 1233) >> 12
        return guess + (nonZero >= powerOfTen(guess) ? 1 : 0)
    }

    /// 10^`exponent`, for 0...19 (a switch of constants compiles to a table lookup).
    @inline(__always)
    private static func powerOfTen(_ exponent: Int) -> UInt64 {
        switch exponent {
        case 0: 1
        case 1: 10
        case 2: 100
        case 3: 1_000
        case 4: 10_000
        case 5: 100_000
        case 6: 1_000_000
        case 7: 10_000_000
        case 8: 100_000_000
        case 9: 1_000_000_000
        case 10: 10_000_000_000
        case 11: 100_000_000_000
        case 12: 1_000_000_000_000
        case 13: 10_000_000_000_000
        case 14: 100_000_000_000_000
        case 15: 1_000_000_000_000_000
        case 16: 10_000_000_000_000_000
        case 17: 100_000_000_000_000_000
        case 18: 1_000_000_000_000_000_000
        default: 10_000_000_000_000_000_000
        }
    }
}
