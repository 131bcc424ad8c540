import StatSinkModel
import StatSinkQueue

/// The sink's own figures, gathered from its queue, drainers and writers: what the admin server
/// serves (`/metrics`, `/healthz`) and what every snapshot carries as `statsink.*` stats.
///
/// Queue figures are read on each call (``MessageQueue/gauges()``: no payload read); drainer and
/// writer figures come from memory. Counters of the queue file (`enqueued`, `dropped`) hold over
/// the file's life, across restarts; the drainer's and writer's since the process started.
public final class SelfStats: Sendable {
    private let queue: MessageQueue
    private let drainers: [Drainer]
    private let writers: [(stream: QueueStream, statistics: WriterStatistics)]

    /// Gathers the figures of `queue`, `drainers` and `writers` (only their statistics are kept).
    public init(queue: MessageQueue, drainers: [Drainer], writers: [SinkWriter]) {
        self.queue = queue
        self.drainers = drainers
        self.writers = writers.map { ($0.stream, $0.statistics) }
    }

    /// One reading of every figure.
    public struct Figures: Sendable {
        /// When it was read (epoch ms).
        public var nowMs: Int64
        /// Per stream, sorted by name: the configured streams and any other stream of the file.
        public var streams: [StreamFigures]
        /// The queue file's size, its WAL's, and the damaged files it replaced.
        public var fileBytes: Int64
        public var walBytes: Int64
        public var quarantinedFiles: Int

        /// Creates a reading.
        public init(nowMs: Int64, streams: [StreamFigures], fileBytes: Int64, walBytes: Int64, quarantinedFiles: Int) {
            self.nowMs = nowMs
            self.streams = streams
            self.fileBytes = fileBytes
            self.walBytes = walBytes
            self.quarantinedFiles = quarantinedFiles
        }
    }

    /// One stream's figures.
    public struct StreamFigures: Sendable {
        /// The stream's name, `TOPIC@BROKER_LIST`.
        public var stream: String
        /// The queue's figures of the stream.
        public var queue: QueueGauges.Stream
        /// Its drainer's totals, rows and bytes in flight, and whether it runs (`nil`: no drainer here).
        public var drainer: DrainerTotals?
        public var inFlightRows = 0
        public var inFlightBytes = 0
        public var drainerRunning = false
        /// Its writer's figures (`nil`: no writer in this process).
        public var writer: WriterStatistics.Figures?

        /// Creates a stream's figures with no drainer and no writer.
        public init(stream: String, queue: QueueGauges.Stream) {
            self.stream = stream
            self.queue = queue
        }

        /// Seconds since the oldest waiting row was enqueued; 0 with no backlog.
        public func oldestAgeSeconds(nowMs: Int64) -> Double {
            queue.oldestEnqueuedAtMs.map { Double(max(0, nowMs - $0)) / 1000 } ?? 0
        }
    }

    /// Reads every figure now.
    public func figures() throws(QueueError) -> Figures {
        let gauges = try queue.gauges()
        var byName: [String: StreamFigures] = [:]
        for (name, stream) in gauges.streams { byName[name] = StreamFigures(stream: name, queue: stream) }
        for drainer in drainers {
            let name = drainer.stream.name
            var entry = byName[name] ?? StreamFigures(stream: name, queue: QueueGauges.Stream())
            entry.drainer = drainer.totals
            (entry.inFlightRows, entry.inFlightBytes) = drainer.inFlight
            entry.drainerRunning = drainer.isRunning
            byName[name] = entry
        }
        for (stream, statistics) in writers {
            byName[stream.name, default: StreamFigures(stream: stream.name, queue: QueueGauges.Stream())].writer = statistics.current
        }
        return Figures(
            nowMs: MessageQueue.currentTimeMs(), streams: byName.values.sorted { $0.stream < $1.stream },
            fileBytes: gauges.fileBytes, walBytes: gauges.walBytes, quarantinedFiles: gauges.quarantinedFiles
        )
    }

    /// Adds the figures of `stream` to `snapshot` as Envoy-like stats (`statsink.queue.rows`, …;
    /// README "Self-observability"). Nothing is added when the queue cannot be read.
    func append(to snapshot: inout MetricSnapshot, stream: QueueStream) {
        guard let figures = try? figures(), let own = figures.streams.first(where: { $0.stream == stream.name }) else { return }
        let drainer = own.drainer ?? DrainerTotals()
        let writer = own.writer ?? WriterStatistics.Figures()
        func counter(_ name: String, _ value: some BinaryInteger) {
            snapshot.counters.append(CounterSample(name: MetricName("statsink." + name), value: UInt64(value), delta: UInt64(value)))
        }
        func gauge(_ name: String, _ value: some BinaryInteger) {
            snapshot.gauges.append(GaugeSample(name: MetricName("statsink." + name), value: UInt64(max(0, value))))
        }
        counter("enqueued", own.queue.enqueuedRows)
        counter("snapshots", writer.snapshots)
        counter("enqueue_failures", writer.failures)
        counter("delivered", drainer.delivered)
        counter("retried", drainer.retried)
        counter("dead_lettered", drainer.deadLettered)
        counter("producer_errors", drainer.producerErrors.values.reduce(0, +))
        counter("dropped", own.queue.drops.values.reduce(0, +))
        for reason in DropReason.allCases { counter("dropped.\(reason.rawValue)", own.queue.drops[reason.rawValue] ?? 0) }
        gauge("queue.rows", own.queue.rows)
        gauge("queue.bytes", own.queue.payloadBytes)
        gauge("queue.oldest_age_ms", Int64(own.oldestAgeSeconds(nowMs: figures.nowMs) * 1000))
        gauge("queue.dead_letters", own.queue.deadLetters)
        gauge("queue.file_bytes", figures.fileBytes)
        gauge("queue.wal_bytes", figures.walBytes)
        gauge("in_flight.rows", own.inFlightRows)
        gauge("in_flight.bytes", own.inFlightBytes)
        gauge("broker_reachable", drainer.brokerReachable ? 1 : 0)
    }
}
