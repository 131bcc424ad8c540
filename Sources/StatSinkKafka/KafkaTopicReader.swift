import CRdKafka

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One message read back from a topic.
public struct ConsumedMessage: Sendable {
    /// The partition it was read from.
    public var partition: Int32
    /// Its offset in that partition.
    public var offset: Int64
    /// The key (empty for no key).
    public var key: [UInt8]
    /// The value (empty for no value).
    public var value: [UInt8]
    /// The headers in their order; values decoded as UTF-8 (a null value reads as empty).
    public var headers: [(name: String, value: String)]

    /// Creates a message.
    public init(partition: Int32, offset: Int64, key: [UInt8], value: [UInt8], headers: [(name: String, value: String)]) {
        self.partition = partition
        self.offset = offset
        self.key = key
        self.value = value
        self.headers = headers
    }
}

/// Reads a topic from its beginning with a librdkafka consumer, for tests and tools: every
/// partition is assigned at its first offset (no consumer group membership, nothing committed).
public struct KafkaTopicReader: Sendable {
    /// The brokers, for `bootstrap.servers`.
    public var bootstrapServers: String
    /// The topic to read.
    public var topic: String
    /// More consumer properties, applied last.
    public var properties: [(name: String, value: String)]

    /// Creates a reader.
    public init(bootstrapServers: String, topic: String, properties: [(name: String, value: String)] = []) {
        self.bootstrapServers = bootstrapServers
        self.topic = topic
        self.properties = properties
    }

    /// Reads from the beginning (or, for the partitions in `startOffsets`, from those offsets)
    /// until `count` messages have arrived (with `count == nil`: until the end of every
    /// partition) or `timeout` has passed, whichever comes first, and returns what arrived, in
    /// arrival order (ordered by offset within a partition). Runs on a thread of its own.
    ///
    /// A broker keeps only so much (librdkafka's mock cluster: the last 5 MB per partition), so a
    /// tool that must see every message reads repeatedly, passing the offsets after the last
    /// messages it got.
    public func read(count: Int? = nil, timeout: Duration, startOffsets: [Int32: Int64] = [:]) async throws(KafkaError) -> [ConsumedMessage] {
        let reader = self
        return try await DedicatedThread.run { reader.readBlocking(count: count, deadline: .now + timeout, startOffsets: startOffsets) }.get()
    }

    private func readBlocking(count: Int?, deadline: ContinuousClock.Instant, startOffsets: [Int32: Int64]) -> Result<[ConsumedMessage], KafkaError> {
        let consumer: OpaquePointer
        switch Self.makeConsumer(bootstrapServers: bootstrapServers, properties: [("enable.partition.eof", "true")] + properties.map { ($0.name, $0.value) }) {
        case .success(let created): consumer = created
        case .failure(let error): return .failure(error)
        }
        defer {
            _ = rd_kafka_consumer_close(consumer)
            rd_kafka_destroy(consumer)
        }
        let partitions: [Int32]
        switch Self.partitionIDs(consumer, topic: topic, deadline: deadline) {
        case .success(let ids): partitions = ids
        case .failure(let error): return .failure(error)
        }
        if let error = Self.assign(consumer, topic: topic, partitions: partitions, startOffsets: startOffsets) {
            return .failure(error)
        }

        var messages: [ConsumedMessage] = []
        var partitionsAtEnd = Set<Int32>()
        while ContinuousClock.now < deadline {
            if let count, messages.count >= count { break }
            if count == nil, partitionsAtEnd.count == partitions.count { break }
            let wait = min(100, KafkaProducerCore.milliseconds(deadline - .now))
            guard let message = rd_kafka_consumer_poll(consumer, wait) else { continue }
            defer { rd_kafka_message_destroy(message) }
            switch KafkaErrorCode(message.pointee.err) {
            case .noError:
                messages.append(Self.consumed(message))
                partitionsAtEnd.remove(message.pointee.partition)
            case KafkaErrorCode(RD_KAFKA_RESP_ERR__PARTITION_EOF):
                partitionsAtEnd.insert(message.pointee.partition)
            default:
                continue  // transient consumer errors: librdkafka retries until the deadline
            }
        }
        return .success(messages)
    }

    /// A consumer that never joins its group (partitions are assigned by hand, nothing committed),
    /// with `properties` applied last.
    static func makeConsumer(bootstrapServers: String, properties: [(String, String)]) -> Result<OpaquePointer, KafkaError> {
        guard let configuration = rd_kafka_conf_new() else {
            return .failure(.clientCreationFailed(message: "librdkafka could not allocate a configuration"))
        }
        let settings = [
            ("bootstrap.servers", bootstrapServers),
            ("group.id", "statsink-topic-reader"),  // rd_kafka_consumer_poll needs one; we never join
            ("enable.auto.commit", "false"),
        ] + properties
        for (name, value) in settings {
            if let message = KafkaProducerProperties.set(name, value, on: configuration) {
                rd_kafka_conf_destroy(configuration)
                return .failure(.propertyRefused(name: name, message: message))
            }
        }
        rd_kafka_conf_set_log_cb(configuration) { _, _, _, _ in }  // failures show as a short read
        var error = [CChar](repeating: 0, count: 512)
        guard let consumer = rd_kafka_new(RD_KAFKA_CONSUMER, configuration, &error, error.count) else {
            rd_kafka_conf_destroy(configuration)
            return .failure(.clientCreationFailed(message: KafkaProducerProperties.string(error)))
        }
        return .success(consumer)
    }

    /// Assigns `partitions` of `topic` to `consumer`, each at its offset in `startOffsets` or at
    /// its beginning.
    static func assign(_ consumer: OpaquePointer, topic: String, partitions: [Int32], startOffsets: [Int32: Int64]) -> KafkaError? {
        let assignment = rd_kafka_topic_partition_list_new(Int32(partitions.count))
        defer { rd_kafka_topic_partition_list_destroy(assignment) }
        for partition in partitions {
            rd_kafka_topic_partition_list_add(assignment, topic, partition).pointee.offset = startOffsets[partition] ?? Int64(RD_KAFKA_OFFSET_BEGINNING)
        }
        let assigned = KafkaErrorCode(rd_kafka_assign(consumer, assignment))
        guard assigned == .noError else {
            return .operationFailed(operation: "rd_kafka_assign(\(topic))", error: KafkaDeliveryError(code: assigned))
        }
        return nil
    }

    /// The topic's partition ids, asking for metadata until the topic has partitions or `deadline`.
    static func partitionIDs(_ consumer: OpaquePointer, topic: String, deadline: ContinuousClock.Instant) -> Result<[Int32], KafkaError> {
        guard let handle = rd_kafka_topic_new(consumer, topic, nil) else {
            let code = KafkaErrorCode(rd_kafka_last_error())
            return .failure(.operationFailed(operation: "rd_kafka_topic_new(\(topic))", error: KafkaDeliveryError(code: code)))
        }
        defer { rd_kafka_topic_destroy(handle) }
        var lastError = KafkaErrorCode.timedOut
        repeat {
            var metadata: UnsafePointer<rd_kafka_metadata>?
            let timeout = KafkaProducerCore.milliseconds(deadline - .now)
            lastError = KafkaErrorCode(rd_kafka_metadata(consumer, 0, handle, &metadata, timeout))
            if lastError == .noError, let metadata {
                defer { rd_kafka_metadata_destroy(metadata) }
                let topics = UnsafeBufferPointer(start: metadata.pointee.topics, count: Int(metadata.pointee.topic_cnt))
                if let entry = topics.first {
                    lastError = KafkaErrorCode(entry.err)
                    if lastError == .noError, entry.partition_cnt > 0 {
                        let partitions = UnsafeBufferPointer(start: entry.partitions, count: Int(entry.partition_cnt))
                        return .success(partitions.map(\.id).sorted())
                    }
                }
            }
            usleep(100_000)  // the topic may still be coming up
        } while ContinuousClock.now < deadline
        return .failure(.operationFailed(operation: "rd_kafka_metadata(\(topic))", error: KafkaDeliveryError(code: lastError)))
    }

    static func consumed(_ message: UnsafeMutablePointer<rd_kafka_message_t>) -> ConsumedMessage {
        let m = message.pointee
        var headers: [(name: String, value: String)] = []
        var list: OpaquePointer?
        if rd_kafka_message_headers(message, &list) == RD_KAFKA_RESP_ERR_NO_ERROR, let list {
            var index = 0
            var name: UnsafePointer<CChar>?
            var value: UnsafeRawPointer?
            var size = 0
            while rd_kafka_header_get_all(list, index, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
                let bytes = value.map { UnsafeRawBufferPointer(start: $0, count: size) } ?? UnsafeRawBufferPointer(start: nil, count: 0)
                headers.append((name: name.map { String(cString: $0) } ?? "", value: String(decoding: bytes, as: UTF8.self)))
                index += 1
            }
        }
        return ConsumedMessage(
            partition: m.partition,
            offset: m.offset,
            key: bytes(m.key, m.key_len),
            value: bytes(m.payload, m.len),
            headers: headers
        )
    }

    private static func bytes(_ pointer: UnsafeMutableRawPointer?, _ count: Int) -> [UInt8] {
        guard let pointer, count > 0 else { return [] }
        return Array(UnsafeRawBufferPointer(start: pointer, count: count))
    }
}
