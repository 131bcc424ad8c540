import Logging
import StatSinkKafka
import Synchronization
import Testing

/// Against librdkafka's mock cluster over TCP on loopback. Serialized: the broker-down timings
/// should not compete with each other for two CPUs.
@Suite("Kafka producer against the mock cluster", .serialized, .timeLimit(.minutes(1)))
struct KafkaProducerTests {
    @Test func deliversEveryRecordWithItsKeyAndHeaders() async throws {
        let kafka = try MockKafka(partitions: 3)
        let producer = try kafka.producer()
        let collector = ReportCollector(producer)
        let records = (1...20).map { kafka.record(1000 + UInt64($0), node: "node-\($0 % 2)", size: 50 * $0) }
        for record in records {
            try producer.produce(record)
        }

        let reports = await collector.waitFor(records.count)
        #expect(reports.count == records.count)
        #expect(reports.allSatisfy { $0.isDelivered })
        #expect(Set(reports.map(\.recordID)) == Set(records.map(\.id)))

        let consumed = try await kafka.reader.read(count: records.count, timeout: .seconds(15))
        #expect(consumed.count == records.count)
        let byID = Dictionary(uniqueKeysWithValues: consumed.map { (UInt64($0.header("statsink.batch_index")!)!, $0) })
        for record in records {
            let message = try #require(byID[record.id])
            #expect(message.key == record.key)
            #expect(message.value == record.value)
            #expect(message.headers.map(\.name) == record.headers.map(\.name))
            #expect(message.headers.map(\.value) == record.headers.map(\.value))
            let report = try #require(reports.first { $0.recordID == record.id })
            #expect(report.outcome == .delivered(partition: message.partition, offset: message.offset))
        }
        // One node's messages share a partition, so they stay in order.
        for node in ["node-0", "node-1"] {
            #expect(Set(consumed.filter { $0.key == Array(node.utf8) }.map(\.partition)).count == 1)
        }
        await producer.shutdown(timeout: .seconds(5))
        #expect(await collector.waitForEnd().finished)
    }

    @Test func brokerDownLongerThanMessageTimeoutFailsRetriableThenRecovers() async throws {
        let kafka = try MockKafka(partitions: 1)
        let producer = try kafka.producer([("message.timeout.ms", "2000")])
        let collector = ReportCollector(producer)
        try producer.produce(kafka.record(1))
        #expect(await collector.waitFor(1).first?.isDelivered == true)

        try kafka.cluster.setBrokerDown(1)
        let pending: [UInt64] = [2, 3, 4, 5, 6]
        for id in pending {
            try producer.produce(kafka.record(id))
        }
        let failures = await collector.waitFor(1 + pending.count).dropFirst()
        #expect(failures.map(\.recordID).sorted() == pending)
        for report in failures {
            let error = try #require(report.error, "record \(report.recordID) reported delivered while the broker was down")
            #expect(error.disposition == .retriable)
            #expect(error.code == .messageTimedOut)
        }

        try kafka.cluster.setBrokerUp(1)
        // As the drainer will: produce again whatever failed retriably, until delivered.
        var undelivered = Set(pending)
        for _ in 1...5 where !undelivered.isEmpty {
            let before = collector.reports.count
            for id in undelivered.sorted() {
                try producer.produce(kafka.record(id))
            }
            let reports = await collector.waitFor(before + undelivered.count).dropFirst(before)
            for report in reports where report.isDelivered {
                undelivered.remove(report.recordID)
            }
        }
        #expect(undelivered.isEmpty)

        let consumed = try await kafka.reader.read(timeout: .seconds(10))
        #expect(consumed.compactMap { $0.header("statsink.batch_index") } == ["1", "2", "3", "4", "5", "6"])
        await producer.shutdown(timeout: .seconds(5))
    }

    @Test func injectedPermanentErrorsFailOnlyTheirRecords() async throws {
        let kafka = try MockKafka(partitions: 1)
        // A topic authorization failure makes librdkafka refuse the topic's records until its next
        // metadata refresh: refresh often, and produce again what it refuses, as the drainer will.
        let producer = try kafka.producer([("topic.metadata.refresh.interval.ms", "100")])
        let collector = ReportCollector(producer)
        let injected: [UInt64: KafkaErrorCode] = [2: .messageSizeTooLarge, 4: .topicAuthorizationFailed]
        var refusals: [KafkaDeliveryError] = []
        // One record per request: a mock error fails every record of the request it hits.
        for id: UInt64 in 1...6 {
            if let code = injected[id] {
                kafka.cluster.pushProduceErrors([code])
            }
            while let refusal = produceOrRefusal(kafka.record(id), producer), refusals.count < 50 {
                refusals.append(refusal)
                try await Task.sleep(for: .milliseconds(50))
            }
            _ = await collector.waitFor(Int(id))
        }
        // Refused for the topic's state, not for the record: retriable despite the code.
        #expect(refusals.allSatisfy { $0.code == .topicAuthorizationFailed && $0.disposition == .retriable })

        let reports = collector.reports
        #expect(reports.map(\.recordID) == [1, 2, 3, 4, 5, 6])
        for report in reports {
            if let code = injected[report.recordID] {
                #expect(report.error?.code == code)
                #expect(report.error?.disposition == .permanent)
            } else {
                #expect(report.isDelivered, "record \(report.recordID): \(String(describing: report.error))")
            }
        }
        let consumed = try await kafka.reader.read(timeout: .seconds(10))
        #expect(consumed.compactMap { $0.header("statsink.batch_index") } == ["1", "3", "5", "6"])
        await producer.shutdown(timeout: .seconds(5))
    }

    @Test func shutdownWaitsForOutstandingReports() async throws {
        let kafka = try MockKafka()
        let producer = try kafka.producer()
        let collector = ReportCollector(producer)
        let ids = (1...50).map(UInt64.init)
        for id in ids {
            try producer.produce(kafka.record(id, node: "node-\(id % 5)"))
        }
        await producer.shutdown(timeout: .seconds(10))

        let (reports, finished) = await collector.waitForEnd()
        #expect(finished)
        #expect(reports.map(\.recordID).sorted() == ids)
        #expect(reports.allSatisfy { $0.isDelivered })
        #expect(producer.isClosed && producer.outstandingCount == 0 && producer.inFlightCount == 0)
        #expect(throws: KafkaError.producerClosed) { try producer.produce(kafka.record(99)) }
        await producer.shutdown(timeout: .seconds(1))  // again: a no-op
    }

    @Test func aReportHandlerGetsEveryReportOnThePollThreadAndMayProduceFromThere() async throws {
        let kafka = try MockKafka()
        let properties = KafkaProducerProperties(brokerList: kafka.cluster.bootstrapServers, lingerMs: 5, producerConfig: [])
        let producer = try KafkaProducer(properties: properties, logger: quietLogger)
        // Each delivered record 1...20 produces the next one from the handler, as a drainer
        // refilling its window does; 21 ends the chain.
        let received = Mutex<[DeliveryReport]>([])
        producer.start { reports in
            received.withLock { $0 += reports }
            for report in reports where report.isDelivered && report.recordID < 21 {
                try? producer.produce(kafka.record(report.recordID + 1))
            }
        }
        try producer.produce(kafka.record(1))
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .seconds(20))
        while received.withLock({ $0.count }) < 21, clock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        // Held back by a broker that is down: purged at shutdown, and still reported.
        try kafka.cluster.setBrokerDown(1)
        try producer.produce(kafka.record(22))
        await producer.shutdown(timeout: .milliseconds(300))
        await producer.waitUntilClosed()

        let reports = received.withLock { $0 }
        #expect(reports.map(\.recordID) == (1...22).map(UInt64.init))
        #expect(reports.prefix(21).allSatisfy { $0.isDelivered })
        #expect(reports.last?.error?.disposition == .retriable)
        // Every report went to the handler; the sequence ends without any.
        var iterator = producer.deliveryReports.makeAsyncIterator()
        #expect(await iterator.next() == nil)
        try kafka.cluster.setBrokerUp(1)
        let consumed = try await kafka.reader.read(count: 21, timeout: .seconds(15))
        #expect(consumed.compactMap { $0.header("statsink.batch_index") } == (1...21).map { "\($0)" })
    }

    @Test func shutdownPurgesWhatCannotBeDeliveredAndAccountsForEveryRecord() async throws {
        let kafka = try MockKafka(partitions: 2)
        let producer = try kafka.producer()
        let collector = ReportCollector(producer)
        try producer.produce(kafka.record(1))
        #expect(await collector.waitFor(1).first?.isDelivered == true)

        try kafka.cluster.setBrokerDown(1)
        let pending = (2...11).map(UInt64.init)
        for id in pending {
            try producer.produce(kafka.record(id, node: "node-\(id)"))
        }
        #expect(producer.inFlightCount == pending.count)
        let start = ContinuousClock.now
        await producer.shutdown(timeout: .milliseconds(300))
        #expect(ContinuousClock.now - start < .seconds(5))

        let (reports, finished) = await collector.waitForEnd()
        #expect(finished)
        #expect(reports.map(\.recordID).sorted() == [1] + pending)
        for report in reports.dropFirst() {
            #expect(report.error?.disposition == .retriable)
            #expect([.purgeQueue, .purgeInflight].contains(report.error?.code))
        }
    }

    @Test func fatalErrorReportsEveryRecordAndAFreshProducerCarriesOn() async throws {
        let kafka = try MockKafka(partitions: 1)
        let producer = try kafka.producer()
        let collector = ReportCollector(producer)
        try producer.produce(kafka.record(1))
        #expect(await collector.waitFor(1).first?.isDelivered == true)

        try kafka.cluster.setBrokerDown(1)
        let pending: [UInt64] = [2, 3, 4, 5, 6]
        for id in pending {
            try producer.produce(kafka.record(id))
        }
        producer.simulateFatalError(reason: "test")

        let (reports, finished) = await collector.waitForEnd()
        #expect(finished)
        #expect(reports.dropFirst().map(\.recordID).sorted() == pending)
        #expect(reports.dropFirst().allSatisfy { $0.error?.disposition == .retriable })
        let fatal = try #require(producer.fatalError)
        #expect(fatal.code == KafkaErrorCode(rawValue: 45))  // OUT_OF_ORDER_SEQUENCE_NUMBER
        #expect(producer.isClosed)
        #expect(throws: KafkaError.producerFailed(fatal)) { try producer.produce(kafka.record(7)) }
        await producer.shutdown(timeout: .seconds(1))

        try kafka.cluster.setBrokerUp(1)
        let fresh = try kafka.producer()
        let freshCollector = ReportCollector(fresh)
        for id in pending {
            try fresh.produce(kafka.record(id))
        }
        let delivered = await freshCollector.waitFor(pending.count)
        #expect(delivered.map(\.recordID).sorted() == pending)
        #expect(delivered.allSatisfy { $0.isDelivered })
        await fresh.shutdown(timeout: .seconds(5))
    }

    @Test func aFullLocalQueueIsAnErrorNotAWait() async throws {
        let kafka = try MockKafka(partitions: 1)
        try kafka.cluster.setBrokerDown(1)
        let producer = try kafka.producer([("queue.buffering.max.messages", "3")])
        let collector = ReportCollector(producer)
        for id: UInt64 in 1...3 {
            try producer.produce(kafka.record(id))
        }
        let start = ContinuousClock.now
        #expect(throws: KafkaError.queueFull) { try producer.produce(kafka.record(4)) }
        #expect(ContinuousClock.now - start < .milliseconds(100))

        await producer.shutdown(timeout: .zero)
        let (reports, finished) = await collector.waitForEnd()
        #expect(finished && reports.map(\.recordID).sorted() == [1, 2, 3])
        #expect(reports.allSatisfy { $0.error?.disposition == .retriable })
    }

    @Test func anOversizedRecordIsRefusedPermanentlyAtProduceTime() async throws {
        let kafka = try MockKafka(partitions: 1)
        let producer = try kafka.producer([("message.max.bytes", "1000")])
        let refusal = produceOrRefusal(kafka.record(1, size: 5000), producer)
        #expect(refusal?.code == .messageSizeTooLarge)
        #expect(refusal?.disposition == .permanent)
        #expect(producer.inFlightCount == 0)
        #expect(produceOrRefusal(kafka.record(2, size: 500), producer) == nil)
        await producer.shutdown(timeout: .seconds(5))
    }

    @Test func aProducerNeverStartedStillShutsDownAndEndsItsReports() async throws {
        let kafka = try MockKafka()
        let properties = KafkaProducerProperties(brokerList: kafka.cluster.bootstrapServers, lingerMs: 5, producerConfig: [])
        let producer = try KafkaProducer(properties: properties, logger: quietLogger)
        let collector = ReportCollector(producer)
        await producer.shutdown(timeout: .seconds(1))
        let (reports, finished) = await collector.waitForEnd()
        #expect(finished && reports.isEmpty)
    }

    @Test func librdkafkaLogsAndErrorsReachTheInjectedLogger() async throws {
        let kafka = try MockKafka(partitions: 1)
        try kafka.cluster.setBrokerDown(1)
        let handler = CapturingLogHandler()
        let properties = KafkaProducerProperties(
            brokerList: kafka.cluster.bootstrapServers, lingerMs: 5,
            producerConfig: [("reconnect.backoff.ms", "10"), ("reconnect.backoff.max.ms", "50")]
        )
        let producer = try KafkaProducer(properties: properties, logger: Logger(label: "test") { _ in handler })
        producer.start()
        // The connection failure comes as a log line and as an error event.
        func logged(_ key: String) -> Bool { handler.messages.contains { $0.metadata[key] != nil } }
        let deadline = ContinuousClock.now + .seconds(10)
        while !(logged("kafka.error") && logged("kafka.facility")), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        await producer.shutdown(timeout: .zero)
        let errors = handler.messages.filter { $0.metadata["kafka.error"] != nil }
        #expect(!errors.isEmpty, "no librdkafka error event was logged")
        #expect(errors.allSatisfy { $0.level == .warning })
        #expect(logged("kafka.facility"), "no librdkafka log line was logged")
    }

    @Test(arguments: [
        ("no.such.property", "1"),
        ("acks", "banana"),
        ("compression.codec", "zip"),
    ])
    func refusedPropertiesNameTheProperty(name: String, value: String) throws {
        let properties = KafkaProducerProperties(brokerList: "127.0.0.1:9", lingerMs: 5, producerConfig: [(name, value)])
        let error = #expect(throws: KafkaError.self) { try KafkaProducer(properties: properties, logger: quietLogger) }
        guard case .propertyRefused(let refused, let message)? = error else {
            Issue.record("expected propertyRefused, got \(String(describing: error))")
            return
        }
        #expect(refused == name)
        #expect(!message.isEmpty)
        #expect(error?.description.contains(name) == true)
    }

    @Test func aRefusedCombinationIsAClientCreationError() throws {
        let properties = KafkaProducerProperties(
            brokerList: "127.0.0.1:9", lingerMs: 5,
            producerConfig: [("acks", "1"), ("enable.idempotence", "true")]
        )
        let error = #expect(throws: KafkaError.self) { try KafkaProducer(properties: properties, logger: quietLogger) }
        guard case .clientCreationFailed(let message)? = error else {
            Issue.record("expected clientCreationFailed, got \(String(describing: error))")
            return
        }
        #expect(message.contains("acks"))
    }

    @Test func mockClusterReportsItsAddressAndClosesOnce() throws {
        let cluster = try KafkaMockCluster(brokerCount: 3)
        #expect(cluster.bootstrapServers.split(separator: ",").count == 3)
        try cluster.createTopic(name: "t", partitions: 2, replicationFactor: 3)
        #expect(throws: KafkaError.self) { try cluster.setBrokerDown(42) }
        cluster.close()
        cluster.close()
        #expect(throws: KafkaError.self) { try cluster.createTopic(name: "u", partitions: 1) }
    }

    /// Produces `record`; returns librdkafka's refusal, if any (other errors fail the test).
    private func produceOrRefusal(_ record: OutgoingRecord, _ producer: KafkaProducer) -> KafkaDeliveryError? {
        do {
            try producer.produce(record)
            return nil
        } catch {
            guard case .produceRefused(let refusal) = error else {
                Issue.record("unexpected \(error)")
                return nil
            }
            return refusal
        }
    }
}
