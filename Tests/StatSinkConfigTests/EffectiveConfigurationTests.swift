import Foundation
import StatSinkConfig
import StatSinkModel
import Testing

@Suite("Effective configuration YAML")
struct EffectiveConfigurationTests {
    static let secretsYAML = """
        node: {id: "edge \\"17\\"", cluster: "naïve\\tcluster"}
        stats_flush_interval: 1.000500001s
        stats_sinks:
          - name: envoy.stat_sinks.kafka
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.stat_sinks.kafka.v3.KafkaStatsSinkConfig
              broker_list: "kafka:9093"
              topic: "envoy-metrics"
              batch_size: 4294967295
              format: JSON
              emit_tags_as_labels: false
              buffer_flush_timeout_ms: 0
              producer_config:
                security.protocol: SASL_SSL
                sasl.username: envoy
                sasl.password: "hunter2"
                ssl.key.password: keypass
                ssl.keystore.password: storepass
                ssl.key.pem: "-----BEGIN PRIVATE KEY-----\\nMIIE\\n-----END PRIVATE KEY-----"
                ssl_key: opaque
                sasl.oauthbearer.client.secret: oauth-secret
                sasl.oauthbearer.config: "principal=admin"
                my.custom.Password.file: pw
                client.secret.id: s3cr
                "odd key: with # and \\u0001": "value with 'quotes' and \\\\ and ✓"
                linger.ms: 5
                enable.idempotence: true
          - name: envoy.stat_sinks.kafka
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.stat_sinks.kafka.v3.KafkaStatsSinkConfig
              broker_list: "other:9092"
              topic: second
        buffer: {path: "/tmp/q ueue.db", max_bytes: 1536MiB, when_full: drop_newest, durability: full}
        sources: {metrics_service: {listen: "[::]:18000"}}
        """

    static let secretValues = [
        "hunter2", "keypass", "storepass", "MIIE", "opaque", "oauth-secret", "principal=admin", "s3cr",
    ]

    @Test("secret producer_config values are redacted, the others kept")
    func redaction() throws {
        let configuration = try parse(Self.secretsYAML)
        let yaml = configuration.effectiveConfigurationYAML()
        for secret in Self.secretValues {
            #expect(!yaml.contains(secret), "\(secret) leaked")
        }
        #expect(yaml.contains("\"sasl.password\": \"[redacted]\""))
        #expect(yaml.contains("\"my.custom.Password.file\": \"[redacted]\""))
        #expect(yaml.contains("\"sasl.username\": \"envoy\""))
        #expect(yaml.contains("\"linger.ms\": \"5\""))
        let secrets = configuration.kafkaSinks[0].producerConfig.filter(\.isSecret).map(\.name)
        #expect(secrets == [
            "sasl.password", "ssl.key.password", "ssl.keystore.password", "ssl.key.pem", "ssl_key",
            "sasl.oauthbearer.client.secret", "sasl.oauthbearer.config", "my.custom.Password.file", "client.secret.id",
        ])
        // Printing a configuration must not leak secrets either.
        let printed = String(describing: configuration) + String(reflecting: configuration)
        for secret in Self.secretValues {
            #expect(!printed.contains(secret), "\(secret) leaked by printing")
        }
    }

    @Test("the YAML parses back to an equal configuration, except redacted secrets")
    func roundTripWithSecrets() throws {
        let configuration = try parse(Self.secretsYAML)
        let reparsed = try parse(configuration.effectiveConfigurationYAML(), fileName: "effective.yaml")
        var expected = configuration
        for index in expected.kafkaSinks.indices {
            expected.kafkaSinks[index].producerConfig = expected.kafkaSinks[index].producerConfig.map {
                ProducerProperty(name: $0.name, value: $0.displayValue)
            }
        }
        #expect(reparsed == expected)
        #expect(reparsed.statsFlushInterval == .seconds(1) + .nanoseconds(500_001))
        #expect(reparsed.node == NodeIdentity(id: "edge \"17\"", cluster: "naïve\tcluster"))
        #expect(reparsed.buffer == BufferConfiguration(path: "/tmp/q ueue.db", maxBytes: 1536 << 20, whenFull: .dropNewest, durability: .full))
        #expect(reparsed.sources.metricsService?.listen == ListenAddress(host: "::", port: 18000))
        #expect(reparsed.kafkaSinks[0].producerConfig.last == ProducerProperty(name: "enable.idempotence", value: "true"))
        #expect(reparsed.kafkaSinks[0].producerConfig.contains(
            ProducerProperty(name: "odd key: with # and \u{1}", value: "value with 'quotes' and \\ and ✓")
        ))
    }

    @Test(
        "round trips of accepted configurations",
        arguments: AcceptanceTests.seedConfigurationExamples + [
            AcceptanceTests.seedAuthenticationExample.replacingOccurrences(of: "sasl.password", with: "sasl.mechanisms.extra"),
            AcceptanceTests.interfaceExample,
            config(extra: "stats_flush_interval: 299.999999999s\nbuffer: {max_bytes: 1000001}\nadmin: {listen: \"localhost:1\"}"),
            config(extra: "stats_flush_interval: 1ms\nsources: {synthetic: {counters: 0, gauges: 0, histograms: 0}}"),
            config(extra: "stats_flush_interval: 1.5s\nbuffer: {max_bytes: 3TiB}\nnode: {id: a, cluster: \"\"}"),
        ]
    )
    func roundTrip(yaml: String) throws {
        let configuration = try parse(yaml)
        let effective = configuration.effectiveConfigurationYAML()
        let reparsed = try parse(effective, fileName: "effective.yaml")
        #expect(reparsed == configuration, "\(effective)")
        // The rendering is a fixed point.
        #expect(reparsed.effectiveConfigurationYAML() == effective)
    }

    @Test("equality ignores notes")
    func notesAreNotCompared() throws {
        let plain = try parse(config())
        let noted = try parse(config(extra: "tracing: {}"))
        #expect(noted.notes.count == plain.notes.count + 1)
        #expect(plain == noted)
        #expect(plain.hashValue == noted.hashValue)
    }

    @Test("the rendering of the interface.md example")
    func golden() throws {
        let configuration = try parse(AcceptanceTests.interfaceExample)
        #expect(configuration.effectiveConfigurationYAML() == """
            # statsink effective configuration: defaults included, secrets redacted.
            node:
              id: "edge-17"
              cluster: "edge"
            stats_flush_interval: 10s
            stats_sinks:
              - name: envoy.stat_sinks.kafka
                typed_config:
                  "@type": type.googleapis.com/envoy.extensions.stat_sinks.kafka.v3.KafkaStatsSinkConfig
                  broker_list: "kafka1:9092,kafka2:9092"
                  topic: "envoy-metrics"
                  batch_size: 100
                  report_counters_as_deltas: true
                  emit_tags_as_labels: true
                  producer_config:
                    "compression.codec": "lz4"
                  buffer_flush_timeout_ms: 500
                  format: PROTOBUF
            buffer:
              path: "/var/lib/statsink/queue.db"
              max_bytes: 1GiB
              when_full: drop_oldest
              durability: normal
              disk_reserve: 16MiB
              max_in_flight: 3MiB
              max_retry_backoff: 30s
            sources:
              synthetic:
                counters: 700
                gauges: 200
                histograms: 100
              metrics_service:
                listen: "127.0.0.1:18000"
                report_counters_as_deltas: false
                max_message_bytes: 64MiB
                snapshot_idle_timeout: 200ms
            admin:
              listen: "127.0.0.1:9902"

            """)
    }

    @Test("line breaks other than LF survive the round trip (found by statsink-fuzz)")
    func unicodeLineBreaks() throws {
        let configuration = try parse(config(typedConfig: "producer_config: {client.id: \"x\\u2029y\"}", extra: "node: {id: \"a\\u2028b\\u0085c\"}"))
        #expect(configuration.node.id == "a\u{2028}b\u{85}c")
        let effective = configuration.effectiveConfigurationYAML()
        #expect(effective.contains("\"a\\u2028b\\u0085c\""))
        #expect(try parse(effective) == configuration)
    }
}
