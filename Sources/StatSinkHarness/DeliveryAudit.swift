import Foundation
import StatSinkKafka

/// What a topic holds compared with what the queue committed: lost, corrupt and duplicated
/// messages, identified by the key and the `statsink.*` headers (wire-format.md section 5).
struct DeliveryAudit {
    /// Distinct `(snapshot_seq, batch_index)` delivered.
    var uniqueMessages = 0
    /// Messages of committed snapshots that never arrived.
    var lostMessages = 0
    /// Messages without our headers, or whose value is not a JSON metrics object of the right size.
    var corruptMessages = 0
    /// Copies beyond the first.
    var duplicateMessages = 0
    /// The most duplicates attributed to one kill.
    var maxDuplicatesPerCrash = 0
    /// Human-readable findings, first ones first.
    var problems: [String] = []

    /// A message of a snapshot: `(statsink.snapshot_seq, statsink.batch_index)`.
    struct Identity: Hashable {
        var sequence: Int
        var batchIndex: Int
    }

    /// Audits `messages` for snapshots `1...committedSnapshots` of one node, except the messages
    /// in `deadLettered` (refused for good on purpose, they must not arrive); duplicates are
    /// attributed to the first fault (kill, outage) at or after their snapshot time.
    init(messages: [ConsumedMessage], committedSnapshots: Int, killTimesMs: [Int64], deadLettered: [Identity: Int] = [:]) {
        var copies: [Identity: Int] = [:]
        var batchCounts: [Int: Int] = [:]
        var snapshotTimes: [Int: Int64] = [:]
        for message in messages {
            let headers = Dictionary(message.headers.map { ($0.name, $0.value) }, uniquingKeysWith: { first, _ in first })
            guard let sequence = headers["statsink.snapshot_seq"].flatMap(Int.init),
                  let index = headers["statsink.batch_index"].flatMap(Int.init),
                  let count = headers["statsink.batch_count"].flatMap(Int.init),
                  let time = headers["statsink.snapshot_time_ms"].flatMap(Int64.init),
                  headers["statsink.node_id"] == "harness-node", message.key == Array("harness-node".utf8),
                  index >= 0, index < count
            else {
                corruptMessages += 1
                problems.append("message at offset \(message.offset) lacks valid key/headers")
                continue
            }
            guard Self.isMetricsObject(message.value) else {
                corruptMessages += 1
                problems.append("snapshot \(sequence) batch \(index): the value is not a valid metrics message")
                continue
            }
            if let known = batchCounts[sequence], known != count {
                corruptMessages += 1
                problems.append("snapshot \(sequence): batch counts \(known) and \(count) disagree")
            }
            batchCounts[sequence] = count
            snapshotTimes[sequence] = time
            copies[Identity(sequence: sequence, batchIndex: index), default: 0] += 1
        }
        uniqueMessages = copies.count
        for sequence in 1...max(committedSnapshots, 1) where committedSnapshots > 0 {
            guard let count = batchCounts[sequence] ?? deadLettered.first(where: { $0.key.sequence == sequence })?.value else {
                lostMessages += 1  // at least one: the whole snapshot is missing
                problems.append("snapshot \(sequence) was committed and never arrived")
                continue
            }
            for index in 0..<count where copies[Identity(sequence: sequence, batchIndex: index)] == nil
                && deadLettered[Identity(sequence: sequence, batchIndex: index)] == nil {
                lostMessages += 1
                problems.append("snapshot \(sequence) batch \(index) of \(count) never arrived")
            }
        }
        for identity in deadLettered.keys where copies[identity] != nil {
            problems.append("snapshot \(identity.sequence) batch \(identity.batchIndex) was dead-lettered and yet delivered")
        }
        if let beyond = batchCounts.keys.filter({ $0 > committedSnapshots }).min() {
            problems.append("snapshot \(beyond) arrived but the queue never committed it")
        }
        var perCrash: [Int: Int] = [:]
        for (identity, count) in copies where count > 1 {
            duplicateMessages += count - 1
            let time = snapshotTimes[identity.sequence] ?? 0
            let crash = killTimesMs.firstIndex { $0 >= time } ?? killTimesMs.count
            perCrash[crash, default: 0] += count - 1
        }
        maxDuplicatesPerCrash = perCrash.values.max() ?? 0
    }

    /// A JSON object `{"metrics":[…]}` with at least one metric.
    static func isMetricsObject(_ value: [UInt8]) -> Bool {
        guard let object = try? JSONSerialization.jsonObject(with: Data(value)) as? [String: Any],
              let metrics = object["metrics"] as? [Any]
        else { return false }
        return !metrics.isEmpty && metrics.allSatisfy { ($0 as? [String: Any])?["name"] is String }
    }
}
