import StatSinkCodec

/// One `envoy.stat_sinks.kafka` entry of `stats_sinks`: Envoy's `KafkaStatsSinkConfig`.
///
/// Every field has Envoy's default, so a configuration written for Envoy's contrib Kafka sink means
/// the same thing here. Each Kafka sink is an independent durable stream.
public struct KafkaSinkConfiguration: Sendable, Hashable {
    /// The sink name Envoy registers the Kafka stat sink under.
    public static let sinkName = "envoy.stat_sinks.kafka"
    /// The `@type` of the sink's `typed_config`.
    public static let typeURL = "type.googleapis.com/envoy.extensions.stat_sinks.kafka.v3.KafkaStatsSinkConfig"

    /// The librdkafka `bootstrap.servers`, e.g. `kafka1:9092,kafka2:9092`. Required, non-empty.
    public var brokerList: String
    /// The destination topic. Required, non-empty.
    public var topic: String
    /// Metrics per Kafka message (a histogram counts as one); 0 puts the whole snapshot in one
    /// message. Default: 0.
    public var batchSize: UInt32
    /// Write each counter's change since the previous flush instead of its cumulative value.
    /// Default: `false`.
    public var reportCountersAsDeltas: Bool
    /// Write tag-extracted names with tags as labels instead of full names. Default: `true`.
    public var emitTagsAsLabels: Bool
    /// librdkafka properties set verbatim after `bootstrap.servers` and `linger.ms`, in file
    /// order. Default: none.
    public var producerConfig: [ProducerProperty]
    /// librdkafka's `linger.ms`: how long messages wait to be batched. Default: 500.
    public var bufferFlushTimeoutMs: UInt32
    /// The serialization of message values. Default: ``SerializationFormat/json``.
    public var format: SerializationFormat

    /// Creates a sink configuration; the defaults are Envoy's. No validation is done here: the
    /// loader validates what it reads.
    public init(
        brokerList: String,
        topic: String,
        batchSize: UInt32 = 0,
        reportCountersAsDeltas: Bool = false,
        emitTagsAsLabels: Bool = true,
        producerConfig: [ProducerProperty] = [],
        bufferFlushTimeoutMs: UInt32 = 500,
        format: SerializationFormat = .json
    ) {
        self.brokerList = brokerList
        self.topic = topic
        self.batchSize = batchSize
        self.reportCountersAsDeltas = reportCountersAsDeltas
        self.emitTagsAsLabels = emitTagsAsLabels
        self.producerConfig = producerConfig
        self.bufferFlushTimeoutMs = bufferFlushTimeoutMs
        self.format = format
    }

    /// How snapshots become message values for this sink.
    public var encodingOptions: EncodingOptions {
        EncodingOptions(
            format: format,
            batchSize: batchSize,
            emitTagsAsLabels: emitTagsAsLabels,
            reportCountersAsDeltas: reportCountersAsDeltas
        )
    }
}

/// One `producer_config` entry: a librdkafka property and its value.
///
/// Secret values (passwords, private keys, client secrets) never appear in ``description``,
/// ``debugDescription`` or a mirror, so printing a configuration cannot leak them.
public struct ProducerProperty: Sendable, Hashable {
    /// What replaces a secret value wherever a configuration is shown.
    public static let redactedValue = "[redacted]"

    /// The librdkafka property name, e.g. `sasl.password`.
    public var name: String
    /// The value, as text (YAML numbers and booleans keep their literal spelling).
    public var value: String

    /// Creates a property.
    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }

    /// Whether the value is a secret that must not be shown: see ``isSecret(name:)``.
    public var isSecret: Bool { Self.isSecret(name: name) }

    /// The value, or ``redactedValue`` when it is a secret.
    public var displayValue: String { isSecret ? Self.redactedValue : value }

    /// Whether a property of this name holds a secret: `sasl.password`, `ssl.key.password`,
    /// `ssl.keystore.password`, `ssl.key.pem`, `ssl_key`, `sasl.oauthbearer.client.secret`,
    /// `sasl.oauthbearer.config`, and any name containing `password` or `secret`
    /// (case-insensitive).
    public static func isSecret(name: String) -> Bool {
        let lowered = name.lowercased()
        return knownSecretNames.contains(lowered) || lowered.contains("password") || lowered.contains("secret")
    }

    private static let knownSecretNames: Set<String> = [
        "sasl.password", "ssl.key.password", "ssl.keystore.password", "ssl.key.pem", "ssl_key",
        "sasl.oauthbearer.client.secret", "sasl.oauthbearer.config",
    ]
}

extension ProducerProperty: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// `name=value`, with secret values redacted.
    public var description: String { "\(name)=\(displayValue)" }

    /// `name=value`, with secret values redacted.
    public var debugDescription: String { description }

    /// A mirror showing the name and the redacted value only.
    public var customMirror: Mirror {
        Mirror(self, children: ["name": name, "value": displayValue])
    }
}
