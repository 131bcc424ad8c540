/// Why a scalar is not a valid value; the decoder adds the file, line and key path.
struct InvalidValue: Error {
    var message: String
    init(_ message: String) { self.message = message }
}

/// Envoy's duration syntax: protobuf JSON (`10s`, `1.5s`, up to 9 fractional digits) plus `ms`.
enum DurationSyntax {
    /// Parses `10s`, `1.5s`, `0.001s` or `500ms` (fractions of a millisecond down to 1 ns).
    static func parse(_ text: String) -> Result<Duration, InvalidValue> {
        let quoted = text.quotedForMessage
        let examples = "a duration such as 10s, 1.5s or 500ms"
        if text.isEmpty { return .failure(InvalidValue("expected \(examples), got an empty string")) }
        if text.hasPrefix("-") { return .failure(InvalidValue("must not be negative, got \(quoted)")) }
        let unitStart = text.lastIndex { !$0.isLetter }.map(text.index(after:)) ?? text.startIndex
        let number = text[..<unitStart]
        let unit = text[unitStart...]
        guard isDecimal(number) else { return .failure(InvalidValue("expected \(examples), got \(quoted)")) }
        let fractionDigits: Int
        let nanosecondsPerUnit: Int64
        switch unit {
        case "s": (fractionDigits, nanosecondsPerUnit) = (9, 1_000_000_000)
        case "ms": (fractionDigits, nanosecondsPerUnit) = (6, 1_000_000)
        case "": return .failure(InvalidValue("missing unit in \(quoted): write e.g. \(text)s or \(text)ms"))
        default:
            return .failure(InvalidValue("unsupported unit \(String(unit).quotedForMessage) in \(quoted): use s or ms, e.g. 10s, 1.5s, 500ms"))
        }
        let parts = number.split(separator: ".", omittingEmptySubsequences: false)
        let fraction = parts.count > 1 ? parts[1] : ""
        if fraction.count > fractionDigits {
            return .failure(InvalidValue("at most \(fractionDigits) fractional digits (nanoseconds), got \(quoted)"))
        }
        // Anything with more digits is far beyond every bound; keep the arithmetic in range.
        guard parts[0].count <= 12, let whole = Int64(parts[0]) else {
            return .failure(InvalidValue("\(quoted) is too long"))
        }
        // The padded fraction counts nanoseconds: 9 digits of a second, 6 of a millisecond.
        let fractionNanoseconds = Int64(fraction + String(repeating: "0", count: fractionDigits - fraction.count))!
        let unitsPerSecond = 1_000_000_000 / nanosecondsPerUnit
        let wholeSeconds = whole / unitsPerSecond
        let wholeRemainder = whole % unitsPerSecond * nanosecondsPerUnit
        return .success(.seconds(wholeSeconds) + .nanoseconds(wholeRemainder + fractionNanoseconds))
    }

    /// A spelling ``parse(_:)`` reads back exactly: `10s`, `1.5s`, `500ms` or `0.000000500s`.
    static func format(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        let nanoseconds = attoseconds / 1_000_000_000
        if nanoseconds == 0 { return "\(seconds)s" }
        if seconds == 0 && nanoseconds % 1_000_000 == 0 { return "\(nanoseconds / 1_000_000)ms" }
        var fraction = String(nanoseconds).leftPadded(to: 9)
        while fraction.hasSuffix("0") { fraction.removeLast() }
        return "\(seconds).\(fraction)s"
    }

    /// Whether `text` is digits with at most one `.` followed by at least one digit.
    private static func isDecimal(_ text: Substring) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2, !parts[0].isEmpty else { return false }
        return parts.allSatisfy { !$0.isEmpty && $0.allSatisfy { $0.isASCII && $0.isNumber } }
    }
}

/// `10^exponent` for small exponents.
func pow10(_ exponent: Int) -> Int64 {
    (0..<exponent).reduce(1) { value, _ in value * 10 }
}

/// Byte sizes: a count of bytes, or a number with a binary unit (`512MiB`, `1.5GiB`).
enum ByteSizeSyntax {
    /// The accepted units and their sizes, largest first.
    static let units: [(name: String, bytes: UInt64)] = [
        ("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10), ("B", 1),
    ]

    /// Parses `1073741824`, `512MiB`, `512 MiB` or `1.5GiB` (fractions of bytes are dropped).
    static func parse(_ text: String) -> Result<UInt64, InvalidValue> {
        let quoted = text.quotedForMessage
        let examples = "a size such as 512MiB or 1GiB (units B, KiB, MiB, GiB, TiB)"
        let trimmed = text.trimmingSpaces
        if trimmed.hasPrefix("-") { return .failure(InvalidValue("must be greater than 0, got \(quoted)")) }
        let unitStart = trimmed.lastIndex { !$0.isLetter }.map(trimmed.index(after:)) ?? trimmed.startIndex
        let number = String(trimmed[..<unitStart]).trimmingSpaces
        let unitName = String(trimmed[unitStart...])
        let parts = number.split(separator: ".", omittingEmptySubsequences: false)
        guard !number.isEmpty, parts.count <= 2,
            parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0.isASCII && $0.isNumber } })
        else {
            return .failure(InvalidValue("expected \(examples), got \(quoted)"))
        }
        let unitBytes: UInt64
        if unitName.isEmpty {
            guard parts.count == 1 else {
                return .failure(InvalidValue("a byte count must be a whole number, got \(quoted); add a unit such as MiB"))
            }
            unitBytes = 1
        } else if let unit = units.first(where: { $0.name == unitName }) {
            unitBytes = unit.bytes
        } else {
            var message = "unknown unit \(unitName.quotedForMessage) in \(quoted): use B, KiB, MiB, GiB or TiB"
            if let binary = units.first(where: { $0.name.lowercased() == unitName.lowercased() || $0.name.replacingI() == unitName.uppercased() }) {
                message += " (sizes are powers of 1024: did you mean \(binary.name)?)"
            }
            return .failure(InvalidValue(message))
        }
        guard let whole = UInt64(parts[0]) else { return .failure(InvalidValue("\(quoted) is too large")) }
        let (wholeBytes, overflow) = whole.multipliedReportingOverflow(by: unitBytes)
        if overflow { return .failure(InvalidValue("\(quoted) is too large")) }
        var bytes = wholeBytes
        if parts.count == 2 {
            // floor(0.fraction × unit) without floating point: fraction × unit / 10^digits.
            let digits = parts[1].prefix(18)
            let numerator = UInt64(digits)!.multipliedFullWidth(by: unitBytes)
            let fractionBytes = UInt64(pow10(digits.count)).dividingFullWidth(numerator).quotient
            let (sum, sumOverflow) = bytes.addingReportingOverflow(fractionBytes)
            if sumOverflow { return .failure(InvalidValue("\(quoted) is too large")) }
            bytes = sum
        }
        if bytes == 0 { return .failure(InvalidValue("must be greater than 0, got \(quoted)")) }
        return .success(bytes)
    }

    /// The largest unit that divides `bytes` exactly: `1GiB`, `1536MiB`, `1000B` as `1000`.
    static func format(_ bytes: UInt64) -> String {
        for unit in units where unit.bytes > 1 && bytes % unit.bytes == 0 {
            return "\(bytes / unit.bytes)\(unit.name)"
        }
        return String(bytes)
    }
}

extension String {
    /// The string without leading and trailing spaces and tabs.
    var trimmingSpaces: String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return String(self[first...last])
    }

    /// A binary unit name in its decimal look-alike form (`MiB` → `MB`), upper-cased.
    fileprivate func replacingI() -> String {
        uppercased().replacing("IB", with: "B")
    }
}
