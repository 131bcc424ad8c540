import Foundation
import StatSinkCodec
@testable import StatSinkQueue
import StatSinkTestKit
import Testing

@Suite("SQLite write-ahead queue")
struct MessageQueueTests {
    let directory = TemporaryDirectory()

    func open(_ name: String = "queue.db", role: MessageQueue.Role = .drainer, maxBytes: UInt64 = 1 << 30,
              whenFull: MessageQueueConfiguration.WhenFull = .dropOldest) throws -> MessageQueue {
        try MessageQueue(configuration: MessageQueueConfiguration(path: directory.path(name), maxBytes: maxBytes, whenFull: whenFull), role: role)
    }

    @Test func freshFileIsMigratedInWALModeWithMode0600() throws {
        let queue = try open()
        defer { queue.close() }
        let path = directory.path("queue.db")
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        #expect(try sqlite3(path, "PRAGMA journal_mode") == ["wal"])
        #expect(try sqlite3(path, "PRAGMA auto_vacuum") == ["2"])  // incremental
        #expect(try sqlite3(path, "PRAGMA page_size") == ["16384"])
        #expect(try sqlite3(path, "SELECT version, name FROM schema_migrations") == ["1|0001_create_queue", "2|0002_operations", "3|0003_stream_totals", "4|0004_queue_totals_in_code"])
        #expect(try sqlite3(path, "PRAGMA user_version") == ["4"])
        #expect(try sqlite3(path, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name") == [
            "counter_state", "dead_letters", "drops", "messages", "quarantined_files", "schema_migrations", "streams",
        ])
    }

    @Test func removeFilesLeavesNothingOfAQueueBehind() throws {
        let path = directory.path("scratch.db")
        let queue = try open("scratch.db")
        try enqueueGenerated(queue)
        queue.close()
        let before = try FileManager.default.contentsOfDirectory(atPath: directory.url.path).filter { $0.hasPrefix("scratch.db") }
        #expect(before.contains("scratch.db-reserve") && before.contains("scratch.db-drainer.lock"), "\(before)")
        _ = FileManager.default.createFile(atPath: path + "-wal", contents: Data([1]))
        _ = FileManager.default.createFile(atPath: path + "-damaged", contents: Data())
        MessageQueue.removeFiles(atPath: path)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.url.path).filter { $0.hasPrefix("scratch.db") } == [])
        MessageQueue.removeFiles(atPath: path)  // nothing left: not an error
    }

    @Test func statusTellsWhetherADrainerHoldsTheQueueWithoutTouchingItsLock() throws {
        let path = directory.path("presence.db")
        let writer = try open("presence.db", role: .writer)
        defer { writer.close() }
        #expect(try MessageQueue.status(path: path).drainer == .notRunning)
        let drainer = try open("presence.db", role: .drainer)
        #expect(try MessageQueue.status(path: path).drainer == .running(pid: getpid()))
        // Reading the presence took nothing: a second drainer is still refused, the first still holds.
        #expect(throws: QueueError.self) { try open("presence.db", role: .drainer) }
        drainer.close()
        #expect(try MessageQueue.status(path: path).drainer == .notRunning)
        // And the lock is free for the next drainer.
        try open("presence.db", role: .drainer).close()
    }

    @Test func pageSizeIsSetOnNewFilesOnlyAndMustBeAPowerOfTwo() throws {
        let path = directory.path("small-pages.db")
        try MessageQueue(configuration: MessageQueueConfiguration(path: path, pageSize: 4096), role: .writer).close()
        // An existing file keeps its page size whatever the configuration says.
        let queue = try MessageQueue(configuration: MessageQueueConfiguration(path: path, pageSize: 65536), role: .writer)
        try enqueueGenerated(queue)
        queue.close()
        #expect(try sqlite3(path, "PRAGMA page_size") == ["4096"])
        let bad = directory.path("bad.db")
        #expect(throws: QueueError.cannotOpen(path: bad, reason: "page size 3000 is not a power of two from 512 to 65536")) {
            try MessageQueue(configuration: MessageQueueConfiguration(path: bad, pageSize: 3000), role: .writer)
        }
    }

    @Test func rowsAreReadInPlaceAndTheBodyMayChangeTheQueue() throws {
        let queue = try open()
        defer { queue.close() }
        let (outcome, messages) = try enqueueGenerated(queue, metrics: 30, batchSize: 5)
        let ids = outcome.recordIDs
        var seen: [Int64] = []
        // The body dead-letters the second row and acknowledges the third while the page is
        // being read (the drainer does both), then stops at the fifth.
        let accepted = try queue.forEachPendingRecord(stream: testStream, afterID: 0, limit: 100, maxBytes: 1 << 30) { row in
            let index = seen.count
            seen.append(row.id)
            #expect(try row.value() == messages[index].value)
            #expect(Array(row.key) == messages[index].key)
            #expect(row.headers.map(\.name) == messages[index].headers.map(\.name))
            #expect(row.attempts == 0)
            if index == 1 { try queue.deadLetter(row.id, errorName: "MSG_SIZE_TOO_LARGE", error: "too large", stream: testStream) }
            if index == 2 { try queue.acknowledge([row.id], stream: testStream) }
            return index < 4
        }
        #expect(accepted == 4)
        #expect(seen == Array(ids[0...4]))
        #expect(try queue.pendingRecords(stream: testStream, afterID: 0, limit: 100, maxBytes: 1 << 30).map(\.id) == [ids[0]] + Array(ids[3...]))
        #expect(try queue.statistics().deadLetters == 1)
    }

    @Test func reopeningAppliesNothingTwice() throws {
        try open().close()
        let queue = try open()
        queue.close()
        #expect(try sqlite3(directory.path("queue.db"), "SELECT count(*) FROM schema_migrations") == ["4"])
    }

    @Test func aVersion2FileGetsItsTotalsCountedAndTheyFollowEveryChange() throws {
        // A file as version 2 left it: two streams' rows (one stream without its streams row,
        // as a hand edit could leave), and a dead letter.
        let path = directory.path("v2.db")
        func row(_ table: String, _ id: Int, _ stream: String, _ bytes: Int, extra: String = "") -> String {
            """
            INSERT INTO \(table) (id, stream, topic, enqueued_at_ms, node_id, snapshot_seq, snapshot_time_ms, batch_index, batch_count,
                format, metric_count, message_key, headers, payload, payload_bytes\(extra.isEmpty ? "" : ", attempts, dead_lettered_at_ms, error_name, error"))
            VALUES (\(id), '\(stream)', 't', \(1000 + id), 'n', \(id), 1, 0, 1, 'JSON', 1, x'6b', '[]', zeroblob(\(bytes)), \(bytes)\(extra));
            """
        }
        let version2 = Migration.embedded.filter { $0.version <= 2 }.map(\.sql).joined(separator: "\n")
        _ = try SQLiteShell.run(path, """
            PRAGMA page_size = 16384; PRAGMA auto_vacuum = INCREMENTAL; PRAGMA journal_mode = WAL;
            \(version2)
            CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at_ms INTEGER NOT NULL);
            INSERT INTO schema_migrations VALUES (1, '0001_create_queue', 0), (2, '0002_operations', 0);
            INSERT INTO streams (stream, topic, last_snapshot_seq, enqueued_rows) VALUES ('a', 't', 4, 4);
            \(row("messages", 2, "a", 40_000))
            \(row("messages", 3, "a", 100))
            \(row("messages", 4, "b", 7))
            \(row("dead_letters", 1, "a", 5, extra: ", 1, 2000, 'MSG_SIZE_TOO_LARGE', 'too large'"))
            PRAGMA user_version = 2;
            """, readOnly: false)
        var queue = try open("v2.db")
        defer { queue.close() }
        var statistics = try queue.statistics()
        #expect((statistics.rows, statistics.payloadBytes, statistics.deadLetters, statistics.oldestEnqueuedAtMs) == (3, 40_107, 1, 1002))
        var gauges = try queue.gauges()
        #expect(gauges.streams["a"]?.rows == 2 && gauges.streams["a"]?.payloadBytes == 40_100 && gauges.streams["a"]?.deadLetters == 1)
        #expect(gauges.streams["b"]?.rows == 1 && gauges.streams["b"]?.payloadBytes == 7 && gauges.streams["b"]?.oldestEnqueuedAtMs == 1004)

        // Our own changes keep the totals at once.
        let a = QueueStream(name: "a", topic: "t")
        try queue.acknowledge([2], stream: a)
        try queue.deadLetter(3, errorName: "TOPIC_AUTHORIZATION_FAILED", error: "no", stream: a)
        let (outcome, messages) = try enqueueGenerated(queue, metrics: 12, batchSize: 5)
        #expect(try streamsWithWrongTotals(path) == [])

        // Hand edits in the sqlite3 shell: dead letters are followed at once, `messages` is
        // recounted when the queue is next opened.
        _ = try SQLiteShell.run(path, "DELETE FROM dead_letters WHERE id = 1; UPDATE messages SET stream = 'a' WHERE id = 4", readOnly: false)
        #expect(try queue.statistics().deadLetters == 1)
        queue.close()
        queue = try open("v2.db")
        statistics = try queue.statistics()
        let enqueuedBytes = messages.reduce(0) { $0 + $1.value.count }
        #expect(statistics.rows == 1 + outcome.recordIDs.count)
        #expect(statistics.payloadBytes == Int64(7 + enqueuedBytes))
        #expect(statistics.deadLetters == 1)
        gauges = try queue.gauges()
        #expect(gauges.streams["a"]?.rows == 1 && gauges.streams["a"]?.payloadBytes == 7 && gauges.streams["a"]?.deadLetters == 1)
        #expect(gauges.streams["b"]?.rows == 0 && gauges.streams["b"]?.payloadBytes == 0 && gauges.streams["b"]?.oldestEnqueuedAtMs == nil)
        #expect(gauges.streams[testStream.name]?.rows == outcome.recordIDs.count)
        #expect(try streamsWithWrongTotals(path) == [])
    }

    @Test func newerSchemaIsRefusedAndTheFileLeftUntouched() throws {
        try open().close()
        let path = directory.path("queue.db")
        try SQLiteShell.run(path, "PRAGMA user_version = 99", readOnly: false)
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect(throws: QueueError.newerSchema(path: path, fileVersion: 99, supportedVersion: 4)) { try open() }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
    }

    @Test func snapshotsGetSequencesAndIncreasingIdsAndReadBackIntact() throws {
        let queue = try open()
        defer { queue.close() }
        let first = try enqueueGenerated(queue, metrics: 20, batchSize: 5, seed: 1)
        let second = try enqueueGenerated(queue, metrics: 7, batchSize: 5, seed: 2)
        #expect(first.outcome.sequence == 1)
        #expect(second.outcome.sequence == 2)
        #expect(first.outcome.recordIDs.count == 4)
        #expect(second.outcome.recordIDs.count == 2)
        let ids = first.outcome.recordIDs + second.outcome.recordIDs
        #expect(ids == ids.sorted() && Set(ids).count == 6)

        let pending = try queue.pendingRecords(stream: testStream, afterID: 0, limit: 100, maxBytes: 1 << 30)
        #expect(pending.map(\.id) == ids)
        let messages = first.messages + second.messages
        #expect(pending.map(\.value) == messages.map(\.value))
        #expect(pending.map(\.key) == messages.map(\.key))
        #expect(pending.map(\.headers) == messages.map(\.headers))
        #expect(pending.allSatisfy { $0.topic == "metrics" && $0.attempts == 0 })
        #expect(pending[4].headers.first { $0.name == "statsink.snapshot_seq" }?.value == "2")
    }

    @Test func keysetPaginationHonoursLimitAndBytes() throws {
        let queue = try open()
        defer { queue.close() }
        let ids = try enqueueGenerated(queue, metrics: 40, batchSize: 5).outcome.recordIDs
        let page1 = try queue.pendingRecords(stream: testStream, afterID: 0, limit: 3, maxBytes: 1 << 30)
        #expect(page1.map(\.id) == Array(ids[0..<3]))
        let page2 = try queue.pendingRecords(stream: testStream, afterID: page1.last!.id, limit: 3, maxBytes: 1 << 30)
        #expect(page2.map(\.id) == Array(ids[3..<6]))
        // A byte budget smaller than one row still returns that row.
        #expect(try queue.pendingRecords(stream: testStream, afterID: 0, limit: 10, maxBytes: 1).map(\.id) == [ids[0]])
        // Rows of other streams are not mixed in.
        #expect(try queue.pendingRecords(stream: QueueStream(topic: "other", brokerList: "x:1"), afterID: 0, limit: 10, maxBytes: 1 << 30).isEmpty)
    }

    @Test func acknowledgedRowsAreDeletedAndIdsAreNeverReused() throws {
        var queue = try open()
        let ids = try enqueueGenerated(queue, metrics: 10, batchSize: 5).outcome.recordIDs
        try queue.acknowledge([ids[0]], stream: testStream)
        #expect(try queue.pendingRecords(stream: testStream, afterID: 0, limit: 10, maxBytes: 1 << 30).map(\.id) == [ids[1]])
        try queue.acknowledge([ids[1], 12345], stream: testStream)  // an unknown id is ignored
        let statistics = try queue.statistics()
        #expect(statistics.rows == 0)
        #expect(statistics.deliveredRows == 2)
        queue.close()
        // Empty table, reopened: the next id is still larger.
        queue = try open()
        defer { queue.close() }
        let next = try enqueueGenerated(queue, metrics: 1).outcome.recordIDs
        #expect(next[0] > ids[1])
        #expect(try enqueueGenerated(queue, metrics: 1).outcome.sequence == 3)
    }

    @Test func failedAttemptsAreCountedAndRowsStay() throws {
        let queue = try open()
        defer { queue.close() }
        let ids = try enqueueGenerated(queue, metrics: 10, batchSize: 5).outcome.recordIDs
        try queue.recordFailedAttempt(ids, error: "Local: Message timed out", stream: testStream)
        try queue.recordFailedAttempt([ids[0]], error: "Local: All broker connections are down", stream: testStream)
        #expect(try queue.pendingRecords(stream: testStream, afterID: 0, limit: 10, maxBytes: 1 << 30).map(\.attempts) == [2, 1])
        #expect(try sqlite3(directory.path("queue.db"), "SELECT last_error FROM messages ORDER BY id") == [
            "Local: All broker connections are down", "Local: Message timed out",
        ])
    }

    @Test func deadLettersLeaveTheQueueWithTheirError() throws {
        let queue = try open()
        defer { queue.close() }
        let (outcome, messages) = try enqueueGenerated(queue, metrics: 15, batchSize: 5)
        try queue.deadLetter(outcome.recordIDs[1], errorName: "MSG_SIZE_TOO_LARGE", error: "Broker: Message size too large", stream: testStream)
        #expect(try queue.pendingRecords(stream: testStream, afterID: 0, limit: 10, maxBytes: 1 << 30).map(\.id) == [outcome.recordIDs[0], outcome.recordIDs[2]])
        #expect(try queue.statistics().deadLetters == 1)
        let path = directory.path("queue.db")
        #expect(try sqlite3(path, "SELECT id, error_name, attempts, batch_index FROM dead_letters") == ["\(outcome.recordIDs[1])|MSG_SIZE_TOO_LARGE|1|1"])
        #expect(try sqlite3(path, "SELECT hex(payload) FROM dead_letters") == [messages[1].value.map { String(format: "%02X", $0) }.joined()])
    }

    @Test func onlyOneDrainerButManyWriters() throws {
        let drainer = try open(role: .drainer)
        #expect(throws: QueueError.drainerAlreadyRunning(path: directory.path("queue.db"))) { try open(role: .drainer) }
        let writer = try open(role: .writer)
        try enqueueGenerated(writer, metrics: 3)
        #expect(try drainer.statistics().rows == 1)
        writer.close()
        drainer.close()
        // Released on close.
        try open(role: .drainer).close()
    }

    @Test func counterValuesPersistWithTheSnapshot() throws {
        var queue = try open()
        try enqueueGenerated(queue, counters: [("a", 5), ("b", UInt64.max)])
        try enqueueGenerated(queue, counters: [("a", 9)])
        queue.close()
        queue = try open()
        defer { queue.close() }
        #expect(try queue.counterValues(stream: testStream) == ["a": 9, "b": UInt64.max])
        #expect(try queue.counterValues(stream: QueueStream(name: "other", topic: "t")).isEmpty)
    }

    @Test func reopeningMidStreamResumesAtTheFirstUnacknowledgedRow() throws {
        var queue = try open()
        let ids = try enqueueGenerated(queue, metrics: 30, batchSize: 5).outcome.recordIDs
        try queue.acknowledge(Array(ids[0..<2]), stream: testStream)
        queue.close()
        queue = try open()
        defer { queue.close() }
        #expect(try queue.pendingRecords(stream: testStream, afterID: 0, limit: 100, maxBytes: 1 << 30).map(\.id) == Array(ids[2...]))
    }

    @Test func embeddedMigrationsMatchTheMigrationsFolder() throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("migrations")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".sql") }.sorted()
        #expect(!files.isEmpty)
        let embedded = Migration.embedded
        #expect(embedded.map(\.name) == files.map { String($0.dropLast(4)) }, "run tools/embed-migrations")
        for (migration, file) in zip(embedded, files) {
            let text = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
            #expect(migration.sql == text.removingFinalNewline, "run tools/embed-migrations: \(file) differs")
        }
    }
}

extension String {
    var removingFinalNewline: String { hasSuffix("\n") ? String(dropLast()) : self }
}
