import Foundation
import StatSinkCodec
import StatSinkQueue
import StatSinkTestKit
import Testing

/// A real full file system: a small tmpfs mounted for the test (root only; skipped otherwise).
@Suite("Queue on a full file system", .serialized)
struct DiskFullTests {
    @Test(arguments: [MessageQueueConfiguration.WhenFull.dropOldest, .dropNewest])
    func aFullDiskIsHandledLikeTheCapAndTheQueueRecovers(policy: MessageQueueConfiguration.WhenFull) throws {
        guard let mount = SmallFileSystem(bytes: 3 << 20) else {
            print("DiskFullTests: skipped, cannot mount a tmpfs here (needs root)")
            return
        }
        defer { mount.unmount() }
        // The cap is far above the disk: only the disk can fill up.
        let configuration = MessageQueueConfiguration(
            path: mount.path + "/queue.db", maxBytes: 1 << 30, whenFull: policy, pageSize: 4096, diskReserveBytes: 512 << 10
        )
        let queue = try MessageQueue(configuration: configuration, role: .drainer)
        defer { queue.close() }
        /// Writes 150 snapshots of 4 × 8 KB (more than the disk holds); returns how many were stored.
        func fill(from first: Int) throws -> (stored: Int, dropped: Int) {
            var result = (stored: 0, dropped: 0)
            for snapshot in first..<(first + 150) {
                let outcome = try queue.enqueueSnapshot(stream: testStream, nodeID: "n", snapshotTimeMs: Int64(snapshot), format: .json) { _ in
                    (0..<4).map { index in
                        KafkaMessage(value: [UInt8](repeating: UInt8(index), count: 8000), key: [], headers: [], metricCount: 1, batchIndex: index, batchCount: 4)
                    }
                }
                if outcome.recordIDs.isEmpty { result.dropped += 1 } else { result.stored += 1 }
                // Only the disk can refuse: drops are counted as disk_full, never as the cap's.
                #expect(outcome.drops.keys.allSatisfy { $0 == .diskFull })
            }
            return result
        }
        func checkPolicy(lastSnapshot: Int) throws {
            let times = try queue.pendingRecords(stream: testStream, afterID: 0, limit: .max, maxBytes: .max).map(\.id)
            #expect(!times.isEmpty)
            let newest = try SQLiteShell.run(configuration.path, "SELECT max(snapshot_time_ms) FROM messages")
            if policy == .dropOldest {
                #expect(newest == ["\(lastSnapshot)"], "drop_oldest keeps the newest snapshot")
            } else {
                #expect(newest != ["\(lastSnapshot)"], "drop_newest keeps the oldest snapshots")
            }
        }

        let first = try fill(from: 0)
        var statistics = try queue.statistics()
        // 150 snapshots of 32 KB cannot fit in 3 MiB: the disk filled, nothing threw, and every
        // message is either stored or counted.
        #expect(first.stored > 0)
        #expect(statistics.drops[.diskFull, default: 0] > 0)
        #expect(statistics.drops[.diskFull, default: 0] + statistics.rows == 150 * 4)
        if policy == .dropOldest { #expect(first.dropped == 0, "the oldest rows made room for every snapshot") }
        try checkPolicy(lastSnapshot: 149)

        // Delivering frees the disk: the reserve is taken again, and new snapshots are stored.
        let pending = try queue.pendingRecords(stream: testStream, afterID: 0, limit: .max, maxBytes: .max).map(\.id)
        try queue.acknowledge(pending, stream: testStream)
        try queue.checkpoint()
        try queue.reclaimSpace(keepFreeBytes: 0)
        #expect(FileManager.default.fileExists(atPath: configuration.path + "-reserve"))
        let after = try queue.enqueueSnapshot(stream: testStream, nodeID: "n", snapshotTimeMs: 1000, format: .json) { _ in
            [KafkaMessage(value: [UInt8](repeating: 7, count: 8000), key: [], headers: [], metricCount: 1, batchIndex: 0, batchCount: 1)]
        }
        #expect(after.recordIDs.count == 1)

        // And the disk fills a second time the same way.
        let second = try fill(from: 2000)
        statistics = try queue.statistics()
        #expect(second.stored > 0)
        #expect(statistics.drops[.diskFull, default: 0] + statistics.rows + statistics.deliveredRows == 2 * 150 * 4 + 1)
        if policy == .dropOldest { #expect(second.dropped == 0) }
        try checkPolicy(lastSnapshot: 2149)
    }
}

/// A tmpfs of a few MiB mounted on a fresh directory.
private struct SmallFileSystem {
    let path: String

    init?(bytes: Int) {
        path = NSTemporaryDirectory() + "statsink-full-\(UUID().uuidString)"
        guard getuid() == 0, (try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)) != nil,
              mount("tmpfs", path, "tmpfs", 0, "size=\(bytes)") == 0
        else {
            try? FileManager.default.removeItem(atPath: path)
            return nil
        }
    }

    func unmount() {
        umount(path)
        try? FileManager.default.removeItem(atPath: path)
    }
}
