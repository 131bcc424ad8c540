/// The serialization of Kafka message values: Envoy's `SerializationFormat`.
public enum SerializationFormat: String, Sendable, Hashable, CaseIterable {
    /// One JSON object per message (Envoy's default, `JSON = 0`).
    case json = "JSON"
    /// One serialized `envoy.service.metrics.v3.StreamMetricsMessage` per message (`PROTOBUF = 1`).
    case protobuf = "PROTOBUF"

    /// The value of the `content-type` header of a message in this format.
    public var contentType: String {
        switch self {
        case .json: "application/json"
        case .protobuf: "application/x-protobuf; messageType=envoy.service.metrics.v3.StreamMetricsMessage"
        }
    }
}

/// How a snapshot becomes Kafka message values: the encoding fields of `KafkaStatsSinkConfig`.
public struct EncodingOptions: Sendable, Hashable {
    /// The serialization format. Default: ``SerializationFormat/json``.
    public var format: SerializationFormat
    /// Metrics per message (a histogram counts as one); 0 puts the whole snapshot in one message.
    /// Default: 0.
    public var batchSize: UInt32
    /// Write tag-extracted names with tags as labels (`true`, Envoy's default) or full names
    /// without labels.
    public var emitTagsAsLabels: Bool
    /// Write each counter's change since the previous flush instead of its cumulative value.
    /// Default: `false`.
    public var reportCountersAsDeltas: Bool

    /// Creates encoding options; the defaults are Envoy's.
    public init(
        format: SerializationFormat = .json,
        batchSize: UInt32 = 0,
        emitTagsAsLabels: Bool = true,
        reportCountersAsDeltas: Bool = false
    ) {
        self.format = format
        self.batchSize = batchSize
        self.emitTagsAsLabels = emitTagsAsLabels
        self.reportCountersAsDeltas = reportCountersAsDeltas
    }
}
