/// What an export wrote.
public struct ExportOutcome: Sendable, Hashable, Codable {
    /// The file written.
    public var file: String
    /// Records of undelivered rows and of dead letters.
    public var messages: Int
    public var deadLetters: Int
    /// Their payload bytes, and the file's size.
    public var payloadBytes: Int64
    public var fileBytes: Int64
    /// The first and last record id of the undelivered rows exported (for a later
    /// `purge --from-id --to-id` on the exporting node).
    public var firstID: Int64?
    public var lastID: Int64?

    enum CodingKeys: String, CodingKey {
        case file, messages, deadLetters = "dead_letters", payloadBytes = "payload_bytes", fileBytes = "file_bytes"
        case firstID = "first_id", lastID = "last_id"
    }
}

extension MessageQueue {
    /// The columns every exported row has, in ``exportRecord(_:kind:)`` order.
    private static let exportColumns = """
        id, stream, topic, enqueued_at_ms, node_id, snapshot_seq, snapshot_time_ms, batch_index, batch_count, format,
        metric_count, message_key, headers, payload, attempts
        """

    /// Writes the undelivered rows of the queue file at `path` (and, with `includeDeadLetters`,
    /// its dead letters) to `file` as JSON Lines (``ExportRecord``), in id order, from one
    /// consistent read. Nothing in the queue changes, so it is safe beside a running sink. The
    /// file appears complete or not at all (written to `FILE.partial`, then renamed), mode 0600.
    public static func export(
        path: String, to file: String, includeDeadLetters: Bool = false, stream: String? = nil
    ) throws(QueueError) -> ExportOutcome {
        let connection = try openForReading(path)
        let writer = try LineFile.Writer(path: file)
        var outcome = ExportOutcome(file: file, messages: 0, deadLetters: 0, payloadBytes: 0, fileBytes: 0)
        let filter = RowFilter(stream: stream).clause(timeColumn: "")
        try connection.readTransaction { () throws(QueueError) in
            let messages = try connection.statement("SELECT \(exportColumns) FROM messages WHERE \(filter.sql) ORDER BY id")
            messages.bind(filter.arguments)
            while try messages.step() {
                let record = exportRecord(messages, kind: .message)
                try writer.write(line: try record.encoded())
                outcome.messages += 1
                outcome.payloadBytes += Int64(messages.borrowedBytes(13).count)
                outcome.firstID = outcome.firstID ?? record.id
                outcome.lastID = record.id
            }
            guard includeDeadLetters else { return }
            let dead = try connection.statement("""
                SELECT \(exportColumns), dead_lettered_at_ms, error_name, error FROM dead_letters WHERE \(filter.sql) ORDER BY id
                """)
            dead.bind(filter.arguments)
            while try dead.step() {
                var record = exportRecord(dead, kind: .deadLetter)
                record.deadLetteredAtMs = dead.int64(15)
                record.errorName = dead.string(16)
                record.error = dead.string(17)
                try writer.write(line: try record.encoded())
                outcome.deadLetters += 1
                outcome.payloadBytes += Int64(dead.borrowedBytes(13).count)
            }
        }
        outcome.fileBytes = try writer.commit()
        return outcome
    }

    private static func exportRecord(_ row: SQLiteStatement, kind: ExportRecord.Kind) -> ExportRecord {
        let headers = HeadersColumn.decode(row.string(12) ?? "[]") ?? []
        return ExportRecord(
            version: ExportRecord.currentVersion, kind: kind, id: row.int64(0), stream: row.string(1) ?? "",
            topic: row.string(2) ?? "", enqueuedAtMs: row.int64(3), nodeID: row.string(4) ?? "", snapshotSeq: row.int64(5),
            snapshotTimeMs: row.int64(6), batchIndex: Int(row.int64(7)), batchCount: Int(row.int64(8)), format: row.string(9) ?? "",
            metricCount: Int(row.int64(10)), key: ExportRecord.base64(row.bytes(11)), value: ExportRecord.base64(row.bytes(13)),
            headers: headers.map { [$0.name, $0.value] }, attempts: Int(row.int64(14))
        )
    }

    /// Adds the records of an export file to this queue as undelivered rows, all or nothing.
    ///
    /// Every line is validated first (a problem throws ``QueueError/invalidExport(file:line:problem:)``
    /// naming the first bad line, and nothing is written); then all records go in in one
    /// transaction, each with a new record id at the end of `messages`, its key, headers and
    /// payload unchanged (so consumers can drop duplicates by `statsink.node_id`,
    /// `statsink.snapshot_seq` and `statsink.batch_index`), no failed attempts, and its stream
    /// and topic, or `stream`'s when given (the stream this node's drainer delivers). Dead-letter
    /// records are queued for delivery like the others. Blank lines are skipped.
    @discardableResult
    public func importRecords(
        from file: String, into stream: QueueStream? = nil, dryRun: Bool = false
    ) throws(QueueError) -> RowOperationOutcome {
        var outcome = RowOperationOutcome(rows: 0, payloadBytes: 0, metrics: 0, rowsByStream: [:], dryRun: dryRun)
        try LineFile.forEachLine(file) { (number, line) throws(QueueError) in
            guard !line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) else { return }
            switch ExportRecord.decode(line).flatMap({ record in record.validated().map { (record, $0.value.count) } }) {
            case .failure(let problem):
                throw QueueError.invalidExport(file: file, line: number, problem: problem.message)
            case .success(let (record, bytes)):
                outcome.rows += 1
                outcome.payloadBytes += Int64(bytes)
                outcome.metrics += record.metricCount
                outcome.firstID = min(outcome.firstID ?? .max, record.id)
                outcome.lastID = max(outcome.lastID ?? .min, record.id)
                outcome.rowsByStream[stream?.name ?? record.stream, default: 0] += 1
            }
        }
        guard !dryRun, outcome.rows > 0 else { return outcome }
        let ids = try withConnection { (connection) throws(QueueError) -> ClosedRange<Int64>? in
            try connection.transaction { () throws(QueueError) -> ClosedRange<Int64>? in
                var ids: ClosedRange<Int64>?
                try LineFile.forEachLine(file) { (_, line) throws(QueueError) in
                    guard !line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }),
                          case .success(let record) = ExportRecord.decode(line),
                          case .success(let bytes) = record.validated() else { return }
                    let target = stream ?? QueueStream(name: record.stream, topic: record.topic)
                    let id = try Self.insertImported(connection, record, key: bytes.key, value: bytes.value, stream: target)
                    ids = (ids?.lowerBound ?? id)...id
                }
                for (name, rows) in outcome.rowsByStream {
                    let count = try connection.statement("UPDATE streams SET enqueued_rows = enqueued_rows + ? WHERE stream = ?")
                    count.bind(1, Int64(rows))
                    count.bind(2, name)
                    try count.step()
                }
                return ids
            }
        }
        outcome.newFirstID = ids?.lowerBound
        outcome.newLastID = ids?.upperBound
        return outcome
    }

    private static func insertImported(
        _ connection: SQLiteConnection, _ record: ExportRecord, key: [UInt8], value: [UInt8], stream: QueueStream
    ) throws(QueueError) -> Int64 {
        let create = try connection.statement("INSERT OR IGNORE INTO streams (stream, topic) VALUES (?, ?)")
        create.bind(1, stream.name)
        create.bind(2, stream.topic)
        try create.step()
        let insert = try connection.statement("""
            INSERT INTO messages (stream, topic, enqueued_at_ms, node_id, snapshot_seq, snapshot_time_ms, batch_index,
                batch_count, format, metric_count, message_key, headers, payload, payload_bytes)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id
            """)
        insert.bind(1, stream.name)
        insert.bind(2, stream.topic)
        insert.bind(3, record.enqueuedAtMs)
        insert.bind(4, record.nodeID)
        insert.bind(5, record.snapshotSeq)
        insert.bind(6, record.snapshotTimeMs)
        insert.bind(7, Int64(record.batchIndex))
        insert.bind(8, Int64(record.batchCount))
        insert.bind(9, record.format)
        insert.bind(10, Int64(record.metricCount))
        insert.bind(11, key)
        insert.bind(12, HeadersColumn.encode(record.headers.map { ($0[0], $0[1]) }))
        insert.bind(13, value)
        insert.bind(14, Int64(value.count))
        try insert.step()
        let id = insert.int64(0)
        _ = try insert.step()
        try addToQueuedTotals(connection, stream: stream.name, rows: 1, bytes: Int64(value.count))
        return id
    }
}
