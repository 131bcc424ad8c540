import StatSinkKafka
import Testing

@Suite("librdkafka producer properties")
struct ProducerPropertiesTests {
    @Test func envoyOrderThenDeliveryDefaultsThenProducerConfig() {
        let properties = KafkaProducerProperties(
            brokerList: "127.0.0.1:9092", lingerMs: 500,
            producerConfig: [(name: "compression.codec", value: "lz4"), (name: "linger.ms", value: "5")]
        )
        #expect(properties.properties.map { "\($0.name)=\($0.value)" } == [
            "bootstrap.servers=127.0.0.1:9092", "linger.ms=500", "acks=all", "enable.idempotence=true",
            "reconnect.backoff.max.ms=1000", "compression.codec=lz4", "linger.ms=5",
        ])
        #expect(properties.validate().isEmpty)
    }

    @Test func userSettingsReplaceOurDefaults() {
        let withAcks = KafkaProducerProperties(brokerList: "b:1", lingerMs: 0, producerConfig: [(name: "acks", value: "1")])
        // acks=1 cannot go with idempotence, so that default is left out too.
        #expect(withAcks.properties.map(\.name) == ["bootstrap.servers", "linger.ms", "reconnect.backoff.max.ms", "acks"])
        #expect(withAcks.validate().isEmpty)
        let noIdempotence = KafkaProducerProperties(brokerList: "b:1", lingerMs: 0, producerConfig: [(name: "enable.idempotence", value: "false")])
        #expect(noIdempotence.properties.map(\.name) == ["bootstrap.servers", "linger.ms", "acks", "reconnect.backoff.max.ms", "enable.idempotence"])
        #expect(noIdempotence.properties.last?.value == "false")
        let slowReconnects = KafkaProducerProperties(brokerList: "b:1", lingerMs: 0, producerConfig: [(name: "reconnect.backoff.max.ms", value: "30000")])
        #expect(slowReconnects.properties.map(\.name) == ["bootstrap.servers", "linger.ms", "acks", "enable.idempotence", "reconnect.backoff.max.ms"])
        // A first backoff above our maximum would make librdkafka refuse the pair: ours is left out.
        let slowFirst = KafkaProducerProperties(brokerList: "b:1", lingerMs: 0, producerConfig: [(name: "reconnect.backoff.ms", value: "5000")])
        #expect(!slowFirst.properties.contains { $0.name == "reconnect.backoff.max.ms" })
        #expect(slowFirst.validate().isEmpty)
    }

    @Test func unknownAndInvalidPropertiesAreReportedByName() {
        let properties = KafkaProducerProperties(
            brokerList: "127.0.0.1:9092", lingerMs: 500,
            producerConfig: [(name: "sasl.pasword", value: "x"), (name: "compression.codec", value: "lz5"), (name: "batch.size", value: "many")]
        )
        let problems = properties.validate()
        #expect(problems.map { $0.property?.name } == ["sasl.pasword", "compression.codec", "batch.size"])
        #expect(problems[0].message.contains("No such configuration property"))
        #expect(problems[1].message.contains("lz5"))
    }

    @Test func invalidCombinationIsCaughtByCreatingAProducer() {
        let properties = KafkaProducerProperties(
            brokerList: "127.0.0.1:9092", lingerMs: 500,
            producerConfig: [(name: "enable.idempotence", value: "true"), (name: "acks", value: "1")]
        )
        let problems = properties.validate()
        #expect(problems.count == 1)
        #expect(problems.first?.property == nil)
        #expect(problems.first?.message.contains("acks") == true)
    }

    @Test func librdkafkaVersionIsKnown() {
        #expect(Librdkafka.version.split(separator: ".").count >= 3)
    }
}
