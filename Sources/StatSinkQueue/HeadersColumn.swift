/// The `headers` column: a JSON array of `[name, value]` pairs, in produce order, so operators
/// can read it with `json_each(headers)` in the sqlite3 shell.
enum HeadersColumn {
    /// `[["content-type","application/json"],["statsink.node_id","edge-17"]]`
    static func encode(_ headers: [(name: String, value: String)]) -> String {
        var text = "["
        for (index, header) in headers.enumerated() {
            if index > 0 { text += "," }
            text += "[" + quoted(header.name) + "," + quoted(header.value) + "]"
        }
        return text + "]"
    }

    /// Reads what ``encode(_:)`` wrote (JSON escapes included, no surrogate pairs, which
    /// ``encode(_:)`` never writes); `nil` when malformed.
    static func decode(_ text: String) -> [(name: String, value: String)]? {
        var text = text
        return text.withUTF8 { bytes in
            var parser = Parser(bytes: bytes)
            return parser.headers()
        }
    }

    private static func quoted(_ string: String) -> String {
        var result = "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }

    /// Parses UTF-8 bytes: every delimiter is ASCII, so multi-byte characters pass through, and
    /// a string without escapes (the usual case) becomes a `String` straight from its bytes. The
    /// drainer decodes this column for every row it sends.
    private struct Parser {
        let bytes: UnsafeBufferPointer<UInt8>
        var index = 0

        mutating func headers() -> [(name: String, value: String)]? {
            var result: [(name: String, value: String)] = []
            guard expect("[") else { return nil }
            if peek() == UInt8(ascii: "]") { index += 1; return atEnd() ? result : nil }
            repeat {
                guard expect("["), let name = string(), expect(","), let value = string(), expect("]") else { return nil }
                result.append((name, value))
            } while expect(",")
            return expect("]") && atEnd() ? result : nil
        }

        private mutating func string() -> String? {
            guard expect("\"") else { return nil }
            let start = index
            while index < bytes.count {
                switch bytes[index] {
                case UInt8(ascii: "\""):
                    index += 1
                    return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index - 1]), as: UTF8.self)
                case UInt8(ascii: "\\"):
                    return escapedString(from: start)
                default:
                    index += 1
                }
            }
            return nil
        }

        /// The rest of a string that has escapes, from its first byte after the opening quote.
        private mutating func escapedString(from start: Int) -> String? {
            var result = Array(bytes[start..<index])
            while index < bytes.count {
                let byte = bytes[index]
                index += 1
                switch byte {
                case UInt8(ascii: "\""): return String(decoding: result, as: UTF8.self)
                case UInt8(ascii: "\\"):
                    guard index < bytes.count else { return nil }
                    let escaped = bytes[index]
                    index += 1
                    switch escaped {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): result.append(escaped)
                    case UInt8(ascii: "n"): result.append(0x0A)
                    case UInt8(ascii: "t"): result.append(0x09)
                    case UInt8(ascii: "r"): result.append(0x0D)
                    case UInt8(ascii: "b"): result.append(0x08)
                    case UInt8(ascii: "f"): result.append(0x0C)
                    case UInt8(ascii: "u"):
                        guard index + 4 <= bytes.count,
                              let code = UInt32(String(decoding: UnsafeBufferPointer(rebasing: bytes[index..<index + 4]), as: UTF8.self), radix: 16),
                              let decoded = Unicode.Scalar(code) else { return nil }
                        index += 4
                        result.append(contentsOf: String(decoded).utf8)
                    default: return nil
                    }
                default: result.append(byte)
                }
            }
            return nil
        }

        private mutating func skipSpace() {
            while index < bytes.count, [0x20, 0x0A, 0x09, 0x0D].contains(bytes[index]) { index += 1 }
        }

        private mutating func peek() -> UInt8? {
            skipSpace()
            return index < bytes.count ? bytes[index] : nil
        }

        private mutating func expect(_ character: Unicode.Scalar) -> Bool {
            guard peek() == UInt8(ascii: character) else { return false }
            index += 1
            return true
        }

        private mutating func atEnd() -> Bool {
            skipSpace()
            return index == bytes.count
        }
    }
}
