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
                let history = try connection.statement("SELECT stream, enqueued_rows FROM streams")
                while try history.step() { streams[history.string(0) ?? "", default: .init()].enqueuedRows = history.int64(1) }
                // length(payload) comes from the record header; payload_bytes sits after the
                // payload, so reading it walks each row's overflow chain.
                let backlog = try connection.statement("""
                    SELECT stream, count(*), coalesce(sum(length(payload)), 0), min(enqueued_at_ms) FROM messages GROUP BY stream
                    """)
                while try backlog.step() {
                    let name = backlog.string(0) ?? ""
                    streams[name, default: .init()].rows = Int(backlog.int64(1))
                    streams[name, default: .init()].payloadBytes = backlog.int64(2)
                    streams[name, default: .init()].oldestEnqueuedAtMs = backlog.isNull(3) ? nil : backlog.int64(3)
                }
                let dead = try connection.statement("SELECT stream, count(*) FROM dead_letters GROUP BY stream")
                while try dead.step() { streams[dead.string(0) ?? "", default: .init()].deadLetters = Int(dead.int64(1)) }
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
