import Logging
import ServiceLifecycle
import StatSinkMetrics
import StatSinkModel
import StatSinkQueue

/// Takes a ``StatSinkMetricsFactory`` snapshot every flush interval and writes it through every
/// sink's writer: the swift-metrics source of an in-process Swift server.
///
/// On graceful shutdown (or cancellation) it stops waiting and writes **one last snapshot**
/// before returning, so what was recorded since the previous flush reaches the queue: place it
/// after the services that record metrics in a `ServiceGroup` (which stops services in reverse
/// order), so they stop first. A write that fails is logged and the loop goes on; the counter
/// deltas and histogram intervals of that snapshot are then lost, not carried over.
public final class MetricsFlushService: Service, Sendable {
    private let factory: StatSinkMetricsFactory
    private let writers: [SinkWriter]
    private let node: NodeIdentity
    private let flushInterval: Duration
    private let logger: Logger
    private let onSnapshot: @Sendable (MetricSnapshot, [EnqueueOutcome]) -> Void

    /// Creates the service; `node` stamps every snapshot (`StatSinkConfiguration.node`),
    /// `flushInterval` is `stats_flush_interval`, and `onSnapshot` is told about every snapshot
    /// written, with the outcome of each writer that succeeded.
    public init(
        factory: StatSinkMetricsFactory, writers: [SinkWriter], node: NodeIdentity, flushInterval: Duration, logger: Logger,
        onSnapshot: @escaping @Sendable (MetricSnapshot, [EnqueueOutcome]) -> Void = { _, _ in }
    ) {
        self.factory = factory
        self.writers = writers
        self.node = node
        self.flushInterval = flushInterval
        self.logger = logger
        self.onSnapshot = onSnapshot
    }

    /// Flushes every interval until graceful shutdown or cancellation, then flushes once more.
    public func run() async throws {
        let clock = ContinuousClock()
        var next = clock.now
        while !Task.isCancelledOrShuttingDownGracefully {
            next = next.advanced(by: flushInterval)
            let deadline = next
            do {
                try await cancelWhenGracefulShutdown {
                    try await Task.sleep(until: deadline, clock: clock)
                }
            } catch {
                break  // shutting down or cancelled
            }
            flush()
            // After a flush slower than the interval, start again from now instead of catching up.
            if next < clock.now { next = clock.now }
        }
        flush()
    }

    /// Takes a snapshot now, stamped `timestampMs`, and writes it through every writer; returns
    /// the snapshot.
    @discardableResult
    public func flush(timestampMs: Int64 = MessageQueue.currentTimeMs()) -> MetricSnapshot {
        let snapshot = factory.snapshot(timestampMs: timestampMs, node: node)
        let outcomes = writers.write(snapshot, logger: logger)
        onSnapshot(snapshot, outcomes)
        return snapshot
    }
}
