import CSQLite
import Logging
import StatSinkCodec
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The SQLite write-ahead queue: one file holding the messages of every stream until a broker
/// acknowledges them.
///
/// A writer adds a snapshot's messages in one transaction (``enqueueSnapshot(stream:nodeID:snapshotTimeMs:format:counterValues:nowMs:makeMessages:)``
/// returns once they are committed); a drainer reads them in id order
/// (``pendingRecords(stream:afterID:limit:maxBytes:)``), and deletes each only on an
/// acknowledgement (``acknowledge(_:stream:nowMs:)``), records retriable failures, or moves a
/// permanently refused message to `dead_letters`. Writers and drainers may be separate processes
/// on one file; only one drainer may own it. The file is in WAL mode, so readers (the `sqlite3`
/// shell included) never block them. All methods are synchronous and thread-safe; they block for
/// the duration of their SQLite work.
public final class MessageQueue: Sendable {
    /// Who opens the queue.
    public enum Role: Sendable, Hashable {
        /// Adds snapshots; any number of writers may share the file.
        case writer
        /// Delivers and deletes rows; exclusive: a second drainer gets
        /// ``QueueError/drainerAlreadyRunning(path:)``.
        case drainer
    }

    /// The configuration the queue was opened with.
    public let configuration: MessageQueueConfiguration
    /// Serializes all use of ``connection``.
    private let lock = Mutex(())
    /// Guarded by ``lock``: every access goes through ``withConnection(_:)``.
    nonisolated(unsafe) private let connection: SQLiteConnection
    /// Serializes all use of ``readConnectionStorage``.
    private let readLock = Mutex(())
    /// The drainer's read-only connection, once opened. Guarded by ``readLock``.
    nonisolated(unsafe) private var readConnectionStorage: SQLiteConnection?
    private let drainerLock: DrainerLock?
    /// Space held back for recovery from a full disk.
    private let reserve: DiskReserve
    /// Drops that could not be written (the disk was full even for that), written with the next
    /// snapshot that fits: counts are never lost.
    private let unrecordedDrops = Mutex<[UnrecordedDrop]>([])
    /// Set when the disk filled: the file's size then, which it may not outgrow until the disk
    /// reserve can be taken again (the disk acts as the byte cap meanwhile).
    private let diskLimitBytes = Mutex<Int64?>(nil)
    /// When a writer last looked for the disk's room to come back (epoch ms).
    private let diskLimitCheckedAtMs = Atomic<Int64>(0)

    /// Opens (creating and migrating if needed) the queue at `configuration.path`.
    ///
    /// The file is checked first (`PRAGMA quick_check`, within
    /// ``MessageQueueConfiguration/integrityCheckBudget``). A damaged file, or one that is not a
    /// database, is handled by ``MessageQueueConfiguration/whenDamaged``: by default moved aside
    /// (never deleted) for a fresh queue, with a warning on `logger` and a row in
    /// `quarantined_files` (see ``QueueQuarantine``).
    ///
    /// - Throws: ``QueueError/newerSchema(path:fileVersion:supportedVersion:)`` for a file of a
    ///   newer version (left untouched), ``QueueError/drainerAlreadyRunning(path:)`` for a second
    ///   drainer, ``QueueError/damaged(path:detail:)`` for a damaged file left in place,
    ///   ``QueueError/sqlite(operation:code:message:)`` for anything else SQLite refuses.
    public init(configuration: MessageQueueConfiguration, role: Role, logger: Logger = Logger(label: "statsink.queue")) throws(QueueError) {
        self.configuration = configuration
        drainerLock = role == .drainer ? try DrainerLock(queuePath: configuration.path) : nil
        connection = try QueueQuarantine.open(configuration, ownsFile: role == .drainer, logger: logger) { () throws(QueueError) in
            try Self.openFile(configuration, logger: logger)
        }
        reserve = DiskReserve(queuePath: configuration.path, bytes: configuration.diskReserveBytes)
        reserve.replenish()
    }

    /// Creates the file if missing, opens it, checks it and migrates it.
    private static func openFile(_ configuration: MessageQueueConfiguration, logger: Logger) throws(QueueError) -> SQLiteConnection {
        try createFileIfMissing(configuration.path)
        // The check runs on a read-only connection of its own: closing a read-write one on a
        // damaged file would checkpoint its WAL into it and delete the WAL before it is moved.
        try QueueQuarantine.check(path: configuration.path, budget: configuration.integrityCheckBudget, logger: logger)
        let connection = try SQLiteConnection(path: configuration.path, flags: SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)
        try prepare(connection, configuration)
        return connection
    }

    /// Closes the file and releases the drainer lock. Later calls fail.
    public func close() {
        // The read-only connection first: the last connection to close checkpoints the WAL into
        // the file and removes it, which only a read-write one can do.
        readLock.withLock { _ in
            readConnectionStorage?.close()
            readConnectionStorage = nil
        }
        lock.withLock { _ in connection.close() }
        drainerLock?.release()
    }

    // MARK: Writing

    /// Adds one snapshot's messages to `stream` in a single transaction.
    ///
    /// Takes the stream's next snapshot sequence number, asks `makeMessages` for the messages
    /// carrying it, makes room under the byte cap by the ``MessageQueueConfiguration/WhenFull``
    /// policy (every dropped row counted in `drops`), stores the messages and `counterValues`
    /// (the cumulative counter values the snapshot's deltas were computed from), and commits.
    /// Returns only once committed. `SQLITE_FULL` (the cap, or a full disk) is handled like the
    /// cap, never thrown.
    public func enqueueSnapshot(
        stream: QueueStream,
        nodeID: String,
        snapshotTimeMs: Int64,
        format: SerializationFormat,
        counterValues: [(name: String, value: UInt64)] = [],
        nowMs: Int64 = currentTimeMs(),
        makeMessages: (UInt64) -> [KafkaMessage]
    ) throws(QueueError) -> EnqueueOutcome {
        liftDiskLimitIfRoomReturned(nowMs: nowMs)
        return try withConnection { (connection) throws(QueueError) -> EnqueueOutcome in
            var messages: [KafkaMessage]? = nil
            // A write that does not fit gets a second try with more old rows gone; on a full
            // disk a third, after giving up the disk reserve and restarting the WAL.
            for attempt in 0..<3 {
                do throws(QueueError) {
                    return try connection.transaction { () throws(QueueError) -> EnqueueOutcome in
                        try recordUnrecordedDrops(connection)
                        let sequence = try Self.nextSequence(connection, stream)
                        let batch = messages ?? makeMessages(sequence)
                        messages = batch
                        var outcome = EnqueueOutcome(sequence: sequence, recordIDs: [], drops: [:])
                        let needed = batch.reduce(Int64(0)) { $0 + Self.storedSize($1) }
                        guard try makeRoom(connection, for: needed, stream: stream, batch: batch, nowMs: nowMs, outcome: &outcome, squeeze: attempt > 0) else {
                            // Dropped: its counter values still count as reported, so the next
                            // deltas do not carry the dropped increase twice after a restart.
                            try Self.saveCounters(connection, counterValues, stream: stream)
                            return outcome
                        }
                        outcome.recordIDs = try Self.insert(connection, batch, stream: stream, nodeID: nodeID, snapshotTimeMs: snapshotTimeMs, format: format, sequence: sequence, nowMs: nowMs)
                        try Self.saveCounters(connection, counterValues, stream: stream)
                        return outcome
                    }
                } catch where error.isFull && attempt < 2 {
                    if reserve.diskIsFull { recoverSpace(connection) }
                    continue
                } catch where error.isFull {
                    // Even with room made the write does not fit: the disk is full. Count the
                    // snapshot as dropped; if even that cannot be written now, it is written
                    // with the next snapshot that fits.
                    let batch = messages ?? []
                    var outcome = EnqueueOutcome(sequence: 0, recordIDs: [], drops: [:])
                    let drop = UnrecordedDrop(stream: stream, reason: .diskFull, rows: batch.count, bytes: batch.payloadBytes, metrics: batch.metricCount, atMs: nowMs)
                    do throws(QueueError) {
                        try connection.transaction { () throws(QueueError) in
                            outcome.sequence = try Self.nextSequence(connection, stream)
                            try Self.countDrop(connection, stream: stream, reason: .diskFull, rows: batch.count, bytes: batch.payloadBytes, metrics: batch.metricCount, nowMs: nowMs)
                        }
                    } catch {
                        unrecordedDrops.withLock { $0.append(drop) }
                    }
                    outcome.drops[.diskFull] = batch.count
                    return outcome
                }
            }
            preconditionFailure("unreachable: the last attempt returns or throws")
        }
    }

    /// The cumulative counter values last stored for `stream`, by counter name.
    public func counterValues(stream: QueueStream) throws(QueueError) -> [String: UInt64] {
        try withConnection { (connection) throws(QueueError) -> [String: UInt64] in
            let statement = try connection.statement("SELECT name, value FROM counter_state WHERE stream = ?")
            statement.bind(1, stream.name)
            var values: [String: UInt64] = [:]
            while try statement.step() {
                values[statement.string(0) ?? ""] = UInt64(bitPattern: statement.int64(1))
            }
            return values
        }
    }

    // MARK: Draining

    /// The oldest rows of `stream` after record id `afterID` (keyset pagination: pass the last id
    /// of the previous page), at most `limit` rows and about `maxBytes` payload bytes (at least
    /// one row, however large), copied into memory.
    public func pendingRecords(stream: QueueStream, afterID: Int64, limit: Int, maxBytes: Int) throws(QueueError) -> [PendingRecord] {
        var records: [PendingRecord] = []
        do {
            try forEachPendingRecord(stream: stream, afterID: afterID, limit: limit, maxBytes: maxBytes) { row in
                records.append(PendingRecord(
                    id: row.id, topic: row.topic, key: Array(row.key), value: try row.value(),
                    headers: row.headers.map { KafkaHeader(name: $0.name, value: $0.value) }, attempts: row.attempts
                ))
                return true
            }
        } catch let error as QueueError {
            throw error
        } catch {
            preconditionFailure("the body does not throw")
        }
        return records
    }

    /// Calls `body` with each of the oldest rows of `stream` after record id `afterID`, in id
    /// order, at most `limit` rows and about `maxBytes` payload bytes (at least one row, however
    /// large), until `body` returns `false`; returns how many rows `body` accepted.
    ///
    /// The row's key points into SQLite's memory and is valid only during the call; its value
    /// is read on demand, straight into the body's buffer (the drainer hands that buffer to the
    /// producer, which takes it over), instead of copying a whole page of payloads first. Reads use a connection of their own, so `body` may call the
    /// queue's other methods (e.g. ``deadLetter(_:errorName:error:stream:nowMs:)``), and
    /// acknowledgements from other threads never wait for a page to be read. Rethrows what
    /// `body` throws; throws ``QueueError`` for what SQLite refuses.
    @discardableResult
    public func forEachPendingRecord(
        stream: QueueStream, afterID: Int64, limit: Int, maxBytes: Int,
        _ body: (borrowing PendingRecordView) throws -> Bool
    ) throws -> Int {
        do {
            return try readPendingRecords(stream: stream, afterID: afterID, limit: limit, maxBytes: maxBytes, body)
        } catch let error as QueueError where error.isDamage {
            QueueQuarantine.markDamaged(configuration.path)
            throw error
        }
    }

    private func readPendingRecords(
        stream: QueueStream, afterID: Int64, limit: Int, maxBytes: Int,
        _ body: (borrowing PendingRecordView) throws -> Bool
    ) throws -> Int {
        try readLock.withLock { (_) throws -> Int in
            let connection = try readConnection()
            // `length(payload)` comes from the record header; the payload itself is read only
            // when the body asks, straight into the body's buffer.
            let statement = try connection.statement("""
                SELECT id, topic, message_key, length(payload), headers, attempts FROM messages
                WHERE stream = ? AND id > ? ORDER BY id LIMIT ?
                """)
            let valueReader = SQLiteBlobReader(connection: connection, table: "messages", column: "payload")
            defer {
                valueReader.close()  // before the statement's read transaction ends
                statement.reset()
            }
            statement.bind(1, stream.name)
            statement.bind(2, afterID)
            statement.bind(3, Int64(limit))
            var accepted = 0
            var bytes = 0
            while bytes < maxBytes, try statement.step() {
                let id = statement.int64(0)
                let headersText = statement.string(4) ?? "[]"
                guard let headers = HeadersColumn.decode(headersText) else {
                    throw QueueError.sqlite(operation: "read headers of row \(id)", code: SQLITE_CORRUPT, message: "malformed headers column: \(headersText.prefix(80))")
                }
                let row = PendingRecordView(
                    id: id,
                    topic: statement.string(1) ?? stream.topic,
                    key: statement.borrowedBytes(2),
                    valueCount: Int(statement.int64(3)),
                    headers: headers,
                    attempts: Int(statement.int64(5)),
                    valueReader: valueReader
                )
                bytes += row.valueCount
                guard try body(row) else { break }
                accepted += 1
            }
            return accepted
        }
    }

    /// The drainer's read connection, opened on first use. Guarded by ``readLock``.
    private func readConnection() throws(QueueError) -> SQLiteConnection {
        if let connection = readConnectionStorage { return connection }
        let connection = try SQLiteConnection(path: configuration.path, flags: SQLITE_OPEN_READONLY)
        try connection.execute("PRAGMA busy_timeout = \(configuration.busyTimeoutMs)")
        // Payloads are read past the page cache (overflow pages go straight into the result
        // buffer), so a small cache for the b-tree pages is enough.
        try connection.execute("PRAGMA cache_size = -256")
        readConnectionStorage = connection
        return connection
    }

    /// Deletes rows the broker acknowledged, in one transaction, and counts them as delivered.
    public func acknowledge(_ ids: [Int64], stream: QueueStream, nowMs: Int64 = currentTimeMs()) throws(QueueError) {
        guard !ids.isEmpty else { return }
        try withConnection { (connection) throws(QueueError) in
            try writeRecoveringFromFullDisk(connection) { () throws(QueueError) in
                // Runs of consecutive ids go in one range each (acknowledgements come in id order,
                // so a batch is a few runs): two statements per run, not two per row. Every id of
                // a run was acknowledged, so the range deletes nothing else; ids gone already
                // (e.g. dropped at the cap) are simply not counted. `length(payload)` comes from
                // the record header alone, whereas reading `payload_bytes` (stored after the
                // payload) would read the whole payload back from its overflow pages.
                let size = try connection.statement("SELECT count(*), coalesce(sum(length(payload)), 0) FROM messages WHERE id BETWEEN ? AND ?")
                let delete = try connection.statement("DELETE FROM messages WHERE id BETWEEN ? AND ?")
                var rows: Int64 = 0
                var bytes: Int64 = 0
                for run in Self.consecutiveRuns(ids) {
                    size.reset()
                    size.bind(1, run.lowerBound)
                    size.bind(2, run.upperBound)
                    guard try size.step() else { continue }
                    rows += size.int64(0)
                    bytes += size.int64(1)
                    size.reset()
                    delete.reset()
                    delete.bind(1, run.lowerBound)
                    delete.bind(2, run.upperBound)
                    try delete.step()
                }
                let update = try connection.statement("""
                    UPDATE streams SET delivered_rows = delivered_rows + ?1, delivered_bytes = delivered_bytes + ?2,
                    queued_rows = queued_rows - ?1, queued_bytes = queued_bytes - ?2, last_delivery_at_ms = ?3 WHERE stream = ?4
                    """)
                update.bind(1, rows)
                update.bind(2, bytes)
                update.bind(3, nowMs)
                update.bind(4, stream.name)
                try update.step()
            }
        }
    }

    /// `ids` sorted, without repeats, as ranges of consecutive integers: [1, 2, 3, 7, 8] is
    /// 1...3 and 7...8.
    static func consecutiveRuns(_ ids: [Int64]) -> [ClosedRange<Int64>] {
        var runs: [ClosedRange<Int64>] = []
        for id in Set(ids).sorted() {
            if let last = runs.last, last.upperBound &+ 1 == id {
                runs[runs.count - 1] = last.lowerBound...id
            } else {
                runs.append(id...id)
            }
        }
        return runs
    }

    /// Records a failed delivery attempt of rows that stay queued for a retry.
    ///
    /// At the byte cap a longer error text may not fit: the attempts are then counted without
    /// the text, and if even that does not fit they go unrecorded (the rows themselves stay).
    public func recordFailedAttempt(_ ids: [Int64], error: String, stream: QueueStream, nowMs: Int64 = currentTimeMs()) throws(QueueError) {
        guard !ids.isEmpty else { return }
        do throws(QueueError) {
            try recordFailedAttempt(ids, error: error, noting: true, stream: stream, nowMs: nowMs)
        } catch where error.isFull {
            do throws(QueueError) {
                try recordFailedAttempt(ids, error: nil, noting: false, stream: stream, nowMs: nowMs)
            } catch where error.isFull {
                return
            }
        }
    }

    private func recordFailedAttempt(_ ids: [Int64], error: String?, noting: Bool, stream: QueueStream, nowMs: Int64) throws(QueueError) {
        try withConnection { (connection) throws(QueueError) in
            try writeRecoveringFromFullDisk(connection) { () throws(QueueError) in
                let update = try connection.statement("""
                    UPDATE messages SET attempts = attempts + 1, last_attempt_at_ms = ?, last_error = ? WHERE id = ?
                    """)
                for id in ids {
                    update.reset()
                    update.bind(1, nowMs)
                    update.bind(2, error)
                    update.bind(3, id)
                    try update.step()
                }
                if noting, let error { try Self.noteStreamError(connection, stream: stream, error: error, nowMs: nowMs) }
            }
        }
    }

    /// Moves a row the broker refused for good to `dead_letters`, with the error.
    ///
    /// The row's own pages are freed before the dead letter is written, so the move needs almost
    /// no extra room at the byte cap. If it still does not fit, `drop_oldest` drops the oldest
    /// rows (counted) and tries once more; otherwise (or if it still does not fit) the row leaves
    /// the queue counted in `drops` as ``DropReason/deadLetterNoRoom``, never silently.
    public func deadLetter(_ id: Int64, errorName: String, error: String, stream: QueueStream, nowMs: Int64 = currentTimeMs()) throws(QueueError) {
        try withConnection { (connection) throws(QueueError) in
            for attempt in 0..<2 {
                do throws(QueueError) {
                    try connection.transaction { () throws(QueueError) in
                        if attempt > 0 {
                            let size = try connection.integer("SELECT coalesce(sum(payload_bytes), 0) FROM messages WHERE id = \(id)")
                            _ = try Self.dropOldestRows(connection, bytes: size + Self.rowOverhead, reason: .capDropOldest, nowMs: nowMs)
                        }
                        try Self.moveToDeadLetters(connection, id: id, errorName: errorName, error: error, nowMs: nowMs)
                        try Self.noteStreamError(connection, stream: stream, error: "\(errorName): \(error)", nowMs: nowMs)
                    }
                    return
                } catch where error.isFull && attempt == 0 && reserve.diskIsFull {
                    recoverSpace(connection)
                    continue
                } catch where error.isFull && attempt == 0 && configuration.whenFull == .dropOldest {
                    continue
                } catch where error.isFull {
                    try connection.transaction { () throws(QueueError) in
                        let row = try connection.statement("SELECT payload_bytes, metric_count FROM messages WHERE id = ?")
                        row.bind(1, id)
                        guard try row.step() else { return }
                        let (bytes, metrics) = (row.int64(0), Int(row.int64(1)))
                        row.reset()
                        let delete = try connection.statement("DELETE FROM messages WHERE id = ?")
                        delete.bind(1, id)
                        try delete.step()
                        try Self.addToQueuedTotals(connection, stream: stream.name, rows: -1, bytes: -bytes)
                        try Self.countDrop(connection, stream: stream, reason: .deadLetterNoRoom, rows: 1, bytes: bytes, metrics: metrics, nowMs: nowMs)
                    }
                    return
                }
            }
        }
    }

    /// Copies row `id` aside, deletes it (freeing its pages), then writes it to `dead_letters`.
    private static func moveToDeadLetters(_ connection: SQLiteConnection, id: Int64, errorName: String, error: String, nowMs: Int64) throws(QueueError) {
        let read = try connection.statement("""
            SELECT id, stream, topic, enqueued_at_ms, node_id, snapshot_seq, snapshot_time_ms, batch_index, batch_count,
                format, metric_count, message_key, headers, payload, payload_bytes, attempts + 1
            FROM messages WHERE id = ?
            """)
        read.bind(1, id)
        guard try read.step() else { return }  // gone already, e.g. dropped at the cap
        let values = read.copiedValues(count: 16)
        let (stream, bytes) = (read.string(1) ?? "", read.int64(14))
        read.reset()
        let delete = try connection.statement("DELETE FROM messages WHERE id = ?")
        delete.bind(1, id)
        try delete.step()
        try addToQueuedTotals(connection, stream: stream, rows: -1, bytes: -bytes)
        let insert = try connection.statement("""
            INSERT INTO dead_letters (id, stream, topic, enqueued_at_ms, node_id, snapshot_seq, snapshot_time_ms,
                batch_index, batch_count, format, metric_count, message_key, headers, payload, payload_bytes,
                attempts, dead_lettered_at_ms, error_name, error)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        insert.bind(values, from: 1)
        insert.bind(17, nowMs)
        insert.bind(18, errorName)
        insert.bind(19, error)
        try insert.step()
    }

    // MARK: Space

    /// Checkpoints the WAL into the database and truncates it (to `journal_size_limit`), so the
    /// WAL does not grow while a drainer keeps reading. Readers in progress may make it partial;
    /// that is fine, the next one continues.
    ///
    /// Never waits: a TRUNCATE checkpoint would wait (the busy timeout) for every reader, such as
    /// an operator's `sqlite3` session, so it runs with no busy timeout and simply does less when
    /// a reader is there.
    public func checkpoint() throws(QueueError) {
        try withConnection { (connection) throws(QueueError) in
            try connection.execute("PRAGMA busy_timeout = 0")
            defer { try? connection.execute("PRAGMA busy_timeout = \(configuration.busyTimeoutMs)") }
            try connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        }
    }

    /// Returns free pages to the file system when more than `keepFreeBytes` are free (incremental
    /// auto-vacuum): after a backlog drains, the file shrinks back.
    ///
    /// Works in steps of at most ``reclaimStepPages``, each its own transaction, letting writers
    /// in between, then checkpoints so that the file really shrinks: freeing a page costs 0.1-0.2 ms, and in one step the 65,000 pages of a drained
    /// 1 GiB backlog held a live snapshot's write back for 16 s.
    public func reclaimSpace(keepFreeBytes: Int64 = 8 << 20) throws(QueueError) {
        var freeBefore = Int64.max
        while true {
            let freeNow = try withConnection { (connection) throws(QueueError) -> Int64 in
                let pageSize = try connection.integer("PRAGMA page_size")
                let free = try connection.integer("PRAGMA freelist_count")
                let surplus = free - keepFreeBytes / max(pageSize, 1)
                // Stop when done, or when the last step freed nothing (nothing to gain by looping).
                guard surplus > 0, free < freeBefore else { return 0 }
                try connection.execute("PRAGMA incremental_vacuum(\(min(surplus, Self.reclaimStepPages)))")
                return free
            }
            guard freeNow > 0 else { break }
            freeBefore = freeNow
            usleep(1000)  // a waiting writer takes the lock now, not after the next step
        }
        // In WAL mode the file shrinks when the vacuum's pages reach it: at a checkpoint.
        if freeBefore != .max { try checkpoint() }
        if reserve.replenish() { diskLimitBytes.withLock { $0 = nil } }
    }

    /// The most pages ``reclaimSpace(keepFreeBytes:)`` frees in one transaction (8 MiB of 16 KiB
    /// pages, about 0.1 s).
    static let reclaimStepPages: Int64 = 512

    // MARK: Reading

    /// Counts of the whole file.
    public func statistics() throws(QueueError) -> QueueStatistics {
        try withConnection { (connection) throws(QueueError) -> QueueStatistics in
            // Running totals (``addToQueuedTotals``): nothing here scans the backlog.
            let summary = try connection.statement("""
                SELECT coalesce(sum(queued_rows), 0), coalesce(sum(queued_bytes), 0),
                       min((SELECT enqueued_at_ms FROM messages m WHERE m.stream = streams.stream ORDER BY id LIMIT 1)),
                       coalesce(sum(dead_letter_rows), 0), coalesce(sum(delivered_rows), 0)
                FROM streams
                """)
            try summary.step()
            var statistics = QueueStatistics(
                rows: Int(summary.int64(0)),
                payloadBytes: summary.int64(1),
                oldestEnqueuedAtMs: summary.isNull(2) ? nil : summary.int64(2),
                deadLetters: Int(summary.int64(3)),
                drops: [:],
                deliveredRows: Int(summary.int64(4)),
                usedPages: 0, freePages: 0, pageSize: 0
            )
            let drops = try connection.statement("SELECT reason, sum(rows) FROM drops GROUP BY reason")
            while try drops.step() {
                if let reason = drops.string(0).flatMap(DropReason.init(rawValue:)) {
                    statistics.drops[reason] = Int(drops.int64(1))
                }
            }
            statistics.pageSize = try connection.integer("PRAGMA page_size")
            statistics.freePages = try connection.integer("PRAGMA freelist_count")
            statistics.usedPages = try connection.integer("PRAGMA page_count") - statistics.freePages
            return statistics
        }
    }

    /// Runs `body` in a write transaction; when it fails because the disk (not the byte cap) is
    /// full, makes room with ``recoverSpace(_:)`` and runs it once more.
    private func writeRecoveringFromFullDisk(_ connection: SQLiteConnection, _ body: () throws(QueueError) -> Void) throws(QueueError) {
        do {
            try connection.transaction(body)
        } catch where error.isFull && reserve.diskIsFull {
            recoverSpace(connection)
            try connection.transaction(body)
        }
    }

    /// On a full disk: gives up the disk reserve and checkpoints in RESTART mode, so the next
    /// writes reuse the WAL file from its beginning instead of growing it (TRUNCATE would hand
    /// its space to the file system, to be fought over again).
    private func recoverSpace(_ connection: SQLiteConnection) {
        reserve.release()
        _ = sqlite3_wal_checkpoint_v2(connection.handle, nil, SQLITE_CHECKPOINT_RESTART, nil, nil)
        // From now on the file may only reuse its own pages, until the reserve can be taken again.
        if let pages = try? connection.integer("PRAGMA page_count"), let pageSize = try? connection.integer("PRAGMA page_size") {
            diskLimitBytes.withLock { $0 = pages * pageSize }
        }
    }

    /// A writer without a drainer never reclaims space: it looks for the disk's room itself, at
    /// most every 5 s while the limit holds.
    private func liftDiskLimitIfRoomReturned(nowMs: Int64) {
        guard diskLimitBytes.withLock({ $0 != nil }), nowMs - diskLimitCheckedAtMs.load(ordering: .relaxed) >= 5000 else { return }
        diskLimitCheckedAtMs.store(nowMs, ordering: .relaxed)
        if reserve.replenish() { diskLimitBytes.withLock { $0 = nil } }
    }

    /// Writes the drops that could not be written when they happened, in the caller's transaction.
    private func recordUnrecordedDrops(_ connection: SQLiteConnection) throws(QueueError) {
        let drops = unrecordedDrops.withLock { drops in
            defer { drops.removeAll() }
            return drops
        }
        do throws(QueueError) {
            for drop in drops {
                try Self.countDrop(connection, stream: drop.stream, reason: drop.reason, rows: drop.rows, bytes: drop.bytes, metrics: drop.metrics, nowMs: drop.atMs)
            }
        } catch {
            // The transaction rolls back: keep them for the next one.
            unrecordedDrops.withLock { $0.insert(contentsOf: drops, at: 0) }
            throw error
        }
    }

    func withConnection<T: Sendable>(_ body: (SQLiteConnection) throws(QueueError) -> T) throws(QueueError) -> T {
        do {
            return try lock.withLock { (_) throws(QueueError) -> T in
                defer { connection.resetStatements() }
                return try body(connection)
            }
        } catch where error.isDamage {
            QueueQuarantine.markDamaged(configuration.path)
            throw error
        }
    }

    /// The current time in epoch milliseconds.
    public static func currentTimeMs() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000
    }
}

// MARK: - Internals

/// A drop not yet written to `drops`.
private struct UnrecordedDrop: Sendable {
    var stream: QueueStream
    var reason: DropReason
    var rows: Int
    var bytes: Int64
    var metrics: Int
    var atMs: Int64
}

extension MessageQueue {
    /// Bytes a row takes beyond its key, value and headers (columns, record header, b-tree cell
    /// and index entry), for the room estimate; the hard limit is `max_page_count`.
    private static let rowOverhead: Int64 = 160
    /// Pages the schema itself needs; never counted as room.
    private static let schemaPages: Int64 = 16

    static func storedSize(_ message: KafkaMessage) -> Int64 {
        let headers = message.headers.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count + 8 }
        return Int64(message.value.count + message.key.count + headers) + rowOverhead
    }

    private static func createFileIfMissing(_ path: String) throws(QueueError) {
        // Only a missing file is created here: opening and closing a file SQLite already has open
        // would drop its POSIX locks.
        let descriptor = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        if descriptor >= 0 {
            Glibc.close(descriptor)
        } else if errno != EEXIST {
            throw QueueError.cannotOpen(path: path, reason: String(cString: strerror(errno)))
        }
    }

    /// Pragmas and migrations; refuses a newer schema before changing anything.
    private static func prepare(_ connection: SQLiteConnection, _ configuration: MessageQueueConfiguration) throws(QueueError) {
        try connection.execute("PRAGMA busy_timeout = \(configuration.busyTimeoutMs)")
        let fileVersion = try connection.integer("PRAGMA user_version")
        guard fileVersion <= Migration.latestVersion else {
            throw QueueError.newerSchema(path: connection.path, fileVersion: Int(fileVersion), supportedVersion: Migration.latestVersion)
        }
        if fileVersion == 0 {
            // Must precede the first table: page size and auto-vacuum mode are fixed once the
            // file has tables (SQLite ignores both on a file that already has them).
            guard (512...65536).contains(configuration.pageSize), configuration.pageSize.nonzeroBitCount == 1 else {
                throw QueueError.cannotOpen(path: connection.path, reason: "page size \(configuration.pageSize) is not a power of two from 512 to 65536")
            }
            try connection.execute("PRAGMA page_size = \(configuration.pageSize)")
            try connection.execute("PRAGMA auto_vacuum = INCREMENTAL")
        }
        try connection.execute("PRAGMA journal_mode = WAL")
        // Debian builds SQLite with secure_delete on, which rewrites every freed overflow page
        // with zeros: a drained row's payload would be written to disk twice more (WAL, then
        // checkpoint). FAST still clears deleted content inside b-tree pages, at no extra I/O.
        try connection.execute("PRAGMA secure_delete = FAST")
        try connection.execute("PRAGMA synchronous = \(configuration.durability == .full ? "FULL" : "NORMAL")")
        try connection.execute("PRAGMA journal_size_limit = \(configuration.journalSizeLimit)")
        let pageSize = try connection.integer("PRAGMA page_size")
        try connection.execute("PRAGMA max_page_count = \(max(Int64(configuration.maxBytes) / pageSize, 64))")
        if configuration.diskReserveBytes > 0 {
            // What the WAL holds beyond the database must fit in half the disk reserve: on a
            // full disk, the checkpoint that restarts the WAL has to grow the database by it.
            let pages = min(1000, max(16, configuration.diskReserveBytes / 2 / pageSize))
            try connection.execute("PRAGMA wal_autocheckpoint = \(pages)")
        }
        try migrate(connection)
    }

    private static func migrate(_ connection: SQLiteConnection) throws(QueueError) {
        try connection.transaction { () throws(QueueError) in
            // Checked again under the write lock: another process may have migrated meanwhile.
            let fileVersion = Int(try connection.integer("PRAGMA user_version"))
            guard fileVersion <= Migration.latestVersion else {
                throw QueueError.newerSchema(path: connection.path, fileVersion: fileVersion, supportedVersion: Migration.latestVersion)
            }
            try connection.execute("""
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at_ms INTEGER NOT NULL)
                """)
            for migration in Migration.embedded where migration.version > fileVersion {
                try connection.execute(migration.sql)
                let record = try connection.statement("INSERT INTO schema_migrations (version, name, applied_at_ms) VALUES (?, ?, ?)")
                record.bind(1, Int64(migration.version))
                record.bind(2, migration.name)
                record.bind(3, currentTimeMs())
                try record.step()
                try connection.execute("PRAGMA user_version = \(migration.version)")
            }
            try recomputeQueuedTotals(connection)
        }
    }

    private static func nextSequence(_ connection: SQLiteConnection, _ stream: QueueStream) throws(QueueError) -> UInt64 {
        // A stream new to this file numbers its snapshots above the floor a quarantine left
        // (when the damaged file's numbering could not be read), so no number is used twice.
        let create = try connection.statement("""
            INSERT OR IGNORE INTO streams (stream, topic, last_snapshot_seq)
            SELECT ?, ?, coalesce(max(sequence_floor), 0) FROM quarantined_files
            """)
        create.bind(1, stream.name)
        create.bind(2, stream.topic)
        try create.step()
        let next = try connection.statement("UPDATE streams SET last_snapshot_seq = last_snapshot_seq + 1 WHERE stream = ? RETURNING last_snapshot_seq")
        next.bind(1, stream.name)
        try next.step()
        let sequence = UInt64(next.int64(0))
        _ = try next.step()
        return sequence
    }

    /// Makes room for `needed` bytes under the cap; `false` when the snapshot is dropped instead.
    /// With `squeeze`, an earlier try hit SQLITE_FULL below the estimate: drop more.
    private func makeRoom(
        _ connection: SQLiteConnection, for needed: Int64, stream: QueueStream, batch: [KafkaMessage],
        nowMs: Int64, outcome: inout EnqueueOutcome, squeeze: Bool
    ) throws(QueueError) -> Bool {
        let pageSize = try connection.integer("PRAGMA page_size")
        let cap = try connection.integer("PRAGMA max_page_count") * pageSize
        // After a full disk the file may not grow until space returns: the disk is the cap.
        let diskLimit = diskLimitBytes.withLock { $0 }
        let limitedByDisk = diskLimit.map { $0 < cap } ?? false
        let capacity = limitedByDisk ? diskLimit! : cap
        let room = capacity - Self.schemaPages * pageSize
        // Page fill is never perfect: plan for pages two-thirds full at worst.
        let neededInPages = needed * 3 / 2
        if neededInPages > room {
            let reason: DropReason = limitedByDisk ? .diskFull : .snapshotTooLarge
            try Self.countDrop(connection, stream: stream, reason: reason, rows: batch.count, bytes: batch.payloadBytes, metrics: batch.metricCount, nowMs: nowMs)
            outcome.drops[reason] = batch.count
            return false
        }
        func used() throws(QueueError) -> Int64 {
            (try connection.integer("PRAGMA page_count") - connection.integer("PRAGMA freelist_count")) * pageSize
        }
        var overflow = try used() + neededInPages - capacity + (squeeze ? capacity / 20 : 0)
        guard overflow > 0 else { return true }
        if configuration.whenFull == .dropNewest {
            let reason: DropReason = limitedByDisk ? .diskFull : .capDropNewest
            try Self.countDrop(connection, stream: stream, reason: reason, rows: batch.count, bytes: batch.payloadBytes, metrics: batch.metricCount, nowMs: nowMs)
            outcome.drops[reason] = batch.count
            return false
        }
        let reason: DropReason = limitedByDisk ? .diskFull : .capDropOldest
        while overflow > 0 {
            let dropped = try Self.dropOldestRows(connection, bytes: overflow, reason: reason, nowMs: nowMs).rows
            guard dropped > 0 else { break }  // nothing left to drop
            outcome.drops[reason, default: 0] += dropped
            overflow = try used() + neededInPages - capacity
        }
        return true
    }

    /// Deletes the oldest rows of any stream, about `bytes` worth, counted under `reason`;
    /// returns how many and the bytes they took.
    private static func dropOldestRows(_ connection: SQLiteConnection, bytes: Int64, reason: DropReason, nowMs: Int64) throws(QueueError) -> (rows: Int, bytes: Int64) {
        let select = try connection.statement("""
            SELECT id, stream, length(payload), metric_count, length(payload) + length(headers) + length(message_key)
            FROM messages ORDER BY id LIMIT 256
            """)
        var victims: [(id: Int64, stream: String, bytes: Int64, metrics: Int64)] = []
        var freed: Int64 = 0
        while freed < bytes, try select.step() {
            victims.append((select.int64(0), select.string(1) ?? "", select.int64(2), select.int64(3)))
            freed += select.int64(4) + rowOverhead
        }
        select.reset()
        let delete = try connection.statement("DELETE FROM messages WHERE id = ?")
        for victim in victims {
            delete.reset()
            delete.bind(1, victim.id)
            try delete.step()
        }
        for (streamName, rows) in Dictionary(grouping: victims, by: \.stream) {
            try addToQueuedTotals(connection, stream: streamName, rows: -Int64(rows.count), bytes: -rows.reduce(0) { $0 + $1.bytes })
            try countDrop(
                connection, stream: QueueStream(name: streamName, topic: ""), reason: reason, rows: rows.count,
                bytes: rows.reduce(0) { $0 + $1.bytes }, metrics: Int(rows.reduce(0) { $0 + $1.metrics }), nowMs: nowMs
            )
        }
        return (victims.count, freed)
    }

    /// Adds `rows` and `bytes` (negative: takes them away) to a stream's totals of waiting rows,
    /// `streams.queued_rows` and `queued_bytes`, in the caller's transaction. Every insert into
    /// and delete from `messages` comes with one (a trigger would load each deleted row: see
    /// migration 0004); ``recomputeQueuedTotals(_:)`` repairs changes made by hand, at open.
    static func addToQueuedTotals(_ connection: SQLiteConnection, stream: String, rows: Int64, bytes: Int64) throws(QueueError) {
        let update = try connection.statement("UPDATE streams SET queued_rows = queued_rows + ?, queued_bytes = queued_bytes + ? WHERE stream = ?")
        update.bind(1, rows)
        update.bind(2, bytes)
        update.bind(3, stream)
        try update.step()
    }

    /// Counts the waiting rows of every stream afresh (one pass over `messages`, reading no
    /// payload), in the caller's transaction.
    static func recomputeQueuedTotals(_ connection: SQLiteConnection) throws(QueueError) {
        try connection.execute("""
            INSERT OR IGNORE INTO streams (stream, topic) SELECT stream, max(topic) FROM messages GROUP BY stream;
            UPDATE streams SET queued_rows = 0, queued_bytes = 0;
            UPDATE streams SET queued_rows = totals.rows, queued_bytes = totals.bytes
            FROM (SELECT stream, count(*) AS rows, sum(length(payload)) AS bytes FROM messages GROUP BY stream) AS totals
            WHERE streams.stream = totals.stream;
            """)
    }

    private static func insert(
        _ connection: SQLiteConnection, _ batch: [KafkaMessage], stream: QueueStream, nodeID: String,
        snapshotTimeMs: Int64, format: SerializationFormat, sequence: UInt64, nowMs: Int64
    ) throws(QueueError) -> [Int64] {
        let insert = try connection.statement("""
            INSERT INTO messages (stream, topic, enqueued_at_ms, node_id, snapshot_seq, snapshot_time_ms, batch_index,
                batch_count, format, metric_count, message_key, headers, payload, payload_bytes)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id
            """)
        var ids: [Int64] = []
        ids.reserveCapacity(batch.count)
        for message in batch {
            insert.reset()
            insert.bind(1, stream.name)
            insert.bind(2, stream.topic)
            insert.bind(3, nowMs)
            insert.bind(4, nodeID)
            insert.bind(5, Int64(sequence))
            insert.bind(6, snapshotTimeMs)
            insert.bind(7, Int64(message.batchIndex))
            insert.bind(8, Int64(message.batchCount))
            insert.bind(9, format.rawValue)
            insert.bind(10, Int64(message.metricCount))
            insert.bind(11, message.key)
            insert.bind(12, HeadersColumn.encode(message.headers.map { ($0.name, $0.value) }))
            insert.bind(13, message.value)
            insert.bind(14, Int64(message.value.count))
            try insert.step()
            ids.append(insert.int64(0))
            _ = try insert.step()
        }
        let count = try connection.statement("""
            UPDATE streams SET enqueued_rows = enqueued_rows + ?1, queued_rows = queued_rows + ?1, queued_bytes = queued_bytes + ?2
            WHERE stream = ?3
            """)
        count.bind(1, Int64(batch.count))
        count.bind(2, batch.payloadBytes)
        count.bind(3, stream.name)
        try count.step()
        return ids
    }

    private static func saveCounters(_ connection: SQLiteConnection, _ values: [(name: String, value: UInt64)], stream: QueueStream) throws(QueueError) {
        guard !values.isEmpty else { return }
        let upsert = try connection.statement("INSERT OR REPLACE INTO counter_state (stream, name, value) VALUES (?, ?, ?)")
        for (name, value) in values {
            upsert.reset()
            upsert.bind(1, stream.name)
            upsert.bind(2, name)
            upsert.bind(3, Int64(bitPattern: value))
            try upsert.step()
        }
    }

    static func countDrop(
        _ connection: SQLiteConnection, stream: QueueStream, reason: DropReason, rows: Int, bytes: Int64, metrics: Int, nowMs: Int64
    ) throws(QueueError) {
        guard rows > 0 else { return }
        let upsert = try connection.statement("""
            INSERT INTO drops (stream, reason, rows, payload_bytes, metrics, last_drop_at_ms) VALUES (?, ?, ?, ?, ?, ?)
            ON CONFLICT (stream, reason) DO UPDATE SET rows = rows + excluded.rows,
                payload_bytes = payload_bytes + excluded.payload_bytes, metrics = metrics + excluded.metrics,
                last_drop_at_ms = excluded.last_drop_at_ms
            """)
        upsert.bind(1, stream.name)
        upsert.bind(2, reason.rawValue)
        upsert.bind(3, Int64(rows))
        upsert.bind(4, bytes)
        upsert.bind(5, Int64(metrics))
        upsert.bind(6, nowMs)
        try upsert.step()
    }

    private static func noteStreamError(_ connection: SQLiteConnection, stream: QueueStream, error: String, nowMs: Int64) throws(QueueError) {
        let update = try connection.statement("UPDATE streams SET last_error = ?, last_error_at_ms = ? WHERE stream = ?")
        update.bind(1, error)
        update.bind(2, nowMs)
        update.bind(3, stream.name)
        try update.step()
    }
}

extension Array where Element == KafkaMessage {
    fileprivate var payloadBytes: Int64 { reduce(0) { $0 + Int64($1.value.count) } }
    fileprivate var metricCount: Int { reduce(0) { $0 + $1.metricCount } }
}
