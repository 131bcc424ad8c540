import CRdKafka

/// A librdkafka error code (`rd_kafka_resp_err_t`): negative values are librdkafka's own
/// (`RD_KAFKA_RESP_ERR__…`), positive ones come from the Kafka protocol.
public struct KafkaErrorCode: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    /// The `rd_kafka_resp_err_t` value.
    public var rawValue: Int32

    /// Wraps an `rd_kafka_resp_err_t` value; unknown values are kept as they are.
    public init(rawValue: Int32) {
        self.rawValue = rawValue
    }

    init(_ code: rd_kafka_resp_err_t) {
        self.rawValue = code.rawValue
    }

    var rdKafkaValue: rd_kafka_resp_err_t { rd_kafka_resp_err_t(rawValue: rawValue) }

    /// librdkafka's name for the code (`rd_kafka_err2name`), e.g. `MSG_SIZE_TOO_LARGE` or `_MSG_TIMED_OUT`.
    public var name: String { String(cString: rd_kafka_err2name(rdKafkaValue)) }

    /// librdkafka's human-readable text for the code (`rd_kafka_err2str`).
    public var text: String { String(cString: rd_kafka_err2str(rdKafkaValue)) }

    /// `NAME (code)`.
    public var description: String { "\(name) (\(rawValue))" }

    /// No error.
    public static let noError = Self(RD_KAFKA_RESP_ERR_NO_ERROR)
    /// Local: the message was not delivered within `message.timeout.ms`.
    public static let messageTimedOut = Self(RD_KAFKA_RESP_ERR__MSG_TIMED_OUT)
    /// Local: broker transport failure.
    public static let transport = Self(RD_KAFKA_RESP_ERR__TRANSPORT)
    /// Local: all brokers are down.
    public static let allBrokersDown = Self(RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN)
    /// Local: purged from the producer's queue (`rd_kafka_purge`).
    public static let purgeQueue = Self(RD_KAFKA_RESP_ERR__PURGE_QUEUE)
    /// Local: purged while in flight (`rd_kafka_purge`); the broker may still have written it.
    public static let purgeInflight = Self(RD_KAFKA_RESP_ERR__PURGE_INFLIGHT)
    /// Local: operation timed out.
    public static let timedOut = Self(RD_KAFKA_RESP_ERR__TIMED_OUT)
    /// Local: the producer queue is full.
    public static let queueFull = Self(RD_KAFKA_RESP_ERR__QUEUE_FULL)
    /// Local: the client hit a fatal error and must be replaced.
    public static let fatal = Self(RD_KAFKA_RESP_ERR__FATAL)
    /// Local: the client was destroyed.
    public static let destroy = Self(RD_KAFKA_RESP_ERR__DESTROY)
    /// Local: the topic is unknown to the cluster.
    public static let unknownTopic = Self(RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC)
    /// Local: the partition is unknown to the cluster.
    public static let unknownPartition = Self(RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION)
    /// Local: invalid argument.
    public static let invalidArgument = Self(RD_KAFKA_RESP_ERR__INVALID_ARG)
    /// Local: bad message format.
    public static let badMessage = Self(RD_KAFKA_RESP_ERR__BAD_MSG)
    /// Broker: CORRUPT_MESSAGE (librdkafka calls it `INVALID_MSG`).
    public static let invalidMessage = Self(RD_KAFKA_RESP_ERR_INVALID_MSG)
    /// Broker: UNKNOWN_TOPIC_OR_PARTITION.
    public static let unknownTopicOrPartition = Self(RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
    /// Broker: LEADER_NOT_AVAILABLE.
    public static let leaderNotAvailable = Self(RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE)
    /// Broker: NOT_LEADER_OR_FOLLOWER.
    public static let notLeaderForPartition = Self(RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION)
    /// Broker: REQUEST_TIMED_OUT.
    public static let requestTimedOut = Self(RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT)
    /// Broker (or local size check): MESSAGE_TOO_LARGE.
    public static let messageSizeTooLarge = Self(RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE)
    /// Broker: NETWORK_EXCEPTION.
    public static let networkException = Self(RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION)
    /// Broker: INVALID_TOPIC_EXCEPTION (librdkafka calls it `TOPIC_EXCEPTION`).
    public static let invalidTopic = Self(RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION)
    /// Broker: RECORD_LIST_TOO_LARGE.
    public static let recordListTooLarge = Self(RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE)
    /// Broker: NOT_ENOUGH_REPLICAS.
    public static let notEnoughReplicas = Self(RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS)
    /// Broker: NOT_ENOUGH_REPLICAS_AFTER_APPEND.
    public static let notEnoughReplicasAfterAppend = Self(RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND)
    /// Broker: TOPIC_AUTHORIZATION_FAILED.
    public static let topicAuthorizationFailed = Self(RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED)
    /// Broker: CLUSTER_AUTHORIZATION_FAILED.
    public static let clusterAuthorizationFailed = Self(RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED)
    /// Broker: INVALID_RECORD.
    public static let invalidRecord = Self(RD_KAFKA_RESP_ERR_INVALID_RECORD)
}
