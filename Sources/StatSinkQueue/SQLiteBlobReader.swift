import CSQLite

/// Reads one BLOB column of successive rows through SQLite's incremental I/O, straight into
/// buffers the caller owns (`sqlite3_blob_read`), instead of into a result buffer of SQLite's
/// that the caller would then copy.
///
/// Lives as long as one read transaction of its connection; ``close()`` before that ends.
final class SQLiteBlobReader {
    private let connection: SQLiteConnection
    private let table: String
    private let column: String
    private var blob: OpaquePointer?

    init(connection: SQLiteConnection, table: String, column: String) {
        self.connection = connection
        self.table = table
        self.column = column
    }

    deinit {
        close()
    }

    /// Copies the first `destination.count` bytes of the column of row `rowID` into `destination`.
    func read(rowID: Int64, into destination: UnsafeMutableRawBufferPointer) throws(QueueError) {
        // Reopening moves an open handle to another row without preparing it again.
        var result = SQLITE_OK
        if let blob {
            result = sqlite3_blob_reopen(blob, rowID)
        } else {
            result = sqlite3_blob_open(connection.handle, "main", table, column, rowID, 0, &blob)
        }
        guard result == SQLITE_OK, let blob else {
            let message = connection.lastMessage
            close()  // a failed reopen leaves the handle unusable
            throw QueueError.sqlite(operation: "read \(table).\(column) of row \(rowID)", code: result, message: message)
        }
        guard let base = destination.baseAddress, !destination.isEmpty else { return }
        let size = Int(sqlite3_blob_bytes(blob))
        guard destination.count <= size else {
            throw QueueError.sqlite(
                operation: "read \(table).\(column) of row \(rowID)", code: SQLITE_CORRUPT,
                message: "the value holds \(size) bytes, not the \(destination.count) its length said"
            )
        }
        result = sqlite3_blob_read(blob, base, Int32(destination.count), 0)
        guard result == SQLITE_OK else {
            throw QueueError.sqlite(operation: "read \(table).\(column) of row \(rowID)", code: result, message: connection.lastMessage)
        }
    }

    func close() {
        if let blob { sqlite3_blob_close(blob) }
        blob = nil
    }
}
