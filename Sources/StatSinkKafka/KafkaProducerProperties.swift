import CRdKafka

/// The librdkafka properties of a producer, in the order they are applied.
///
/// Envoy's order first: `bootstrap.servers` from `broker_list`, `linger.ms` from
/// `buffer_flush_timeout_ms`, then our delivery defaults, then every `producer_config` entry
/// verbatim, so the user's entries win over everything before them. The delivery defaults
/// (`acks=all`, `enable.idempotence=true`) are what delete-on-acknowledgement needs: a broker
/// acknowledgement then means every in-sync replica has the message, and retries do not duplicate
/// it. A recovery default, `reconnect.backoff.max.ms=1000`, caps librdkafka's reconnect backoff
/// (10 s by default) so that delivery resumes within about a second of a broker coming back:
/// after a 5 s outage the outage harness measured 8.6 s to drain with librdkafka's default and
/// 0.5 s with ours. A default is left out when the user sets the property, and idempotence is left
/// out when the user chooses an `acks` it cannot work with.
public struct KafkaProducerProperties: Sendable, Hashable {
    /// One librdkafka property.
    public struct Property: Sendable, Hashable {
        /// The property name, e.g. `compression.codec`.
        public var name: String
        /// The value, as librdkafka reads it (text).
        public var value: String
        /// Where it came from, for error messages.
        public var origin: Origin

        /// Creates a property.
        public init(name: String, value: String, origin: Origin) {
            self.name = name
            self.value = value
            self.origin = origin
        }
    }

    /// Where a property comes from.
    public enum Origin: Sendable, Hashable {
        /// `broker_list`.
        case brokerList
        /// `buffer_flush_timeout_ms`.
        case bufferFlushTimeout
        /// Our delivery and recovery defaults.
        case deliveryDefault
        /// A `producer_config` entry.
        case producerConfig
    }

    /// The properties in application order.
    public private(set) var properties: [Property]

    /// Builds the properties of a sink.
    public init(brokerList: String, lingerMs: UInt32, producerConfig: [(name: String, value: String)]) {
        var properties = [
            Property(name: "bootstrap.servers", value: brokerList, origin: .brokerList),
            Property(name: "linger.ms", value: String(lingerMs), origin: .bufferFlushTimeout),
        ]
        let userNames = Set(producerConfig.map(\.name))
        let userAcks = producerConfig.last { $0.name == "acks" || $0.name == "request.required.acks" }?.value
        let acksAllowIdempotence = userAcks.map { ["all", "-1"].contains($0.lowercased()) } ?? true
        if !userNames.contains("acks"), !userNames.contains("request.required.acks") {
            properties.append(Property(name: "acks", value: "all", origin: .deliveryDefault))
        }
        if !userNames.contains("enable.idempotence"), acksAllowIdempotence {
            properties.append(Property(name: "enable.idempotence", value: "true", origin: .deliveryDefault))
        }
        if !userNames.contains("reconnect.backoff.max.ms") {
            let backoff = producerConfig.last { $0.name == "reconnect.backoff.ms" }.flatMap { Int($0.value) } ?? 0
            // librdkafka refuses a maximum below the initial backoff: then keep its own maximum.
            if backoff <= 1000 {
                properties.append(Property(name: "reconnect.backoff.max.ms", value: "1000", origin: .deliveryDefault))
            }
        }
        properties += producerConfig.map { Property(name: $0.name, value: $0.value, origin: .producerConfig) }
        self.properties = properties
    }

    /// Asks librdkafka whether it accepts these properties: each is set on a fresh configuration
    /// (an unknown name or invalid value is reported by name), then a producer is created from it,
    /// which checks the combination (e.g. idempotence with `acks=1`), and destroyed at once. The
    /// check producer gets no brokers, so it opens no connection.
    public func validate() -> [KafkaPropertyProblem] {
        guard let configuration = rd_kafka_conf_new() else {
            return [KafkaPropertyProblem(property: nil, message: "librdkafka could not allocate a configuration")]
        }
        var problems: [KafkaPropertyProblem] = []
        for property in properties {
            if let message = Self.set(property.name, property.value, on: configuration) {
                problems.append(KafkaPropertyProblem(property: property, message: message))
            }
        }
        guard problems.isEmpty else {
            rd_kafka_conf_destroy(configuration)
            return problems
        }
        _ = Self.set("bootstrap.servers", "", on: configuration)
        rd_kafka_conf_set_log_cb(configuration) { _, _, _, _ in }  // the check is silent
        var error = [CChar](repeating: 0, count: 512)
        guard let producer = rd_kafka_new(RD_KAFKA_PRODUCER, configuration, &error, error.count) else {
            rd_kafka_conf_destroy(configuration)  // still ours when rd_kafka_new fails
            return [KafkaPropertyProblem(property: nil, message: Self.string(error))]
        }
        rd_kafka_destroy(producer)
        return []
    }

    /// Sets one property; returns librdkafka's message when it refuses.
    static func set(_ name: String, _ value: String, on configuration: OpaquePointer) -> String? {
        var error = [CChar](repeating: 0, count: 512)
        let result = rd_kafka_conf_set(configuration, name, value, &error, error.count)
        return result == RD_KAFKA_CONF_OK ? nil : Self.string(error)
    }

    static func string(_ buffer: [CChar]) -> String {
        buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }
}

/// A property librdkafka refused.
public struct KafkaPropertyProblem: Sendable, Hashable, CustomStringConvertible {
    /// The property at fault, or `nil` when librdkafka refused the combination.
    public var property: KafkaProducerProperties.Property?
    /// librdkafka's explanation.
    public var message: String

    /// Creates a problem.
    public init(property: KafkaProducerProperties.Property?, message: String) {
        self.property = property
        self.message = message
    }

    public var description: String {
        guard let property else { return "librdkafka: \(message)" }
        return "librdkafka refused \(property.name): \(message)"
    }
}

/// The librdkafka the process is linked with.
public enum Librdkafka {
    /// Its version, e.g. `2.0.2`.
    public static var version: String { String(cString: rd_kafka_version_str()) }
}
