import Logging
import ServiceLifecycle
import StatSinkModel
import StatSinkQueue
import StatSinkSynthetic

/// Takes a snapshot of a ``SyntheticSource`` every flush interval and hands it to every sink's
/// writer, as Envoy's flush timer hands its stats to every sink.
public final class SyntheticSourceService: Service, Sendable {
    private let source: SyntheticSource
    private let writers: [SinkWriter]
    private let flushInterval: Duration
    private let logger: Logger
    private let onSnapshot: @Sendable (MetricSnapshot, [EnqueueOutcome]) -> Void

    /// Creates the service; `onSnapshot` is told about every snapshot written (for the demo).
    public init(
        source: SyntheticSource, writers: [SinkWriter], flushInterval: Duration, logger: Logger,
        onSnapshot: @escaping @Sendable (MetricSnapshot, [EnqueueOutcome]) -> Void = { _, _ in }
    ) {
        self.source = source
        self.writers = writers
        self.flushInterval = flushInterval
        self.logger = logger
        self.onSnapshot = onSnapshot
    }

    /// Flushes every interval until graceful shutdown.
    public func run() async throws {
        var source = source
        let clock = ContinuousClock()
        var next = clock.now
        while !Task.isCancelledOrShuttingDownGracefully {
            next = next.advanced(by: flushInterval)
            do {
                try await Task.sleep(until: next, clock: clock)
            } catch {
                return  // cancelled
            }
            let snapshot = source.nextSnapshot(timestampMs: MessageQueue.currentTimeMs())
            var outcomes: [EnqueueOutcome] = []
            for writer in writers {
                if let outcome = writer.writeLogged(snapshot, logger: logger) { outcomes.append(outcome) }
            }
            onSnapshot(snapshot, outcomes)
        }
    }
}

extension Task where Success == Never, Failure == Never {
    /// Whether the current task is cancelled or its service group is shutting down gracefully.
    static var isCancelledOrShuttingDownGracefully: Bool {
        Task.isCancelled || Task.isShuttingDownGracefully
    }
}
