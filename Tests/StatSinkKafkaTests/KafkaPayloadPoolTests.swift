import Synchronization
import Testing

@testable import StatSinkKafka

@Suite("Payload pool")
struct KafkaPayloadPoolTests {
    let page = KafkaPayloadPool.pageSize

    @Test func chunkSizesArePagesAndWasteAtMostAnEighth() {
        for count in [4096, 4097, 8191, 16384, 20_000, 30 * 1024 + 1, 100_000, 150_000, 1_000_000, 3_000_001] {
            let size = KafkaPayloadPool.chunkSize(for: count)
            #expect(size >= count)
            #expect(size % page == 0)
            #expect(size - count < max(page, count / 8), "\(count) bytes get a chunk of \(size)")
        }
        #expect(KafkaPayloadPool.chunkSize(for: page) == page)
    }

    @Test func smallValuesAreNotPooled() {
        let pool = KafkaPayloadPool()
        #expect(pool.take(count: KafkaPayloadPool.smallestPooledBytes - 1) == nil)
        let buffer = KafkaMessageBuffer(count: page - 1, from: pool)
        #expect(buffer.count == page - 1)
        #expect(pool.usage.mapped == 0)
    }

    @Test func aChunkReportedBackIsReusedForAValueOfItsSize() throws {
        let pool = KafkaPayloadPool()
        let (first, size) = try #require(pool.take(count: 40_000))
        pool.lend(first, size: size)
        #expect(pool.usage == (mapped: size, free: 0, lent: size))
        // A report for a value the pool never lent changes nothing.
        var unrelated = [UInt8](repeating: 0, count: 8)
        unrelated.withUnsafeMutableBytes { pool.reclaim([$0.baseAddress!]) }
        #expect(pool.usage.lent == size)

        pool.reclaim([first])
        #expect(pool.usage == (mapped: size, free: size, lent: 0))
        let again = try #require(pool.take(count: 39_000))
        #expect(again.chunk == first && again.size == size)
        // A chunk more than twice the size is left for larger values: a new one is mapped.
        pool.giveBack(again.chunk, size: again.size)
        let small = try #require(pool.take(count: page))
        #expect(small.chunk != first)
        #expect(pool.usage.mapped == size + small.size)
        pool.giveBack(small.chunk, size: small.size)
    }

    @Test func freeChunksBeyondTheRetainedBytesAreUnmapped() throws {
        let pool = KafkaPayloadPool(retainedBytes: 128 << 10)
        let chunks = (0..<4).compactMap { _ in pool.take(count: 64 << 10) }
        #expect(chunks.count == 4)
        #expect(pool.usage.mapped == 4 * (64 << 10))
        for (chunk, size) in chunks { pool.giveBack(chunk, size: size) }
        #expect(pool.usage == (mapped: 128 << 10, free: 128 << 10, lent: 0))
    }

    @Test func asMuchAsWasLentAtOnceIsKeptUntilThePoolIsIdle() throws {
        // A window larger than the retained bytes: its chunks are reused, not remapped per report.
        let pool = KafkaPayloadPool(retainedBytes: 128 << 10)
        let chunks = (0..<4).compactMap { _ in pool.take(count: 64 << 10) }
        for (chunk, size) in chunks { pool.lend(chunk, size: size) }
        pool.reclaim(chunks.map(\.chunk))
        #expect(pool.usage == (mapped: 256 << 10, free: 256 << 10, lent: 0))
        pool.trimIfIdle(now: .now + KafkaPayloadPool.idleTrimDelay)
        #expect(pool.usage.mapped == 0)
    }

    @Test func aClosedPoolLendsNothingAndUnmapsWhatComesBack() throws {
        let pool = KafkaPayloadPool()
        let (lent, lentSize) = try #require(pool.take(count: 50_000))
        pool.lend(lent, size: lentSize)
        let (held, heldSize) = try #require(pool.take(count: 50_000))
        pool.close()
        #expect(pool.usage == (mapped: heldSize, free: 0, lent: 0))
        #expect(pool.take(count: 50_000) == nil)  // the caller mallocs instead
        pool.giveBack(held, size: heldSize)
        #expect(pool.usage == (mapped: 0, free: 0, lent: 0))
        let buffer = KafkaMessageBuffer(count: 50_000, from: pool)
        #expect(buffer.count == 50_000)
        #expect(pool.usage.mapped == 0)
    }

    @Test func freeChunksAreUnmappedOnceNothingHasBeenLentForAWhile() throws {
        let pool = KafkaPayloadPool()
        let (chunk, size) = try #require(pool.take(count: 50_000))
        pool.lend(chunk, size: size)
        let (other, otherSize) = try #require(pool.take(count: 50_000))
        pool.giveBack(other, size: otherSize)
        // Something is lent: nothing is trimmed, however long ago.
        pool.trimIfIdle(now: .now + .seconds(60))
        #expect(pool.usage.mapped == size + otherSize)

        pool.reclaim([chunk])
        pool.trimIfIdle()  // lent a moment ago
        #expect(pool.usage.free == size + otherSize)
        pool.trimIfIdle(now: .now + KafkaPayloadPool.idleTrimDelay)
        #expect(pool.usage == (mapped: 0, free: 0, lent: 0))
    }

    @Test func aBufferDroppedUnproducedGoesBackToThePool() {
        let pool = KafkaPayloadPool()
        do {
            let buffer = KafkaMessageBuffer(count: 10_000, from: pool)
            buffer.bytes.initializeMemory(as: UInt8.self, repeating: 7)
        }
        let size = KafkaPayloadPool.chunkSize(for: 10_000)
        #expect(pool.usage == (mapped: size, free: size, lent: 0))
    }
}

/// Lent values against librdkafka's mock cluster: what arrives is what was written, although
/// every chunk is reused several times over.
@Suite("Payload pool against the mock cluster", .serialized, .timeLimit(.minutes(1)))
struct KafkaPayloadPoolDeliveryTests {
    @Test func lentValuesArriveIntactWhileTheirMemoryIsReused() async throws {
        let kafka = try MockKafka(partitions: 1)
        let properties = KafkaProducerProperties(brokerList: kafka.cluster.bootstrapServers, lingerMs: 2, producerConfig: [])
        let producer = try KafkaProducer(properties: properties, logger: quietLogger)
        // Small enough for the mock broker's log, which keeps the last 5 MB of a partition.
        let total: UInt64 = 100
        let window: UInt64 = 12
        // Values of two sizes, as a snapshot's batches are, each filled from its id: the smaller
        // ones are copied into librdkafka's requests, the larger (over `message.copy.max.bytes`)
        // are sent from the lent memory itself.
        @Sendable func value(_ id: UInt64) -> [UInt8] {
            let count = id % 5 == 0 ? 100_000 : 20_000 + Int(id % 7) * 100
            return (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ Int(id) &* 7) }
        }
        @Sendable func produce(_ id: UInt64) throws {
            let record = kafka.record(id)
            let bytes = value(id)
            let buffer = producer.makeMessageBuffer(count: bytes.count)
            bytes.withUnsafeBytes { buffer.bytes.copyMemory(from: $0) }
            let key = copied(record.key)
            defer { key.deallocate() }
            try producer.produce(id: id, topic: record.topic, key: UnsafeRawBufferPointer(key), value: buffer, headers: record.headers)
        }
        // Each report lets the next record go from the poll thread, so at most `window` are lent.
        let received = Mutex<[DeliveryReport]>([])
        let mostMapped = Atomic<Int>(0)
        producer.start { reports in
            received.withLock { $0 += reports }
            for report in reports where report.isDelivered && report.recordID + window <= total {
                try? produce(report.recordID + window)
            }
            _ = mostMapped.max(producer.core.payloadPool.usage.mapped, ordering: .relaxed)
        }
        // Some requests fail and are retried by librdkafka, from the same lent memory.
        kafka.cluster.pushProduceErrors([.notLeaderForPartition, .requestTimedOut, .notLeaderForPartition])
        for id in 1...window { try produce(id) }
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .seconds(30))
        while received.withLock({ $0.count }) < Int(total), clock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        // Each id once (the order is the order of producing, which the two threads interleave).
        #expect(received.withLock { $0.map(\.recordID) }.sorted() == Array(1...total))
        #expect(received.withLock { $0.allSatisfy(\.isDelivered) })
        // The memory of about a window of values, not of all 100.
        let largest = KafkaPayloadPool.chunkSize(for: 100_000)
        #expect(mostMapped.load(ordering: .relaxed) <= Int(window + 2) * largest)
        #expect(producer.core.payloadPool.usage.lent == 0)

        let consumed = try await kafka.reader.read(count: Int(total), timeout: .seconds(20))
        #expect(consumed.count == Int(total))
        for message in consumed {
            let id = try #require(message.header("statsink.batch_index").flatMap { UInt64($0) })
            #expect(message.value == value(id), "record \(id) arrived changed")
        }
        await producer.shutdown(timeout: .seconds(5))
        #expect(producer.core.payloadPool.usage == (mapped: 0, free: 0, lent: 0))
    }

    @Test func chunksLentWhenTheProducerFailsAreUnmappedOnceItHasClosed() async throws {
        let kafka = try MockKafka(partitions: 1)
        let producer = try kafka.producer()
        let collector = ReportCollector(producer)
        try kafka.cluster.setBrokerDown(1)
        let records = (1...5).map { kafka.record($0, size: 80_000) }
        for record in records {
            let buffer = producer.makeMessageBuffer(count: record.value.count)
            record.value.withUnsafeBytes { buffer.bytes.copyMemory(from: $0) }
            let key = copied(record.key)
            defer { key.deallocate() }
            try producer.produce(id: record.id, topic: record.topic, key: UnsafeRawBufferPointer(key), value: buffer, headers: record.headers)
        }
        #expect(producer.core.payloadPool.usage.lent == 5 * KafkaPayloadPool.chunkSize(for: 80_000))
        producer.simulateFatalError(reason: "test")
        await producer.waitUntilClosed()
        let reports = await collector.waitFor(5)
        #expect(reports.count == 5 && reports.allSatisfy { !$0.isDelivered })
        #expect(producer.core.payloadPool.usage == (mapped: 0, free: 0, lent: 0))
        // Refused once closed: the buffer's chunk is not lent and nothing stays mapped.
        let late = producer.makeMessageBuffer(count: 80_000)
        var refused = false
        do {
            try producer.produce(id: 6, topic: kafka.topic, key: UnsafeRawBufferPointer(start: nil, count: 0), value: late, headers: [])
        } catch {
            refused = true
        }
        #expect(refused)
        #expect(producer.core.payloadPool.usage == (mapped: 0, free: 0, lent: 0))
        try kafka.cluster.setBrokerUp(1)
    }

    @Test func aBufferOfAnotherProducerIsCopiedAndGoesBackToItsOwnPool() async throws {
        let kafka = try MockKafka(partitions: 1)
        let producer = try kafka.producer()
        let other = try kafka.producer()
        let collector = ReportCollector(producer)
        let record = kafka.record(9, size: 30_000)
        let buffer = other.makeMessageBuffer(count: record.value.count)
        record.value.withUnsafeBytes { buffer.bytes.copyMemory(from: $0) }
        let key = copied(record.key)
        defer { key.deallocate() }
        try producer.produce(id: record.id, topic: record.topic, key: UnsafeRawBufferPointer(key), value: buffer, headers: record.headers)
        #expect(other.core.payloadPool.usage.lent == 0)
        #expect(other.core.payloadPool.usage.free == KafkaPayloadPool.chunkSize(for: 30_000))
        #expect(await collector.waitFor(1).first?.isDelivered == true)
        let consumed = try await kafka.reader.read(count: 1, timeout: .seconds(15))
        #expect(consumed.first?.value == record.value)
        await producer.shutdown(timeout: .seconds(5))
        await other.shutdown(timeout: .seconds(5))
    }
}

/// `bytes` in memory of its own, for an argument that must not be a closure's (a buffer consumed
/// by `produce` cannot be captured).
private func copied(_ bytes: [UInt8]) -> UnsafeMutableRawBufferPointer {
    let memory = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 1)
    bytes.withUnsafeBytes { memory.copyMemory(from: $0) }
    return memory
}
