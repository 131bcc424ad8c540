#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The figures a scraper reads every few seconds: per stream backlog, dead letters and drops,
/// and the file sizes. Unlike ``QueueStatus`` it never reads a payload and uses the
/// `(stream, id)` index where it can, so it stays cheap beside a large backlog.
public struct QueueGauges: Sendable, Hashable {
    /// One stream's figures.
    public struct Stream: Sendable, Hashable {
        /// Rows waiting for delivery.
        public var rows: Int = 0
        /// Their payload bytes.
        public var payloadBytes: Int64 = 0
        /// When the oldest waiting row was enqueued (epoch ms), if any.
        public var oldestEnqueuedAtMs: Int64?
        /// Rows enqueued over the file's life (`streams.enqueued_rows`).
        public var enqueuedRows: Int64 = 0
        /// Rows in `dead_letters`.
        public var deadLetters: Int = 0
        /// Rows dropped over the file's life, by ``DropReason`` raw value.
        public var drops: [String: Int64] = [:]

        /// A stream with nothing in the queue.
        public init() {}
    }

    /// By stream name.
    public var streams: [String: Stream]
    /// The database file's size and its WAL's (0 when absent).
    public var fileBytes: Int64
    public var walBytes: Int64
    /// Damaged files this queue replaced.
    public var quarantinedFiles: Int
}

extension MessageQueue {
    /// The current ``QueueGauges``, on the queue's own connection, in one read transaction.
    public func gauges() throws(QueueError) -> QueueGauges {
        try withConnection { (connection) throws(QueueError) -> QueueGauges in
            try connection.readTransaction { () throws(QueueError) -> QueueGauges in
                var streams: [String: QueueGauges.Stream] = [:]
                // Running totals (``addToQueuedTotals``): nothing here scans the backlog.
                let totals = try connection.statement("""
                    SELECT stream, enqueued_rows, queued_rows, queued_bytes, dead_letter_rows,
                           (SELECT enqueued_at_ms FROM messages m WHERE m.stream = streams.stream ORDER BY id LIMIT 1)
                    FROM streams
                    """)
                while try totals.step() {
                    var stream = QueueGauges.Stream()
                    stream.enqueuedRows = totals.int64(1)
                    stream.rows = Int(totals.int64(2))
                    stream.payloadBytes = totals.int64(3)
                    stream.deadLetters = Int(totals.int64(4))
                    stream.oldestEnqueuedAtMs = totals.isNull(5) ? nil : totals.int64(5)
                    streams[totals.string(0) ?? ""] = stream
                }
                let drops = try connection.statement("SELECT stream, reason, rows FROM drops")
                while try drops.step() {
                    streams[drops.string(0) ?? "", default: .init()].drops[drops.string(1) ?? "", default: 0] += drops.int64(2)
                }
                let quarantined = try connection.hasObject("quarantined_files")
                    ? Int(try connection.integer("SELECT count(*) FROM quarantined_files")) : 0
                func size(_ path: String) -> Int64 {
                    var status = stat()
                    return stat(path, &status) == 0 ? Int64(status.st_size) : 0
                }
                return QueueGauges(
                    streams: streams, fileBytes: size(connection.path), walBytes: size(connection.path + "-wal"),
                    quarantinedFiles: quarantined
                )
            }
        }
    }
}
