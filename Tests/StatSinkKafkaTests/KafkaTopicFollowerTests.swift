import StatSinkKafka
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The follower the harnesses audit with, against the mock cluster (which keeps about the last
/// 5 MB of a partition).
@Suite("Topic follower against the mock cluster", .serialized, .timeLimit(.minutes(1)))
struct KafkaTopicFollowerTests {
    @Test func messagesTheBrokerLetGoBeforeTheyWereReadAreCountedNeverSkipped() async throws {
        let kafka = try MockKafka(partitions: 1)
        let producer = try kafka.producer()
        let collector = ReportCollector(producer)
        // The callback holds the follower still until the broker has let old messages go; its
        // consumer prefetches at most about 1 MiB meanwhile.
        let open = Mutex(false)
        let offsets = Mutex<[Int64]>([])
        let follower = try await KafkaTopicFollower.start(
            bootstrapServers: kafka.cluster.bootstrapServers, topic: kafka.topic,
            properties: [("queued.max.messages.kbytes", "1024")]
        ) { message in
            offsets.withLock { $0.append(message.offset) }
            while !open.withLock({ $0 }) { usleep(5_000) }
        }
        try producer.produce(kafka.record(0))
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(20)
        while offsets.withLock({ $0.isEmpty }), clock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        #expect(offsets.withLock { $0 } == [0])

        // 8 MB more than the broker keeps.
        let count = 80
        for id in 1...count { try producer.produce(kafka.record(UInt64(id), size: 100_000)) }
        let reports = await collector.waitFor(count + 1)
        #expect(reports.count == count + 1 && reports.allSatisfy { $0.isDelivered })
        open.withLock { $0 = true }

        #expect(await follower.waitUntilCaughtUp(timeout: .seconds(30)))
        let progress = follower.progress
        await follower.stop()
        await producer.shutdown(timeout: .seconds(5))
        let read = offsets.withLock { $0 }
        #expect(progress.offsetsLost > 0, "the broker kept everything: the test proves nothing")
        #expect(progress.messages == read.count)
        #expect(progress.messages + progress.offsetsLost == count + 1)
        #expect(read == read.sorted() && Set(read).count == read.count)
        #expect(read.last == Int64(count))
        #expect(progress.errors.isEmpty, "\(progress.errors)")
    }
}
