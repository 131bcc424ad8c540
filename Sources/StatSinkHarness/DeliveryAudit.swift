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

    /// Audits what `ledger` saw for snapshots `1...committedSnapshots` of one node, except the
    /// messages in `deadLettered` (refused for good on purpose, they must not arrive); duplicates
    /// are attributed to the first fault (kill, outage) at or after their snapshot time.
    init(ledger: DeliveryLedger, committedSnapshots: Int, killTimesMs: [Int64], deadLettered: [Identity: Int] = [:]) {
        let copies = ledger.copies
        let batchCounts = ledger.batchCounts
        let snapshotTimes = ledger.snapshotTimes
        corruptMessages = ledger.corruptMessages
        problems = ledger.problems
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
}

/// What arrived on the topic, recorded message by message as a follower reads it (the values
/// are checked and dropped, so memory stays small over hours of traffic).
struct DeliveryLedger: Sendable {
    /// Copies seen of each message.
    private(set) var copies: [DeliveryAudit.Identity: Int] = [:]
    /// `statsink.batch_count` of each snapshot seen.
    private(set) var batchCounts: [Int: Int] = [:]
    /// `statsink.snapshot_time_ms` of each snapshot seen.
    private(set) var snapshotTimes: [Int: Int64] = [:]
    /// Messages without our headers, or whose value is not a JSON metrics object.
    private(set) var corruptMessages = 0
    /// Findings so far (at most 100).
    private(set) var problems: [String] = []

    /// Records one message read from the topic.
    mutating func record(_ message: ConsumedMessage) {
        let headers = Dictionary(message.headers.map { ($0.name, $0.value) }, uniquingKeysWith: { first, _ in first })
        guard let sequence = headers["statsink.snapshot_seq"].flatMap(Int.init),
              let index = headers["statsink.batch_index"].flatMap(Int.init),
              let count = headers["statsink.batch_count"].flatMap(Int.init),
              let time = headers["statsink.snapshot_time_ms"].flatMap(Int64.init),
              headers["statsink.node_id"] == "harness-node", message.key == Array("harness-node".utf8),
              index >= 0, index < count
        else {
            corrupt("message at offset \(message.offset) lacks valid key/headers")
            return
        }
        guard Self.isMetricsObject(message.value) else {
            corrupt("snapshot \(sequence) batch \(index): the value is not a valid metrics message")
            return
        }
        if let known = batchCounts[sequence], known != count {
            corrupt("snapshot \(sequence): batch counts \(known) and \(count) disagree")
        }
        batchCounts[sequence] = count
        snapshotTimes[sequence] = time
        copies[DeliveryAudit.Identity(sequence: sequence, batchIndex: index), default: 0] += 1
    }

    private mutating func corrupt(_ problem: String) {
        corruptMessages += 1
        if problems.count < 100 { problems.append(problem) }
    }

    /// A JSON object `{"metrics":[…]}` with at least one metric.
    static func isMetricsObject(_ value: [UInt8]) -> Bool {
        guard let object = try? JSONSerialization.jsonObject(with: Data(value)) as? [String: Any],
              let metrics = object["metrics"] as? [Any]
        else { return false }
        return !metrics.isEmpty && metrics.allSatisfy { ($0 as? [String: Any])?["name"] is String }
    }
}
