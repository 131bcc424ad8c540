import CRdKafka
import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A librdkafka producer that reports what became of every record it accepts.
///
/// ```swift
/// let producer = try KafkaProducer(properties: properties, logger: logger)
/// producer.start()
/// try producer.produce(record)            // never blocks; `.queueFull` means "later"
/// for await report in producer.deliveryReports { … }
/// await producer.shutdown(timeout: .seconds(5))
/// ```
///
/// Every accepted record gets exactly one ``DeliveryReport``, delivered or failed, before
/// ``deliveryReports`` ends: on shutdown, records still outstanding at the timeout are purged and
/// reported failed (retriable); after a fatal error (``fatalError``) the producer purges and
/// reports all of its records the same way, ends the sequence and accepts nothing more, and the
/// caller creates a new producer. A broker acknowledgement is the only success: `rd_kafka_flush`
/// is never taken as one.
///
/// librdkafka's reports, errors and logs are served by a poll loop on a thread of its own,
/// started by ``start()``, never on the Swift cooperative pool.
public final class KafkaProducer: Sendable {
    let core: KafkaProducerCore

    /// Creates the librdkafka producer, applying `properties` in order.
    ///
    /// - Throws: ``KafkaError/propertyRefused(name:message:)`` naming the first property librdkafka
    ///   refuses, or ``KafkaError/clientCreationFailed(message:)`` when it refuses the combination.
    public init(properties: KafkaProducerProperties, logger: Logger) throws(KafkaError) {
        core = try KafkaProducerCore(properties: properties, logger: logger)
    }

    deinit {
        // Not shut down: purge at once, so the handle and its thread do not outlive us for long.
        core.requestShutdown(deadline: .now)
    }

    /// The delivery reports; see ``KafkaDeliveryReports``.
    public var deliveryReports: KafkaDeliveryReports {
        KafkaDeliveryReports(stream: core.reports)
    }

    /// Starts the poll loop on its own thread. Idempotent.
    public func start() {
        core.start()
    }

    /// Starts the poll loop on its own thread and hands every batch of delivery reports (one per
    /// produce response, in librdkafka's order) to `handler` on that thread, instead of to
    /// ``deliveryReports``, which then ends empty once the producer closes (see
    /// ``waitUntilClosed()``). Each record is still reported exactly once, the purged and
    /// unaccounted ones included.
    ///
    /// For a caller whose answer to a report is to produce more (a drainer refilling its
    /// window): it produces from the poll thread, without waking a task first. The poll loop
    /// serves nothing else while the handler runs, so it must not wait for long. Ignored once the
    /// loop runs.
    public func start(reportingTo handler: @escaping @Sendable ([DeliveryReport]) -> Void) {
        core.start(reportHandler: handler)
    }

    /// Returns once the producer has closed (after ``shutdown(timeout:)`` or a fatal error) and
    /// every report has been handed out.
    public func waitUntilClosed() async {
        await core.waitUntilClosed()
    }

    /// Hands `record` to librdkafka, which copies it. Never blocks.
    ///
    /// - Throws: ``KafkaError/queueFull`` when the local queue is full (produce again after some
    ///   reports), ``KafkaError/produceRefused(_:)`` when librdkafka refuses the record (permanent
    ///   only for the record's own faults; see there), ``KafkaError/producerFailed(_:)`` after a
    ///   fatal error, ``KafkaError/producerClosed`` once shutdown has begun.
    public func produce(_ record: OutgoingRecord) throws(KafkaError) {
        // `withUnsafeBytes` only rethrows untyped errors: carry ours out as a value.
        let failure: KafkaError? = record.key.withUnsafeBytes { key in
            record.value.withUnsafeBytes { value in
                do throws(KafkaError) {
                    try core.produce(id: record.id, topic: record.topic, key: key, value: value, headers: record.headers)
                    return nil
                } catch {
                    return error
                }
            }
        }
        if let failure { throw failure }
    }

    /// Hands a record whose key and value live in someone else's memory (e.g. a row being read
    /// from SQLite) to librdkafka, which copies them before this returns: no copy of ours first.
    /// An empty `key` means no key. Throws as ``produce(_:)``.
    public func produce(
        id: UInt64, topic: String, key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer,
        headers: [(name: String, value: String)]
    ) throws(KafkaError) {
        try core.produce(id: id, topic: topic, key: key, value: value, headers: headers)
    }

    /// A buffer of `count` bytes for a value to produce with
    /// ``produce(id:topic:key:value:headers:)-(_,_,_,KafkaMessageBuffer,_)``: values of 4 KiB and
    /// more get memory from this producer's pool, lent to librdkafka and reused once the record
    /// is reported, so a steady stream of records reuses the same memory whichever thread makes
    /// them. The pool unmaps its free memory once nothing has been lent for a second.
    public func makeMessageBuffer(count: Int) -> KafkaMessageBuffer {
        KafkaMessageBuffer(count: count, from: core.payloadPool)
    }

    /// Hands a record whose value is in a buffer of its own to librdkafka without copying it: a
    /// buffer from ``makeMessageBuffer(count:)`` is lent and goes back to the pool once the record
    /// is reported; a `malloc`ed one (``KafkaMessageBuffer/init(count:)``) is taken over and
    /// freed by librdkafka. The key is copied. Throws as ``produce(_:)``; the buffer is given
    /// back or freed then too.
    public func produce(
        id: UInt64, topic: String, key: UnsafeRawBufferPointer, value: consuming KafkaMessageBuffer,
        headers: [(name: String, value: String)]
    ) throws(KafkaError) {
        let count = value.count
        let (pointer, chunk) = value.release()
        guard let pointer else {
            try core.produce(id: id, topic: topic, key: key, value: UnsafeRawBufferPointer(start: nil, count: 0), headers: headers)
            return
        }
        let bytes = UnsafeRawBufferPointer(start: pointer, count: count)
        guard let chunk else {
            do {
                try core.produce(id: id, topic: topic, key: key, value: bytes, headers: headers, ownership: .transferred)
            } catch {
                free(pointer)  // librdkafka takes it over only when it accepts the record
                throw error
            }
            return
        }
        guard chunk.pool === core.payloadPool else {
            // Another producer's pool: only this producer's reports give chunks back.
            defer { chunk.pool.giveBack(pointer, size: chunk.size) }
            try core.produce(id: id, topic: topic, key: key, value: bytes, headers: headers, ownership: .copied)
            return
        }
        do {
            try core.produce(id: id, topic: topic, key: key, value: bytes, headers: headers, ownership: .lent(chunkSize: chunk.size))
        } catch {
            chunk.pool.giveBack(pointer, size: chunk.size)  // not lent: refused, or the producer closed
            throw error
        }
    }

    /// Whether a broker answers a metadata request within `timeout` (librdkafka connects on its
    /// own schedule, `reconnect.backoff.ms`); `false` once shutdown has begun. For telling that
    /// brokers are back after an outage without producing anything; the call blocks a thread of
    /// its own, never the caller's.
    public func brokersAnswer(within timeout: Duration) async -> Bool {
        await core.probe(timeoutMs: KafkaProducerCore.milliseconds(timeout))
    }

    /// Messages and requests librdkafka still holds, plus reports not yet served
    /// (`rd_kafka_outq_len`); 0 once shut down.
    public var outstandingCount: Int {
        core.state.withLock { state in state.handle.map { Int(rd_kafka_outq_len($0)) } ?? 0 }
    }

    /// Records accepted whose report has not been yielded yet.
    public var inFlightCount: Int {
        core.state.withLock { $0.inFlightCount }
    }

    /// The fatal error that ended this producer, if one did.
    public var fatalError: KafkaDeliveryError? {
        core.state.withLock { $0.fatalError }
    }

    /// Whether the producer has shut down (or ended after a fatal error) and its handle is gone.
    public var isClosed: Bool {
        core.state.withLock { state in
            if case .closed = state.phase { return true }
            return false
        }
    }

    /// Stops accepting records, waits up to `timeout` for the reports of outstanding ones, purges
    /// the rest (reported failed, retriable), destroys the librdkafka handle and ends
    /// ``deliveryReports``. Returns when all of that is done; safe to call more than once.
    public func shutdown(timeout: Duration) async {
        core.requestShutdown(deadline: .now + timeout)
        await core.waitUntilClosed()
    }

    /// Raises a fabricated fatal error in librdkafka (`rd_kafka_test_fatal_error`), for tests
    /// and demonstrations of the recovery path.
    public func simulateFatalError(reason: String) {
        core.state.withLock { state in
            guard let handle = state.handle else { return }
            _ = rd_kafka_test_fatal_error(handle, RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER, reason)
        }
    }
}
