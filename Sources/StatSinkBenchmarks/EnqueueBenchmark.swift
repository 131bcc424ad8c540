import Foundation
import StatSink
import StatSinkCodec
import StatSinkConfig
import StatSinkModel
import StatSinkQueue
import StatSinkSynthetic

/// Issue 3 (a): how long a 10k-metric Envoy-like snapshot (JSON, `batch_size` 100) takes to reach
/// the queue, against a raw SQLite insert of the same payload BLOBs.
///
/// Every iteration takes the synthetic source's next snapshot and writes it three ways, each into
/// a file of its own: through ``SinkWriter/write(_:)`` (encode + enqueue, the product path);
/// through ``MessageQueue/enqueueSnapshot(stream:nodeID:snapshotTimeMs:format:counterValues:nowMs:makeMessages:)``
/// with the messages encoded beforehand (the queue alone); and as the baseline, the same payloads
/// into a plain WAL table (``RawSQLiteTable``) with the same `synchronous`. Interleaving keeps the
/// three under the same conditions (page cache, disk, CPU frequency).
struct EnqueueBenchmark {
    /// One durability's figures.
    struct Row {
        var durability: MessageQueueConfiguration.Durability
        var snapshots: Int
        var messagesPerSnapshot: Int
        var payloadBytesPerSnapshot: Int
        /// Milliseconds per snapshot, one sample per snapshot.
        var writer: [Double]
        var enqueue: [Double]
        var raw: [Double]
    }

    /// Measured snapshots per durability (after ``warmUp`` unmeasured ones).
    let snapshots: Int
    let warmUp = 5
    /// Where the files go; removed afterwards.
    let directory: URL

    static let metricMix = (counters: 7_000, gauges: 2_000, histograms: 1_000)

    func run(durability: MessageQueueConfiguration.Durability) throws -> Row {
        let tag = durability.rawValue
        let files = ["writer", "queue", "raw"].map { directory.appendingPathComponent("enqueue-\(tag)-\($0).db").path }
        defer { files.forEach(Self.removeDatabase) }
        // No cap in the way: the measured run must never drop.
        let configuration = { (path: String) in MessageQueueConfiguration(path: path, maxBytes: 64 << 30, durability: durability) }
        let writerQueue = try MessageQueue(configuration: configuration(files[0]), role: .writer)
        defer { writerQueue.close() }
        let queue = try MessageQueue(configuration: configuration(files[1]), role: .writer)
        defer { queue.close() }
        let raw = try RawSQLiteTable(path: files[2], synchronous: durability == .full ? "FULL" : "NORMAL", pageSize: configuration(files[0]).pageSize)

        let sink = KafkaSinkConfiguration(brokerList: "bench:9092", topic: "envoy-metrics", batchSize: 100, format: .json)
        let writer = try SinkWriter(sink: sink, queue: writerQueue)
        let encoder = SnapshotEncoder(options: sink.encodingOptions)
        var source = SyntheticSource(
            counters: Self.metricMix.counters, gauges: Self.metricMix.gauges, histograms: Self.metricMix.histograms,
            node: NodeIdentity(id: "edge-17", cluster: "edge")
        )
        var row = Row(durability: durability, snapshots: snapshots, messagesPerSnapshot: 0, payloadBytesPerSnapshot: 0, writer: [], enqueue: [], raw: [])
        let clock = ContinuousClock()
        for index in 0..<(warmUp + snapshots) {
            let snapshot = source.nextSnapshot(timestampMs: 1_764_000_000_000 + Int64(index) * 10_000)
            let writerTime = try clock.measure { try writer.write(snapshot) }

            // A fresh queue numbers its snapshots 1, 2, …: encode with the sequence it will give.
            let sequence = UInt64(index + 1)
            let messages = encoder.encode(snapshot, sequence: sequence)
            let enqueueTime = try clock.measure {
                _ = try queue.enqueueSnapshot(stream: writer.stream, nodeID: snapshot.node.id, snapshotTimeMs: snapshot.timestampMs, format: .json) { given in
                    precondition(given == sequence, "the queue numbered the snapshot \(given), not \(sequence)")
                    return messages
                }
            }

            let payloads = messages.map(\.value)
            let rawTime = try clock.measure { try raw.insert(payloads) }

            guard index >= warmUp else { continue }
            row.writer.append(writerTime.milliseconds)
            row.enqueue.append(enqueueTime.milliseconds)
            row.raw.append(rawTime.milliseconds)
            row.messagesPerSnapshot = messages.count
            row.payloadBytesPerSnapshot = payloads.reduce(0) { $0 + $1.count }
        }
        return row
    }

    /// A database file with everything beside it (WAL, shared memory, disk reserve, lock).
    static func removeDatabase(_ path: String) {
        MessageQueue.removeFiles(atPath: path)
    }
}

extension Array where Element == Double {
    /// The nearest-rank percentile (`p` in 0...100): with 100 samples p99 is the second largest.
    func percentile(_ p: Double) -> Double {
        let sorted = sorted()
        let rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
        return sorted[Swift.min(Swift.max(rank, 1), sorted.count) - 1]
    }
}
