import Logging
import NIOPosix
import StatSinkGRPC
import StatSinkModel
import StatSinkQueue

/// Every Kafka sink's ``SinkWriter``, as the sink of a source that runs on Swift's cooperative
/// pool (the gRPC `metrics_service`): each snapshot is written to every writer on a thread of
/// NIO's blocking pool, so SQLite's commits never hold a cooperative thread or an event loop.
public struct SinkWriterGroup: MetricSnapshotSink {
    /// The writers, one per Kafka sink.
    public let writers: [SinkWriter]
    /// What the source's counter samples carry.
    public let counters: SinkWriter.CounterInput
    private let logger: Logger
    private let pool: NIOThreadPool

    /// Creates the group; `pool` runs the writes (default: NIO's shared blocking pool).
    public init(writers: [SinkWriter], counters: SinkWriter.CounterInput, logger: Logger, pool: NIOThreadPool = .singleton) {
        self.writers = writers
        self.counters = counters
        self.logger = logger
        self.pool = pool
    }

    /// Writes `snapshot` to every writer; failures are logged, and the next snapshot is tried
    /// anyway (the queue keeps no partial snapshot).
    public func write(_ snapshot: MetricSnapshot) async {
        do {
            try await pool.runToCompletion { [writers, counters, logger] in
                for writer in writers { writer.writeLogged(snapshot, counters: counters, logger: logger) }
            }
        } catch {
            logger.error("cannot write a snapshot: the writer pool is stopped", metadata: ["error": "\(error)"])
        }
    }
}

extension SinkWriter {
    /// Writes `snapshot` like ``write(_:counters:)``, but logs rows dropped at the byte cap and
    /// failures instead of throwing; returns the outcome, or `nil` on failure.
    @discardableResult
    func writeLogged(_ snapshot: MetricSnapshot, counters: CounterInput = .cumulative, logger: Logger) -> EnqueueOutcome? {
        do {
            let outcome = try write(snapshot, counters: counters)
            if !outcome.drops.isEmpty {
                logger.warning("queue at its byte cap: rows dropped", metadata: ["stream": "\(stream)", "drops": "\(outcome.drops)"])
            }
            return outcome
        } catch {
            logger.error("cannot write a snapshot to the queue", metadata: [
                "stream": "\(stream)", "node": "\(snapshot.node.id)", "error": "\(error)",
            ])
            return nil
        }
    }
}
