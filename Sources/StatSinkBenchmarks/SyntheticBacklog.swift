import Foundation
import StatSinkCodec
import StatSinkModel
import StatSinkQueue
import StatSinkSynthetic

/// A backlog of synthetic 10k-metric snapshots (``EnqueueBenchmark/metricMix``, the
/// ``SinkWriter``'s encoding) written into a queue, as an outage would leave it.
struct SyntheticBacklog {
    /// What a fill wrote.
    struct Filled {
        var rows = 0
        var payloadBytes: Int64 = 0
        /// The last record id written.
        var lastID: Int64 = 0
    }

    /// What went wrong.
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// The node every synthetic snapshot comes from.
    static let node = NodeIdentity(id: "edge-17", cluster: "edge")

    /// The first snapshot's timestamp; each next one is 10 s later.
    static let firstTimestampMs: Int64 = 1_764_000_000_000

    /// A source of the benchmark's metric mix.
    static func source() -> SyntheticSource {
        let mix = EnqueueBenchmark.metricMix
        return SyntheticSource(counters: mix.counters, gauges: mix.gauges, histograms: mix.histograms, node: node)
    }

    /// Writes snapshots of `source` into `queue` until it holds `bytes` of payload; throws if the
    /// queue dropped anything (the cap must leave room for the whole backlog).
    static func fill(
        _ queue: MessageQueue, stream: QueueStream, options: EncodingOptions, source: inout SyntheticSource, bytes: Int64
    ) throws -> Filled {
        let encoder = SnapshotEncoder(options: options)
        var filled = Filled()
        var timestampMs = firstTimestampMs
        // Counted as the encoder returns them: the payload bytes are known there.
        while filled.payloadBytes < bytes {
            timestampMs += 10_000
            let snapshot = source.nextSnapshot(timestampMs: timestampMs)
            let outcome = try queue.enqueueSnapshot(stream: stream, nodeID: snapshot.node.id, snapshotTimeMs: timestampMs, format: options.format) { sequence in
                let messages = encoder.encode(snapshot, sequence: sequence)
                filled.payloadBytes += messages.reduce(0) { $0 + Int64($1.value.count) }
                return messages
            }
            guard outcome.drops.isEmpty else {
                throw Failure(description: "the backlog fill dropped rows: \(outcome.drops)")
            }
            filled.rows += outcome.recordIDs.count
            filled.lastID = outcome.recordIDs.last ?? filled.lastID
        }
        return filled
    }

    /// The payload bytes of one snapshot of ``source()`` encoded with `options`.
    static func snapshotPayloadBytes(options: EncodingOptions) -> Int64 {
        var source = source()
        let messages = SnapshotEncoder(options: options).encode(source.nextSnapshot(timestampMs: firstTimestampMs), sequence: 1)
        return messages.reduce(0) { $0 + Int64($1.value.count) }
    }

    /// The size of a database file and of its WAL (0 when missing).
    static func fileBytes(_ path: String) -> (main: Int64, wal: Int64) {
        func size(_ path: String) -> Int64 {
            ((try? FileManager.default.attributesOfItem(atPath: path)[.size]) as? NSNumber)?.int64Value ?? 0
        }
        return (size(path), size(path + "-wal"))
    }
}
