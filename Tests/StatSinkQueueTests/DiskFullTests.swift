import Foundation
import StatSinkCodec
import StatSinkQueue
import Testing

/// A real full file system: a small tmpfs mounted for the test (root only; skipped otherwise).
/// What holds today (README "Durability contract"): the writer never throws on a full disk, and
/// every snapshot it could not store is reported dropped as `disk_full`.
@Suite("Queue on a full file system", .serialized)
struct DiskFullTests {
    @Test(arguments: [MessageQueueConfiguration.WhenFull.dropOldest, .dropNewest])
    func aFullDiskNeverMakesTheWriterThrow(policy: MessageQueueConfiguration.WhenFull) throws {
        guard let mount = SmallFileSystem(bytes: 3 << 20) else {
            print("DiskFullTests: skipped, cannot mount a tmpfs here (needs root)")
            return
        }
        defer { mount.unmount() }
        // The cap is far above the disk: only the disk can fill up.
        let configuration = MessageQueueConfiguration(path: mount.path + "/queue.db", maxBytes: 1 << 30, whenFull: policy, pageSize: 4096)
        let queue = try MessageQueue(configuration: configuration, role: .writer)
        defer { queue.close() }
        var stored = 0
        var droppedForTheDisk = 0
        // 150 snapshots of 32 KB cannot fit in 3 MiB.
        for snapshot in 0..<150 {
            let outcome = try queue.enqueueSnapshot(stream: testStream, nodeID: "n", snapshotTimeMs: Int64(snapshot), format: .json) { _ in
                (0..<4).map { index in
                    KafkaMessage(value: [UInt8](repeating: UInt8(index), count: 8000), key: [], headers: [], metricCount: 1, batchIndex: index, batchCount: 4)
                }
            }
            if outcome.recordIDs.isEmpty {
                #expect(outcome.drops == [.diskFull: 4])
                droppedForTheDisk += 1
            } else {
                #expect(outcome.recordIDs.count == 4)
                stored += 1
            }
        }
        #expect(stored > 0)
        #expect(droppedForTheDisk > 0)
        #expect(stored + droppedForTheDisk == 150)
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
