import CSQLite

/// What ``MessageQueue/salvage(from:nowMs:)`` recovered from a damaged file.
public struct SalvageReport: Sendable, Hashable, Codable {
    /// The damaged file.
    public var from: String
    /// Whether SQLite could read the file at all (a file that is not a database has nothing).
    public var readable: Bool
    /// Undelivered rows and dead letters copied.
    public var messages: Int
    public var deadLetters: Int
    /// Their payload bytes.
    public var payloadBytes: Int64
    /// Streams whose snapshot numbering was carried over.
    public var streams: Int
    /// Record-id ranges that could not be read, per table (`messages: 120-183`); the ranges may
    /// include ids that held no row.
    public var unreadable: [String]
    /// What SQLite said about the unreadable parts.
    public var problems: [String]

    /// Rows copied, both tables.
    public var rows: Int { messages + deadLetters }
}

extension MessageQueue {
    private static let salvageColumns = """
        id, stream, topic, enqueued_at_ms, node_id, snapshot_seq, snapshot_time_ms, batch_index, batch_count, format,
        metric_count, message_key, headers, payload, payload_bytes, attempts
        """

    /// Copies every row that can still be read from the damaged queue file at `path` into this
    /// queue, in one transaction.
    ///
    /// Each table is read in record-id order; where a read fails, the unreadable stretch is
    /// stepped over by seeking ever further ahead (1, 2, 4, … ids) until rows read again, and
    /// the stretch is reported. Undelivered rows get new ids at the end of `messages` and are
    /// delivered by this queue's drainer; dead letters stay dead letters (with ids from the same
    /// sequence). Stream snapshot numbering is carried over (never lowered), so no
    /// `(node, snapshot_seq)` is given out twice. Keys, headers and payloads are unchanged.
    /// The damaged file is only read.
    public func salvage(from path: String, nowMs: Int64 = currentTimeMs()) throws(QueueError) -> SalvageReport {
        var report = SalvageReport(from: path, readable: false, messages: 0, deadLetters: 0, payloadBytes: 0, streams: 0, unreadable: [], problems: [])
        let old: SQLiteConnection
        do {
            old = try SQLiteConnection.forSalvage(path: path)
            _ = try old.integer("PRAGMA user_version")
        } catch {
            report.problems.append(error.damageDetail)
            return report
        }
        report.readable = true
        try withConnection { (connection) throws(QueueError) in
            try connection.transaction { () throws(QueueError) in
                if let streams = try? Self.readOldStreams(old) {
                    for stream in streams {
                        try QueueQuarantine.raiseSequence(connection, stream: stream.name, topic: stream.topic, to: stream.lastSequence)
                    }
                    report.streams = streams.count
                } else {
                    report.problems.append("streams: unreadable; snapshot numbering not carried over")
                }
                let messages = try Self.copyReadableRows(from: old, table: "messages") { (row) throws(QueueError) in
                    let stream = row.string(1) ?? ""
                    let create = try connection.statement("INSERT OR IGNORE INTO streams (stream, topic) VALUES (?, ?)")
                    create.bind(1, stream)
                    create.bind(2, row.string(2) ?? "")
                    try create.step()
                    let insert = try connection.statement("""
                        INSERT INTO messages (stream, topic, enqueued_at_ms, node_id, snapshot_seq, snapshot_time_ms, batch_index,
                            batch_count, format, metric_count, message_key, headers, payload, payload_bytes, attempts)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """)
                    Self.bindSalvaged(insert, row, from: 1, columns: 1...15)
                    try insert.step()
                    let count = try connection.statement("""
                        UPDATE streams SET enqueued_rows = enqueued_rows + 1, queued_rows = queued_rows + 1, queued_bytes = queued_bytes + ?
                        WHERE stream = ?
                        """)
                    count.bind(1, Int64(row.borrowedBytes(13).count))
                    count.bind(2, stream)
                    try count.step()
                    report.messages += 1
                    report.payloadBytes += Int64(row.borrowedBytes(13).count)
                }
                let deadLetters = try Self.copyReadableRows(from: old, table: "dead_letters", extraColumns: ", dead_lettered_at_ms, error_name, error") { (row) throws(QueueError) in
                    let insert = try connection.statement("""
                        INSERT INTO dead_letters (id, stream, topic, enqueued_at_ms, node_id, snapshot_seq, snapshot_time_ms,
                            batch_index, batch_count, format, metric_count, message_key, headers, payload, payload_bytes, attempts,
                            dead_lettered_at_ms, error_name, error)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """)
                    insert.bind(1, try Self.allocateRecordID(connection))
                    Self.bindSalvaged(insert, row, from: 2, columns: 1...18)
                    try insert.step()
                    report.deadLetters += 1
                    report.payloadBytes += Int64(row.borrowedBytes(13).count)
                }
                report.unreadable = messages.unreadable + deadLetters.unreadable
                report.problems += messages.problems + deadLetters.problems
            }
        }
        return report
    }

    /// Binds the row's columns `columns` (by type: integer, text or blob) from index `first` on.
    private static func bindSalvaged(_ statement: SQLiteStatement, _ row: SQLiteStatement, from first: Int32, columns: ClosedRange<Int32>) {
        for column in columns {
            let index = first + column - columns.lowerBound
            switch row.type(column) {
            case SQLITE_INTEGER: statement.bind(index, row.int64(column))
            case SQLITE_BLOB: statement.bind(index, row.borrowedBytes(column))
            case SQLITE_NULL: statement.bind(index, nil as String?)
            default: statement.bind(index, row.string(column))
            }
        }
    }

    /// Reads `table` of `old` in id order, calling `copy` with each readable row and stepping
    /// over what cannot be read; returns the id ranges stepped over and what SQLite said.
    private static func copyReadableRows(
        from old: SQLiteConnection, table: String, extraColumns: String = "",
        _ copy: (SQLiteStatement) throws(QueueError) -> Void
    ) throws(QueueError) -> (unreadable: [String], problems: [String]) {
        var report = (unreadable: [String](), problems: [String]())
        // The highest id bounds the search past unreadable stretches.
        let lastID = (try? old.integer("SELECT max(id) FROM \(table)"))
            ?? (try? old.integer("SELECT seq FROM sqlite_sequence WHERE name = 'messages'"))
            ?? Int64(1) << 40
        let read: SQLiteStatement
        let probe: SQLiteStatement
        do {
            read = try old.statement("SELECT \(salvageColumns)\(extraColumns) FROM \(table) WHERE id > ? ORDER BY id")
            probe = try old.statement("SELECT id FROM \(table) WHERE id >= ? ORDER BY id LIMIT 1")
        } catch {
            report.problems.append("\(table): \(error.damageDetail)")
            return report
        }
        var cursor: Int64 = 0  // the last id read (or stepped over)
        var malformed = 0
        var lastFailure: Int64 = -1
        var jump: Int64 = 1
        while true {
            read.reset()
            read.bind(1, cursor)
            do {
                while try read.step() {
                    // A page SQLite reads as zeros or garbage can yield rows of NULLs: skip them.
                    guard Self.isPlausible(read) else {
                        malformed += 1
                        continue
                    }
                    try copy(read)
                    cursor = max(cursor, read.int64(0))
                }
                if malformed > 0 { report.problems.append("\(table): \(malformed) malformed rows skipped") }
                return report
            } catch where error.isDamage || error.sqliteCode & 0xFF == SQLITE_IOERR {
                if report.problems.count < 20 { report.problems.append("\(table) after id \(cursor): \(error.damageDetail)") }
            }
            // Stuck at the same place as last time: look further ahead.
            jump = cursor == lastFailure ? jump * 2 : 1
            lastFailure = cursor
            let skippedFrom = cursor + 1
            var resumed = false
            while cursor + jump <= lastID {
                probe.reset()
                probe.bind(1, cursor + jump)
                guard let found = try? probe.step() else {
                    jump *= 2
                    continue
                }
                guard found else { break }  // nothing readable further on
                let next = probe.int64(0)
                if next - 1 >= skippedFrom { report.unreadable.append("\(table): \(skippedFrom)-\(next - 1)") }
                cursor = next - 1
                resumed = true
                break
            }
            probe.reset()
            if !resumed {
                report.unreadable.append("\(table): \(skippedFrom)-\(max(lastID, skippedFrom))")
                if malformed > 0 { report.problems.append("\(table): \(malformed) malformed rows skipped") }
                return report
            }
        }
    }

    /// Whether a row read from a damaged file has what a queue row must have: an id, the text
    /// columns (stream, topic, node, format, headers), integers and a key and payload.
    private static func isPlausible(_ row: SQLiteStatement) -> Bool {
        guard row.type(0) == SQLITE_INTEGER, row.int64(0) > 0 else { return false }
        let texts: [Int32] = [1, 2, 4, 9, 12]
        let integers: [Int32] = [3, 5, 6, 7, 8, 10, 14, 15]
        return texts.allSatisfy { row.type($0) == SQLITE_TEXT } && integers.allSatisfy { row.type($0) == SQLITE_INTEGER }
            && [11, 13].allSatisfy { row.type($0) == SQLITE_BLOB }
            && (row.string(9) == "JSON" || row.string(9) == "PROTOBUF")
    }

    private static func readOldStreams(_ old: SQLiteConnection) throws(QueueError) -> [(name: String, topic: String, lastSequence: Int64)] {
        let statement = try old.statement("SELECT stream, topic, last_snapshot_seq FROM streams")
        var streams: [(name: String, topic: String, lastSequence: Int64)] = []
        while try statement.step() {
            streams.append((statement.string(0) ?? "", statement.string(1) ?? "", statement.int64(2)))
        }
        return streams
    }

    /// A record id from the `messages` sequence for a row that goes straight to `dead_letters`,
    /// so it can never meet the id of a row dead-lettered later.
    private static func allocateRecordID(_ connection: SQLiteConnection) throws(QueueError) -> Int64 {
        try connection.execute("""
            INSERT INTO sqlite_sequence (name, seq) SELECT 'messages', 0
            WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'messages')
            """)
        let next = try connection.statement("""
            UPDATE sqlite_sequence SET seq = max(seq, (SELECT coalesce(max(id), 0) FROM messages),
                (SELECT coalesce(max(id), 0) FROM dead_letters)) + 1
            WHERE name = 'messages' RETURNING seq
            """)
        try next.step()
        let id = next.int64(0)
        _ = try next.step()
        return id
    }
}
