/// Reads protobuf's wire format from a buffer, checking every length against the bytes left.
struct ProtobufWireReader {
    /// The four wire types the messages we read use; groups (3, 4) are refused.
    enum WireType: UInt64 {
        case varint = 0
        case fixed64 = 1
        case lengthDelimited = 2
        case fixed32 = 5
    }

    private let buffer: UnsafeRawBufferPointer
    private var offset = 0

    init(_ buffer: UnsafeRawBufferPointer) {
        self.buffer = buffer
    }

    var isAtEnd: Bool { offset >= buffer.count }

    /// The next field's number and wire type, or `nil` at the end of the buffer.
    mutating func nextField() throws(MalformedMetricsError) -> (number: UInt64, wireType: WireType)? {
        guard !isAtEnd else { return nil }
        let start = offset
        let key = try varint()
        // A key is a 32-bit varint of at most 5 bytes (swift-protobuf refuses longer ones too).
        guard offset - start <= 5, key <= UInt64(UInt32.max) else {
            throw MalformedMetricsError("not a protobuf message: a field key longer than 32 bits")
        }
        let number = key >> 3
        guard number > 0, let wireType = WireType(rawValue: key & 7) else {
            throw MalformedMetricsError("not a protobuf message: field \(number) has wire type \(key & 7)")
        }
        return (number, wireType)
    }

    mutating func varint() throws(MalformedMetricsError) -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while offset < buffer.count {
            let byte = buffer[offset]
            offset += 1
            if shift == 63 && byte > 1 { break }  // more than 64 bits
            value |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return value }
            shift += 7
        }
        throw MalformedMetricsError("not a protobuf message: a truncated or overlong varint")
    }

    mutating func fixed64() throws(MalformedMetricsError) -> UInt64 {
        guard buffer.count - offset >= 8 else { throw MalformedMetricsError("not a protobuf message: a truncated 64-bit field") }
        let value = buffer.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
        offset += 8
        return UInt64(littleEndian: value)
    }

    mutating func double() throws(MalformedMetricsError) -> Double {
        Double(bitPattern: try fixed64())
    }

    /// The bytes of a length-delimited field (a string or an embedded message), not copied.
    mutating func lengthDelimited() throws(MalformedMetricsError) -> UnsafeRawBufferPointer {
        let length = try varint()
        guard length <= UInt64(buffer.count - offset) else {
            throw MalformedMetricsError("not a protobuf message: a length runs past the end of its message")
        }
        let start = offset
        offset += Int(length)
        return UnsafeRawBufferPointer(rebasing: buffer[start..<offset])
    }

    /// A UTF-8 string field.
    mutating func string() throws(MalformedMetricsError) -> String {
        try Self.string(lengthDelimited())
    }

    /// `bytes` as a string, refusing invalid UTF-8 rather than repairing it (as swift-protobuf).
    static func string(_ bytes: UnsafeRawBufferPointer) throws(MalformedMetricsError) -> String {
        // Envoy's names are ASCII: checked here, they skip the generic validating initializer.
        let isASCII = bytes.allSatisfy { $0 < 0x80 }
        guard let text = isASCII ? String(decoding: bytes, as: UTF8.self) : String(validating: bytes, as: UTF8.self) else {
            throw MalformedMetricsError("a string field is not valid UTF-8")
        }
        return text
    }

    /// Skips a field of a type the reader does not need.
    mutating func skip(_ wireType: WireType) throws(MalformedMetricsError) {
        switch wireType {
        case .varint: _ = try varint()
        case .fixed64: _ = try fixed64()
        case .lengthDelimited: _ = try lengthDelimited()
        case .fixed32:
            guard buffer.count - offset >= 4 else { throw MalformedMetricsError("not a protobuf message: a truncated 32-bit field") }
            offset += 4
        }
    }

    /// Checks that a known field came with its declared wire type.
    static func expect(
        _ wireType: WireType, _ actual: WireType, field: UInt64, of message: StaticString
    ) throws(MalformedMetricsError) {
        guard wireType == actual else {
            throw MalformedMetricsError("not a StreamMetricsMessage: field \(field) of \(message) has the wrong wire type")
        }
    }
}
