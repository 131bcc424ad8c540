/// Why a librdkafka operation of this module failed.
public enum KafkaError: Error, Sendable, Hashable, CustomStringConvertible {
    /// librdkafka refused a property: an unknown name or an invalid value. The value is left out,
    /// as it may be a secret.
    case propertyRefused(name: String, message: String)
    /// librdkafka refused to create a client from otherwise accepted properties (e.g. a
    /// combination such as `enable.idempotence=true` with `acks=1`).
    case clientCreationFailed(message: String)
    /// The producer's local queue is full (`queue.buffering.max.messages`/`…kbytes`): produce
    /// again once delivery reports have come back. Never waited for.
    case queueFull
    /// librdkafka refused the record at produce time. The disposition is about this record:
    /// `.permanent` only for its own faults (larger than `message.max.bytes`: `MSG_SIZE_TOO_LARGE`;
    /// malformed: `_INVALID_ARG`). A refusal caused by the topic's state is `.retriable` whatever
    /// the code's usual class, as the record was never tried: an unknown topic, or a topic-level
    /// error a broker returned (e.g. `TOPIC_AUTHORIZATION_FAILED`), which librdkafka then applies
    /// to every record of the topic until its next metadata refresh
    /// (`topic.metadata.refresh.interval.ms`).
    case produceRefused(KafkaDeliveryError)
    /// The producer hit a fatal error and accepts nothing more: create a new one.
    case producerFailed(KafkaDeliveryError)
    /// The producer is shutting down or shut down.
    case producerClosed
    /// Another librdkafka call failed; `operation` names it.
    case operationFailed(operation: String, error: KafkaDeliveryError)

    /// A one-line explanation.
    public var description: String {
        switch self {
        case .propertyRefused(let name, let message):
            "librdkafka refused \(name): \(message)"
        case .clientCreationFailed(let message):
            "librdkafka could not create the client: \(message)"
        case .queueFull:
            "the producer's local queue is full"
        case .produceRefused(let error):
            "librdkafka refused the record: \(error)"
        case .producerFailed(let error):
            "the producer failed fatally: \(error)"
        case .producerClosed:
            "the producer is shut down"
        case .operationFailed(let operation, let error):
            "\(operation) failed: \(error)"
        }
    }
}
