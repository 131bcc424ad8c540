import Foundation
import StatSinkCodec
import StatSinkQueue
import StatSinkTestKit
import Testing

@Suite("Byte cap and when-full policies")
struct ByteCapTests {
    let directory = TemporaryDirectory()
    static let cap: UInt64 = 2 << 20  // 2 MiB

    func open(_ whenFull: MessageQueueConfiguration.WhenFull) throws -> MessageQueue {
        try MessageQueue(
            configuration: MessageQueueConfiguration(path: directory.path("capped.db"), maxBytes: Self.cap, whenFull: whenFull),
            role: .writer
        )
    }

    func fileBytes() throws -> UInt64 {
        let attributes = try FileManager.default.attributesOfItem(atPath: directory.path("capped.db"))
        return (attributes[.size] as? NSNumber)?.uint64Value ?? 0
    }

    /// ~100 KB per snapshot: 40 snapshots need ~4 MB, twice the cap.
    func fill(_ queue: MessageQueue, snapshots: Int) throws -> [EnqueueOutcome] {
        try (0..<snapshots).map { index in
            let outcome = try enqueueGenerated(queue, metrics: 300, batchSize: 50, seed: UInt64(index)).outcome
            try queue.checkpoint()  // the cap is on the database file; checkpoints move WAL pages into it
            #expect(try fileBytes() <= Self.cap, "after snapshot \(index)")
            return outcome
        }
    }

    @Test func dropOldestKeepsTheNewestAndCountsEveryDrop() throws {
        let queue = try open(.dropOldest)
        defer { queue.close() }
        let outcomes = try fill(queue, snapshots: 40)
        let statistics = try queue.statistics()
        let stored = outcomes.reduce(0) { $0 + $1.recordIDs.count }
        let dropped = statistics.drops[.capDropOldest] ?? 0
        #expect(dropped > 0)
        #expect(stored - dropped == statistics.rows, "every row is either queued or counted as dropped")
        #expect(outcomes.allSatisfy { !$0.recordIDs.isEmpty }, "drop_oldest always stores the new snapshot")
        // What remains is the newest rows, contiguous up to the last one.
        let remaining = try queue.pendingRecords(stream: testStream, afterID: 0, limit: 10_000, maxBytes: Int.max).map(\.id)
        let allIDs = outcomes.flatMap(\.recordIDs)
        #expect(remaining == Array(allIDs.suffix(remaining.count)))
        #expect(try sqlite3(directory.path("capped.db"), "SELECT reason, rows FROM drops") == ["cap_drop_oldest|\(dropped)"])
    }

    @Test func dropNewestKeepsTheOldestAndRefusesNewSnapshots() throws {
        let queue = try open(.dropNewest)
        defer { queue.close() }
        let outcomes = try fill(queue, snapshots: 40)
        let refused = outcomes.filter { $0.recordIDs.isEmpty }
        #expect(!refused.isEmpty)
        #expect(outcomes.first.map { !$0.recordIDs.isEmpty } == true)
        let statistics = try queue.statistics()
        #expect(statistics.drops[.capDropNewest] == refused.reduce(0) { $0 + ($1.drops[.capDropNewest] ?? 0) })
        #expect(statistics.drops[.capDropOldest] == nil)
        // The oldest stay; sequence numbers were consumed by refused snapshots too (a visible gap).
        let kept = outcomes.prefix { !$0.recordIDs.isEmpty }
        #expect(statistics.rows == kept.reduce(0) { $0 + $1.recordIDs.count })
        #expect(outcomes.map(\.sequence) == Array(1...40))
    }

    @Test func aSnapshotLargerThanTheCapIsDroppedWithoutEmptyingTheQueue() throws {
        let queue = try open(.dropOldest)
        defer { queue.close() }
        try enqueueGenerated(queue, metrics: 100, batchSize: 100)
        let huge = try enqueueGenerated(queue, metrics: 20_000, batchSize: 0).outcome
        #expect(huge.recordIDs.isEmpty)
        #expect(huge.drops[.snapshotTooLarge] == 1)
        #expect(try queue.statistics().rows == 1)
    }

    @Test func spaceComesBackAfterTheBacklogDrains() throws {
        let queue = try MessageQueue(configuration: MessageQueueConfiguration(path: directory.path("space.db")), role: .drainer)
        defer { queue.close() }
        // More than one reclaim step (512 pages of 16 KiB) of rows, so reclaiming takes several.
        for index in 0..<30 { try enqueueGenerated(queue, metrics: 1_500, batchSize: 50, seed: UInt64(index)) }
        try queue.checkpoint()
        let full = try FileManager.default.attributesOfItem(atPath: directory.path("space.db"))[.size] as? NSNumber
        let ids = try queue.pendingRecords(stream: testStream, afterID: 0, limit: 10_000, maxBytes: Int.max).map(\.id)
        try queue.acknowledge(ids, stream: testStream)
        try queue.reclaimSpace(keepFreeBytes: 0)
        try queue.checkpoint()
        let drained = try FileManager.default.attributesOfItem(atPath: directory.path("space.db"))[.size] as? NSNumber
        #expect(full!.intValue > 2 * 512 * 16_384)
        #expect(drained!.intValue < full!.intValue / 4)
        #expect(try sqlite3(directory.path("space.db"), "PRAGMA freelist_count") == ["0"])
        let wal = try FileManager.default.attributesOfItem(atPath: directory.path("space.db") + "-wal")[.size] as? NSNumber
        #expect(wal!.intValue == 0)
    }
}
