/// Which rows an operator command takes: every condition given must hold; none given means
/// every row.
public struct RowFilter: Sendable, Hashable {
    /// Record ids, inclusive.
    public var ids: ClosedRange<Int64>?
    /// A time range (epoch ms, inclusive): `enqueued_at_ms` for queued rows,
    /// `dead_lettered_at_ms` for dead letters.
    public var timeMs: ClosedRange<Int64>?
    /// Dead letters only: librdkafka's error name (`error_name`, e.g. `MSG_SIZE_TOO_LARGE`),
    /// compared case-insensitively.
    public var errorName: String?
    /// The stream (`TOPIC@BROKER_LIST`).
    public var stream: String?

    /// Creates a filter; with no arguments it takes every row.
    public init(ids: ClosedRange<Int64>? = nil, timeMs: ClosedRange<Int64>? = nil, errorName: String? = nil, stream: String? = nil) {
        self.ids = ids
        self.timeMs = timeMs
        self.errorName = errorName
        self.stream = stream
    }

    /// The `WHERE` clause (always present: `1` for no condition) and what to bind to it, in order.
    func clause(timeColumn: String) -> (sql: String, arguments: [SQLArgument]) {
        var conditions: [String] = []
        var arguments: [SQLArgument] = []
        if let ids {
            conditions.append("id BETWEEN ? AND ?")
            arguments += [.integer(ids.lowerBound), .integer(ids.upperBound)]
        }
        if let timeMs {
            conditions.append("\(timeColumn) BETWEEN ? AND ?")
            arguments += [.integer(timeMs.lowerBound), .integer(timeMs.upperBound)]
        }
        if let errorName {
            conditions.append("error_name = ? COLLATE NOCASE")
            arguments.append(.text(errorName))
        }
        if let stream {
            conditions.append("stream = ?")
            arguments.append(.text(stream))
        }
        return (conditions.isEmpty ? "1" : conditions.joined(separator: " AND "), arguments)
    }
}

/// A value bound to a `?` of a statement built at run time.
enum SQLArgument: Sendable, Hashable {
    case integer(Int64)
    case text(String)
}

extension SQLiteStatement {
    /// Binds `arguments` from index `first` on.
    func bind(_ arguments: [SQLArgument], from first: Int32 = 1) {
        for (offset, argument) in arguments.enumerated() {
            switch argument {
            case .integer(let value): bind(first + Int32(offset), value)
            case .text(let value): bind(first + Int32(offset), value)
            }
        }
    }
}

/// What an operator command did (or, in a dry run, would do) to the rows it selected.
public struct RowOperationOutcome: Sendable, Hashable, Codable {
    /// Rows taken, their payload bytes and metrics.
    public var rows: Int
    public var payloadBytes: Int64
    public var metrics: Int
    /// The first and last record id taken.
    public var firstID: Int64?
    public var lastID: Int64?
    /// Re-queue only: the new record ids the rows got at the end of `messages`.
    public var newFirstID: Int64?
    public var newLastID: Int64?
    /// Rows taken per stream.
    public var rowsByStream: [String: Int]
    /// Whether this was a dry run (nothing changed).
    public var dryRun: Bool

    enum CodingKeys: String, CodingKey {
        case rows, payloadBytes = "payload_bytes", metrics, firstID = "first_id", lastID = "last_id"
        case newFirstID = "new_first_id", newLastID = "new_last_id", rowsByStream = "rows_by_stream", dryRun = "dry_run"
    }
}

extension MessageQueue {
    /// Puts dead letters back in the queue for the drainer, in one transaction.
    ///
    /// Each row gets a **new record id at the end** of `messages` (ids only increase: the
    /// drainer's keyset cursor is past the old ones), keeps its stream, topic, key, headers and
    /// payload (so `statsink.node_id`, `statsink.snapshot_seq` and the batch headers still
    /// identify it to consumers) and its original `enqueued_at_ms`, and starts with no failed
    /// attempts. A running drainer picks the rows up with its next page. Safe beside a running
    /// sink (open the queue as a writer).
    @discardableResult
    public func requeueDeadLetters(matching filter: RowFilter, dryRun: Bool = false) throws(QueueError) -> RowOperationOutcome {
        try withConnection { (connection) throws(QueueError) -> RowOperationOutcome in
            try connection.transaction { () throws(QueueError) -> RowOperationOutcome in
                let (condition, arguments) = filter.clause(timeColumn: "dead_lettered_at_ms")
                var outcome = try Self.measure(connection, table: "dead_letters", condition: condition, arguments: arguments, dryRun: dryRun)
                guard !dryRun, outcome.rows > 0 else { return outcome }
                let totals = try connection.statement("""
                    UPDATE streams SET queued_rows = queued_rows + requeued.rows, queued_bytes = queued_bytes + requeued.bytes
                    FROM (SELECT stream, count(*) AS rows, sum(length(payload)) AS bytes FROM dead_letters WHERE \(condition) GROUP BY stream) AS requeued
                    WHERE streams.stream = requeued.stream
                    """)
                totals.bind(arguments)
                try totals.step()
                let copy = try connection.statement("""
                    INSERT INTO messages (stream, topic, enqueued_at_ms, node_id, snapshot_seq, snapshot_time_ms, batch_index,
                        batch_count, format, metric_count, message_key, headers, payload, payload_bytes)
                    SELECT stream, topic, enqueued_at_ms, node_id, snapshot_seq, snapshot_time_ms, batch_index,
                        batch_count, format, metric_count, message_key, headers, payload, payload_bytes
                    FROM dead_letters WHERE \(condition) ORDER BY id
                    """)
                copy.bind(arguments)
                try copy.step()
                let copied = connection.changes
                // One INSERT under the write lock: the new ids are consecutive.
                let last = try connection.integer("SELECT last_insert_rowid()")
                outcome.newFirstID = last - Int64(copied) + 1
                outcome.newLastID = last
                let delete = try connection.statement("DELETE FROM dead_letters WHERE \(condition)")
                delete.bind(arguments)
                try delete.step()
                return outcome
            }
        }
    }

    /// Deletes undelivered rows (or, with `deadLetters`, dead letters) in one transaction and
    /// counts them in `drops` with reason ``DropReason/purge``, per stream. Safe beside a running
    /// sink: a row in flight that is purged is simply not there when its report comes.
    @discardableResult
    public func purge(
        matching filter: RowFilter, deadLetters: Bool = false, dryRun: Bool = false, nowMs: Int64 = currentTimeMs()
    ) throws(QueueError) -> RowOperationOutcome {
        let outcome = try withConnection { (connection) throws(QueueError) -> RowOperationOutcome in
            try connection.transaction { () throws(QueueError) -> RowOperationOutcome in
                let table = deadLetters ? "dead_letters" : "messages"
                let (condition, arguments) = filter.clause(timeColumn: deadLetters ? "dead_lettered_at_ms" : "enqueued_at_ms")
                let outcome = try Self.measure(connection, table: table, condition: condition, arguments: arguments, dryRun: dryRun)
                guard !dryRun, outcome.rows > 0 else { return outcome }
                let perStream = try connection.statement("""
                    SELECT stream, count(*), coalesce(sum(length(payload)), 0), coalesce(sum(metric_count), 0)
                    FROM \(table) WHERE \(condition) GROUP BY stream
                    """)
                perStream.bind(arguments)
                var counts: [(stream: String, rows: Int, bytes: Int64, metrics: Int)] = []
                while try perStream.step() {
                    counts.append((perStream.string(0) ?? "", Int(perStream.int64(1)), perStream.int64(2), Int(perStream.int64(3))))
                }
                perStream.reset()
                let delete = try connection.statement("DELETE FROM \(table) WHERE \(condition)")
                delete.bind(arguments)
                try delete.step()
                for count in counts {
                    if !deadLetters {
                        try Self.addToQueuedTotals(connection, stream: count.stream, rows: -Int64(count.rows), bytes: -count.bytes)
                    }
                    try Self.countDrop(
                        connection, stream: QueueStream(name: count.stream, topic: ""), reason: .purge, rows: count.rows,
                        bytes: count.bytes, metrics: count.metrics, nowMs: nowMs
                    )
                }
                return outcome
            }
        }
        if !dryRun, outcome.rows > 0 { try reclaimSpace() }
        return outcome
    }

    /// The figures of the undelivered rows (or dead letters) matching `filter`, changing nothing.
    public func measure(matching filter: RowFilter, deadLetters: Bool = false) throws(QueueError) -> RowOperationOutcome {
        try withConnection { (connection) throws(QueueError) -> RowOperationOutcome in
            let (condition, arguments) = filter.clause(timeColumn: deadLetters ? "dead_lettered_at_ms" : "enqueued_at_ms")
            return try Self.measure(connection, table: deadLetters ? "dead_letters" : "messages", condition: condition, arguments: arguments, dryRun: true)
        }
    }

    /// The figures of the rows of `table` matching `condition`.
    private static func measure(
        _ connection: SQLiteConnection, table: String, condition: String, arguments: [SQLArgument], dryRun: Bool
    ) throws(QueueError) -> RowOperationOutcome {
        let figures = try connection.statement("""
            SELECT stream, count(*), coalesce(sum(length(payload)), 0), coalesce(sum(metric_count), 0), min(id), max(id)
            FROM \(table) WHERE \(condition) GROUP BY stream
            """)
        figures.bind(arguments)
        var outcome = RowOperationOutcome(rows: 0, payloadBytes: 0, metrics: 0, rowsByStream: [:], dryRun: dryRun)
        while try figures.step() {
            let rows = Int(figures.int64(1))
            outcome.rows += rows
            outcome.payloadBytes += figures.int64(2)
            outcome.metrics += Int(figures.int64(3))
            outcome.firstID = min(outcome.firstID ?? .max, figures.int64(4))
            outcome.lastID = max(outcome.lastID ?? .min, figures.int64(5))
            outcome.rowsByStream[figures.string(0) ?? "", default: 0] += rows
        }
        figures.reset()
        return outcome
    }
}
