import CRdKafka
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The librdkafka producer behind ``KafkaProducer``: the handle, the record bookkeeping and the
/// poll loop. The poll thread holds a strong reference until it has destroyed the handle, so the
/// handle outlives every librdkafka call made on it.
final class KafkaProducerCore: Sendable {
    enum Phase {
        case open
        /// Shutting down: waiting for outstanding reports until `deadline`, then purging.
        case draining(deadline: ContinuousClock.Instant)
        /// A fatal error: purge at once.
        case purgeRequested
        /// Purged: collecting the purged records' reports until `deadline`.
        case purging(deadline: ContinuousClock.Instant)
        case closed
    }

    struct State {
        /// `rd_kafka_t`; `nil` once destroyed.
        var handle: OpaquePointer?
        /// The main queue (`rd_kafka_queue_t`), where reports, errors and logs arrive.
        var queue: OpaquePointer?
        /// `rd_kafka_topic_t` by name, so produce does not look the topic up each time.
        var topics: [String: OpaquePointer] = [:]
        var phase = Phase.open
        var pollThreadStarted = false
        var fatalError: KafkaDeliveryError?
        /// Records accepted and not yet reported, by id (a count, in case an id is reused).
        var inFlight: [UInt64: Int] = [:]
        var inFlightCount = 0
        var shutdownWaiters: [CheckedContinuation<Void, Never>] = []
        /// Metadata probes running on threads of their own; the handle is not destroyed before
        /// they end.
        var probesRunning = 0
        /// Takes the reports on the poll thread instead of ``reports``, when set (before the
        /// poll thread starts).
        var reportHandler: (@Sendable ([DeliveryReport]) -> Void)?
    }

    enum Step {
        case poll(timeoutMs: Int32)
        case purge
        case close
    }

    /// Who owns a record's value once librdkafka accepts it.
    enum ValueOwnership {
        /// librdkafka copies it (`RD_KAFKA_MSG_F_COPY`).
        case copied
        /// librdkafka takes over the `malloc`ed memory and frees it (`RD_KAFKA_MSG_F_FREE`).
        case transferred
        /// A chunk of ``KafkaProducerCore/payloadPool`` (of this size), lent until the record is reported.
        case lent(chunkSize: Int)
    }

    static let pollIntervalMs: Int32 = 100
    /// How long purged records get to come back before the handle is destroyed regardless.
    static let purgeGrace = Duration.seconds(5)

    // Every librdkafka pointer lives in the lock's state; produce calls librdkafka under it, and
    // only the poll thread destroys the handle, after taking it out of the state.
    let state: Mutex<State>
    /// Reports in librdkafka's batches (one event per produce response): one hand-over per batch.
    let reports: AsyncStream<[DeliveryReport]>
    let continuation: AsyncStream<[DeliveryReport]>.Continuation
    let logger: Logger
    /// Memory for values lent to librdkafka. Released after `deinit`'s body has destroyed the
    /// handle, so the pool never unmaps a chunk librdkafka still reads.
    let payloadPool = KafkaPayloadPool()

    init(properties: KafkaProducerProperties, logger: Logger) throws(KafkaError) {
        guard let configuration = rd_kafka_conf_new() else {
            throw .clientCreationFailed(message: "librdkafka could not allocate a configuration")
        }
        for property in properties.properties {
            if let message = KafkaProducerProperties.set(property.name, property.value, on: configuration) {
                rd_kafka_conf_destroy(configuration)
                throw .propertyRefused(name: property.name, message: message)
            }
        }
        // Logs go to the main queue too, so librdkafka never calls into Swift from its threads.
        if let message = KafkaProducerProperties.set("log.queue", "true", on: configuration) {
            rd_kafka_conf_destroy(configuration)
            throw .propertyRefused(name: "log.queue", message: message)
        }
        rd_kafka_conf_set_events(configuration, RD_KAFKA_EVENT_DR | RD_KAFKA_EVENT_ERROR | RD_KAFKA_EVENT_LOG)
        var error = [CChar](repeating: 0, count: 512)
        guard let handle = rd_kafka_new(RD_KAFKA_PRODUCER, configuration, &error, error.count) else {
            rd_kafka_conf_destroy(configuration)  // still ours when rd_kafka_new fails
            throw .clientCreationFailed(message: KafkaProducerProperties.string(error))
        }
        _ = rd_kafka_set_log_queue(handle, nil)  // nil: the main queue
        let queue = rd_kafka_queue_get_main(handle)
        (reports, continuation) = AsyncStream.makeStream(of: [DeliveryReport].self, bufferingPolicy: .unbounded)
        state = Mutex(State(handle: handle, queue: queue))
        self.logger = logger
    }

    deinit {
        // Reached with a live handle only if the poll thread never ran (it keeps the core alive).
        let leftover = state.withLock { state -> [UInt64: Int] in
            for topic in state.topics.values { rd_kafka_topic_destroy(topic) }
            if let queue = state.queue { rd_kafka_queue_destroy(queue) }
            if let handle = state.handle { rd_kafka_destroy(handle) }
            return state.inFlight
        }
        yieldUnaccounted(leftover)
        continuation.finish()
    }

    // MARK: Producing

    func produce(
        id: UInt64, topic: String, key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer,
        headers: [(name: String, value: String)], ownership: ValueOwnership = .copied
    ) throws(KafkaError) {
        try state.withLock { (state: inout State) throws(KafkaError) in
            guard case .open = state.phase, let handle = state.handle else {
                throw state.fatalError.map(KafkaError.producerFailed) ?? .producerClosed
            }
            let topicHandle = try Self.topic(named: topic, handle: handle, cache: &state.topics)
            // Lent only now, while open: `close` takes back every lent chunk once the handle is gone.
            var lent: UnsafeMutableRawPointer?
            if case .lent(let size) = ownership, let base = value.baseAddress {
                let chunk = UnsafeMutableRawPointer(mutating: base)
                payloadPool.lend(chunk, size: size)
                lent = chunk
            }
            do throws(KafkaError) {
                try Self.enqueue(id: id, topicName: topic, key: key, value: value, ownership: ownership, headers: headers, handle: handle, topic: topicHandle)
            } catch {
                if let lent { payloadPool.withdraw(lent) }
                throw error
            }
            state.inFlight[id, default: 0] += 1
            state.inFlightCount += 1
        }
    }

    static func topic(named name: String, handle: OpaquePointer, cache: inout [String: OpaquePointer]) throws(KafkaError) -> OpaquePointer {
        if let topic = cache[name] { return topic }
        guard let topic = rd_kafka_topic_new(handle, name, nil) else {
            throw .produceRefused(KafkaDeliveryError(code: KafkaErrorCode(rd_kafka_last_error())))
        }
        cache[name] = topic
        return topic
    }

    /// Hands one record to librdkafka, never blocking: the key is copied; the value as `ownership` says.
    static func enqueue(
        id: UInt64, topicName: String, key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, ownership: ValueOwnership = .copied,
        headers: [(name: String, value: String)], handle: OpaquePointer, topic: OpaquePointer
    ) throws(KafkaError) {
        let headerList = rd_kafka_headers_new(headers.count)!
        for header in headers {
            addHeader(header.name, header.value, to: headerList)
        }
        let failure: OpaquePointer? = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 1) { standIn in
            // A non-null pointer keeps an empty value a present, empty value rather than a null one.
            let valuePointer = value.baseAddress ?? UnsafeRawPointer(standIn.baseAddress!)
            return withUnsafeTemporaryAllocation(of: rd_kafka_vu_t.self, capacity: 6) { arguments in
                arguments.initialize(repeating: rd_kafka_vu_t())
                arguments[0].vtype = RD_KAFKA_VTYPE_RKT
                arguments[0].u.rkt = topic
                arguments[1].vtype = RD_KAFKA_VTYPE_VALUE
                arguments[1].u.mem.ptr = UnsafeMutableRawPointer(mutating: valuePointer)
                arguments[1].u.mem.size = value.count
                arguments[2].vtype = RD_KAFKA_VTYPE_OPAQUE
                arguments[2].u.ptr = UnsafeMutableRawPointer(bitPattern: UInt(id))  // an id, never a pointer
                arguments[3].vtype = RD_KAFKA_VTYPE_MSGFLAGS
                switch ownership {
                case .copied: arguments[3].u.i = RD_KAFKA_MSG_F_COPY
                case .transferred: arguments[3].u.i = RD_KAFKA_MSG_F_FREE
                case .lent: arguments[3].u.i = 0  // librdkafka reads it until the record is reported
                }
                arguments[4].vtype = RD_KAFKA_VTYPE_HEADERS
                arguments[4].u.headers = headerList
                var count = 5
                if let keyPointer = key.baseAddress, !key.isEmpty {
                    arguments[5].vtype = RD_KAFKA_VTYPE_KEY
                    arguments[5].u.mem.ptr = UnsafeMutableRawPointer(mutating: keyPointer)
                    arguments[5].u.mem.size = key.count
                    count = 6
                }
                return rd_kafka_produceva(handle, arguments.baseAddress, count)
            }
        }
        guard let failure else { return }  // librdkafka owns the headers now
        rd_kafka_headers_destroy(headerList)  // still ours when produceva fails
        let code = KafkaErrorCode(rd_kafka_error_code(failure))
        var error = KafkaDeliveryError(code: code, message: String(cString: rd_kafka_error_string(failure)))
        let isFatal = rd_kafka_error_is_fatal(failure) != 0
        rd_kafka_error_destroy(failure)
        if code == .queueFull { throw .queueFull }
        if isFatal || code == .fatal { throw .producerFailed(error) }
        if !recordLevelCodes.contains(code) {
            // The topic's state refused it (e.g. a cached authorization error): the record was never tried.
            error.disposition = .retriable
            error.message = "topic \(topicName) refused for now: \(error.message)"
        }
        throw .produceRefused(error)
    }

    /// Produce-time refusals about the record itself; any other comes from the topic's state.
    static let recordLevelCodes: Set<KafkaErrorCode> = [.messageSizeTooLarge, .invalidArgument, .badMessage]

    static func addHeader(_ name: String, _ value: String, to headers: OpaquePointer) {
        var value = value
        value.withUTF8 { bytes in
            // A null value pointer would make a null header; an empty value must stay empty.
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 1) { empty in
                let pointer = bytes.isEmpty ? UnsafeRawPointer(empty.baseAddress!) : UnsafeRawPointer(bytes.baseAddress!)
                _ = rd_kafka_header_add(headers, name, -1, pointer, bytes.count)
            }
        }
    }

    // MARK: Lifecycle

    /// Starts the poll thread unless it runs already or the handle is gone; `reportHandler`, if
    /// given, takes the reports from then on (ignored when the thread runs already).
    func start(reportHandler: (@Sendable ([DeliveryReport]) -> Void)? = nil) {
        let startThread = state.withLock { state in
            guard !state.pollThreadStarted, state.handle != nil else { return false }
            state.pollThreadStarted = true
            state.reportHandler = reportHandler
            return true
        }
        if startThread {
            DedicatedThread.start { self.pollLoop() }
        }
    }

    /// Stops accepting records; outstanding ones get until `deadline`, then they are purged.
    func requestShutdown(deadline: ContinuousClock.Instant) {
        state.withLock { state in
            switch state.phase {
            case .open:
                state.phase = .draining(deadline: deadline)
            case .draining(let current) where deadline < current:
                state.phase = .draining(deadline: deadline)
            default:
                break
            }
        }
        start()  // the poll thread does the draining, even when `start` was never called
    }

    func waitUntilClosed() async {
        await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
            let closed = state.withLock { state in
                if case .closed = state.phase { return true }
                state.shutdownWaiters.append(waiter)
                return false
            }
            if closed { waiter.resume() }
        }
    }

    // MARK: Probing

    /// Asks a broker for the cluster's metadata (`rd_kafka_metadata`, which blocks: on a thread
    /// of its own) and returns whether one answered within `timeoutMs`. `false` at once when the
    /// producer is shutting down.
    func probe(timeoutMs: Int32) async -> Bool {
        let started = state.withLock { state in
            guard case .open = state.phase, state.handle != nil else { return false }
            state.probesRunning += 1
            return true
        }
        guard started else { return false }
        return await DedicatedThread.run {
            defer { self.state.withLock { $0.probesRunning -= 1 } }
            // Still there: `close` waits for running probes before destroying the handle.
            guard let handle = self.state.withLock({ $0.handle }) else { return false }
            var metadata: UnsafePointer<rd_kafka_metadata>?
            let code = rd_kafka_metadata(handle, 0, nil, &metadata, timeoutMs)
            defer { if let metadata { rd_kafka_metadata_destroy(metadata) } }
            return code == RD_KAFKA_RESP_ERR_NO_ERROR && (metadata?.pointee.broker_cnt ?? 0) > 0
        }
    }

    // MARK: The poll thread

    func pollLoop() {
        let pointers = state.withLock { state in (state.handle, state.queue) }
        guard let handle = pointers.0, let queue = pointers.1 else { return }
        while true {
            switch nextStep() {
            case .poll(let timeoutMs):
                serve(queue, handle: handle, timeoutMs: timeoutMs)
                payloadPool.trimIfIdle()
            case .purge:
                let result = KafkaErrorCode(rd_kafka_purge(handle, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT))
                if result != .noError {
                    logger.error("librdkafka purge failed", metadata: ["kafka.error": "\(result)"])
                }
            case .close:
                close(handle: handle, queue: queue)
                return
            }
        }
    }

    func nextStep() -> Step {
        let now = ContinuousClock.now
        return state.withLock { state in
            switch state.phase {
            case .open:
                return .poll(timeoutMs: Self.pollIntervalMs)
            case .draining(let deadline):
                if state.inFlightCount == 0 { return .close }
                if now >= deadline {
                    state.phase = .purging(deadline: now + Self.purgeGrace)
                    return .purge
                }
                return .poll(timeoutMs: min(Self.pollIntervalMs, Self.milliseconds(deadline - now)))
            case .purgeRequested:
                state.phase = .purging(deadline: now + Self.purgeGrace)
                return .purge
            case .purging(let deadline):
                if state.inFlightCount == 0 || now >= deadline { return .close }
                return .poll(timeoutMs: Self.pollIntervalMs)
            case .closed:
                return .close
            }
        }
    }

    /// Waits up to `timeoutMs` for an event, then takes whatever else is ready.
    func serve(_ queue: OpaquePointer, handle: OpaquePointer, timeoutMs: Int32) {
        var next = rd_kafka_queue_poll(queue, timeoutMs)
        var served = 0
        while let event = next {
            var reports: [DeliveryReport]?
            switch rd_kafka_event_type(event) {
            case RD_KAFKA_EVENT_DR:
                reports = deliveryReports(event)
            case RD_KAFKA_EVENT_ERROR:
                clientError(event, handle: handle)
            case RD_KAFKA_EVENT_LOG:
                log(event)
            default:
                break
            }
            // Destroying the event frees the reported messages and the payloads librdkafka took
            // over (lent ones went back to the pool already): before the reports are handed on, so
            // that a handler producing more reuses that memory rather than growing the heap.
            rd_kafka_event_destroy(event)
            if let reports { hand(reports) }
            served += 1
            next = served < 1000 ? rd_kafka_queue_poll(queue, 0) : nil
        }
    }

    /// The reports of a delivery-report event, taken off the in-flight count; the values lent
    /// for them go back to the pool.
    func deliveryReports(_ event: OpaquePointer) -> [DeliveryReport] {
        var batch: [DeliveryReport] = []
        var payloads: [UnsafeMutableRawPointer] = []
        let count = rd_kafka_event_message_count(event)
        batch.reserveCapacity(count)
        payloads.reserveCapacity(count)
        while let message = rd_kafka_event_message_next(event) {
            if let payload = message.pointee.payload { payloads.append(payload) }
            let id = UInt64(UInt(bitPattern: message.pointee._private))
            let code = KafkaErrorCode(message.pointee.err)
            let outcome: DeliveryReport.Outcome = code == .noError
                ? .delivered(partition: message.pointee.partition, offset: message.pointee.offset)
                : .failed(KafkaDeliveryError(code: code))
            batch.append(DeliveryReport(recordID: id, outcome: outcome))
        }
        payloadPool.reclaim(payloads)
        let unknown = state.withLock { state in
            var unknown = 0
            for report in batch {
                switch state.inFlight[report.recordID] {
                case nil: unknown += 1
                case 1: state.inFlight[report.recordID] = nil
                case let count?: state.inFlight[report.recordID] = count - 1
                }
            }
            state.inFlightCount -= batch.count - unknown
            return unknown
        }
        if unknown > 0 {
            logger.warning("librdkafka reported records it was not given", metadata: ["kafka.reports": "\(unknown)"])
        }
        return batch
    }

    /// Hands `batch` to the report handler, or to ``reports`` when there is none.
    func hand(_ batch: [DeliveryReport]) {
        if let handler = state.withLock({ $0.reportHandler }) {
            handler(batch)
        } else {
            continuation.yield(batch)
        }
    }

    func clientError(_ event: OpaquePointer, handle: OpaquePointer) {
        let code = KafkaErrorCode(rd_kafka_event_error(event))
        let reason = rd_kafka_event_error_string(event).map { String(cString: $0) } ?? code.text
        guard rd_kafka_event_error_is_fatal(event) != 0 else {
            // Transient (a broker down, a connection lost): librdkafka keeps retrying by itself.
            logger.warning("librdkafka: \(reason)", metadata: ["kafka.error": "\(code.name)"])
            return
        }
        var buffer = [CChar](repeating: 0, count: 512)
        let underlying = KafkaErrorCode(rd_kafka_fatal_error(handle, &buffer, buffer.count))
        let error = KafkaDeliveryError(code: underlying, message: KafkaProducerProperties.string(buffer))
        logger.error("librdkafka producer failed fatally; purging its records", metadata: ["kafka.error": "\(error)"])
        state.withLock { state in
            if state.fatalError == nil { state.fatalError = error }
            switch state.phase {
            case .open, .draining: state.phase = .purgeRequested
            case .purgeRequested, .purging, .closed: break
            }
        }
    }

    func log(_ event: OpaquePointer) {
        var facility: UnsafePointer<CChar>?
        var text: UnsafePointer<CChar>?
        var level: Int32 = 0
        guard rd_kafka_event_log(event, &facility, &text, &level) == 0, let text else { return }
        logger.log(
            level: Self.logLevel(syslog: level),
            "\(String(cString: text))",
            metadata: ["kafka.facility": "\(facility.map { String(cString: $0) } ?? "")"]
        )
    }

    /// Destroys the handle, then reports every record librdkafka never reported and ends the stream.
    func close(handle: OpaquePointer, queue: OpaquePointer) {
        // No probe starts once the phase has left `.open`; those running end within their timeout.
        while state.withLock({ $0.probesRunning }) > 0 {
            usleep(10_000)
        }
        let topics = state.withLock { state in
            let topics = Array(state.topics.values)
            state.topics = [:]
            state.handle = nil
            state.queue = nil
            return topics
        }
        for topic in topics { rd_kafka_topic_destroy(topic) }
        rd_kafka_queue_destroy(queue)
        rd_kafka_destroy(handle)
        payloadPool.close()
        let (leftover, waiters) = state.withLock { state in
            let taken = (state.inFlight, state.shutdownWaiters)
            state.inFlight = [:]
            state.inFlightCount = 0
            state.shutdownWaiters = []
            state.phase = .closed
            return taken
        }
        yieldUnaccounted(leftover)
        // The handler may hold the producer: let go of it, or the two would keep each other.
        state.withLock { $0.reportHandler = nil }
        continuation.finish()
        for waiter in waiters { waiter.resume() }
    }

    /// Failed reports for records the handle took with it, so none is left unaccounted.
    func yieldUnaccounted(_ leftover: [UInt64: Int]) {
        guard !leftover.isEmpty else { return }
        logger.warning("librdkafka destroyed with unreported records", metadata: ["kafka.records": "\(leftover.values.reduce(0, +))"])
        let error = KafkaDeliveryError(code: .destroy)
        hand(leftover.sorted { $0.key < $1.key }.flatMap { id, count in
            Array(repeating: DeliveryReport(recordID: id, outcome: .failed(error)), count: count)
        })
    }

    // MARK: Helpers

    static func milliseconds(_ duration: Duration) -> Int32 {
        let (seconds, attoseconds) = duration.components
        let milliseconds = seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return Int32(clamping: max(1, milliseconds))
    }

    static func logLevel(syslog level: Int32) -> Logger.Level {
        switch level {
        case ...2: .critical
        case 3: .error
        case 4: .warning
        case 5: .notice
        case 6: .info
        default: .debug
        }
    }
}
