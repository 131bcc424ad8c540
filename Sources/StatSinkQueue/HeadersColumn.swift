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
        var parser = Parser(scalars: Array(text.unicodeScalars))
        return parser.headers()
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

    private struct Parser {
        let scalars: [Unicode.Scalar]
        var index = 0

        mutating func headers() -> [(name: String, value: String)]? {
            var result: [(name: String, value: String)] = []
            guard expect("[") else { return nil }
            if peek() == "]" { index += 1; return atEnd() ? result : nil }
            repeat {
                guard expect("["), let name = string(), expect(","), let value = string(), expect("]") else { return nil }
                result.append((name, value))
            } while expect(",")
            return expect("]") && atEnd() ? result : nil
        }

        private mutating func string() -> String? {
            guard expect("\"") else { return nil }
            var result = String.UnicodeScalarView()
            while index < scalars.count {
                let scalar = scalars[index]
                index += 1
                switch scalar {
                case "\"": return String(result)
                case "\\":
                    guard index < scalars.count else { return nil }
                    let escaped = scalars[index]
                    index += 1
                    switch escaped {
                    case "\"", "\\", "/": result.append(escaped)
                    case "n": result.append("\n")
                    case "t": result.append("\t")
                    case "r": result.append("\r")
                    case "b": result.append("\u{8}")
                    case "f": result.append("\u{C}")
                    case "u":
                        guard index + 4 <= scalars.count,
                              let code = UInt32(String(String.UnicodeScalarView(scalars[index..<index + 4])), radix: 16),
                              let decoded = Unicode.Scalar(code) else { return nil }
                        index += 4
                        result.append(decoded)
                    default: return nil
                    }
                default: result.append(scalar)
                }
            }
            return nil
        }

        private mutating func skipSpace() {
            while index < scalars.count, [" ", "\n", "\t", "\r"].contains(scalars[index]) { index += 1 }
        }

        private mutating func peek() -> Unicode.Scalar? {
            skipSpace()
            return index < scalars.count ? scalars[index] : nil
        }

        private mutating func expect(_ scalar: Unicode.Scalar) -> Bool {
            guard peek() == scalar else { return false }
            index += 1
            return true
        }

        private mutating func atEnd() -> Bool {
            skipSpace()
            return index == scalars.count
        }
    }
}
