import Foundation
import Logging
import StatSink
import StatSinkConfig
import StatSinkTestKit
import Testing

@Suite("Drainer pacing from the buffer section")
struct DrainerPacingTests {
    /// One `stats_sinks` entry per (broker, topic), then `buffer` as given.
    static func configuration(sinks: [(broker: String, topic: String)], buffer: String) -> String {
        "stats_sinks:\n" + sinks.map { sink in
            """
              - name: envoy.stat_sinks.kafka
                typed_config:
                  "@type": type.googleapis.com/envoy.extensions.stat_sinks.kafka.v3.KafkaStatsSinkConfig
                  broker_list: "\(sink.broker)"
                  topic: \(sink.topic)

            """
        }.joined() + "buffer: \(buffer)\n"
    }

    @Test func maxInFlightAndMaxRetryBackoffReachTheDrainers() throws {
        let yaml = Self.configuration(sinks: [("127.0.0.1:9092", "envoy-metrics")], buffer: "{max_in_flight: 16MiB, max_retry_backoff: 2.5s}")
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

    @Test func aPipelineBuildsItsDrainersWithTheBufferSettings() throws {
        let scratch = TemporaryDirectory(prefix: "statsink-pacing")
        let yaml = Self.configuration(
            sinks: [("127.0.0.1:9092", "first"), ("127.0.0.1:9093", "second")],
            buffer: "{path: \"\(scratch.path("queue.db"))\", max_in_flight: 1MiB, max_retry_backoff: 750ms}"
        )
        let configuration = try ConfigurationLoader.parse(yaml: yaml, fileName: "pacing.yaml")
        let pipeline = try Pipeline(configuration: configuration, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        #expect(pipeline.drainers.count == 2)
        for drainer in pipeline.drainers {
            #expect(drainer.configuration.maxInFlightBytes == 1 << 20)
            #expect(drainer.configuration.maxBackoff == .milliseconds(750))
            #expect(drainer.configuration.maxInFlightRows == DrainerConfiguration().maxInFlightRows)
        }
        pipeline.queue.close()  // one drainer per queue file at a time
        // An explicit drainer configuration (tests, embedding apps) wins over the section.
        let explicit = DrainerConfiguration(maxInFlightBytes: 2 << 20)
        let second = try Pipeline(configuration: configuration, drainerConfiguration: explicit, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        defer { second.queue.close() }
        #expect(second.drainers.allSatisfy { $0.configuration == explicit })
    }
}
