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
        }
    }

    /// Whether SQLite said the database or disk is full (`SQLITE_FULL`): the cap or the disk.
    var isFull: Bool {
        if case let .sqlite(_, code, _) = self { return code & 0xFF == 13 }
        return false
    }
}
