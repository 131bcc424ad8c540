import CSQLite

/// The enqueue baseline: payload BLOBs inserted into a plain table through the SQLite C API,
/// one transaction per snapshot, with nothing of the queue around it (no schema of ours, no
/// sequence, no cap, no headers or metadata columns).
final class RawSQLiteTable {
    /// What SQLite refused.
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    private var database: OpaquePointer?
    private var insertStatement: OpaquePointer?

    /// Opens (creating) a WAL database at `path` with `synchronous` (`NORMAL` or `FULL`) and the
    /// queue's page size, as the queue opens its file.
    init(path: String, synchronous: String, pageSize: Int) throws(Failure) {
        guard sqlite3_open_v2(path, &database, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nil) == SQLITE_OK else {
            throw Failure(description: "open \(path): \(message)")
        }
        try execute("PRAGMA page_size = \(pageSize)")
        try execute("PRAGMA journal_mode = WAL")
        try execute("PRAGMA synchronous = \(synchronous)")
        try execute("CREATE TABLE IF NOT EXISTS payloads (id INTEGER PRIMARY KEY, payload BLOB NOT NULL)")
        guard sqlite3_prepare_v3(database, "INSERT INTO payloads (payload) VALUES (?)", -1, UInt32(SQLITE_PREPARE_PERSISTENT), &insertStatement, nil) == SQLITE_OK else {
            throw Failure(description: "prepare insert: \(message)")
        }
    }

    deinit {
        sqlite3_finalize(insertStatement)
        sqlite3_close_v2(database)
    }

    /// Inserts one row per payload in a single transaction; returns once committed.
    func insert(_ payloads: [[UInt8]]) throws(Failure) {
        try execute("BEGIN IMMEDIATE")  // as the queue does: the write lock up front
        for payload in payloads {
            let result = payload.withUnsafeBytes { bytes in
                // SQLITE_STATIC (nil): the bytes outlive the step, so SQLite need not copy them.
                sqlite3_bind_blob(insertStatement, 1, bytes.baseAddress, Int32(bytes.count), nil)
                defer { sqlite3_reset(insertStatement) }
                return sqlite3_step(insertStatement)
            }
            guard result == SQLITE_DONE else {
                let failure = Failure(description: "insert: \(message)")
                try? execute("ROLLBACK")
                throw failure
            }
        }
        try execute("COMMIT")
    }

    private func execute(_ sql: String) throws(Failure) {
        guard sqlite3_exec(database, sql, nil, nil, nil) == SQLITE_OK else {
            throw Failure(description: "\(sql): \(message)")
        }
    }

    private var message: String { database.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory" }

    /// The SQLite library's version, e.g. `3.40.1`.
    static var version: String { String(cString: sqlite3_libversion()) }
}
