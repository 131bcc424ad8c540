/// One Kafka message made from a snapshot: Envoy's value, plus our key and headers
/// (`wire-format.md` §5).
public struct KafkaMessage: Sendable, Hashable {
    /// The message value, byte-identical to what Envoy's Kafka sink produces.
    public var value: [UInt8]
    /// The message key: the node id in UTF-8, so one node's messages stay on one partition.
    public var key: [UInt8]
    /// The headers, in the order they are produced.
    public var headers: [KafkaHeader]
    /// How many metrics the value holds (a histogram counts as one).
    public var metricCount: Int
    /// The 0-based index of this message within its snapshot.
    public var batchIndex: Int
    /// The number of messages the snapshot was split into.
    public var batchCount: Int

    /// Creates a message.
    public init(value: [UInt8], key: [UInt8], headers: [KafkaHeader], metricCount: Int, batchIndex: Int, batchCount: Int) {
        self.value = value
        self.key = key
        self.headers = headers
        self.metricCount = metricCount
        self.batchIndex = batchIndex
        self.batchCount = batchCount
    }

    /// The value of the first header named `name`, if any.
    public func header(_ name: String) -> String? {
        headers.first { $0.name == name }?.value
    }
}

/// A Kafka message header. Ours carry UTF-8 text; integers are written in decimal.
public struct KafkaHeader: Sendable, Hashable {
    /// The header name.
    public var name: String
    /// The header value.
    public var value: String

    /// Creates a header.
    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }

    /// Names of the headers every message carries (`wire-format.md` §5).
    public enum Name {
        /// `application/json` or the protobuf content type.
        public static let contentType = "content-type"
        /// The node id.
        public static let nodeID = "statsink.node_id"
        /// The snapshot sequence number: 1 for a queue's first snapshot, never reused.
        public static let snapshotSequence = "statsink.snapshot_seq"
        /// The snapshot's timestamp, epoch ms.
        public static let snapshotTimeMs = "statsink.snapshot_time_ms"
        /// The 0-based index of the message within its snapshot.
        public static let batchIndex = "statsink.batch_index"
        /// The number of messages of the snapshot.
        public static let batchCount = "statsink.batch_count"
    }
}
