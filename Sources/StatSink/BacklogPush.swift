import Logging
import StatSinkConfig
import StatSinkKafka
import StatSinkQueue
import Synchronization

/// Pushes a queue's undelivered rows straight to a broker and topic given by the operator (say, a
/// central cluster reached over another link), deleting each row only when that broker
/// acknowledges it: the ``Drainer``'s rule, without its endless retries.
///
/// Each row is produced with its own key, headers and value (so consumers dedupe as usual) in id
/// order per stream, at most ``Options/maxInFlightRows`` rows and ``Options/maxInFlightBytes``
/// bytes outstanding. The push owns the queue like a drainer (``MessageQueue/Role/drainer``): it
/// refuses to start while a sink drains the file. At the first failed delivery it stops taking
/// rows, waits for those in flight, and reports; every row not acknowledged stays queued, with no
/// attempt recorded (the failure was on another path than the sink's).
public enum BacklogPush {
    /// What to push, where to.
    public struct Options: Sendable {
        /// `bootstrap.servers` of the target cluster.
        public var brokerList: String
        /// The target topic; `nil`: each row's own topic.
        public var topic: String?
        /// Only these rows (stream and record ids); the default takes every undelivered row.
        public var filter: RowFilter
        /// More librdkafka properties (security settings for the target, …), applied last. Secret
        /// values never appear in errors.
        public var producerConfig: [ProducerProperty]
        /// Rows and payload bytes produced and not yet acknowledged, at most. Defaults 1000, 3 MiB.
        public var maxInFlightRows: Int
        public var maxInFlightBytes: Int

        /// Creates options with the documented defaults.
        public init(brokerList: String, topic: String? = nil, filter: RowFilter = RowFilter(), producerConfig: [ProducerProperty] = [],
                    maxInFlightRows: Int = 1000, maxInFlightBytes: Int = 3 << 20) {
            self.brokerList = brokerList
            self.topic = topic
            self.filter = filter
            self.producerConfig = producerConfig
            self.maxInFlightRows = maxInFlightRows
            self.maxInFlightBytes = maxInFlightBytes
        }

        /// The producer's properties: the target, `linger.ms=5`, our delivery defaults,
        /// `message.timeout.ms=60000` (a failure is reported within a minute), then
        /// ``producerConfig``.
        public var properties: KafkaProducerProperties {
            KafkaProducerProperties(
                brokerList: brokerList, lingerMs: 5,
                producerConfig: [(name: "message.timeout.ms", value: "60000")] + producerConfig.map { (name: $0.name, value: $0.value) }
            )
        }
    }

    /// Where a push stands; also its final outcome.
    public struct Progress: Sendable, Hashable, Codable {
        /// Rows and payload bytes selected when the push started.
        public var totalRows: Int
        public var totalBytes: Int64
        /// Acknowledged (and deleted) so far.
        public var deliveredRows: Int
        public var deliveredBytes: Int64
        /// Failed deliveries (the rows stay queued) and the first error.
        public var failedRows: Int
        public var firstError: String?
        /// Seconds since the push started.
        public var elapsedSeconds: Double

        enum CodingKeys: String, CodingKey {
            case totalRows = "total_rows", totalBytes = "total_bytes", deliveredRows = "delivered_rows"
            case deliveredBytes = "delivered_bytes", failedRows = "failed_rows", firstError = "first_error"
            case elapsedSeconds = "elapsed_s"
        }
    }

    /// Why a push could not start.
    public enum Failure: Error, Sendable, CustomStringConvertible {
        /// The queue could not be opened, e.g. a sink drains it.
        case queue(QueueError)
        /// librdkafka refused the producer properties (secret values redacted).
        case producer(String)

        public var description: String {
            switch self {
            case .queue(.drainerAlreadyRunning(let path)):
                "\(path): a sink is draining this queue (statsink run); stop it before pushing its rows elsewhere, or re-queue dead letters instead (replay without --broker works beside a running sink)"
            case .queue(let error): "\(error)"
            case .producer(let message): message
            }
        }
    }

    /// Pushes the selected rows of the queue at `queuePath`; `progress` is called about every
    /// `progressInterval` and once at the end. Returns the final figures (the push succeeded when
    /// ``Progress/failedRows`` is 0 and every selected row was delivered).
    public static func run(
        queuePath: String, options: Options, logger: Logger, progressInterval: Duration = .milliseconds(250),
        progress: @escaping @Sendable (Progress) -> Void = { _ in }
    ) async throws -> Progress {
        let queue: MessageQueue
        do {
            queue = try MessageQueue(configuration: MessageQueueConfiguration(path: queuePath, whenDamaged: .refuse, integrityCheckBudget: .zero), role: .drainer, logger: logger)
        } catch {
            throw Failure.queue(error)
        }
        defer { queue.close() }
        let selected = try queue.measure(matching: options.filter)
        let producer: KafkaProducer
        do {
            producer = try KafkaProducer(properties: options.properties, logger: logger)
        } catch {
            throw Failure.producer(redacted("\(error)", options.producerConfig))
        }
        let push = Push(queue: queue, options: options, total: selected)
        producer.start()
        let reports = Task {
            for await report in producer.deliveryReports { push.handle(report) }
        }
        let clock = ContinuousClock()
        let start = clock.now
        var nextProgress = start
        func report() {
            var figures = push.progress
            figures.elapsedSeconds = seconds(clock.now - start)
            figures.firstError = figures.firstError.map { redacted($0, options.producerConfig) }
            progress(figures)
        }
        for stream in selected.rowsByStream.keys.sorted() where !push.stopped {
            try await push.feed(stream: stream, producer: producer) {
                if clock.now >= nextProgress {
                    report()
                    nextProgress = clock.now.advanced(by: progressInterval)
                }
            }
        }
        // Wait for every report (librdkafka reports each within message.timeout.ms).
        while push.inFlightCount > 0 {
            try push.flushAcknowledgements()
            if clock.now >= nextProgress {
                report()
                nextProgress = clock.now.advanced(by: progressInterval)
            }
            try await Task.sleep(for: .milliseconds(5))
        }
        await producer.shutdown(timeout: .seconds(5))
        await reports.value
        try push.flushAcknowledgements()
        // Hand the pages the delivered rows held back to the file system, as the drainer does.
        try queue.checkpoint()
        try queue.reclaimSpace()
        report()
        var final = push.progress
        final.elapsedSeconds = seconds(clock.now - start)
        final.firstError = final.firstError.map { redacted($0, options.producerConfig) }
        return final
    }

    private static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    /// `text` with every secret value of `properties` replaced.
    static func redacted(_ text: String, _ properties: [ProducerProperty]) -> String {
        var text = text
        for property in properties where property.isSecret && !property.value.isEmpty {
            text = text.split(separator: property.value, omittingEmptySubsequences: false).joined(separator: ProducerProperty.redactedValue)
        }
        return text
    }
}

/// The state of one push: rows in flight, acknowledgements to commit, figures.
private final class Push: Sendable {
    let queue: MessageQueue
    let options: BacklogPush.Options
    private let state: Mutex<State>

    struct State {
        var inFlight: [Int64: (stream: String, bytes: Int)] = [:]
        var inFlightBytes = 0
        var acknowledged: [String: [Int64]] = [:]
        var progress: BacklogPush.Progress
        var stopped = false
    }

    init(queue: MessageQueue, options: BacklogPush.Options, total: RowOperationOutcome) {
        self.queue = queue
        self.options = options
        state = Mutex(State(progress: BacklogPush.Progress(
            totalRows: total.rows, totalBytes: total.payloadBytes, deliveredRows: 0, deliveredBytes: 0, failedRows: 0, elapsedSeconds: 0
        )))
    }

    var progress: BacklogPush.Progress { state.withLock { $0.progress } }
    var stopped: Bool { state.withLock { $0.stopped } }
    var inFlightCount: Int { state.withLock { $0.inFlight.count } }

    func handle(_ report: DeliveryReport) {
        let id = Int64(bitPattern: report.recordID)
        state.withLock { state in
            guard let row = state.inFlight.removeValue(forKey: id) else { return }
            state.inFlightBytes -= row.bytes
            switch report.outcome {
            case .delivered:
                state.acknowledged[row.stream, default: []].append(id)
                state.progress.deliveredRows += 1
                state.progress.deliveredBytes += Int64(row.bytes)
            case .failed(let error):
                state.progress.failedRows += 1
                state.progress.firstError = state.progress.firstError ?? "\(error.name): \(error.message)"
                state.stopped = true
            }
        }
    }

    /// Deletes the acknowledged rows.
    func flushAcknowledgements() throws {
        let batches = state.withLock { state in
            defer { state.acknowledged.removeAll() }
            return state.acknowledged
        }
        for (stream, ids) in batches {
            try queue.acknowledge(ids, stream: QueueStream(name: stream, topic: ""))
        }
    }

    /// Produces the selected rows of `stream`, in id order, within the window.
    func feed(stream: String, producer: KafkaProducer, tick: () -> Void) async throws {
        var cursor = (options.filter.ids?.lowerBound ?? 1) - 1
        let last = options.filter.ids?.upperBound ?? .max
        while true {
            tick()
            let (stopped, rows, bytes) = state.withLock { ($0.stopped, $0.inFlight.count, $0.inFlightBytes) }
            if stopped { return }
            try flushAcknowledgements()
            let rowRoom = options.maxInFlightRows - rows
            let byteRoom = options.maxInFlightBytes - bytes
            guard rowRoom > 0, byteRoom > 0 else {
                try await Task.sleep(for: .milliseconds(2))
                continue
            }
            var seen = 0
            var full = false
            try queue.forEachPendingRecord(stream: QueueStream(name: stream, topic: ""), afterID: cursor, limit: min(rowRoom, 64), maxBytes: byteRoom) { record in
                guard record.id <= last else { return false }
                seen += 1
                let id = record.id
                let value = producer.makeMessageBuffer(count: record.valueCount)
                try record.readValue(into: value.bytes)
                state.withLock { state in
                    state.inFlight[id] = (stream, value.count)
                    state.inFlightBytes += value.count
                }
                do throws(KafkaError) {
                    try producer.produce(
                        id: UInt64(id), topic: options.topic ?? record.topic, key: record.key, value: value, headers: record.headers
                    )
                    cursor = id
                    return true
                } catch {
                    full = error == .queueFull
                    state.withLock { state in
                        if let row = state.inFlight.removeValue(forKey: id) { state.inFlightBytes -= row.bytes }
                        guard !full else { return }
                        state.progress.failedRows += 1
                        state.progress.firstError = state.progress.firstError ?? "\(error)"
                        state.stopped = true
                    }
                    return false
                }
            }
            if full {
                try await Task.sleep(for: .milliseconds(2))
            } else if seen == 0 {
                return
            }
        }
    }
}
