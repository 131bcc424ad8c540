/// What can go wrong with a queue file.
public enum QueueError: Error, Sendable, Hashable, CustomStringConvertible {
    /// SQLite refused an operation.
    case sqlite(operation: String, code: Int32, message: String)
    /// The file was written by a newer kafka-stat-sink; it is left untouched.
    case newerSchema(path: String, fileVersion: Int, supportedVersion: Int)
    /// Another drainer (this process or another) owns the queue.
    case drainerAlreadyRunning(path: String)
    /// The file or its lock file could not be created or opened.
    case cannotOpen(path: String, reason: String)
    /// The queue file is damaged or not a queue at all (`SQLITE_CORRUPT`, `SQLITE_NOTADB`, or a
    /// failed `PRAGMA quick_check`) and was left where it is.
    case damaged(path: String, detail: String)
    /// A line of an export file is not a valid record; nothing was imported.
    case invalidExport(file: String, line: Int, problem: String)
    /// Reading or writing a file other than the queue failed.
    case fileFailed(path: String, operation: String, reason: String)

    public var description: String {
        switch self {
        case let .sqlite(operation, code, message):
            "SQLite error \(code) (\(message)) during: \(operation)"
        case let .newerSchema(path, fileVersion, supportedVersion):
            "\(path): the queue has schema version \(fileVersion), written by a newer kafka-stat-sink; this one supports up to \(supportedVersion). The file was not modified."
        case let .drainerAlreadyRunning(path):
            "\(path): another drainer already owns this queue (only one may drain it; readers such as sqlite3 are fine)"
        case let .cannotOpen(path, reason):
            "\(path): cannot open the queue: \(reason)"
        case let .damaged(path, detail):
            "\(path): the queue file is damaged (\(detail)); salvage its rows with: statsink recover --from \(path) --into NEW"
        case let .invalidExport(file, line, problem):
            "\(file):\(line): \(problem); nothing was imported"
        case let .fileFailed(path, operation, reason):
            "\(path): cannot \(operation): \(reason)"
        }
    }

    /// Whether SQLite said the file is damaged or not a database (`SQLITE_CORRUPT`, `SQLITE_NOTADB`).
    var isDamage: Bool {
        switch self {
        case let .sqlite(_, code, _): code & 0xFF == 11 || code & 0xFF == 26
        case .damaged: true
        default: false
        }
    }

    /// Whether the failure may pass by itself: the disk or the cap is full, or another connection
    /// holds a lock (`SQLITE_FULL`, `SQLITE_BUSY`, `SQLITE_LOCKED`). Retrying later is right;
    /// giving up (and exiting) is not.
    public var isTransient: Bool {
        if case let .sqlite(_, code, _) = self { return [13, 5, 6].contains(code & 0xFF) }
        return false
    }

    /// Whether SQLite said the database or disk is full (`SQLITE_FULL`): the cap or the disk.
    public var isFull: Bool {
        if case let .sqlite(_, code, _) = self { return code & 0xFF == 13 }
        return false
    }
}
