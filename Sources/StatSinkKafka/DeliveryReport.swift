/// What became of one produced record: exactly one report per record ``KafkaProducer/produce(_:)``
/// accepted.
public struct DeliveryReport: Sendable, Hashable {
    /// The outcome of a record.
    public enum Outcome: Sendable, Hashable {
        /// The broker acknowledged the record (with the producer's `acks`) at this position.
        case delivered(partition: Int32, offset: Int64)
        /// The record was not delivered; see ``KafkaDeliveryError/disposition``.
        case failed(KafkaDeliveryError)
    }

    /// The ``OutgoingRecord/id`` of the record.
    public var recordID: UInt64
    /// The outcome.
    public var outcome: Outcome

    /// Creates a report.
    public init(recordID: UInt64, outcome: Outcome) {
        self.recordID = recordID
        self.outcome = outcome
    }

    /// The error, when the record was not delivered.
    public var error: KafkaDeliveryError? {
        if case .failed(let error) = outcome { return error }
        return nil
    }
}
