/// Why librdkafka did not deliver a record, and whether trying again can help.
///
/// Classification (`disposition`), by code:
///
/// | disposition | codes |
/// |---|---|
/// | permanent | `MSG_SIZE_TOO_LARGE` (the broker's, and librdkafka's local size check: 2.0.2 has no separate `_MSG_SIZE_TOO_LARGE`), `TOPIC_AUTHORIZATION_FAILED`, `CLUSTER_AUTHORIZATION_FAILED`, `INVALID_MSG` (Kafka's CORRUPT_MESSAGE), `INVALID_RECORD`, `TOPIC_EXCEPTION` (INVALID_TOPIC_EXCEPTION), `RECORD_LIST_TOO_LARGE`, `_INVALID_ARG`, `_BAD_MSG` |
/// | retriable | `_MSG_TIMED_OUT`, `_TRANSPORT`, `_ALL_BROKERS_DOWN`, `_PURGE_QUEUE`, `_PURGE_INFLIGHT`, `_TIMED_OUT`, `_QUEUE_FULL`, `_FATAL` and `_DESTROY` (the producer failed, not the record), `NOT_ENOUGH_REPLICAS(_AFTER_APPEND)`, `LEADER_NOT_AVAILABLE`, `NOT_LEADER_FOR_PARTITION`, `REQUEST_TIMED_OUT`, `NETWORK_EXCEPTION`, `UNKNOWN_TOPIC_OR_PART`, `_UNKNOWN_TOPIC`, `_UNKNOWN_PARTITION` (the caller may dead-letter after some attempts), whatever librdkafka flags retriable |
/// | retriable | every other code, by default: an unknown error must not throw data away |
///
/// A permanent failure will fail again however often it is retried, so the record belongs in the
/// dead letters; a retriable one may succeed later. One exception to the table:
/// ``KafkaError/produceRefused(_:)`` for a topic-level state (e.g. a cached
/// `TOPIC_AUTHORIZATION_FAILED`) is retriable, as that record was never tried.
public struct KafkaDeliveryError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Whether retrying can help.
    public enum Disposition: Sendable, Hashable {
        /// The same record may succeed later.
        case retriable
        /// The same record will fail again.
        case permanent
    }

    /// The librdkafka error code.
    public var code: KafkaErrorCode
    /// librdkafka's name for the code (`rd_kafka_err2name`).
    public var name: String
    /// librdkafka's text for the code (`rd_kafka_err2str`), or its more specific reason when it gave one.
    public var message: String
    /// Whether retrying can help (see the table above).
    public var disposition: Disposition

    /// Classifies `code`. `message` replaces librdkafka's generic text for the code when
    /// librdkafka gave a more specific reason.
    public init(code: KafkaErrorCode, message: String? = nil) {
        self.code = code
        self.name = code.name
        self.message = message ?? code.text
        self.disposition = Self.disposition(of: code)
    }

    /// The codes classified permanent.
    public static let permanentCodes: Set<KafkaErrorCode> = [
        .messageSizeTooLarge, .topicAuthorizationFailed, .clusterAuthorizationFailed, .invalidMessage,
        .invalidRecord, .invalidTopic, .recordListTooLarge, .invalidArgument, .badMessage,
    ]

    /// The disposition of `code` (see the table above).
    public static func disposition(of code: KafkaErrorCode) -> Disposition {
        permanentCodes.contains(code) ? .permanent : .retriable
    }

    /// `NAME (code): message [disposition]`.
    public var description: String {
        "\(name) (\(code.rawValue)): \(message) [\(disposition)]"
    }
}
