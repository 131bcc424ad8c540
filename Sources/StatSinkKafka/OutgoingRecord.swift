/// One record to produce.
public struct OutgoingRecord: Sendable {
    /// The queue's record id. It is the message's opaque in librdkafka and comes back in its
    /// ``DeliveryReport``.
    public var id: UInt64
    /// The topic.
    public var topic: String
    /// The key; empty means no key (librdkafka then picks the partition).
    public var key: [UInt8]
    /// The value.
    public var value: [UInt8]
    /// The headers, produced in this order; values are UTF-8 text.
    public var headers: [(name: String, value: String)]

    /// Creates a record.
    public init(id: UInt64, topic: String, key: [UInt8], value: [UInt8], headers: [(name: String, value: String)]) {
        self.id = id
        self.topic = topic
        self.key = key
        self.value = value
        self.headers = headers
    }
}
