import CSQLite

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Everything an operator asks about a queue file after an outage: what waits, what failed and
/// why, what was dropped, when the last delivery was, and how big the file is.
///
/// Read in one read transaction (a consistent picture) on a read-only connection: in WAL mode it
/// blocks no writer or drainer, so it is safe beside a running sink. Payloads are never read.
/// Times are epoch milliseconds; ages are seconds before ``generatedAtMs``.
public struct QueueStatus: Sendable, Hashable, Codable {
    /// The queue file.
    public var path: String
    /// When the figures were read.
    public var generatedAtMs: Int64
    /// `PRAGMA user_version`: the last migration applied.
    public var schemaVersion: Int
    /// Sizes of the file and its WAL.
    public var file: FileFigures
    /// One entry per stream: its backlog and delivery history.
    public var streams: [StreamStatus]
    /// Dead letters grouped by error, most recent first.
    public var deadLetters: [DeadLetterGroup]
    /// Dropped rows by stream and reason, most recent first.
    public var drops: [DropFigures]
    /// Damaged files this queue replaced, oldest first.
    public var quarantinedFiles: [QuarantineRecord]
    /// Whether a drainer (`statsink run`, a push) holds the queue now.
    public var drainer: DrainerPresence = .unknown

    /// Whether a process holds a queue's drainer lock (`QUEUE-drainer.lock`), and which.
    public enum DrainerPresence: Sendable, Hashable, Codable {
        /// A process holds it: a sink is delivering this queue (its pid, when the kernel says).
        case running(pid: Int32?)
        /// No process holds it: nothing delivers this queue now.
        case notRunning
        /// This system does not tell (no `/proc/locks`).
        case unknown

        enum CodingKeys: String, CodingKey {
            case running, pid
        }

        // {"running": true, "pid": 4242}, {"running": false}, {"running": null}
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            switch self {
            case .running(let pid):
                try container.encode(true, forKey: .running)
                try container.encodeIfPresent(pid, forKey: .pid)
            case .notRunning:
                try container.encode(false, forKey: .running)
            case .unknown:
                try container.encodeNil(forKey: .running)
            }
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            switch try container.decodeIfPresent(Bool.self, forKey: .running) {
            case true?: self = .running(pid: try container.decodeIfPresent(Int32.self, forKey: .pid))
            case false?: self = .notRunning
            case nil: self = .unknown
            }
        }
    }

    /// Rows waiting for delivery, all streams.
    public var backlogRows: Int { streams.reduce(0) { $0 + $1.rows } }
    /// Their payload bytes.
    public var backlogBytes: Int64 { streams.reduce(0) { $0 + $1.payloadBytes } }
    /// Rows in `dead_letters`.
    public var deadLetterRows: Int { deadLetters.reduce(0) { $0 + $1.rows } }

    /// Sizes of a queue file.
    public struct FileFigures: Sendable, Hashable, Codable {
        /// The database file's size.
        public var fileBytes: Int64
        /// The `-wal` file's size (0 when absent).
        public var walBytes: Int64
        /// The page size.
        public var pageSize: Int64
        /// Pages in the file, and how many of them are free (returned by the drainer's upkeep).
        public var pages: Int64
        public var freePages: Int64

        enum CodingKeys: String, CodingKey {
            case fileBytes = "file_bytes", walBytes = "wal_bytes", pageSize = "page_size", pages, freePages = "free_pages"
        }
    }

    /// One stream: its backlog (`messages`) and its history (`streams`).
    public struct StreamStatus: Sendable, Hashable, Codable {
        public var stream: String
        public var topic: String
        /// Rows waiting, their payload bytes and metrics.
        public var rows: Int
        public var payloadBytes: Int64
        public var metrics: Int
        /// Rows that have failed at least once and wait for a retry.
        public var retriedRows: Int
        /// The first and last waiting record ids.
        public var firstID: Int64?
        public var lastID: Int64?
        /// When the oldest and newest waiting rows were enqueued, and their ages in seconds.
        public var oldestEnqueuedAtMs: Int64?
        public var newestEnqueuedAtMs: Int64?
        public var oldestAgeSeconds: Double?
        public var newestAgeSeconds: Double?
        /// The last snapshot number given out.
        public var lastSnapshotSeq: Int64
        /// Rows enqueued and delivered over the file's life, and the delivered payload bytes.
        public var enqueuedRows: Int64
        public var deliveredRows: Int64
        public var deliveredBytes: Int64
        /// The last acknowledgement, and its age in seconds.
        public var lastDeliveryAtMs: Int64?
        public var lastDeliveryAgeSeconds: Double?
        /// The last delivery error (retried or dead-lettered), when it happened, and its age.
        public var lastError: String?
        public var lastErrorAtMs: Int64?
        public var lastErrorAgeSeconds: Double?

        enum CodingKeys: String, CodingKey {
            case stream, topic, rows, payloadBytes = "payload_bytes", metrics, retriedRows = "retried_rows"
            case firstID = "first_id", lastID = "last_id"
            case oldestEnqueuedAtMs = "oldest_enqueued_at_ms", newestEnqueuedAtMs = "newest_enqueued_at_ms"
            case oldestAgeSeconds = "oldest_age_s", newestAgeSeconds = "newest_age_s"
            case lastSnapshotSeq = "last_snapshot_seq", enqueuedRows = "enqueued_rows", deliveredRows = "delivered_rows"
            case deliveredBytes = "delivered_bytes", lastDeliveryAtMs = "last_delivery_at_ms"
            case lastDeliveryAgeSeconds = "last_delivery_age_s", lastError = "last_error", lastErrorAtMs = "last_error_at_ms"
            case lastErrorAgeSeconds = "last_error_age_s"
        }
    }

    /// Dead letters of one stream with one error.
    public struct DeadLetterGroup: Sendable, Hashable, Codable {
        public var stream: String
        public var topic: String
        /// librdkafka's error name, e.g. `MSG_SIZE_TOO_LARGE`, and its message.
        public var errorName: String
        public var error: String
        public var rows: Int
        public var payloadBytes: Int64
        public var metrics: Int
        /// The record ids, first and last (the range may hold other groups' ids).
        public var firstID: Int64
        public var lastID: Int64
        /// When the first and last of them were dead-lettered.
        public var firstAtMs: Int64
        public var lastAtMs: Int64

        enum CodingKeys: String, CodingKey {
            case stream, topic, errorName = "error_name", error, rows, payloadBytes = "payload_bytes", metrics
            case firstID = "first_id", lastID = "last_id", firstAtMs = "first_at_ms", lastAtMs = "last_at_ms"
        }
    }

    /// Rows of one stream dropped for one reason, over the file's life.
    public struct DropFigures: Sendable, Hashable, Codable {
        public var stream: String
        /// A ``DropReason`` raw value.
        public var reason: String
        public var rows: Int64
        public var payloadBytes: Int64
        public var metrics: Int64
        public var lastDropAtMs: Int64
        public var lastDropAgeSeconds: Double

        enum CodingKeys: String, CodingKey {
            case stream, reason, rows, payloadBytes = "payload_bytes", metrics, lastDropAtMs = "last_drop_at_ms"
            case lastDropAgeSeconds = "last_drop_age_s"
        }
    }

    enum CodingKeys: String, CodingKey {
        case path, generatedAtMs = "generated_at_ms", schemaVersion = "schema_version", file, streams
        case deadLetters = "dead_letters", drops, quarantinedFiles = "quarantined_files", drainer
    }
}

extension MessageQueue {
    /// The status of the queue file at `path`, read without opening it as a queue: no migration,
    /// no integrity check, no lock, nothing written. Works beside a running sink.
    ///
    /// - Throws: ``QueueError/cannotOpen(path:reason:)`` when there is no such file,
    ///   ``QueueError/damaged(path:detail:)`` when it is damaged or not a database.
    public static func status(path: String, nowMs: Int64 = currentTimeMs()) throws(QueueError) -> QueueStatus {
        let connection = try openForReading(path)
        return try readStatus(connection, nowMs: nowMs)
    }

    /// The status of this queue (see ``status(path:nowMs:)``), on the queue's own connection.
    public func status(nowMs: Int64 = currentTimeMs()) throws(QueueError) -> QueueStatus {
        try withConnection { (connection) throws(QueueError) -> QueueStatus in try Self.readStatus(connection, nowMs: nowMs) }
    }

    /// A read-only connection to an existing queue file; damage reported as ``QueueError/damaged(path:detail:)``.
    static func openForReading(_ path: String) throws(QueueError) -> SQLiteConnection {
        guard access(path, F_OK) == 0 else { throw QueueError.cannotOpen(path: path, reason: "no such file") }
        do throws(QueueError) {
            let connection = try SQLiteConnection(path: path, flags: SQLITE_OPEN_READONLY)
            try connection.execute("PRAGMA busy_timeout = 5000")
            _ = try connection.integer("PRAGMA user_version")  // reads the header: NOTADB shows here
            guard try connection.hasObject("messages") else {
                throw QueueError.cannotOpen(path: path, reason: "not a kafka-stat-sink queue (no messages table)")
            }
            return connection
        } catch where error.isDamage {
            throw QueueError.damaged(path: path, detail: error.damageDetail)
        }
    }

    static func readStatus(_ connection: SQLiteConnection, nowMs: Int64) throws(QueueError) -> QueueStatus {
        do {
            return try connection.readTransaction { () throws(QueueError) -> QueueStatus in
                var status = QueueStatus(
                    path: connection.path, generatedAtMs: nowMs, schemaVersion: Int(try connection.integer("PRAGMA user_version")),
                    file: try fileFigures(connection), streams: try streamStatuses(connection, nowMs: nowMs),
                    deadLetters: [], drops: [], quarantinedFiles: [], drainer: DrainerLock.holder(queuePath: connection.path)
                )
                let dead = try connection.statement("""
                    SELECT stream, topic, error_name, error, count(*), sum(length(payload)), sum(metric_count), min(id), max(id),
                        min(dead_lettered_at_ms), max(dead_lettered_at_ms)
                    FROM dead_letters GROUP BY stream, topic, error_name, error ORDER BY max(dead_lettered_at_ms) DESC
                    """)
                while try dead.step() {
                    status.deadLetters.append(QueueStatus.DeadLetterGroup(
                        stream: dead.string(0) ?? "", topic: dead.string(1) ?? "", errorName: dead.string(2) ?? "",
                        error: dead.string(3) ?? "", rows: Int(dead.int64(4)), payloadBytes: dead.int64(5), metrics: Int(dead.int64(6)),
                        firstID: dead.int64(7), lastID: dead.int64(8), firstAtMs: dead.int64(9), lastAtMs: dead.int64(10)
                    ))
                }
                let drops = try connection.statement("""
                    SELECT stream, reason, rows, payload_bytes, metrics, last_drop_at_ms FROM drops ORDER BY last_drop_at_ms DESC
                    """)
                while try drops.step() {
                    status.drops.append(QueueStatus.DropFigures(
                        stream: drops.string(0) ?? "", reason: drops.string(1) ?? "", rows: drops.int64(2), payloadBytes: drops.int64(3),
                        metrics: drops.int64(4), lastDropAtMs: drops.int64(5), lastDropAgeSeconds: age(drops.int64(5), nowMs)
                    ))
                }
                if try connection.hasObject("quarantined_files") {
                    let quarantined = try connection.statement("""
                        SELECT original_path, moved_to, detected_at_ms, reason, file_bytes, carried_streams, sequence_floor
                        FROM quarantined_files ORDER BY id
                        """)
                    while try quarantined.step() {
                        status.quarantinedFiles.append(QuarantineRecord(
                            originalPath: quarantined.string(0) ?? "", movedTo: quarantined.string(1) ?? "",
                            detectedAtMs: quarantined.int64(2), reason: quarantined.string(3) ?? "", fileBytes: quarantined.int64(4),
                            carriedStreams: Int(quarantined.int64(5)), sequenceFloor: quarantined.int64(6)
                        ))
                    }
                }
                return status
            }
        } catch where error.isDamage {
            throw QueueError.damaged(path: connection.path, detail: error.damageDetail)
        }
    }

    private static func fileFigures(_ connection: SQLiteConnection) throws(QueueError) -> QueueStatus.FileFigures {
        func size(_ path: String) -> Int64 {
            var status = stat()
            return stat(path, &status) == 0 ? Int64(status.st_size) : 0
        }
        return QueueStatus.FileFigures(
            fileBytes: size(connection.path), walBytes: size(connection.path + "-wal"),
            pageSize: try connection.integer("PRAGMA page_size"), pages: try connection.integer("PRAGMA page_count"),
            freePages: try connection.integer("PRAGMA freelist_count")
        )
    }

    private static func streamStatuses(_ connection: SQLiteConnection, nowMs: Int64) throws(QueueError) -> [QueueStatus.StreamStatus] {
        var byName: [String: QueueStatus.StreamStatus] = [:]
        let history = try connection.statement("""
            SELECT stream, topic, last_snapshot_seq, enqueued_rows, delivered_rows, delivered_bytes, last_delivery_at_ms,
                last_error, last_error_at_ms FROM streams
            """)
        while try history.step() {
            let name = history.string(0) ?? ""
            let delivery = history.isNull(6) ? nil : history.int64(6)
            let errorAt = history.isNull(8) ? nil : history.int64(8)
            byName[name] = QueueStatus.StreamStatus(
                stream: name, topic: history.string(1) ?? "", rows: 0, payloadBytes: 0, metrics: 0, retriedRows: 0,
                lastSnapshotSeq: history.int64(2), enqueuedRows: history.int64(3), deliveredRows: history.int64(4),
                deliveredBytes: history.int64(5), lastDeliveryAtMs: delivery, lastDeliveryAgeSeconds: delivery.map { age($0, nowMs) },
                lastError: history.string(7), lastErrorAtMs: errorAt, lastErrorAgeSeconds: errorAt.map { age($0, nowMs) }
            )
        }
        let backlog = try connection.statement("""
            SELECT stream, max(topic), count(*), sum(length(payload)), sum(metric_count), sum(attempts > 0), min(id), max(id),
                min(enqueued_at_ms), max(enqueued_at_ms)
            FROM messages GROUP BY stream
            """)
        while try backlog.step() {
            let name = backlog.string(0) ?? ""
            var entry = byName[name] ?? QueueStatus.StreamStatus(
                stream: name, topic: backlog.string(1) ?? "", rows: 0, payloadBytes: 0, metrics: 0, retriedRows: 0,
                lastSnapshotSeq: 0, enqueuedRows: 0, deliveredRows: 0, deliveredBytes: 0
            )
            entry.rows = Int(backlog.int64(2))
            entry.payloadBytes = backlog.int64(3)
            entry.metrics = Int(backlog.int64(4))
            entry.retriedRows = Int(backlog.int64(5))
            entry.firstID = backlog.int64(6)
            entry.lastID = backlog.int64(7)
            entry.oldestEnqueuedAtMs = backlog.int64(8)
            entry.newestEnqueuedAtMs = backlog.int64(9)
            entry.oldestAgeSeconds = age(backlog.int64(8), nowMs)
            entry.newestAgeSeconds = age(backlog.int64(9), nowMs)
            byName[name] = entry
        }
        return byName.values.sorted { $0.stream < $1.stream }
    }

    /// Seconds from `ms` to `nowMs`, to a tenth.
    static func age(_ ms: Int64, _ nowMs: Int64) -> Double {
        Double((nowMs - ms) / 100) / 10
    }
}
