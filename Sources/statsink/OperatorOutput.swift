import ArgumentParser
import Foundation
import StatSinkConfig
import StatSinkQueue

/// What the operator commands share: errors as one stderr line with the contract's exit code,
/// `--json` output, human tables and units.
enum OperatorOutput {
    /// Runs `body`; a library error becomes one line on stderr and exit 1 (runtime) or 2 (the file
    /// or option given is at fault).
    static func run<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as QueueError {
            printError(error.description)
            throw ExitCode(error.exitCode)
        } catch let error as ExitCode {
            throw error
        } catch let error as ValidationError {
            throw error
        } catch {
            printError("\(error)")
            throw ExitCode(1)
        }
    }

    /// Fails with exit 2 unless the queue file given with `option` exists.
    static func requireFile(_ path: String, option: String) throws {
        guard FileManager.default.fileExists(atPath: path) else {
            printError("\(option) \(path): no such file")
            throw ExitCode(2)
        }
    }

    /// Prints `value` as pretty JSON with sorted keys.
    static func printJSON(_ value: some Encodable) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        print(String(decoding: try encoder.encode(value), as: UTF8.self))
    }

    /// `0 B`, `512 B`, `1.4 KiB`, `12.3 MiB`, `1.02 GiB`.
    static func bytes(_ count: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(count)
        var unit = 0
        while abs(value) >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        if unit == 0 { return "\(count) B" }
        return String(format: value < 10 ? "%.2f %@" : "%.1f %@", value, units[unit])
    }

    /// `0.2s`, `5.0s`, `3m12s`, `2h05m`, `3d04h`.
    static func age(_ seconds: Double) -> String {
        if seconds < 60 { return String(format: "%.1fs", max(seconds, 0)) }
        let whole = Int(seconds)
        if whole < 3600 { return String(format: "%dm%02ds", whole / 60, whole % 60) }
        if whole < 86400 { return String(format: "%dh%02dm", whole / 3600, whole % 3600 / 60) }
        return String(format: "%dd%02dh", whole / 86400, whole % 86400 / 3600)
    }

    /// `2026-11-26T04:05:06Z`
    static func timestamp(_ ms: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: Date(timeIntervalSince1970: Double(ms) / 1000))
    }

    /// `101-150`, or `-` for none.
    static func range(_ first: Int64?, _ last: Int64?) -> String {
        guard let first, let last else { return "-" }
        return first == last ? "\(first)" : "\(first)-\(last)"
    }
}

/// A plain-text table: a header line, then one line per row, columns padded; numbers right-aligned.
struct TextTable {
    var headers: [String]
    var rows: [[String]] = []
    /// Columns aligned to the right (counts, sizes).
    var rightAligned: Set<Int> = []

    init(_ headers: String..., rightAligned: Set<Int> = []) {
        self.headers = headers
        self.rightAligned = rightAligned
    }

    mutating func add(_ cells: String...) {
        rows.append(cells)
    }

    func render() -> String {
        let all = [headers] + rows
        let widths = headers.indices.map { column in all.map { $0.indices.contains(column) ? $0[column].count : 0 }.max() ?? 0 }
        return all.map { row in
            row.indices.map { column in
                let cell = row[column]
                let padding = String(repeating: " ", count: widths[column] - cell.count)
                if column == row.count - 1, !rightAligned.contains(column) { return cell }
                return rightAligned.contains(column) ? padding + cell : cell + padding
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }
}

/// Operator-given times and durations.
enum TimeArgument {
    /// `500ms`, `90s`, `30m`, `12h`, `7d`, `2w` in milliseconds; `nil` when malformed.
    static func durationMs(_ text: String) -> Int64? {
        let units: [(suffix: String, ms: Int64)] = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000), ("w", 604_800_000)]
        for unit in units where text.hasSuffix(unit.suffix) {
            let number = text.dropLast(unit.suffix.count)
            guard !number.isEmpty, number.allSatisfy(\.isNumber), let value = Int64(number), value <= Int64.max / unit.ms else { continue }
            return value * unit.ms
        }
        return nil
    }

    /// A point in time (epoch ms): ISO 8601 UTC (`2026-11-26T03:00:00Z`), epoch milliseconds, or a
    /// duration meaning that long ago (`2h`).
    static func pointMs(_ text: String, nowMs: Int64) -> Int64? {
        if let ago = durationMs(text) { return nowMs - ago }
        if text.allSatisfy(\.isNumber), let ms = Int64(text) { return ms }
        let formatter = ISO8601DateFormatter()
        for options: ISO8601DateFormatter.Options in [[.withInternetDateTime], [.withInternetDateTime, .withFractionalSeconds]] {
            formatter.formatOptions = options
            if let date = formatter.date(from: text) { return Int64(date.timeIntervalSince1970 * 1000) }
        }
        return nil
    }

    static let durationHelp = "a duration: 500ms, 90s, 30m, 12h, 7d or 2w"
    static let pointHelp = "an ISO 8601 UTC time (2026-11-26T03:00:00Z), epoch milliseconds, or a duration ago (2h)"
}

extension QueueError {
    /// 2 when the file or option given is at fault (no such queue file, a bad export file), else 1.
    var exitCode: Int32 {
        switch self {
        case .cannotOpen(_, let reason) where reason == "no such file": 2
        case .invalidExport: 2
        default: 1
        }
    }
}

/// `--db PATH`, shared by the operator commands.
struct QueueFileOption: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The queue file (buffer.path of the configuration).", valueName: "path"))
    var db: String
}

/// `--max-bytes`: the byte cap of a command that adds rows to a queue (`import`, `recover`).
struct QueueCapOption: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "The queue's byte cap, as buffer.max_bytes of the sink's configuration (default 1GiB, as there). Rows that do not fit under it change nothing.",
            valueName: "size"
        ),
        transform: { (text: String) throws -> UInt64 in
            do { return try ByteSize.parse(text) } catch { throw ValidationError("\(error)") }
        }
    )
    var maxBytes: UInt64 = 1 << 30

    /// Runs `body`, which adds rows in one transaction; when they do not fit (`SQLITE_FULL`),
    /// says so in the operator's terms and exits 1.
    func explainingFull<T>(_ what: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as QueueError where error.isFull {
            printError("""
                \(what) does not fit under --max-bytes \(ByteSize.format(maxBytes)) (or the disk is full); nothing was changed. \
                Pass the sink's buffer.max_bytes, or free space first.
                """)
            throw ExitCode(1)
        }
    }
}

/// `--from-id`, `--to-id` and `--stream`: which rows, shared by `replay` and `purge`.
struct RowRangeOptions: ParsableArguments {
    @Option(help: "Only rows with a record id of at least this.")
    var fromID: Int64?

    @Option(help: "Only rows with a record id of at most this.")
    var toID: Int64?

    @Option(help: ArgumentHelp("Only rows of this stream (TOPIC@BROKER_LIST, as status shows).", valueName: "stream"))
    var stream: String?

    /// The id range given, if any.
    var ids: ClosedRange<Int64>? {
        fromID == nil && toID == nil ? nil : (fromID ?? 0)...(toID ?? .max)
    }

    /// Whether an id range was given.
    var hasIDs: Bool { fromID != nil || toID != nil }

    func validate() throws {
        if let fromID, let toID, fromID > toID { throw ValidationError("--from-id \(fromID) is after --to-id \(toID)") }
    }
}
