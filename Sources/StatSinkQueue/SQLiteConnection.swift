import CSQLite

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One SQLite connection, with just what the queue needs: statements, transactions, errors.
///
/// Not thread-safe; ``MessageQueue`` serializes all use behind its lock.
final class SQLiteConnection {
    private(set) var handle: OpaquePointer?
    let path: String
    private var statements: [String: SQLiteStatement] = [:]

    init(path: String, flags: Int32) throws(QueueError) {
        self.path = path
        var handle: OpaquePointer?
        let result = sqlite3_open_v2(path, &handle, flags | SQLITE_OPEN_NOMUTEX, nil)
        self.handle = handle
        guard result == SQLITE_OK else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close_v2(handle)
            self.handle = nil
            throw QueueError.sqlite(operation: "open \(path)", code: result, message: message)
        }
        sqlite3_extended_result_codes(handle, 1)
    }

    deinit {
        close()
    }

    func close() {
        statements.removeAll()
        if let handle { sqlite3_close_v2(handle) }
        handle = nil
    }

    /// Runs one or more statements without results.
    func execute(_ sql: String) throws(QueueError) {
        var error: UnsafeMutablePointer<CChar>?
        let result = sqlite3_exec(handle, sql, nil, nil, &error)
        guard result == SQLITE_OK else {
            let message = error.map { String(cString: $0) } ?? lastMessage
            sqlite3_free(error)
            throw QueueError.sqlite(operation: sql.firstLine, code: result, message: message)
        }
    }

    /// A prepared statement for `sql`, cached: the queue runs the same few statements forever.
    func statement(_ sql: String) throws(QueueError) -> SQLiteStatement {
        if let cached = statements[sql] {
            cached.reset()
            return cached
        }
        var pointer: OpaquePointer?
        let result = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &pointer, nil)
        guard result == SQLITE_OK, let pointer else {
            throw QueueError.sqlite(operation: sql.firstLine, code: result, message: lastMessage)
        }
        let statement = SQLiteStatement(pointer, connection: self, sql: sql)
        statements[sql] = statement
        return statement
    }

    /// The integer result of a single-value query such as a pragma.
    func integer(_ sql: String) throws(QueueError) -> Int64 {
        let statement = try statement(sql)
        defer { statement.reset() }
        guard try statement.step() else { return 0 }
        return statement.int64(0)
    }

    /// Resets every cached statement: a statement left mid-result keeps a read transaction
    /// open, which would block checkpoints and journal-mode changes.
    func resetStatements() {
        for statement in statements.values { statement.reset() }
    }

    /// Runs `body` in a transaction (`BEGIN IMMEDIATE`: the write lock is taken up front, so
    /// a busy database fails here rather than halfway through). Rolls back on error.
    func transaction<T>(_ body: () throws(QueueError) -> T) throws(QueueError) -> T {
        try execute("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    /// Runs `body` in a read transaction (`BEGIN`): every query in it sees one consistent state,
    /// and in WAL mode it blocks no writer.
    func readTransaction<T>(_ body: () throws(QueueError) -> T) throws(QueueError) -> T {
        try execute("BEGIN")
        defer { try? execute("COMMIT") }
        return try body()
    }

    /// Runs `body`, interrupting its SQLite work (`SQLITE_INTERRUPT`) once `budget` has passed.
    func withTimeLimit<T>(_ budget: Duration, _ body: () throws(QueueError) -> T) throws(QueueError) -> T {
        let deadline = UnsafeMutablePointer<UInt64>.allocate(capacity: 1)
        let (seconds, attoseconds) = budget.components
        deadline.pointee = monotonicNanoseconds() &+ UInt64(max(seconds, 0)) &* 1_000_000_000 &+ UInt64(max(attoseconds, 0) / 1_000_000_000)
        // Called every 1000 virtual-machine instructions: cheap next to the page reads between.
        sqlite3_progress_handler(handle, 1000, { context in
            guard let context else { return 0 }
            return monotonicNanoseconds() > context.load(as: UInt64.self) ? 1 : 0
        }, deadline)
        defer {
            sqlite3_progress_handler(handle, 0, nil, nil)
            deadline.deallocate()
        }
        return try body()
    }

    /// The text rows of a one-column query, e.g. `PRAGMA quick_check`. Not cached.
    func strings(_ sql: String) throws(QueueError) -> [String] {
        var pointer: OpaquePointer?
        let result = sqlite3_prepare_v2(handle, sql, -1, &pointer, nil)
        guard result == SQLITE_OK, let pointer else {
            sqlite3_finalize(pointer)
            throw QueueError.sqlite(operation: sql.firstLine, code: result, message: lastMessage)
        }
        let statement = SQLiteStatement(pointer, connection: self, sql: sql)
        var rows: [String] = []
        while try statement.step() { rows.append(statement.string(0) ?? "") }
        return rows
    }

    /// Whether the schema has a table or view of this name.
    func hasObject(_ name: String) throws(QueueError) -> Bool {
        let statement = try statement("SELECT 1 FROM sqlite_master WHERE name = ?")
        defer { statement.reset() }
        statement.bind(1, name)
        return try statement.step()
    }

    var lastMessage: String { handle.map { String(cString: sqlite3_errmsg($0)) } ?? "no connection" }
    var changes: Int { Int(sqlite3_changes(handle)) }
}

/// A prepared statement. Binding indexes are 1-based, column indexes 0-based (as in SQLite).
final class SQLiteStatement {
    private let pointer: OpaquePointer
    private unowned let connection: SQLiteConnection
    private let sql: String

    init(_ pointer: OpaquePointer, connection: SQLiteConnection, sql: String) {
        self.pointer = pointer
        self.connection = connection
        self.sql = sql
    }

    deinit {
        sqlite3_finalize(pointer)
    }

    func reset() {
        sqlite3_reset(pointer)
        sqlite3_clear_bindings(pointer)
    }

    func bind(_ index: Int32, _ value: Int64) {
        sqlite3_bind_int64(pointer, index, value)
    }

    func bind(_ index: Int32, _ value: Int64?) {
        if let value { sqlite3_bind_int64(pointer, index, value) } else { sqlite3_bind_null(pointer, index) }
    }

    func bind(_ index: Int32, _ value: String?) {
        guard let value else {
            sqlite3_bind_null(pointer, index)
            return
        }
        sqlite3_bind_text(pointer, index, value, -1, statsink_sqlite_transient())
    }

    func bind(_ index: Int32, _ bytes: [UInt8]) {
        // A zero-length BLOB must not become NULL: bind zeroblob for it.
        guard !bytes.isEmpty else {
            sqlite3_bind_zeroblob(pointer, index, 0)
            return
        }
        _ = bytes.withUnsafeBytes { buffer in
            sqlite3_bind_blob(pointer, index, buffer.baseAddress, Int32(buffer.count), statsink_sqlite_transient())
        }
    }

    /// Copies of the current row's first `count` columns, to bind elsewhere with
    /// ``bind(_:from:)`` once this statement has moved on.
    func copiedValues(count: Int32) -> [SQLiteValue] {
        (0..<count).map { SQLiteValue(sqlite3_value_dup(sqlite3_column_value(pointer, $0))) }
    }

    /// Binds `values` to consecutive parameters starting at `first`.
    func bind(_ values: [SQLiteValue], from first: Int32) {
        for (offset, value) in values.enumerated() {
            sqlite3_bind_value(pointer, first + Int32(offset), value.pointer)
        }
    }

    /// Steps once: `true` with a row to read, `false` when done.
    @discardableResult
    func step() throws(QueueError) -> Bool {
        let result = sqlite3_step(pointer)
        switch result {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw QueueError.sqlite(operation: sql.firstLine, code: result, message: connection.lastMessage)
        }
    }

    func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(pointer, column) }

    func isNull(_ column: Int32) -> Bool { sqlite3_column_type(pointer, column) == SQLITE_NULL }

    func string(_ column: Int32) -> String? {
        guard let text = sqlite3_column_text(pointer, column) else { return nil }
        return String(cString: text)
    }

    /// The column's bytes in SQLite's memory: valid until the next step, reset or column call
    /// that converts this column.
    func borrowedBytes(_ column: Int32) -> UnsafeRawBufferPointer {
        guard let blob = sqlite3_column_blob(pointer, column) else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: blob, count: Int(sqlite3_column_bytes(pointer, column)))
    }

    /// The column's storage class: `SQLITE_INTEGER`, `SQLITE_TEXT`, `SQLITE_BLOB`, `SQLITE_NULL`, …
    func type(_ column: Int32) -> Int32 { sqlite3_column_type(pointer, column) }

    func bind(_ index: Int32, _ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else {
            sqlite3_bind_zeroblob(pointer, index, 0)
            return
        }
        sqlite3_bind_blob(pointer, index, base, Int32(bytes.count), statsink_sqlite_transient())
    }

    func bytes(_ column: Int32) -> [UInt8] {
        let count = Int(sqlite3_column_bytes(pointer, column))
        guard count > 0, let blob = sqlite3_column_blob(pointer, column) else { return [] }
        return Array(UnsafeRawBufferPointer(start: blob, count: count))
    }
}

/// A protected copy of one column value (`sqlite3_value_dup`), freed with it.
final class SQLiteValue {
    let pointer: OpaquePointer?

    init(_ pointer: OpaquePointer?) {
        self.pointer = pointer
    }

    deinit {
        sqlite3_value_free(pointer)
    }
}

/// `CLOCK_MONOTONIC` in nanoseconds (a free function: the progress handler is a C callback).
private func monotonicNanoseconds() -> UInt64 {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return UInt64(spec.tv_sec) &* 1_000_000_000 &+ UInt64(spec.tv_nsec)
}

extension String {
    fileprivate var firstLine: String {
        let trimmed = drop { $0 == " " || $0 == "\n" }
        return String(trimmed.prefix { $0 != "\n" }.prefix(80))
    }
}
