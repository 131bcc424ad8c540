import StatSink
import StatSinkConfig
import Testing

@Suite("Drainer pacing from the buffer section")
struct DrainerPacingTests {
    @Test func maxInFlightAndMaxRetryBackoffReachTheDrainers() throws {
        let yaml = """
            stats_sinks:
              - name: envoy.stat_sinks.kafka
                typed_config:
                  "@type": type.googleapis.com/envoy.extensions.stat_sinks.kafka.v3.KafkaStatsSinkConfig
                  broker_list: "127.0.0.1:9092"
                  topic: envoy-metrics
            buffer: {max_in_flight: 16MiB, max_retry_backoff: 2.5s}
            """
        let configuration = try ConfigurationLoader.parse(yaml: yaml, fileName: "pacing.yaml")
        #expect(configuration.buffer.maxInFlightBytes == 16 << 20)
        #expect(configuration.buffer.maxRetryBackoff == .milliseconds(2500))
        let drainer = configuration.buffer.drainerConfiguration
        #expect(drainer.maxInFlightBytes == 16 << 20)
        #expect(drainer.maxBackoff == .milliseconds(2500))
        // Everything else keeps the documented defaults.
        #expect(drainer.maxInFlightRows == DrainerConfiguration().maxInFlightRows)
        #expect(drainer.initialBackoff == DrainerConfiguration().initialBackoff)
        #expect(BufferConfiguration().drainerConfiguration == DrainerConfiguration())
    }
}
