import StatSinkModel

/// Where the ``MetricsServiceServer`` hands every snapshot it has assembled.
///
/// `statsink run` writes through every Kafka sink's `SinkWriter` (one queue transaction each);
/// tests and benchmarks plug in their own.
public protocol MetricSnapshotSink: Sendable {
    /// Stores `snapshot` and returns once it is stored (committed to the queue, or counted as
    /// dropped by the queue's `when_full` policy). A failure is the sink's to log: the stream that
    /// sent the snapshot goes on.
    ///
    /// Called once at a time per stream, in the stream's order; streams call it concurrently.
    /// Must not block the calling thread for long: it runs on Swift's cooperative pool.
    func write(_ snapshot: MetricSnapshot) async
}
