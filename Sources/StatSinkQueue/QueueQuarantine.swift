import CSQLite
import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A damaged queue file that was moved aside; a row of `quarantined_files`.
public struct QuarantineRecord: Sendable, Hashable, Codable {
    /// Where the file was.
    public var originalPath: String
    /// Where it is now: `PATH.corrupt-<UTC time>` (its `-wal` and `-shm` beside it, so SQLite
    /// and ``MessageQueue/salvage(from:nowMs:)`` read it whole).
    public var movedTo: String
    /// When it was found damaged (epoch ms).
    public var detectedAtMs: Int64
    /// What `PRAGMA quick_check` or SQLite said.
    public var reason: String
    /// Its size when it was moved.
    public var fileBytes: Int64
    /// Streams whose snapshot numbering was read from the old file and carried on.
    public var carriedStreams: Int
    /// Streams not carried on number their snapshots above this (epoch ms of the event), so
    /// `(node_id, snapshot_seq, batch_index)` never names two messages; consumers see a gap.
    public var sequenceFloor: Int64

    enum CodingKeys: String, CodingKey {
        case originalPath = "original_path", movedTo = "moved_to", detectedAtMs = "detected_at_ms", reason
        case fileBytes = "file_bytes", carriedStreams = "carried_streams", sequenceFloor = "sequence_floor"
    }
}

/// What happens to a damaged queue file: it is moved aside, never deleted, and a fresh queue
/// starts in its place, so a bad file never makes the sink crash-loop.
///
/// At open, `PRAGMA quick_check` (a check of every page and b-tree, without the index-content
/// cross-check of `integrity_check`) runs within a time budget; it or any statement of the open
/// failing with `SQLITE_CORRUPT` or `SQLITE_NOTADB` marks the file damaged. Under
/// ``MessageQueueConfiguration/WhenDamaged/quarantine`` the opener, owning the file (the drainer
/// lock, held or taken for the move), renames `PATH-wal`, `PATH-shm`, then `PATH` to
/// `PATH.corrupt-<UTC time>[-wal|-shm]` (the WAL first: a stale WAL must never meet the fresh
/// file), reads what it can of the old `streams` table to carry each stream's snapshot
/// numbering on, opens a fresh queue and records the event in `quarantined_files`. Processes
/// that had the old file open keep writing to it under its new name until they reopen.
enum QueueQuarantine {
    /// Opens with `open`; on damage, quarantines (or refuses) as configured.
    static func open(
        _ configuration: MessageQueueConfiguration, ownsFile: Bool, logger: Logger,
        _ open: () throws(QueueError) -> SQLiteConnection
    ) throws(QueueError) -> SQLiteConnection {
        let detail: String
        do {
            return try open()
        } catch where error.isDamage {
            detail = error.damageDetail
        }
        let path = configuration.path
        guard configuration.whenDamaged == .quarantine else { throw QueueError.damaged(path: path, detail: detail) }
        var claim: DrainerLock?
        if !ownsFile {
            do {
                claim = try DrainerLock(queuePath: path)
            } catch {
                throw QueueError.damaged(path: path, detail: "\(detail); the drainer that owns it moves it aside when it next starts")
            }
        }
        defer { claim?.release() }
        var record = try moveAside(path, reason: detail, nowMs: MessageQueue.currentTimeMs())
        let carried = readStreams(record.movedTo)
        record.carriedStreams = carried?.count ?? 0
        record.sequenceFloor = carried == nil ? record.detectedAtMs : 0
        let connection = try open()
        try connection.transaction { () throws(QueueError) in
            try insert(record, carried: carried ?? [], into: connection)
        }
        logger.warning("the queue file was damaged: moved aside, a fresh queue started", metadata: [
            "queue.path": "\(path)", "queue.moved_to": "\(record.movedTo)", "queue.reason": "\(detail)",
            "queue.carried_streams": "\(record.carriedStreams)",
        ])
        return connection
    }

    /// Runs `PRAGMA quick_check` within `budget`; throws ``QueueError/damaged(path:detail:)`` when
    /// it finds a problem. A check cut short by the budget passes (logged).
    ///
    /// A file that failed with damage while in use (see ``markDamaged(_:)``) is checked in full,
    /// whatever the budget, so damage beyond the budget's reach cannot make the sink crash-loop.
    static func check(path: String, budget: Duration, logger: Logger) throws(QueueError) {
        let marked = access(path + damageMarkerSuffix, F_OK) == 0
        guard budget > .zero || marked else { return }
        let connection = try SQLiteConnection(path: path, flags: SQLITE_OPEN_READONLY)
        try connection.execute("PRAGMA busy_timeout = 5000")
        let rows: [String]
        do {
            let check = { () throws(QueueError) in try connection.strings("PRAGMA quick_check(5)") }
            rows = marked ? try check() : try connection.withTimeLimit(budget, check)
        } catch let error where error.sqliteCode & 0xFF == SQLITE_INTERRUPT {
            logger.notice("quick_check stopped at its time budget; the pages it read were fine", metadata: [
                "queue.path": "\(connection.path)", "queue.budget": "\(budget)",
            ])
            return
        }
        guard rows == ["ok"] else {
            throw QueueError.damaged(path: connection.path, detail: "quick_check: " + rows.prefix(3).joined(separator: "; "))
        }
        if marked { unlink(path + damageMarkerSuffix) }
    }

    /// Beside a queue file, `PATH-damaged` says an operation on it failed with `SQLITE_CORRUPT` or
    /// `SQLITE_NOTADB`: its next open checks it in full.
    static let damageMarkerSuffix = "-damaged"

    /// Leaves the marker (best effort: a read-only directory just loses the hint).
    static func markDamaged(_ path: String) {
        let descriptor = Glibc.open(path + damageMarkerSuffix, O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
        if descriptor >= 0 { Glibc.close(descriptor) }
    }

    /// Renames the file and its `-wal` and `-shm` to `PATH.corrupt-<UTC time>`.
    static func moveAside(_ path: String, reason: String, nowMs: Int64) throws(QueueError) -> QuarantineRecord {
        var target = "\(path).corrupt-\(utcStamp(nowMs))"
        var suffix = 2
        while access(target, F_OK) == 0 {
            target = "\(path).corrupt-\(utcStamp(nowMs))-\(suffix)"
            suffix += 1
        }
        var status = stat()
        let bytes = stat(path, &status) == 0 ? Int64(status.st_size) : 0
        for companion in ["-wal", "-shm", ""] where access(path + companion, F_OK) == 0 {
            guard rename(path + companion, target + companion) == 0 else {
                throw QueueError.fileFailed(path: path + companion, operation: "move the damaged queue aside to \(target + companion)", reason: String(cString: strerror(errno)))
            }
        }
        unlink(path + damageMarkerSuffix)
        return QuarantineRecord(
            originalPath: path, movedTo: target, detectedAtMs: nowMs, reason: reason, fileBytes: bytes,
            carriedStreams: 0, sequenceFloor: 0
        )
    }

    /// The old file's streams and their last snapshot numbers, if its `streams` table reads.
    private static func readStreams(_ path: String) -> [(stream: String, topic: String, lastSequence: Int64)]? {
        do {
            let connection = try SQLiteConnection.forSalvage(path: path)
            let statement = try connection.statement("SELECT stream, topic, last_snapshot_seq FROM streams")
            var streams: [(stream: String, topic: String, lastSequence: Int64)] = []
            while try statement.step() {
                streams.append((statement.string(0) ?? "", statement.string(1) ?? "", statement.int64(2)))
            }
            return streams
        } catch {
            return nil
        }
    }

    private static func insert(
        _ record: QuarantineRecord, carried: [(stream: String, topic: String, lastSequence: Int64)], into connection: SQLiteConnection
    ) throws(QueueError) {
        for stream in carried {
            try raiseSequence(connection, stream: stream.stream, topic: stream.topic, to: stream.lastSequence)
        }
        let insert = try connection.statement("""
            INSERT INTO quarantined_files (original_path, moved_to, detected_at_ms, reason, file_bytes, carried_streams, sequence_floor)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            """)
        insert.bind(1, record.originalPath)
        insert.bind(2, record.movedTo)
        insert.bind(3, record.detectedAtMs)
        insert.bind(4, record.reason)
        insert.bind(5, record.fileBytes)
        insert.bind(6, Int64(record.carriedStreams))
        insert.bind(7, record.sequenceFloor)
        try insert.step()
    }

    /// Makes sure `stream` exists and numbers its next snapshot above `sequence`.
    static func raiseSequence(_ connection: SQLiteConnection, stream: String, topic: String, to sequence: Int64) throws(QueueError) {
        let upsert = try connection.statement("""
            INSERT INTO streams (stream, topic, last_snapshot_seq) VALUES (?, ?, ?)
            ON CONFLICT (stream) DO UPDATE SET last_snapshot_seq = max(last_snapshot_seq, excluded.last_snapshot_seq)
            """)
        upsert.bind(1, stream)
        upsert.bind(2, topic)
        upsert.bind(3, sequence)
        try upsert.step()
    }

    /// `20261126T040512Z`
    static func utcStamp(_ ms: Int64) -> String {
        var seconds = time_t(ms / 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(parts.tm_year + 1900)\(two(parts.tm_mon + 1))\(two(parts.tm_mday))T\(two(parts.tm_hour))\(two(parts.tm_min))\(two(parts.tm_sec))Z"
    }
}

extension SQLiteConnection {
    /// A read-only connection to a damaged file that reads what it can: `writable_schema` lets
    /// SQLite take a truncated file's real size instead of refusing the whole file (nothing is
    /// written; the connection is read-only).
    static func forSalvage(path: String) throws(QueueError) -> SQLiteConnection {
        let connection = try SQLiteConnection(path: path, flags: SQLITE_OPEN_READONLY)
        try connection.execute("PRAGMA writable_schema = ON")
        return connection
    }
}

extension QueueError {
    /// The SQLite result code, or 0 for errors that are not SQLite's.
    var sqliteCode: Int32 {
        if case let .sqlite(_, code, _) = self { return code }
        return 0
    }

    /// What made the file count as damaged, for the record and the log.
    var damageDetail: String {
        switch self {
        case let .damaged(_, detail): detail
        case let .sqlite(operation, code, message): "SQLite error \(code) (\(message)) during: \(operation)"
        default: description
        }
    }
}
