import Logging
import NIOPosix
import ServiceLifecycle
import StatSinkKafka
import StatSinkQueue
import Synchronization

/// Delivers one stream of the queue to Kafka and deletes each row only once the broker has
/// acknowledged it.
///
/// The row lifecycle (the durability contract, in one place):
///
/// 1. **Queued.** A snapshot's messages are committed to `messages` in one transaction by a
///    ``SinkWriter``; from then on they survive a crash of the process (durability `normal`) or
///    a power loss (`full`). Only the byte cap can remove them unsent, and every such row is
///    counted in `drops`.
/// 2. **In flight.** The drainer reads rows in id order (keyset pagination) and hands them to
///    librdkafka with the record id as the message opaque, keeping at most
///    ``DrainerConfiguration/maxInFlightRows`` rows and ``DrainerConfiguration/maxInFlightBytes``
///    bytes outstanding. In-flight state lives only in memory: the row is still in the table.
/// 3. **Acknowledged → deleted.** A delivery report without error (the broker acknowledged with
///    `acks=all` by default) deletes the row, in batches. Nothing else deletes a row:
///    `rd_kafka_flush` returning, a timeout or a shutdown never does.
/// 4. **Retriable failure → queued again.** Timeouts, transport errors, brokers down, purges:
///    the attempt is recorded on the row, the drainer lets everything in flight report back,
///    waits (exponential backoff with jitter, capped, forever) and starts again from the oldest
///    row still in the table — the first unacknowledged one — so order is kept.
/// 5. **Permanent failure → dead letter.** Too large or invalid (at once), not authorized (when
///    it repeats), or a topic still unknown after ``DrainerConfiguration/unknownTopicAttempts``
///    attempts: the row moves to `dead_letters` with the error in one transaction, and the rows
///    behind it keep flowing.
///
/// 6. **Operators** (`statsink`, README "After an outage"): re-queuing a dead letter inserts it
///    again with a new record id at the end of `messages` (the cursor is past the old one), so
///    this drainer picks it up; a purge deletes rows and counts them in `drops`; a push to another
///    broker (``BacklogPush``) deletes each row on that broker's acknowledgement and, like this
///    drainer, holds the queue's drainer lock. A row purged while in flight is simply not there
///    when its report comes. A damaged file is moved aside at open and a fresh queue started
///    (``MessageQueue/init(configuration:role:logger:)``).
///
/// After a crash or restart the drainer starts at the oldest row in the table. Rows that were in
/// flight at the crash may be delivered twice; consumers drop duplicates by the message key and
/// the `statsink.snapshot_seq` / `statsink.batch_index` headers. A fatal producer error replaces
/// the producer; the rows it held are reported failed and retried.
public final class Drainer: Service, Sendable {
    /// The stream this drainer delivers.
    public let stream: QueueStream
    private let queue: MessageQueue
    private let properties: KafkaProducerProperties
    /// How this drainer paces itself.
    public let configuration: DrainerConfiguration
    private let logger: Logger
    private let makeProducer: @Sendable (KafkaProducerProperties, Logger) throws(KafkaError) -> KafkaProducer
    private let state = Mutex(State())
    private let shuttingDown = Atomic<Bool>(false)
    private let running = Atomic<Bool>(false)
    /// Failure warnings, one per kind per 30 s.
    private let failureLog = RateLimitedLog()
    /// Rung when delivery reports have freed a refill's worth of the in-flight window (or all of
    /// it) and the poll thread could not refill it itself (a rewind is due, the queue is read to
    /// its end, the feeder task holds the feed), and on shutdown: the feeder task sleeps on it.
    private let roomBell = Doorbell()
    /// Rung when acknowledgements or failures are due to be committed (``outcomesDue``): the
    /// deletions run in a task of their own, so that the reports behind them, which free the
    /// window, are not held up by a delete (measured: 38 % of a drain's time).
    private let outcomesBell = Doorbell()
    /// Held while outcomes are committed, so that a rewind's commit waits for one under way.
    private let committingOutcomes = Mutex(())
    /// Held while a page of rows is read and produced: by the producer's poll thread refilling
    /// the window after reports, or by the feeder task (start, idle polling, after a rewind).
    private let feeding = Mutex(())

    private struct State {
        /// Rows produced and not yet reported, by record id.
        var inFlight: [Int64: InFlightRow] = [:]
        var inFlightBytes = 0
        /// The last record id produced since the last rewind (keyset cursor).
        var cursor: Int64 = 0
        /// Delivered rows whose deletion is not yet committed.
        var pendingAcknowledgements: [Int64] = []
        /// Rows that failed retriably, with the error, not yet recorded.
        var pendingFailures: [(id: Int64, error: String)] = []
        /// A retriable failure happened: stop producing, let in-flight report, back off, rewind.
        var rewindRequested = false
        /// The current producer's reports have ended (it shut down or failed).
        var reportsEnded = false
        /// The first error of the poll thread's report handling or of the outcomes task (the
        /// queue failed for good): the feeder task throws it, which ends the drainer.
        var failure: (any Error)?
        var consecutiveFailures = 0
        var totals = DrainerTotals()
        /// After a transient queue failure (a full disk, a lock held elsewhere): no queue writes
        /// before this instant.
        var storageRetryAfter: ContinuousClock.Instant?
    }

    /// Creates the drainer of `stream`; the queue must have been opened with role `.drainer`.
    /// `makeProducer` creates each producer (a new one after a fatal error); tests use it to reach
    /// the producer.
    public init(
        stream: QueueStream, queue: MessageQueue, properties: KafkaProducerProperties,
        configuration: DrainerConfiguration = DrainerConfiguration(), logger: Logger,
        makeProducer: @escaping @Sendable (KafkaProducerProperties, Logger) throws(KafkaError) -> KafkaProducer = { properties, logger throws(KafkaError) in
            try KafkaProducer(properties: properties, logger: logger)
        }
    ) {
        self.makeProducer = makeProducer
        self.stream = stream
        self.queue = queue
        self.properties = properties
        self.configuration = configuration
        var logger = logger
        logger[metadataKey: "stream"] = "\(stream.name)"
        self.logger = logger
    }

    /// What the drainer has done so far.
    public var totals: DrainerTotals { state.withLock { $0.totals } }

    /// Rows and payload bytes handed to the producer and not yet reported.
    public var inFlight: (rows: Int, bytes: Int) { state.withLock { ($0.inFlight.count, $0.inFlightBytes) } }

    /// Whether ``run()`` is delivering (started and not shut down).
    public var isRunning: Bool { running.load(ordering: .relaxed) }

    /// Drains until graceful shutdown (or cancellation): stops taking rows, waits up to
    /// ``DrainerConfiguration/shutdownGracePeriod`` for in-flight reports, and leaves the rest
    /// on disk.
    public func run() async throws {
        running.store(true, ordering: .relaxed)
        defer { running.store(false, ordering: .relaxed) }
        try await withGracefulShutdownHandler {
            while !isShuttingDown {
                let producer: KafkaProducer
                do {
                    producer = try makeProducer(properties, logger)
                } catch {
                    // Properties were checked at start-up; a failure here is an environment
                    // problem (e.g. a missing CA file appeared): keep trying, slowly.
                    state.withLock { $0.totals.brokerReachable = false }
                    failureLog.warning("producer", "cannot create the Kafka producer, retrying", metadata: ["error": "\(error)"], logger: logger)
                    await pause(configuration.maxBackoff)
                    continue
                }
                try await deliver(with: producer)
                if let fatal = producer.fatalError, !isShuttingDown {
                    failureLog.warning("fatal", "the producer failed fatally; replacing it", metadata: ["error": "\(fatal)"], logger: logger)
                }
            }
        } onGracefulShutdown: {
            self.shuttingDown.store(true, ordering: .relaxed)
            self.roomBell.ring()
        }
    }

    /// One producer's life: feed it, serve its reports, shut it down.
    private func deliver(with producer: KafkaProducer) async throws {
        state.withLock { state in
            state.reportsEnded = false
            state.failure = nil
        }
        // Reports are served on the producer's poll thread, which refills the window from there:
        // no task to wake between an acknowledgement and the rows that take its place.
        producer.start { reports in self.serve(reports, from: producer) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                await producer.waitUntilClosed()
                self.state.withLock { $0.reportsEnded = true }
                self.outcomesBell.ring()
            }
            group.addTask {
                // Whatever is pending when rung (it was due then, even if the feeder has filled
                // the window since), and at least every 100 ms.
                while true {
                    await self.outcomesBell.wait(upTo: .milliseconds(100))
                    let pending = self.state.withLock { !$0.pendingAcknowledgements.isEmpty || !$0.pendingFailures.isEmpty }
                    // Deletions block on SQLite for milliseconds: off the cooperative pool, so
                    // that the reports that free the window are not held up behind them.
                    if pending {
                        do {
                            try await NIOThreadPool.singleton.runToCompletion { try self.flushOutcomes() }
                        } catch {
                            // Acknowledged rows that cannot be deleted: stop, do not feed on.
                            self.keep(error)
                            return
                        }
                    }
                    if self.state.withLock({ $0.reportsEnded }) { return }
                }
            }
            var feedFailure: (any Error)?
            do {
                try await feed(producer)
            } catch {
                feedFailure = error
            }
            // Stop taking rows; wait for the reports of what is in flight, purge the rest (they
            // come back failed and stay queued). Also when feeding failed: the task waiting for
            // the producer to close ends only then.
            await producer.shutdown(timeout: configuration.shutdownGracePeriod)
            try await group.waitForAll()
            if let feedFailure { throw feedFailure }
        }
        try flushOutcomes()
        if let failure = state.withLock({ $0.failure }) { throw failure }
        // Whatever was in flight has reported; start again from the oldest row.
        state.withLock { state in
            state.inFlight.removeAll()
            state.inFlightBytes = 0
            state.cursor = 0
            state.rewindRequested = false
        }
    }

    /// Reads rows and produces them while the window has room, until shutdown or producer death.
    private func feed(_ producer: KafkaProducer) async throws {
        let clock = ContinuousClock()
        var nextMaintenance = clock.now.advanced(by: configuration.maintenanceInterval)
        while !isShuttingDown, producer.fatalError == nil {
            if let failure = state.withLock({ $0.failure }) { throw failure }
            if clock.now >= nextMaintenance {
                try absorbingTransient("checkpoint the queue") {
                    try queue.checkpoint()
                    try queue.reclaimSpace()
                }
                nextMaintenance = clock.now.advanced(by: configuration.maintenanceInterval)
            }
            if let after = state.withLock({ $0.storageRetryAfter }), clock.now < after {
                // The queue cannot take writes right now: produce nothing more whose
                // acknowledgement could not be recorded.
                await pause(after - clock.now)
                continue
            }
            let (rewind, inFlightRows, inFlightBytes) = state.withLock {
                ($0.rewindRequested, $0.inFlight.count, $0.inFlightBytes)
            }
            if rewind {
                guard inFlightRows == 0 else {
                    await roomBell.wait(upTo: .milliseconds(50))
                    continue
                }
                try flushOutcomes()
                await waitBeforeRetry(producer)
                state.withLock { state in
                    state.cursor = 0
                    state.rewindRequested = false
                }
                continue
            }
            guard inFlightRows == 0 || hasRefillRoom(rows: inFlightRows, bytes: inFlightBytes) else {
                // The poll thread refills the window as reports free it, and rings when it
                // cannot; the timeout only bounds how late a fatal producer error (which may
                // report nothing) is noticed.
                await roomBell.wait(upTo: .milliseconds(50))
                continue
            }
            let seen = try feeding.withLock { _ in try feedPage(producer) }
            if seen == 0 {
                try flushOutcomes()
                await pause(configuration.idlePollInterval)
            }
        }
    }

    /// Reads the next page of rows after the cursor and produces them, as far as the window has
    /// room; returns the rows read (0 at the end of the queue), or `nil` when the window has no
    /// room for a refill or a rewind or storage pause holds the feed back. Call with ``feeding``
    /// held.
    private func feedPage(_ producer: KafkaProducer) throws -> Int? {
        let now = ContinuousClock.now
        let (held, inFlightRows, inFlightBytes, cursor) = state.withLock { state in
            (state.rewindRequested || state.storageRetryAfter.map { now < $0 } == true, state.inFlight.count, state.inFlightBytes, state.cursor)
        }
        guard !held, inFlightRows == 0 || hasRefillRoom(rows: inFlightRows, bytes: inFlightBytes) else { return nil }
        let rowRoom = configuration.maxInFlightRows - inFlightRows
        let byteRoom = configuration.maxInFlightBytes - inFlightBytes
        var seen = 0
        try absorbingTransient("read the queue") {
            try queue.forEachPendingRecord(stream: stream, afterID: cursor, limit: min(rowRoom, configuration.pageRows), maxBytes: byteRoom) { record in
                seen += 1
                return try produce(record, with: producer)
            }
        }
        return seen
    }

    /// Serves a batch of delivery reports on the producer's poll thread, then refills the window
    /// from there if it can; otherwise the feeder task is rung to do what is needed (a rewind,
    /// idle polling at the end of the queue). An error is kept (``keep(_:)``) for the feeder task
    /// to throw.
    private func serve(_ reports: [DeliveryReport], from producer: KafkaProducer) {
        do {
            var roomFreed = false
            for report in reports {
                if try handle(report) { roomFreed = true }
            }
            if outcomesDue() { outcomesBell.ring() }
            guard roomFreed else { return }
            var fed = 0
            if !shuttingDown.load(ordering: .relaxed), producer.fatalError == nil {
                // Busy: the feeder task is reading a page already.
                fed = try feeding.withLockIfAvailable { _ in try feedPage(producer) ?? 0 } ?? 0
            }
            if fed == 0 { roomBell.ring() }
        } catch {
            keep(error)
        }
    }

    /// Keeps the first failure for the feeder task to throw, and wakes it.
    private func keep(_ error: any Error) {
        state.withLock { state in
            if state.failure == nil { state.failure = error }
        }
        roomBell.ring()
    }

    /// Whether the in-flight window has room for a refill: a quarter of it in rows and in bytes.
    /// Waiting for a quarter rather than any room reads the queue in pages, not row by row.
    private func hasRefillRoom(rows: Int, bytes: Int) -> Bool {
        configuration.maxInFlightRows - rows >= max(1, configuration.maxInFlightRows / 4)
            && configuration.maxInFlightBytes - bytes >= max(1, configuration.maxInFlightBytes / 4)
    }

    /// Produces one row; `false` when the feeder should stop this page.
    private func produce(_ record: borrowing PendingRecordView, with producer: KafkaProducer) throws -> Bool {
        let id = record.id
        let bytes = record.valueCount
        let attempts = record.attempts
        // Read straight into memory lent to librdkafka: the payload is copied once, from the file
        // into the message, and the memory is reused once the row is reported.
        let value = producer.makeMessageBuffer(count: bytes)
        try record.readValue(into: value.bytes)
        // In flight before the call: the report may arrive before `produce` returns.
        state.withLock { state in
            state.inFlight[id] = InFlightRow(bytes: bytes, attempts: attempts)
            state.inFlightBytes += bytes
        }
        do {
            try producer.produce(id: UInt64(id), topic: record.topic, key: record.key, value: value, headers: record.headers)
            state.withLock { $0.cursor = id }
            return true
        } catch {
            state.withLock { state in
                if let row = state.inFlight.removeValue(forKey: id) { state.inFlightBytes -= row.bytes }
            }
            switch error {
            case .queueFull:
                return false  // the next page starts at this row again
            case .produceRefused(let refusal) where attemptsBeforeDeadLetter(refusal) == 1:
                try queue.deadLetter(id, errorName: refusal.name, error: refusal.message, stream: stream)
                state.withLock { state in
                    state.cursor = id
                    state.totals.deadLettered += 1
                    state.totals.producerErrors[refusal.name, default: 0] += 1
                }
                failureLog.warning("dead-letter", "row dead-lettered", metadata: ["record": "\(id)", "error": "\(refusal)"], logger: logger)
                return true
            case .produceRefused(let refusal):
                state.withLock { state in
                    state.pendingFailures.append((id, "\(refusal.name): \(refusal.message)"))
                    state.rewindRequested = true
                    state.totals.producerErrors[refusal.name, default: 0] += 1
                }
                return false
            case .producerFailed, .producerClosed, .propertyRefused, .clientCreationFailed, .operationFailed:
                return false
            }
        }
    }

    /// Applies one delivery report; returns whether the window has room for a refill (or is
    /// empty) after it.
    private func handle(_ report: DeliveryReport) throws -> Bool {
        let id = Int64(bitPattern: report.recordID)
        let (row, error, refill): (InFlightRow?, KafkaDeliveryError?, Bool) = state.withLock { state in
            let row = state.inFlight.removeValue(forKey: id)
            if let row { state.inFlightBytes -= row.bytes }
            let refill = state.inFlight.isEmpty || hasRefillRoom(rows: state.inFlight.count, bytes: state.inFlightBytes)
            switch report.outcome {
            case .delivered:
                state.pendingAcknowledgements.append(id)
                state.consecutiveFailures = 0
                state.totals.delivered += 1
                state.totals.lastDeliveryAtMs = MessageQueue.currentTimeMs()
                state.totals.brokerReachable = true
                return (row, nil, refill)
            case .failed(let error):
                state.totals.producerErrors[error.name, default: 0] += 1
                // A permanent refusal is an answer from the broker; a retriable failure is not.
                state.totals.brokerReachable = error.disposition == .permanent
                return (row, error, refill)
            }
        }
        guard let error else { return refill }
        // The row's failed attempts were read with it; one row is in flight at most once.
        if (row?.attempts ?? 0) + 1 >= attemptsBeforeDeadLetter(error) {
            let moved = try absorbingTransient("dead-letter a row") { () throws -> Bool in
                try queue.deadLetter(id, errorName: error.name, error: error.message, stream: stream)
                return true
            }
            if moved == true {
                state.withLock { $0.totals.deadLettered += 1 }
                failureLog.warning("dead-letter", "row dead-lettered", metadata: ["record": "\(id)", "error": "\(error)"], logger: logger)
            } else {
                // Not moved: the row stays queued and comes round again after the rewind.
                state.withLock { $0.rewindRequested = true }
            }
            return refill
        }
        let first = state.withLock { state in
            state.pendingFailures.append((id, "\(error.name): \(error.message)"))
            state.totals.retried += 1
            defer { state.rewindRequested = true }
            return !state.rewindRequested
        }
        if first {
            failureLog.warning("retry", "delivery failed; the row stays queued and is retried", metadata: ["record": "\(id)", "error": "\(error)"], logger: logger)
        }
        return refill
    }

    /// How many failures in a row with `error` make a row a dead letter. A row-level permanent
    /// error (too large, invalid) needs one. Authorization errors concern the topic, not the row:
    /// librdkafka fails the rows queued behind one too, and ACLs change, so a row is
    /// dead-lettered only when the error repeats. A missing topic may be being created.
    private func attemptsBeforeDeadLetter(_ error: KafkaDeliveryError) -> Int {
        switch error.code {
        case .topicAuthorizationFailed, .clusterAuthorizationFailed: 2
        case .unknownTopicOrPartition, .unknownTopic: configuration.unknownTopicAttempts
        default: error.disposition == .permanent ? 1 : Int.max
        }
    }

    /// Whether pending outcomes should be committed now: a batch of acknowledgements, any
    /// failure, or the last reports of what was in flight.
    private func outcomesDue() -> Bool {
        state.withLock { state in
            state.pendingAcknowledgements.count >= 256 || !state.pendingFailures.isEmpty
                || (state.inFlight.isEmpty && !state.pendingAcknowledgements.isEmpty)
        }
    }

    /// Commits pending deletions and failure records. While the queue cannot take writes
    /// (a full disk, a lock held elsewhere) the acknowledgements wait in memory and are committed
    /// later; the failure records, which only count attempts, are let go.
    private func flushOutcomes() throws {
        try committingOutcomes.withLock { _ in try commitPendingOutcomes() }
    }

    private func commitPendingOutcomes() throws {
        if let after = state.withLock({ $0.storageRetryAfter }), ContinuousClock.now < after { return }
        let (acknowledged, failures) = state.withLock { state in
            defer {
                state.pendingAcknowledgements.removeAll(keepingCapacity: true)
                state.pendingFailures.removeAll()
            }
            return (state.pendingAcknowledgements, state.pendingFailures)
        }
        let deleted = try absorbingTransient("delete acknowledged rows") { () throws -> Bool in
            try queue.acknowledge(acknowledged, stream: stream)
            return true
        }
        guard deleted == true else {
            state.withLock { $0.pendingAcknowledgements.insert(contentsOf: acknowledged, at: 0) }
            return
        }
        for (error, ids) in Dictionary(grouping: failures, by: \.error) {
            try absorbingTransient("record failed attempts") {
                try queue.recordFailedAttempt(ids.map(\.id), error: error, stream: stream)
            }
        }
    }

    /// Runs a queue operation; a transient failure (``QueueError/isTransient``) is logged
    /// (rate-limited), holds queue writes back for a second, and returns `nil` instead of ending
    /// the drainer. Any other error is thrown.
    @discardableResult
    private func absorbingTransient<T>(_ what: String, _ body: () throws -> T) throws -> T? {
        do {
            let result = try body()
            state.withLock { $0.storageRetryAfter = nil }
            return result
        } catch let error as QueueError where error.isTransient {
            state.withLock { $0.storageRetryAfter = ContinuousClock.now.advanced(by: .seconds(1)) }
            failureLog.warning("storage", "the queue cannot \(what) for now; retrying", metadata: ["error": "\(error)"], logger: logger)
            return nil
        }
    }

    /// Waits out the retry backoff. When the failures were the broker's silence (timeouts,
    /// transport errors, all brokers down), it also asks the brokers once a second whether they
    /// answer again, and ends the wait when they do: on a flaky link a broker back for a few
    /// seconds between outages is used, not missed in a 30 s wait.
    private func waitBeforeRetry(_ producer: KafkaProducer) async {
        let wait = backoff()
        let silent = state.withLock { !$0.totals.brokerReachable }
        guard silent, wait > .seconds(1) else {
            await pause(wait)
            return
        }
        let clock = ContinuousClock()
        let end = clock.now.advanced(by: wait)
        while !isShuttingDown, clock.now < end {
            let probeStart = clock.now
            if await producer.brokersAnswer(within: min(.seconds(1), end - clock.now)) {
                logger.info("the brokers answer again; retrying before the backoff ends")
                return
            }
            // A refused connection fails the probe at once: at most one probe a second.
            await pause(min(probeStart.advanced(by: .seconds(1)), end) - clock.now)
        }
    }

    /// The wait before the next retry: doubling per consecutive failure, capped, with jitter
    /// (50–100 %) so many nodes do not retry in step.
    private func backoff() -> Duration {
        let failures = state.withLock { state in
            state.consecutiveFailures += 1
            return state.consecutiveFailures
        }
        var wait = configuration.initialBackoff
        for _ in 1..<min(failures, 30) where wait < configuration.maxBackoff { wait *= 2 }
        wait = min(wait, configuration.maxBackoff)
        return wait * Double.random(in: 0.5...1)
    }

    private var isShuttingDown: Bool { shuttingDown.load(ordering: .relaxed) || Task.isCancelled }

    /// Sleeps up to `duration`, waking early on shutdown.
    private func pause(_ duration: Duration) async {
        let clock = ContinuousClock()
        let end = clock.now.advanced(by: duration)
        while !isShuttingDown, clock.now < end {
            try? await Task.sleep(for: min(.milliseconds(50), end - clock.now))
        }
    }
}

/// A row handed to the producer and not yet reported.
private struct InFlightRow {
    /// Its payload bytes, for the in-flight byte budget.
    var bytes: Int
    /// Its failed attempts before this one, as stored on the row.
    var attempts: Int
}

/// Counts of what a drainer did since it started.
public struct DrainerTotals: Sendable, Hashable {
    /// Rows acknowledged by the broker (deleted).
    public var delivered = 0
    /// Failed attempts that left the row queued.
    public var retried = 0
    /// Rows moved to dead letters.
    public var deadLettered = 0
    /// Failed delivery reports and refused produce calls, by librdkafka error name (e.g.
    /// `_MSG_TIMED_OUT`, `MSG_SIZE_TOO_LARGE`).
    public var producerErrors: [String: Int] = [:]
    /// When the broker last acknowledged a row (epoch ms).
    public var lastDeliveryAtMs: Int64?
    /// Whether the broker answered the last delivery report: `false` from a retriable failure
    /// (timeout, transport, brokers down) or a producer that cannot be created until the next
    /// acknowledgement; a permanent refusal is an answer. `true` before the first report.
    public var brokerReachable = true
}
