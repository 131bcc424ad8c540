import Foundation
import StatSinkKafka
import StatSinkQueue
import StatSinkSynthetic
import StatSinkTestKit

/// Kills `statsink run` with SIGKILL at random moments under load, restarts it, and then checks
/// what reached the broker against what the queue committed.
///
/// The queue's `streams.last_snapshot_seq` is the number of snapshots whose commit returned (a
/// sequence number is taken inside the snapshot's own transaction, so a commit cut short by the
/// kill leaves no trace). Every one of them must arrive, whole (every batch index), and parse;
/// copies beyond the first are duplicates, attributed to the first kill after the snapshot was
/// taken, and must stay within the drainer's in-flight window.
struct CrashHarness {
    var runs: Int
    var seed: UInt64
    /// How long each run lives before its SIGKILL, at random in this range.
    var lifetime: ClosedRange<Double>
    var directory: URL
    var verbose: Bool

    /// The drainer's in-flight window in rows (its default): the most a crash may duplicate.
    static let inFlightWindowRows = 1000
    static let topic = "statsink-crash"
    static let batchSize = 50

    func run() async throws -> Bool {
        var random = SplitMix64(seed: seed)
        let broker = try MockBrokerProcess(topics: [(Self.topic, 1)])
        defer { broker.stop() }
        let queuePath = directory.appendingPathComponent("queue.db").path
        let loaded = try SinkUnderTest.writeConfiguration(
            in: directory, name: "load.yaml", broker: broker.bootstrapServers, topic: Self.topic, queuePath: queuePath,
            batchSize: Self.batchSize, synthetic: (counters: 300, gauges: 100, histograms: 50)
        )
        let drainOnly = try SinkUnderTest.writeConfiguration(
            in: directory, name: "drain.yaml", broker: broker.bootstrapServers, topic: Self.topic, queuePath: queuePath,
            batchSize: Self.batchSize, synthetic: nil
        )

        // Read while the runs go on: the broker keeps only the newest messages.
        let follower = try await TopicFollower.start(bootstrapServers: broker.bootstrapServers, topic: Self.topic)
        var killTimesMs: [Int64] = []
        for run in 1...runs {
            let sink = try SinkUnderTest(configuration: loaded, log: directory.appendingPathComponent("run-\(run).log"))
            let life = lifetime.lowerBound + Double(random.next() % 1_000_000) / 1_000_000 * (lifetime.upperBound - lifetime.lowerBound)
            try await Task.sleep(for: .seconds(life))
            sink.kill()
            killTimesMs.append(MessageQueue.currentTimeMs())
            if verbose { print("run \(run): killed after \(String(format: "%.2f", life)) s") }
        }

        // Whatever the kills left behind goes out now, with nothing new coming in.
        let drainer = try SinkUnderTest(configuration: drainOnly, log: directory.appendingPathComponent("drain.log"))
        try await drainer.waitUntilRunning()
        let drainStart = ContinuousClock.now
        let queue = try MessageQueue(configuration: MessageQueueConfiguration(path: queuePath, maxBytes: 4 << 30), role: .writer)
        defer { queue.close() }
        while try queue.statistics().rows > 0 {
            guard ContinuousClock.now - drainStart < .seconds(300) else {
                drainer.kill()
                throw HarnessFailure(description: "the queue did not drain within 300 s; see \(directory.path)/drain.log")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        try drainer.terminate()
        let statistics = try queue.statistics()
        let committed = try SinkUnderTest.lastSnapshotSequence(queuePath: queuePath)

        let followed = try await follower.finish()
        let report = DeliveryAudit(ledger: followed.ledger, committedSnapshots: committed, killTimesMs: killTimesMs)

        let drops = statistics.drops.values.reduce(0, +)
        print("""
            Crash harness: \(runs) runs of `statsink run` killed with SIGKILL after \(lifetime.lowerBound)-\(lifetime.upperBound) s each \
            (seed \(seed)), synthetic source (450 metrics per 100 ms snapshot, batch_size \(Self.batchSize)), broker in another process; \
            then a drain-only run until the queue was empty; the topic read back and checked by key and headers.
            | runs | snapshots committed | messages delivered (unique) | lost | corrupt | duplicates | max duplicates per crash | dead letters | drops |
            |---:|---:|---:|---:|---:|---:|---:|---:|---:|
            | \(runs) | \(committed) | \(report.uniqueMessages) | \(report.lostMessages) | \(report.corruptMessages) | \(report.duplicateMessages) | \(report.maxDuplicatesPerCrash) | \(statistics.deadLetters) | \(drops) |
            """)
        var problems = report.problems
        let missed = followed.offsetsLost
        if missed > 0 {
            problems.insert("the broker let \(missed) messages go before the harness read them: the check is incomplete ", at: 0)
        }
        problems += followed.errors.map { "reading the topic: \($0)" }
        if report.maxDuplicatesPerCrash > Self.inFlightWindowRows {
            problems.append("a crash duplicated \(report.maxDuplicatesPerCrash) messages, more than the in-flight window of \(Self.inFlightWindowRows)")
        }
        if statistics.deadLetters > 0 { problems.append("\(statistics.deadLetters) dead letters (nothing was refused)") }
        if drops > 0 { problems.append("\(drops) rows dropped (the cap is far away)") }
        if committed == 0 { problems.append("no snapshot was committed: the runs were too short to say anything") }
        for problem in problems.prefix(20) { print("FAIL: \(problem)") }
        return problems.isEmpty
    }
}

/// What went wrong running a harness.
struct HarnessFailure: Error, CustomStringConvertible {
    var description: String
}
