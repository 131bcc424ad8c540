import CRdKafka
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Follows a topic from its beginning with one long-lived consumer on a thread of its own and
/// hands every message to a callback as it arrives: for harnesses that must see everything a
/// broker with bounded retention keeps only for a while (librdkafka's mock cluster keeps about
/// the last 5 MB of each partition).
///
/// The consumer rides out broker outages on its own. Messages the broker let go before they were
/// read are counted in ``Progress/offsetsLost`` (the consumer runs with
/// `auto.offset.reset=error`), never skipped silently. Call ``stop()`` when done.
public final class KafkaTopicFollower: Sendable {
    /// How far the follower got.
    public struct Progress: Sendable {
        /// Messages handed to the callback.
        public var messages = 0
        /// Per partition, the offset after the last message read.
        public var nextOffsets: [Int32: Int64] = [:]
        /// Offsets that were gone before they could be read.
        public var offsetsLost = 0
        /// Consumer errors other than outages, first ones first (at most 20).
        public var errors: [String] = []
    }

    private struct State {
        var progress = Progress()
        var stopRequested = false
        var stopped = false
        var waitingForStop: [CheckedContinuation<Void, Never>] = []
    }

    /// librdkafka handles may be used from any thread.
    private struct Consumer: @unchecked Sendable {
        let handle: OpaquePointer
    }

    private let state = Mutex(State())
    private let consumer: Consumer
    private let topic: String
    private let partitions: [Int32]

    private init(consumer: Consumer, topic: String, partitions: [Int32], lowWatermarks: [Int32: Int64]) {
        self.consumer = consumer
        self.topic = topic
        self.partitions = partitions
        state.withLock { $0.progress.nextOffsets = lowWatermarks }
    }

    /// Starts following `topic`: every message, from the first one the broker still holds, is
    /// passed to `onMessage` on the follower's thread, in offset order per partition.
    public static func start(
        bootstrapServers: String,
        topic: String,
        properties: [(name: String, value: String)] = [],
        onMessage: @escaping @Sendable (ConsumedMessage) -> Void
    ) async throws(KafkaError) -> KafkaTopicFollower {
        // Large fetches with short waits: a drained backlog lands on the broker in a burst, and
        // one 1 MiB fetch per round trip (librdkafka's default) falls behind bounded retention.
        let settings = [
            ("auto.offset.reset", "error"), ("reconnect.backoff.max.ms", "500"),
            ("max.partition.fetch.bytes", "33554432"), ("fetch.max.bytes", "67108864"),
            ("receive.message.max.bytes", "100000000"), ("fetch.wait.max.ms", "20"),
        ] + properties.map { ($0.name, $0.value) }
        let follower = try await DedicatedThread.run { () -> Result<KafkaTopicFollower, KafkaError> in
            let consumer: OpaquePointer
            switch KafkaTopicReader.makeConsumer(bootstrapServers: bootstrapServers, properties: settings) {
            case .success(let created): consumer = created
            case .failure(let error): return .failure(error)
            }
            let deadline = ContinuousClock.now + .seconds(30)
            let partitions: [Int32]
            switch KafkaTopicReader.partitionIDs(consumer, topic: topic, deadline: deadline) {
            case .success(let ids): partitions = ids
            case .failure(let error):
                rd_kafka_destroy(consumer)
                return .failure(error)
            }
            var lowWatermarks: [Int32: Int64] = [:]
            for partition in partitions {
                var low: Int64 = 0
                var high: Int64 = 0
                let code = KafkaErrorCode(rd_kafka_query_watermark_offsets(consumer, topic, partition, &low, &high, 10_000))
                guard code == .noError else {
                    rd_kafka_destroy(consumer)
                    return .failure(.operationFailed(operation: "rd_kafka_query_watermark_offsets(\(topic))", error: KafkaDeliveryError(code: code)))
                }
                lowWatermarks[partition] = low
            }
            if let error = KafkaTopicReader.assign(consumer, topic: topic, partitions: partitions, startOffsets: lowWatermarks) {
                rd_kafka_destroy(consumer)
                return .failure(error)
            }
            return .success(KafkaTopicFollower(consumer: Consumer(handle: consumer), topic: topic, partitions: partitions, lowWatermarks: lowWatermarks))
        }.get()
        DedicatedThread.start { follower.pollUntilStopped(onMessage) }
        return follower
    }

    /// A copy of the progress so far.
    public var progress: Progress {
        state.withLock { $0.progress }
    }

    /// Waits until every message the topic held when called has been handed to the callback;
    /// `false` when `timeout` passed first.
    public func waitUntilCaughtUp(timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        let consumer = consumer
        let topic = topic
        let partitions = partitions
        let highWatermarks = await DedicatedThread.run { () -> [Int32: Int64]? in
            var result: [Int32: Int64] = [:]
            for partition in partitions {
                var low: Int64 = 0
                var high: Int64 = 0
                let wait = KafkaProducerCore.milliseconds(deadline - .now)
                guard rd_kafka_query_watermark_offsets(consumer.handle, topic, partition, &low, &high, wait) == RD_KAFKA_RESP_ERR_NO_ERROR else { return nil }
                result[partition] = high
            }
            return result
        }
        guard let highWatermarks else { return false }
        while ContinuousClock.now < deadline {
            let caughtUp = state.withLock { state in
                highWatermarks.allSatisfy { state.progress.nextOffsets[$0.key, default: 0] >= $0.value }
            }
            if caughtUp { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return false
    }

    /// Stops following and closes the consumer; returns once its thread has ended.
    public func stop() async {
        await withCheckedContinuation { continuation in
            let resumeNow = state.withLock { state in
                state.stopRequested = true
                if state.stopped { return true }
                state.waitingForStop.append(continuation)
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }

    private func pollUntilStopped(_ onMessage: @Sendable (ConsumedMessage) -> Void) {
        while !state.withLock({ $0.stopRequested }) {
            guard let message = rd_kafka_consumer_poll(consumer.handle, 100) else { continue }
            defer { rd_kafka_message_destroy(message) }
            let partition = message.pointee.partition
            switch KafkaErrorCode(message.pointee.err) {
            case .noError:
                onMessage(KafkaTopicReader.consumed(message))
                let offset = message.pointee.offset
                state.withLock { state in
                    let expected = state.progress.nextOffsets[partition, default: 0]
                    if offset > expected { state.progress.offsetsLost += Int(offset - expected) }
                    state.progress.nextOffsets[partition] = offset + 1
                    state.progress.messages += 1
                }
            case KafkaErrorCode(RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET):
                resumeAtFirstRetained(partition: partition)
            case KafkaErrorCode(RD_KAFKA_RESP_ERR__PARTITION_EOF), KafkaErrorCode(RD_KAFKA_RESP_ERR__TRANSPORT),
                 KafkaErrorCode(RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN):
                continue  // outages: the consumer reconnects by itself
            case let code:
                let text = "partition \(partition): \(KafkaDeliveryError(code: code).message)"
                state.withLock { state in
                    if state.progress.errors.count < 20 { state.progress.errors.append(text) }
                }
            }
        }
        _ = rd_kafka_consumer_close(consumer.handle)
        rd_kafka_destroy(consumer.handle)
        let waiting = state.withLock { state in
            state.stopped = true
            defer { state.waitingForStop = [] }
            return state.waitingForStop
        }
        for continuation in waiting { continuation.resume() }
    }

    /// The next offset was already gone: counts what was lost and goes on from the oldest
    /// message the broker still holds.
    private func resumeAtFirstRetained(partition: Int32) {
        var low: Int64 = 0
        var high: Int64 = 0
        guard rd_kafka_query_watermark_offsets(consumer.handle, topic, partition, &low, &high, 5_000) == RD_KAFKA_RESP_ERR_NO_ERROR else {
            usleep(100_000)  // asked again when the error comes back
            return
        }
        let offsets = state.withLock { state in
            let expected = state.progress.nextOffsets[partition, default: 0]
            if low > expected {
                state.progress.offsetsLost += Int(low - expected)
                state.progress.nextOffsets[partition] = low
            }
            return state.progress.nextOffsets
        }
        if let error = KafkaTopicReader.assign(consumer.handle, topic: topic, partitions: partitions, startOffsets: offsets) {
            state.withLock { state in
                if state.progress.errors.count < 20 { state.progress.errors.append("\(error)") }
            }
        }
    }
}
