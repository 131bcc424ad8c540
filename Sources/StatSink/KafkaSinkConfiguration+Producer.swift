import StatSinkConfig
import StatSinkKafka

extension KafkaSinkConfiguration {
    /// The librdkafka properties of this sink's producer, in application order.
    public var producerProperties: KafkaProducerProperties {
        KafkaProducerProperties(
            brokerList: brokerList,
            lingerMs: bufferFlushTimeoutMs,
            producerConfig: producerConfig.map { (name: $0.name, value: $0.value) }
        )
    }
}
