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
/// the stored one is a counter reset, and its delta is the whole new value; a counter seen for
/// the first time keeps the delta its source gave. The values used are stored in the same
/// transaction as the messages that carry the deltas.
///
/// A source that reports deltas instead (Envoy's `metrics_service` sink with
/// `report_counters_as_deltas`, see ``CounterInput/deltas``) gets the opposite: a sink that
/// writes cumulative values sums the deltas onto the stored value.
///
/// Stored values are keyed by node id and counter full name (``counterStateKey(node:counter:)``),
/// so the counters of several nodes writing to one stream stay apart.
public final class SinkWriter: Sendable {
    /// What a snapshot's counter samples carry.
    public enum CounterInput: Sendable, Hashable {
        /// ``CounterSample/value`` is cumulative (Envoy's default); the delta is computed here
        /// when the sink writes deltas.
        case cumulative
        /// ``CounterSample/delta`` is the increase since the source's previous report; the
        /// cumulative value is summed here when the sink writes cumulative values.
        case deltas
    }

    /// The queue stream of this sink.
    public let stream: QueueStream
    private let encoder: SnapshotEncoder
    private let queue: MessageQueue
    /// The last cumulative value per ``counterStateKey(node:counter:)``. Mirrors the queue's
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
        counterValues = Mutex(try queue.counterValues(stream: stream))
    }

    /// The key of a counter's stored value: the node id, U+001F (a control character no node id
    /// or stat name contains), then the counter's full name.
    public static func counterStateKey(node: NodeIdentity, counter: MetricName) -> String {
        node.id + "\u{1F}" + counter.fullName
    }

    /// Encodes and enqueues `snapshot`, whose counters carry `counters`; returns once the queue has
    /// committed it (or counted it as dropped under the byte cap).
    @discardableResult
    public func write(_ snapshot: MetricSnapshot, counters: CounterInput = .cumulative) throws(QueueError) -> EnqueueOutcome {
        var snapshot = snapshot
        if let selfStats = selfStats.withLock({ $0 }) { selfStats.append(to: &snapshot, stream: stream) }
        var updates: [(name: String, value: UInt64)] = []
        // State is needed when the sink writes the other kind than the source gives.
        if (counters == .cumulative) == encoder.options.reportCountersAsDeltas {
            var known = counterValues.withLock { $0 }
            updates.reserveCapacity(snapshot.counters.count)
            for index in snapshot.counters.indices {
                let counter = snapshot.counters[index]
                let key = Self.counterStateKey(node: snapshot.node, counter: counter.name)
                let last = known[key]
                let total: UInt64
                switch counters {
                case .cumulative:
                    total = counter.value
                    if let last { snapshot.counters[index].delta = total >= last ? total - last : total }
                case .deltas:
                    total = (last ?? 0) &+ counter.delta
                    snapshot.counters[index].value = total
                    known[key] = total  // a series twice in one snapshot adds up
                }
                if last != total { updates.append((key, total)) }
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
