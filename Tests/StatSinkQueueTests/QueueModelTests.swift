import CSQLite
import Foundation
import StatSinkCodec
@testable import StatSinkQueue
import StatSinkSynthetic
import StatSinkTestKit
import Testing

/// Model-based test of the queue: random sequences of operations run against the real queue
/// (a SQLite file) and against ``QueueModel``, a plain in-memory reference; after every step
/// both must agree on what is stored (ids, attempts, bytes), in flight, dead-lettered, dropped
/// and delivered.
///
/// The sequences are seeded: a failure prints the seed and the steps that led to it, and
/// `STATSINK_MODEL_SEED=N` replays one sequence. `STATSINK_MODEL_RUNS=N` runs more than CI's.
@Suite("Queue against a reference model")
struct QueueModelTests {
    static let streams = [
        QueueStream(topic: "metrics", brokerList: "a:9092"),
        QueueStream(topic: "metrics-eu", brokerList: "b:9092"),
    ]

    @Test func randomSequencesAgreeWithTheModel() throws {
        let environment = ProcessInfo.processInfo.environment
        let seeds: [UInt64]
        if let seed = environment["STATSINK_MODEL_SEED"].flatMap(UInt64.init) {
            seeds = [seed]
        } else {
            let runs = environment["STATSINK_MODEL_RUNS"].flatMap(Int.init) ?? 200
            seeds = (0..<UInt64(runs)).map { $0 &* 0x9E37_79B9 &+ 17 }
        }
        for seed in seeds {
            // In memory-backed /tmp-like storage when there is one: the model checks logic, not
            // the disk, and fsyncs would only slow it down.
            let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
            let path = "\(base)/statsink-model-\(getpid())-\(seed).db"
            defer { MessageQueue.removeFiles(atPath: path) }
            var run = ModelRun(seed: seed, path: path)
            do {
                try run.execute(steps: 40)
            } catch {
                Issue.record("seed \(seed): \(error)\nsteps:\n\(run.log.joined(separator: "\n"))")
                return
            }
        }
    }
}

/// One random sequence: the real queue, the model, the generator and the steps taken so far.
private struct ModelRun {
    var random: SplitMix64
    let path: String
    var configuration: MessageQueueConfiguration
    var queue: MessageQueue
    var model = QueueModel()
    var log: [String] = []
    /// A reader of the file, as the sqlite3 shell would be, for what the queue has no API for.
    let reader: SQLiteConnection

    init(seed: UInt64, path: String) {
        random = SplitMix64(seed: seed)
        self.path = path
        // Small pages and a small cap, so that a sequence reaches the cap often.
        let policy: MessageQueueConfiguration.WhenFull = seed % 2 == 0 ? .dropOldest : .dropNewest
        configuration = MessageQueueConfiguration(path: path, maxBytes: 320 << 10, whenFull: policy, pageSize: 4096)
        queue = try! MessageQueue(configuration: configuration, role: .drainer)
        reader = try! SQLiteConnection(path: path, flags: SQLITE_OPEN_READONLY)
    }

    mutating func execute(steps: Int) throws {
        defer {
            queue.close()
            reader.close()
        }
        for _ in 0..<steps {
            let stream = QueueModelTests.streams[Int(random.next() % 2)]
            switch random.next() % 100 {
            case 0..<35: try enqueue(stream)
            case 35..<55: try claim(stream)
            case 55..<72: try acknowledge()
            case 72..<78: try failPermanently()
            case 78..<88: try failRetriably(stream)
            case 88..<94: rewind(stream)
            default: try reopen()
            }
            try compare()
        }
    }

    // MARK: Operations

    mutating func enqueue(_ stream: QueueStream) throws {
        let count = Int(random.next() % 5) + 1
        let messages = (0..<count).map { index in
            let size = Int(random.next() % 12_000) + 1
            let fill = UInt8(truncatingIfNeeded: random.next())
            return KafkaMessage(
                value: [UInt8](repeating: fill, count: size), key: Array("node-1".utf8),
                headers: [KafkaHeader(name: "statsink.batch_index", value: "\(index)")],
                metricCount: index + 1, batchIndex: index, batchCount: count
            )
        }
        let outcome = try queue.enqueueSnapshot(stream: stream, nodeID: "node-1", snapshotTimeMs: 1000, format: .json) { _ in messages }
        log.append("enqueue \(stream.name) \(messages.map(\.value.count)) -> ids \(outcome.recordIDs) drops \(outcome.drops)")
        try model.apply(enqueue: messages, stream: stream, outcome: outcome, policy: configuration.whenFull)
    }

    mutating func claim(_ stream: QueueStream) throws {
        let limit = Int(random.next() % 6) + 1
        var claimed: [(id: Int64, attempts: Int, value: [UInt8])] = []
        try queue.forEachPendingRecord(stream: stream, afterID: model.cursor[stream.name, default: 0], limit: limit, maxBytes: .max) { row in
            claimed.append((row.id, row.attempts, try row.value()))
            return true
        }
        log.append("claim \(stream.name) limit \(limit) -> \(claimed.map(\.id))")
        let expected = model.claim(stream: stream, limit: limit)
        try check(claimed.map(\.id) == expected.map(\.id), "claimed \(claimed.map(\.id)), model expected \(expected.map(\.id))")
        for (real, reference) in zip(claimed, expected) {
            try check(real.attempts == reference.attempts && sameBytes(real.value, reference.value), "row \(real.id) read back differently")
        }
    }

    mutating func acknowledge() throws {
        let ids = pickInFlight()
        guard !ids.isEmpty else { return }
        // Acknowledged per stream, as each stream's drainer does.
        for stream in QueueModelTests.streams {
            let own = ids.filter { model.inFlight[$0] == stream.name }
            guard !own.isEmpty else { continue }
            try queue.acknowledge(own, stream: stream)
            log.append("acknowledge \(stream.name) \(own)")
            model.acknowledge(own)
        }
    }

    mutating func failPermanently() throws {
        guard let id = pickInFlight().first, let streamName = model.inFlight[id] else { return }
        let stream = QueueModelTests.streams.first { $0.name == streamName }!
        // At the cap the move may first drop the oldest rows, or drop the row itself: what the
        // queue counted tells the model which happened.
        let before = try queue.statistics().drops
        try queue.deadLetter(id, errorName: "MSG_SIZE_TOO_LARGE", error: "too large", stream: stream)
        let after = try queue.statistics().drops
        let droppedOldest = after[.capDropOldest, default: 0] - before[.capDropOldest, default: 0]
        let droppedItself = after[.deadLetterNoRoom, default: 0] - before[.deadLetterNoRoom, default: 0]
        log.append("dead-letter \(id) (dropped first: \(droppedOldest) oldest, itself: \(droppedItself))")
        try check(droppedOldest == 0 || configuration.whenFull == .dropOldest, "drop_oldest under drop_newest")
        try model.deadLetter(id, droppingOldestFirst: droppedOldest, droppingItself: droppedItself == 1)
    }

    mutating func failRetriably(_ stream: QueueStream) throws {
        let ids = pickInFlight().filter { model.inFlight[$0] == stream.name }
        guard !ids.isEmpty else { return }
        try queue.recordFailedAttempt(ids, error: "_TRANSPORT: broker down", stream: stream)
        log.append("retriable failure \(stream.name) \(ids)")
        model.failRetriably(ids, stream: stream)
    }

    mutating func rewind(_ stream: QueueStream) {
        log.append("rewind \(stream.name)")
        model.rewind(stream: stream)
    }

    /// A crash and restart: the file is all that survives.
    mutating func reopen() throws {
        queue.close()
        queue = try MessageQueue(configuration: configuration, role: .drainer)
        log.append("reopen")
        model.reopen()
    }

    /// A random subset of the rows in flight, ascending.
    mutating func pickInFlight() -> [Int64] {
        model.inFlight.keys.sorted().filter { _ in random.next() % 2 == 0 }
    }

    // MARK: Agreement

    func compare() throws {
        for stream in QueueModelTests.streams {
            let stored = try queue.pendingRecords(stream: stream, afterID: 0, limit: .max, maxBytes: .max)
            let expected = model.rows.values.filter { $0.stream == stream.name }.sorted { $0.id < $1.id }
            try check(stored.map(\.id) == expected.map(\.id), "\(stream.name) stores \(stored.map(\.id)), model \(expected.map(\.id))")
            for (real, reference) in zip(stored, expected) {
                try check(real.attempts == reference.attempts, "row \(real.id): attempts \(real.attempts), model \(reference.attempts)")
                try check(sameBytes(real.value, reference.value), "row \(real.id): value differs")
            }
        }
        let statistics = try queue.statistics()
        try check(statistics.rows == model.rows.count, "rows \(statistics.rows), model \(model.rows.count)")
        try check(statistics.payloadBytes == model.rows.values.reduce(0) { $0 + Int64($1.value.count) }, "payload bytes differ")
        try check(statistics.deliveredRows == model.delivered, "delivered \(statistics.deliveredRows), model \(model.delivered)")
        try check(statistics.drops.filter { $0.value > 0 } == model.drops.filter { $0.value > 0 }, "drops \(statistics.drops), model \(model.drops)")
        let deadLetters = try deadLetterIDs()
        try check(deadLetters == model.deadLetters.sorted(), "dead letters \(deadLetters), model \(model.deadLetters.sorted())")
    }

    func deadLetterIDs() throws -> [Int64] {
        let statement = try reader.statement("SELECT id FROM dead_letters ORDER BY id")
        defer { statement.reset() }
        var ids: [Int64] = []
        while try statement.step() { ids.append(statement.int64(0)) }
        return ids
    }

    func check(_ condition: Bool, _ message: @autoclosure () -> String) throws {
        guard condition else { throw Disagreement(description: message()) }
    }
}

/// Byte equality by `memcmp` (element-wise `==` dominates a debug build's run time here).
private func sameBytes(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    a.count == b.count && a.withUnsafeBytes { a in b.withUnsafeBytes { b in a.count == 0 || memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0 } }
}

private struct Disagreement: Error, CustomStringConvertible {
    var description: String
}

/// The reference: what the queue should hold, kept in plain collections.
private struct QueueModel {
    struct Row {
        var id: Int64
        var stream: String
        var value: [UInt8]
        var attempts = 0
    }

    /// Stored rows by id.
    var rows: [Int64: Row] = [:]
    /// Rows handed to a producer and not yet reported, with their stream. A row may leave
    /// `rows` while in flight (dropped at the cap); its later report then finds nothing.
    var inFlight: [Int64: String] = [:]
    /// Each stream's keyset cursor: the last id claimed since the last rewind.
    var cursor: [String: Int64] = [:]
    var deadLetters: Set<Int64> = []
    var drops: [DropReason: Int] = [:]
    var delivered = 0
    /// The largest id ever assigned: new ids must be above it, even after deletes and reopens.
    var highestID: Int64 = 0
    var sequences: [String: UInt64] = [:]

    mutating func apply(enqueue messages: [KafkaMessage], stream: QueueStream, outcome: EnqueueOutcome, policy: MessageQueueConfiguration.WhenFull) throws {
        let expectedSequence = sequences[stream.name, default: 0] + 1
        sequences[stream.name] = expectedSequence
        guard outcome.sequence == expectedSequence else {
            throw Disagreement(description: "sequence \(outcome.sequence), model \(expectedSequence)")
        }
        for (reason, count) in outcome.drops {
            switch reason {
            case .capDropOldest:
                // The oldest rows of any stream go first, whether in flight or not.
                guard policy == .dropOldest else { throw Disagreement(description: "drop_oldest under drop_newest") }
                let victims = rows.keys.sorted().prefix(count)
                guard victims.count == count else { throw Disagreement(description: "dropped \(count) oldest rows of \(rows.count)") }
                for id in victims { rows[id] = nil }
            case .capDropNewest, .snapshotTooLarge, .diskFull, .deadLetterNoRoom:
                guard count == messages.count, outcome.recordIDs.isEmpty else {
                    throw Disagreement(description: "\(reason) dropped \(count) of \(messages.count) and stored \(outcome.recordIDs)")
                }
                if reason == .capDropNewest, policy != .dropNewest { throw Disagreement(description: "drop_newest under drop_oldest") }
            case .purge:
                throw Disagreement(description: "a purge during an enqueue")
            }
            drops[reason, default: 0] += count
        }
        if outcome.recordIDs.isEmpty {
            guard !outcome.drops.isEmpty else { throw Disagreement(description: "nothing stored and nothing dropped") }
            return
        }
        guard outcome.recordIDs.count == messages.count else {
            throw Disagreement(description: "stored \(outcome.recordIDs.count) of \(messages.count) messages")
        }
        for (id, message) in zip(outcome.recordIDs, messages) {
            guard id > highestID else { throw Disagreement(description: "id \(id) not above every earlier id (\(highestID))") }
            highestID = id
            rows[id] = Row(id: id, stream: stream.name, value: message.value)
        }
    }

    mutating func claim(stream: QueueStream, limit: Int) -> [Row] {
        let after = cursor[stream.name, default: 0]
        let claimed = Array(rows.values.filter { $0.stream == stream.name && $0.id > after }.sorted { $0.id < $1.id }.prefix(limit))
        for row in claimed { inFlight[row.id] = stream.name }
        if let last = claimed.last { cursor[stream.name] = last.id }
        return claimed
    }

    mutating func acknowledge(_ ids: [Int64]) {
        for id in ids {
            inFlight[id] = nil
            if rows.removeValue(forKey: id) != nil { delivered += 1 }
        }
    }

    mutating func deadLetter(_ id: Int64, droppingOldestFirst dropped: Int, droppingItself: Bool) throws {
        inFlight[id] = nil
        if dropped > 0 {
            let victims = rows.keys.sorted().prefix(dropped)
            guard victims.count == dropped else { throw Disagreement(description: "dropped \(dropped) oldest rows of \(rows.count)") }
            for victim in victims { rows[victim] = nil }
            drops[.capDropOldest, default: 0] += dropped
        }
        guard rows.removeValue(forKey: id) != nil else {
            if droppingItself { throw Disagreement(description: "row \(id) counted as dropped but was not stored") }
            return
        }
        if droppingItself {
            drops[.deadLetterNoRoom, default: 0] += 1
        } else {
            deadLetters.insert(id)
        }
    }

    mutating func failRetriably(_ ids: [Int64], stream: QueueStream) {
        for id in ids {
            inFlight[id] = nil
            rows[id]?.attempts += 1
        }
        // The drainer starts again from the oldest row after a retriable failure.
        rewind(stream: stream)
    }

    mutating func rewind(stream: QueueStream) {
        cursor[stream.name] = 0
        inFlight = inFlight.filter { $0.value != stream.name }
    }

    mutating func reopen() {
        inFlight.removeAll()
        cursor.removeAll()
    }
}
