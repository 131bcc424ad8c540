/// One protobuf field as it is on the wire, with what it takes to write its bytes back exactly
/// (non-canonical varints included) or deliberately wrong (a length that lies).
///
/// The fuzzer reads inputs into trees of these to mutate them field by field, and the decoder's
/// projection (``DecoderProjection``) rewrites them.
struct WireField: Sendable, Hashable {
    var number: UInt64
    /// The wire type written in the key: 0 to 7, valid or not for the payload.
    var wireType: UInt8
    var payload: Payload
    /// Extra `0x80` bytes in the key's varint (a non-canonical encoding).
    var keyPadding = 0
    /// Added to the true length of a length-delimited payload when it is written.
    var lengthError = 0

    enum Payload: Sendable, Hashable {
        case varint(UInt64, padding: Int)
        case fixed64(UInt64)
        case fixed32(UInt32)
        /// Length-delimited bytes that do not read as a message (or were not tried).
        case bytes([UInt8])
        /// Length-delimited bytes that read as a message and write back to the same bytes;
        /// `padding` extra bytes in the length varint.
        case message([WireField], padding: Int)
    }

    /// A field holding a varint.
    static func varint(_ number: UInt64, _ value: UInt64) -> WireField {
        WireField(number: number, wireType: 0, payload: .varint(value, padding: 0))
    }

    /// A field holding the bits of a double.
    static func double(_ number: UInt64, _ value: Double) -> WireField {
        WireField(number: number, wireType: 1, payload: .fixed64(value.bitPattern))
    }

    /// A length-delimited field holding `bytes`.
    static func bytes(_ number: UInt64, _ bytes: [UInt8]) -> WireField {
        WireField(number: number, wireType: 2, payload: .bytes(bytes))
    }

    /// A length-delimited field holding an embedded message.
    static func message(_ number: UInt64, _ fields: [WireField]) -> WireField {
        WireField(number: number, wireType: 2, payload: .message(fields, padding: 0))
    }

    /// The bytes of a length-delimited payload (an embedded message written out).
    var contentBytes: [UInt8]? {
        switch payload {
        case .bytes(let bytes): bytes
        case .message(let fields, _): WireField.write(fields)
        default: nil
        }
    }

    /// The embedded fields, when the payload is a message.
    var fields: [WireField]? {
        if case .message(let fields, _) = payload { return fields }
        return nil
    }

    // MARK: Reading

    /// Reads `bytes` as a message; `nil` when they are not one (truncated, groups, bad wire
    /// types). Length-delimited payloads are read as messages too, `depth` levels down, when
    /// they read as one and write back to the same bytes.
    static func read(_ bytes: ArraySlice<UInt8>, depth: Int = 8) -> [WireField]? {
        var offset = bytes.startIndex
        var fields: [WireField] = []
        while offset < bytes.endIndex {
            guard let (key, keyPadding) = readVarint(bytes, &offset) else { return nil }
            let number = key >> 3
            let wireType = UInt8(key & 7)
            guard number > 0 else { return nil }
            let payload: Payload
            switch wireType {
            case 0:
                guard let (value, padding) = readVarint(bytes, &offset) else { return nil }
                payload = .varint(value, padding: padding)
            case 1:
                guard bytes.endIndex - offset >= 8 else { return nil }
                payload = .fixed64(littleEndian(bytes[offset..<offset + 8]))
                offset += 8
            case 5:
                guard bytes.endIndex - offset >= 4 else { return nil }
                payload = .fixed32(UInt32(truncatingIfNeeded: littleEndian(bytes[offset..<offset + 4])))
                offset += 4
            case 2:
                guard let (length, padding) = readVarint(bytes, &offset), length <= UInt64(bytes.endIndex - offset) else { return nil }
                let content = bytes[offset..<offset + Int(length)]
                offset += Int(length)
                if depth > 0, !content.isEmpty, let nested = read(content, depth: depth - 1), write(nested)[...] == content {
                    payload = .message(nested, padding: padding)
                } else {
                    // A length padding on plain bytes is dropped: rare, and mutation only.
                    payload = .bytes(Array(content))
                }
            default:
                return nil
            }
            fields.append(WireField(number: number, wireType: wireType, payload: payload, keyPadding: keyPadding))
        }
        return fields
    }

    /// A varint and its count of redundant trailing bytes; `nil` when truncated or longer than
    /// 10 bytes.
    private static func readVarint(_ bytes: ArraySlice<UInt8>, _ offset: inout Int) -> (UInt64, Int)? {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        var length = 0
        while offset < bytes.endIndex, length < 10 {
            let byte = bytes[offset]
            offset += 1
            length += 1
            if shift < 64 { value |= UInt64(byte & 0x7F) << shift }
            shift += 7
            if byte < 0x80 {
                return (value, length - canonicalVarintLength(value))
            }
        }
        return nil
    }

    private static func littleEndian(_ bytes: ArraySlice<UInt8>) -> UInt64 {
        bytes.reversed().reduce(0) { $0 << 8 | UInt64($1) }
    }

    // MARK: Writing

    /// The bytes of `fields`.
    static func write(_ fields: [WireField]) -> [UInt8] {
        var bytes: [UInt8] = []
        for field in fields { field.write(into: &bytes) }
        return bytes
    }

    func write(into bytes: inout [UInt8]) {
        Self.writeVarint(number << 3 | UInt64(wireType & 7), padding: keyPadding, into: &bytes)
        switch payload {
        case .varint(let value, let padding):
            Self.writeVarint(value, padding: padding, into: &bytes)
        case .fixed64(let value):
            for shift in stride(from: 0, to: 64, by: 8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
        case .fixed32(let value):
            for shift in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt32(shift))) }
        case .bytes(let content):
            Self.writeLength(content.count, error: lengthError, padding: 0, into: &bytes)
            bytes += content
        case .message(let fields, let padding):
            let content = Self.write(fields)
            Self.writeLength(content.count, error: lengthError, padding: padding, into: &bytes)
            bytes += content
        }
    }

    private static func writeLength(_ count: Int, error: Int, padding: Int, into bytes: inout [UInt8]) {
        let length = error < 0 ? UInt64(max(0, count + error)) : UInt64(count) &+ UInt64(error)
        writeVarint(length, padding: padding, into: &bytes)
    }

    /// Writes `value` as a varint with `padding` redundant bytes (`0x80 … 0x00`); past 10 bytes
    /// in all it is no longer a valid varint, which is the point of some mutations.
    static func writeVarint(_ value: UInt64, padding: Int, into bytes: inout [UInt8]) {
        var value = value
        var remaining = canonicalVarintLength(value) + max(0, padding)
        while remaining > 1 {
            bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
            remaining -= 1
        }
        bytes.append(UInt8(truncatingIfNeeded: value) & 0x7F)
    }

    static func canonicalVarintLength(_ value: UInt64) -> Int {
        value == 0 ? 1 : (64 - value.leadingZeroBitCount + 6) / 7
    }
}
