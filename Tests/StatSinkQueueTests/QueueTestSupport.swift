import Foundation
import StatSinkCodec
import StatSinkModel
import StatSinkQueue
import StatSinkTestKit

let testStream = QueueStream(topic: "metrics", brokerList: "127.0.0.1:9092")

/// Enqueues a generated snapshot of `metrics` metrics split by `batchSize`.
@discardableResult
func enqueueGenerated(
    _ queue: MessageQueue, metrics: Int = 20, batchSize: UInt32 = 5, seed: UInt64 = 1,
    stream: QueueStream = testStream, counters: [(name: String, value: UInt64)] = []
) throws -> (outcome: EnqueueOutcome, messages: [KafkaMessage]) {
    var generator = EnvoySnapshotGenerator(seed: seed)
    let snapshot = generator.snapshot(metricCount: metrics)
    let encoder = SnapshotEncoder(options: EncodingOptions(format: .json, batchSize: batchSize))
    var produced: [KafkaMessage] = []
    let outcome = try queue.enqueueSnapshot(
        stream: stream, nodeID: snapshot.node.id, snapshotTimeMs: snapshot.timestampMs, format: .json, counterValues: counters
    ) { sequence in
        produced = encoder.encode(snapshot, sequence: sequence)
        return produced
    }
    return (outcome, produced)
}

/// Runs the sqlite3 shell on `path` (read-only) and returns its output lines.
func sqlite3(_ path: String, _ sql: String) throws -> [String] {
    try SQLiteShell.run(path, sql)
}

/// The streams whose running totals (`queued_rows`, `queued_bytes`, `dead_letter_rows`) differ
/// from a count of the rows themselves: none, if every insert and delete kept them.
func streamsWithWrongTotals(_ path: String) throws -> [String] {
    try sqlite3(path, """
        SELECT stream FROM streams s
        WHERE queued_rows != (SELECT count(*) FROM messages m WHERE m.stream = s.stream)
           OR queued_bytes != (SELECT coalesce(sum(length(payload)), 0) FROM messages m WHERE m.stream = s.stream)
           OR dead_letter_rows != (SELECT count(*) FROM dead_letters d WHERE d.stream = s.stream)
        """)
}
