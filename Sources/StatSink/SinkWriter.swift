import StatSinkCodec
import StatSinkConfig
import StatSinkModel
import StatSinkQueue
import Synchronization

/// The writer side of one Kafka sink: snapshot → counter deltas → messages → one queue
/// transaction.
///
/// In delta mode (`report_counters_as_deltas`) the delta of each counter is computed here, from
/// the last cumulative value stored in the queue, not taken from the source: a restart of this
/// process (or of the source) then neither repeats nor loses an increase. A value smaller than
/// the stored one is a counter reset, and its delta is the whole new value. The values used are
/// stored in the same transaction as the messages that carry the deltas.
public final class SinkWriter: Sendable {
    /// The queue stream of this sink.
    public let stream: QueueStream
    private let encoder: SnapshotEncoder
    private let queue: MessageQueue
    /// The last cumulative value per counter full name (delta mode only). Mirrors the queue's
    /// `counter_state` after each successful enqueue.
    private let counterValues: Mutex<[String: UInt64]>
    /// Enqueues and their commit latency, for the admin server.
    public let statistics = WriterStatistics()
    /// When set, the sink's own figures go into every snapshot (``attach(_:)``).
    private let selfStats = Mutex<SelfStats?>(nil)

    /// Creates the writer of `sink` over `queue`, loading the stored counter values.
    public init(sink: KafkaSinkConfiguration, queue: MessageQueue) throws(QueueError) {
        stream = QueueStream(topic: sink.topic, brokerList: sink.brokerList)
        encoder = SnapshotEncoder(options: sink.encodingOptions)
        self.queue = queue
        counterValues = Mutex(sink.reportCountersAsDeltas ? try queue.counterValues(stream: stream) : [:])
    }

    /// Encodes and enqueues `snapshot`; returns once the queue has committed it (or counted it as
    /// dropped under the byte cap).
    @discardableResult
    public func write(_ snapshot: MetricSnapshot) throws(QueueError) -> EnqueueOutcome {
        var snapshot = snapshot
        if let selfStats = selfStats.withLock({ $0 }) { selfStats.append(to: &snapshot, stream: stream) }
        var updates: [(name: String, value: UInt64)] = []
        if encoder.options.reportCountersAsDeltas {
            let previous = counterValues.withLock { $0 }
            updates.reserveCapacity(snapshot.counters.count)
            for index in snapshot.counters.indices {
                let counter = snapshot.counters[index]
                if let last = previous[counter.name.fullName] {
                    snapshot.counters[index].delta = counter.value >= last ? counter.value - last : counter.value
                }
                if previous[counter.name.fullName] != counter.value {
                    updates.append((counter.name.fullName, counter.value))
                }
            }
        }
        let started = ContinuousClock.now
        let outcome: EnqueueOutcome
        do {
            outcome = try queue.enqueueSnapshot(
                stream: stream,
                nodeID: snapshot.node.id,
                snapshotTimeMs: snapshot.timestampMs,
                format: encoder.options.format,
                counterValues: updates
            ) { sequence in
                encoder.encode(snapshot, sequence: sequence)
            }
        } catch {
            statistics.recordFailure()
            throw error
        }
        statistics.recordCommit(rows: outcome.recordIDs.count, latency: ContinuousClock.now - started)
        if !updates.isEmpty {
            counterValues.withLock { values in
                for (name, value) in updates { values[name] = value }
            }
        }
        return outcome
    }

    /// Adds the sink's own figures (``SelfStats``, `statsink.*`) to every snapshot written from now on.
    public func attach(_ selfStats: SelfStats) {
        self.selfStats.withLock { $0 = selfStats }
    }
}
