import Foundation
import StatSinkCodec
@testable import StatSinkQueue
import StatSinkTestKit
import Testing

@Suite("Damaged queue files: quarantine and salvage")
struct CorruptionTests {
    let directory = TemporaryDirectory()
    var path: String { directory.path("queue.db") }

    func configuration(_ path: String, whenDamaged: MessageQueueConfiguration.WhenDamaged = .quarantine) -> MessageQueueConfiguration {
        MessageQueueConfiguration(path: path, pageSize: 4096, whenDamaged: whenDamaged)
    }

    /// A queue file with 60 snapshots (240 rows, payloads both inside and beyond a 4 KiB page),
    /// closed so that everything is in the main file; returns every message by record id.
    func makeQueue(_ path: String) throws -> [Int64: KafkaMessage] {
        let queue = try MessageQueue(configuration: configuration(path), role: .writer)
        var byID: [Int64: KafkaMessage] = [:]
        for seed in 1...60 {
            let (outcome, messages) = try enqueueGenerated(queue, metrics: seed % 3 == 0 ? 160 : 20, batchSize: seed % 3 == 0 ? 40 : 5, seed: UInt64(seed))
            for (id, message) in zip(outcome.recordIDs, messages) { byID[id] = message }
        }
        queue.close()
        #expect(!FileManager.default.fileExists(atPath: path + "-wal"), "the last close checkpoints and removes the WAL")
        return byID
    }

    func quarantined(_ queue: MessageQueue) throws -> QuarantineRecord {
        try #require(try queue.status().quarantinedFiles.first)
    }

    /// Overwrites `count` pages from page `first` (1-based) with pseudo-random bytes.
    func scribble(_ path: String, firstPage: Int, count: Int) throws {
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
        try handle.seek(toOffset: UInt64((firstPage - 1) * 4096))
        var generator = SystemRandomNumberGenerator()
        try handle.write(contentsOf: Data((0..<count * 4096).map { _ in UInt8.random(in: 0...255, using: &generator) }))
        try handle.close()
    }

    @Test func aTruncatedFileIsMovedAsideAndTheQueueStartsFreshWithItsNumbering() throws {
        let original = try makeQueue(path)
        let size = try #require(FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        try FileHandle(forUpdating: URL(fileURLWithPath: path)).truncate(atOffset: UInt64(size / 2))

        let queue = try MessageQueue(configuration: configuration(path), role: .drainer)
        defer { queue.close() }
        let record = try quarantined(queue)
        #expect(record.movedTo.hasPrefix(path + ".corrupt-") && record.movedTo.hasSuffix("Z"))
        #expect(record.fileBytes == Int64(size / 2) && record.reason.contains("quick_check") || record.reason.contains("SQLite error"))
        #expect(FileManager.default.fileExists(atPath: record.movedTo), "moved, never deleted")
        #expect(try queue.statistics().rows == 0)
        // The stream's numbering went on where the old file left it (its streams table still read).
        #expect(record.carriedStreams == 1)
        #expect(try enqueueGenerated(queue).outcome.sequence == 61)

        // Salvage: every row that still reads comes back with its bytes; the rest is reported.
        let salvaged = try MessageQueue(configuration: configuration(directory.path("salvaged.db")), role: .writer)
        defer { salvaged.close() }
        let report = try salvaged.salvage(from: record.movedTo)
        #expect(report.readable && report.messages > 0 && report.messages < original.count)
        #expect(!report.unreadable.isEmpty)
        try expectIntact(salvaged, original, count: report.messages)
    }

    @Test func garbagePagesAreQuarantinedAndTheRowsAroundThemSalvaged() throws {
        let original = try makeQueue(path)
        let pages = try #require(FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) / 4096
        try scribble(path, firstPage: pages / 2, count: 3)

        let queue = try MessageQueue(configuration: configuration(path), role: .writer)
        defer { queue.close() }
        let record = try quarantined(queue)
        #expect(FileManager.default.fileExists(atPath: record.movedTo))
        try enqueueGenerated(queue)

        let report = try queue.salvage(from: record.movedTo)
        #expect(report.readable)
        #expect(report.messages > original.count / 2, "\(report)")
        try expectIntact(queue, original, count: report.messages, skipping: 4)
        #expect(try streamsWithWrongTotals(path) == [])
    }

    @Test func aFileThatIsNotSQLiteIsQuarantinedAndNothingSalvaged() throws {
        try Data(repeating: 0x41, count: 8192).write(to: URL(fileURLWithPath: path))
        let queue = try MessageQueue(configuration: configuration(path), role: .drainer)
        defer { queue.close() }
        let record = try quarantined(queue)
        #expect(record.reason.contains("not a database"))
        #expect(record.carriedStreams == 0 && record.sequenceFloor == record.detectedAtMs)
        #expect(try Data(contentsOf: URL(fileURLWithPath: record.movedTo)) == Data(repeating: 0x41, count: 8192))
        // No numbering could be read: new streams number above the floor, so no seq is reused.
        #expect(try enqueueGenerated(queue).outcome.sequence == UInt64(record.sequenceFloor) + 1)
        let report = try queue.salvage(from: record.movedTo)
        #expect(!report.readable && report.rows == 0)
    }

    @Test func theWALAndSharedMemoryFilesMoveWithTheFile() throws {
        _ = try makeQueue(path)
        // A WAL left beside a damaged file must not meet the fresh one.
        try scribble(path, firstPage: 1, count: 1)
        try Data("wal".utf8).write(to: URL(fileURLWithPath: path + "-wal"))
        try Data("shm".utf8).write(to: URL(fileURLWithPath: path + "-shm"))
        let queue = try MessageQueue(configuration: configuration(path), role: .drainer)
        defer { queue.close() }
        let record = try quarantined(queue)
        #expect(try Data(contentsOf: URL(fileURLWithPath: record.movedTo + "-wal")) == Data("wal".utf8))
        #expect(FileManager.default.fileExists(atPath: record.movedTo + "-shm"))  // SQLite rewrites its index
    }

    @Test func refusePolicyAndARunningDrainerLeaveTheFileAlone() throws {
        try Data(repeating: 0x42, count: 4096).write(to: URL(fileURLWithPath: path))
        #expect {
            try MessageQueue(configuration: configuration(path, whenDamaged: .refuse), role: .drainer)
        } throws: { error in
            guard case .damaged(let damagedPath, let detail) = error as? QueueError else { return false }
            return damagedPath == path && detail.contains("not a database")
        }
        // A writer may not move a file a drainer owns.
        let drainer = try DrainerLock(queuePath: path)
        #expect(throws: QueueError.self) { try MessageQueue(configuration: configuration(path), role: .writer) }
        drainer.release()
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data(repeating: 0x42, count: 4096))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.url.path).filter { $0.contains("corrupt") }.isEmpty)
    }

    @Test func aCheckCutShortByItsBudgetPassesAHealthyFile() throws {
        _ = try makeQueue(path)
        var configuration = configuration(path)
        configuration.integrityCheckBudget = .nanoseconds(1)
        let queue = try MessageQueue(configuration: configuration, role: .drainer)
        defer { queue.close() }
        #expect(try queue.status().quarantinedFiles.isEmpty)
        #expect(try queue.statistics().rows == 240)
    }

    @Test func damageFoundInUseMakesTheNextOpenCheckInFull() throws {
        _ = try makeQueue(path)
        let queue = try MessageQueue(configuration: configuration(path), role: .drainer)
        let pages = try #require(FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) / 4096
        try scribble(path, firstPage: 3, count: pages - 3)
        #expect(throws: QueueError.self) { try queue.pendingRecords(stream: testStream, afterID: 0, limit: 10_000, maxBytes: .max) }
        #expect(FileManager.default.fileExists(atPath: path + "-damaged"))
        queue.close()
        // Even a check with no time at all runs in full now, and finds the damage.
        var reopened = configuration(path)
        reopened.integrityCheckBudget = .nanoseconds(1)
        let fresh = try MessageQueue(configuration: reopened, role: .drainer)
        defer { fresh.close() }
        #expect(try fresh.status().quarantinedFiles.count == 1)
        #expect(!FileManager.default.fileExists(atPath: path + "-damaged"))
    }

    /// The salvaged rows of `queue` (after the first `skipping`) are `count` of the originals, byte
    /// for byte, found by their snapshot and batch headers.
    func expectIntact(_ queue: MessageQueue, _ original: [Int64: KafkaMessage], count: Int, skipping: Int = 0) throws {
        func identity(_ headers: [KafkaHeader]) -> String {
            headers.filter { $0.name == "statsink.snapshot_seq" || $0.name == "statsink.batch_index" }.map(\.value).joined(separator: "/")
        }
        let byIdentity = Dictionary(uniqueKeysWithValues: original.values.map { (identity($0.headers), $0) })
        let rows = try queue.pendingRecords(stream: testStream, afterID: 0, limit: 10_000, maxBytes: .max).dropFirst(skipping)
        #expect(rows.count == count)
        for row in rows {
            let message = try #require(byIdentity[identity(row.headers)])
            #expect(row.value == message.value && row.key == message.key)
        }
    }
}
