import Synchronization

/// What a ``SinkWriter`` did since it started: snapshots and rows enqueued, failures, and how
/// long each enqueue took to commit (a histogram, Prometheus-style cumulative buckets).
public final class WriterStatistics: Sendable {
    /// Upper bounds of the commit latency buckets, in seconds; `+Inf` is implied.
    public static let latencyBounds: [Double] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]

    /// One reading of the statistics.
    public struct Figures: Sendable, Hashable {
        /// Snapshots committed to the queue (dropped ones included: their sequence is used).
        public var snapshots = 0
        /// Rows (Kafka messages) committed.
        public var rows = 0
        /// Snapshots the queue refused with an error (not the byte cap: those are drops).
        public var failures = 0
        /// Per bucket of ``WriterStatistics/latencyBounds``, enqueues that took at most its bound
        /// (cumulative), then the total count.
        public var latencyBuckets = [Int](repeating: 0, count: WriterStatistics.latencyBounds.count)
        /// The sum of commit latencies in seconds, and their count.
        public var latencySum = 0.0
        public var latencyCount = 0
    }

    private let figures = Mutex(Figures())

    /// Creates empty statistics.
    public init() {}

    /// The current figures.
    public var current: Figures { figures.withLock { $0 } }

    /// Records one committed enqueue of `rows` rows that took `latency`.
    func recordCommit(rows: Int, latency: Duration) {
        let seconds = Double(latency.components.seconds) + Double(latency.components.attoseconds) * 1e-18
        figures.withLock { figures in
            figures.snapshots += 1
            figures.rows += rows
            figures.latencySum += seconds
            figures.latencyCount += 1
            for (index, bound) in Self.latencyBounds.enumerated() where seconds <= bound {
                figures.latencyBuckets[index] += 1
            }
        }
    }

    /// Records an enqueue that failed.
    func recordFailure() {
        figures.withLock { $0.failures += 1 }
    }
}
