import StatSinkModel

/// Writes one stream's snapshots in order, one at a time, while the stream goes on: handing over
/// a snapshot waits only for the previous one's write, so assembling the next snapshot overlaps
/// with writing this one.
///
/// Each write runs in a task of its own that is always awaited (by the next write or by
/// ``finish()``), never left behind; not being a child task, it completes even when the stream's
/// task is cancelled, so a snapshot handed over is never dropped half-way.
struct OrderedSnapshotWriter {
    private let sink: any MetricSnapshotSink
    private var inFlight: Task<Void, Never>?

    init(sink: any MetricSnapshotSink) {
        self.sink = sink
    }

    /// Starts writing `snapshot` once the previous write is done.
    mutating func write(_ snapshot: MetricSnapshot) async {
        await inFlight?.value
        let sink = sink
        inFlight = Task { await sink.write(snapshot) }
    }

    /// Waits for the last write.
    mutating func finish() async {
        await inFlight?.value
        inFlight = nil
    }
}
