import StatSinkCodec
import StatSinkConfig
import StatSinkModel
import Testing

import Foundation

@Suite("Accepted configurations")
struct AcceptanceTests {
    /// The seed's "Configuration example", verbatim; its whitespace was lost in the copy we
    /// have, so it is tried with both usual indentations of the sequence.
    static let seedConfigurationExamples = [
        """
        stats_flush_interval: 10s
        stats_sinks:
        - name: envoy.stat_sinks.kafka
          typed_config:
            "@type": type.googleapis.com/envoy.extensions.stat_sinks.kafka.v3.KafkaStatsSinkConfig
            broker_list: "kafka1:9092,kafka2:9092"
            topic: "envoy-metrics"
            batch_size: 100
            format: PROTOBUF
            emit_tags_as_labels: true
            report_counters_as_deltas: true
            buffer_flush_timeout_ms: 500
        """,
        """
        stats_flush_interval: 10s
        stats_sinks:
          - name: envoy.stat_sinks.kafka
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.stat_sinks.kafka.v3.KafkaStatsSinkConfig
              broker_list: "kafka1:9092,kafka2:9092"
              topic: "envoy-metrics"
              batch_size: 100
              format: PROTOBUF
              emit_tags_as_labels: true
              report_counters_as_deltas: true
              buffer_flush_timeout_ms: 500
        """,
    ]

    @Test("the seed's configuration example", arguments: seedConfigurationExamples)
    func seedConfigurationExample(yaml: String) throws {
        let configuration = try parse(yaml)
        #expect(configuration.statsFlushInterval == .seconds(10))
        #expect(configuration.kafkaSinks == [
            KafkaSinkConfiguration(
                brokerList: "kafka1:9092,kafka2:9092",
                topic: "envoy-metrics",
                batchSize: 100,
                reportCountersAsDeltas: true,
                emitTagsAsLabels: true,
                producerConfig: [],
                bufferFlushTimeoutMs: 500,
                format: .protobuf
            )
        ])
        #expect(configuration.node == StatSinkConfiguration.defaultNode)
        #expect(configuration.buffer == BufferConfiguration())
        #expect(configuration.admin.listen == nil)
        #expect(configuration.kafkaSinks[0].encodingOptions == EncodingOptions(
            format: .protobuf, batchSize: 100, emitTagsAsLabels: true, reportCountersAsDeltas: true
        ))
    }

    /// The seed's "Authentication" example, verbatim.
    static let seedAuthenticationExample = """
        stats_sinks:
          - name: envoy.stat_sinks.kafka
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.stat_sinks.kafka.v3.KafkaStatsSinkConfig
              broker_list: "kafka:9093"
              topic: "envoy-metrics"
              format: PROTOBUF
              producer_config:
                security.protocol: "SASL_SSL"
                sasl.mechanism: "SCRAM-SHA-256"
                sasl.username: "envoy"
                sasl.password: "secret"
                ssl.ca.location: "/etc/ssl/certs/ca.pem"
        """

    @Test("the seed's authentication example")
    func seedAuthenticationExample() throws {
        let configuration = try parse(Self.seedAuthenticationExample)
        #expect(configuration.statsFlushInterval == .seconds(5))
        let sink = try #require(configuration.kafkaSinks.first)
        #expect(configuration.kafkaSinks.count == 1)
        #expect(sink.brokerList == "kafka:9093")
        #expect(sink.topic == "envoy-metrics")
        #expect(sink.format == .protobuf)
        #expect(sink.batchSize == 0)
        #expect(sink.reportCountersAsDeltas == false)
        #expect(sink.emitTagsAsLabels == true)
        #expect(sink.bufferFlushTimeoutMs == 500)
        #expect(sink.producerConfig == [
            ProducerProperty(name: "security.protocol", value: "SASL_SSL"),
            ProducerProperty(name: "sasl.mechanism", value: "SCRAM-SHA-256"),
            ProducerProperty(name: "sasl.username", value: "envoy"),
            ProducerProperty(name: "sasl.password", value: "secret"),
            ProducerProperty(name: "ssl.ca.location", value: "/etc/ssl/certs/ca.pem"),
        ])
        #expect(sink.producerConfig.map(\.isSecret) == [false, false, false, true, false])
    }

    /// The example of `interface.md`, verbatim.
    static let interfaceExample = """
        node: {id: edge-17, cluster: edge}          # Envoy bootstrap shape; node.id keys every message
        stats_flush_interval: 10s                   # Envoy duration syntax (e.g. 500ms, 10s, 1.5s)
        stats_sinks:
          - name: envoy.stat_sinks.kafka
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.stat_sinks.kafka.v3.KafkaStatsSinkConfig
              broker_list: "kafka1:9092,kafka2:9092"
              topic: "envoy-metrics"
              batch_size: 100
              format: PROTOBUF                       # JSON (default) | PROTOBUF
              emit_tags_as_labels: true
              report_counters_as_deltas: true
              buffer_flush_timeout_ms: 500
              producer_config: {compression.codec: lz4}
        buffer:                                      # ours: the durable queue
          path: /var/lib/statsink/queue.db           # default: ./statsink-queue.db
          max_bytes: 1GiB                            # byte cap (accepts B, KiB, MiB, GiB)
          when_full: drop_oldest                     # drop_oldest (default) | drop_newest
          durability: normal                         # normal (survives process crash) | full (survives power loss)
        sources:                                     # ours: where snapshots come from
          synthetic: {counters: 700, gauges: 200, histograms: 100}   # an Envoy-like generator
          metrics_service: {listen: "127.0.0.1:18000"}              # Envoy gRPC MetricsService server
        admin:                                       # ours: self-observability
          listen: "127.0.0.1:9902"                   # GET /metrics (Prometheus text), GET /healthz
        """

    static let interfaceConfiguration = StatSinkConfiguration(
        node: NodeIdentity(id: "edge-17", cluster: "edge"),
        statsFlushInterval: .seconds(10),
        kafkaSinks: [
            KafkaSinkConfiguration(
                brokerList: "kafka1:9092,kafka2:9092",
                topic: "envoy-metrics",
                batchSize: 100,
                reportCountersAsDeltas: true,
                emitTagsAsLabels: true,
                producerConfig: [ProducerProperty(name: "compression.codec", value: "lz4")],
                bufferFlushTimeoutMs: 500,
                format: .protobuf
            )
        ],
        buffer: BufferConfiguration(
            path: "/var/lib/statsink/queue.db", maxBytes: 1_073_741_824, whenFull: .dropOldest, durability: .normal
        ),
        sources: SourcesConfiguration(
            synthetic: SyntheticSourceConfiguration(counters: 700, gauges: 200, histograms: 100),
            metricsService: MetricsServiceSourceConfiguration(listen: ListenAddress(host: "127.0.0.1", port: 18000))
        ),
        admin: AdminConfiguration(listen: ListenAddress(host: "127.0.0.1", port: 9902))
    )

    @Test("the interface.md example, every value")
    func interfaceExample() throws {
        let configuration = try parse(Self.interfaceExample)
        #expect(configuration.node.id == "edge-17")
        #expect(configuration.node.cluster == "edge")
        #expect(configuration.statsFlushInterval == .seconds(10))
        let sink = try #require(configuration.kafkaSinks.first)
        #expect(configuration.kafkaSinks.count == 1)
        #expect(sink.brokerList == "kafka1:9092,kafka2:9092")
        #expect(sink.topic == "envoy-metrics")
        #expect(sink.batchSize == 100)
        #expect(sink.format == .protobuf)
        #expect(sink.emitTagsAsLabels)
        #expect(sink.reportCountersAsDeltas)
        #expect(sink.bufferFlushTimeoutMs == 500)
        #expect(sink.producerConfig == [ProducerProperty(name: "compression.codec", value: "lz4")])
        #expect(configuration.buffer.path == "/var/lib/statsink/queue.db")
        #expect(configuration.buffer.maxBytes == 1 << 30)
        #expect(configuration.buffer.whenFull == .dropOldest)
        #expect(configuration.buffer.durability == .normal)
        #expect(configuration.sources.synthetic == SyntheticSourceConfiguration(counters: 700, gauges: 200, histograms: 100))
        #expect(configuration.sources.metricsService?.listen == ListenAddress(host: "127.0.0.1", port: 18000))
        #expect(configuration.admin.listen == ListenAddress(host: "127.0.0.1", port: 9902))
        #expect(configuration.notes.isEmpty)
        #expect(configuration == Self.interfaceConfiguration)
    }

    @Test("defaults of everything left out")
    func defaults() throws {
        let configuration = try parse(config())
        #expect(configuration.node.id == StatSinkConfiguration.hostName())
        #expect(!configuration.node.id.isEmpty)
        #expect(configuration.node.cluster == "")
        #expect(configuration.statsFlushInterval == .seconds(5))
        #expect(configuration.kafkaSinks == [KafkaSinkConfiguration(brokerList: "kafka:9092", topic: "metrics")])
        let sink = configuration.kafkaSinks[0]
        #expect(sink.batchSize == 0)
        #expect(sink.reportCountersAsDeltas == false)
        #expect(sink.emitTagsAsLabels == true)
        #expect(sink.producerConfig.isEmpty)
        #expect(sink.bufferFlushTimeoutMs == 500)
        #expect(sink.format == .json)
        #expect(sink.encodingOptions == EncodingOptions())
        #expect(configuration.buffer.path == "./statsink-queue.db")
        #expect(configuration.buffer.maxBytes == 1_073_741_824)
        #expect(configuration.buffer.whenFull == .dropOldest)
        #expect(configuration.buffer.durability == .normal)
        #expect(configuration.sources == SourcesConfiguration())
        #expect(configuration.sources.isEmpty)
        #expect(configuration.admin.listen == nil)
        #expect(configuration.notes.contains { $0.contains("no source is enabled") })
    }

    @Test("defaults inside sections that are present")
    func sectionDefaults() throws {
        let configuration = try parse(config(extra: """
            node: {cluster: edge}
            buffer: {durability: full}
            sources:
              synthetic: {gauges: 5}
            admin:
            """))
        #expect(configuration.node == NodeIdentity(id: StatSinkConfiguration.hostName(), cluster: "edge"))
        #expect(configuration.buffer == BufferConfiguration(durability: .full))
        #expect(configuration.sources.synthetic == SyntheticSourceConfiguration(counters: 700, gauges: 5, histograms: 100))
        #expect(configuration.admin == AdminConfiguration())

        let bare = try parse(config(extra: "sources:\n  synthetic:\n"))
        #expect(bare.sources.synthetic == SyntheticSourceConfiguration())
    }

    @Test("null values mean the default, as in protobuf JSON")
    func nullMeansDefault() throws {
        let configuration = try parse(config(typedConfig: "batch_size: ~\nformat: null\nemit_tags_as_labels:", extra: "stats_flush_interval:"))
        #expect(configuration.kafkaSinks[0] == KafkaSinkConfiguration(brokerList: "kafka:9092", topic: "metrics"))
        #expect(configuration.statsFlushInterval == .seconds(5))
    }

    @Test("value spellings Envoy accepts")
    func spellings() throws {
        let configuration = try parse(
            config(
                typedConfig: """
                    batch_size: "42"
                    format: 1
                    emit_tags_as_labels: False
                    report_counters_as_deltas: TRUE
                    producer_config:
                      acks: 1
                      enable.idempotence: true
                      queue.buffering.max.kbytes: 1048576
                      empty: ""
                    """,
                extra: "stats_flush_interval: {seconds: 2, nanos: 500000000}"
            )
        )
        let sink = configuration.kafkaSinks[0]
        #expect(sink.batchSize == 42)
        #expect(sink.format == .protobuf)
        #expect(sink.emitTagsAsLabels == false)
        #expect(sink.reportCountersAsDeltas == true)
        #expect(sink.producerConfig.map(\.description) == [
            "acks=1", "enable.idempotence=true", "queue.buffering.max.kbytes=1048576", "empty=",
        ])
        #expect(configuration.statsFlushInterval == .milliseconds(2500))
        #expect(try parse(config(typedConfig: "format: 0")).kafkaSinks[0].format == .json)
        #expect(try parse(config(typedConfig: "format: JSON")).kafkaSinks[0].format == .json)
    }

    @Test(
        "flush interval syntax",
        arguments: [
            ("10s", Duration.seconds(10)), ("1.5s", .milliseconds(1500)), ("0.001s", .milliseconds(1)),
            ("500ms", .milliseconds(500)), ("1ms", .milliseconds(1)), ("299.999999999s", .seconds(300) - .nanoseconds(1)),
            ("\"0.000000001s\"", nil), ("1.25ms", .microseconds(1250)), ("0.123456789s", .nanoseconds(123_456_789)),
            ("{seconds: 7}", .seconds(7)), ("{nanos: 1000000}", .milliseconds(1)),
        ] as [(String, Duration?)]
    )
    func flushInterval(text: String, expected: Duration?) throws {
        let yaml = config(extra: "stats_flush_interval: \(text)")
        if let expected {
            #expect(try parse(yaml).statsFlushInterval == expected)
        } else {
            #expect(problems(yaml).first?.message.contains("at least 1ms") == true)
        }
    }

    @Test(
        "byte size syntax",
        arguments: [
            ("1", UInt64(1)), ("1048576", 1 << 20), ("100B", 100), ("4KiB", 4096), ("512MiB", 512 << 20),
            ("1GiB", 1 << 30), ("1.5GiB", 1_610_612_736), ("\"2 TiB\"", 2 << 40), ("0.5KiB", 512),
            ("1.0000001KiB", 1024), ("0.999B", nil),
        ] as [(String, UInt64?)]
    )
    func byteSizes(text: String, expected: UInt64?) throws {
        let yaml = config(extra: "buffer: {max_bytes: \(text)}")
        if let expected {
            #expect(try parse(yaml).buffer.maxBytes == expected)
        } else {
            #expect(problems(yaml).first?.message.contains("greater than 0") == true)
        }
    }

    @Test("several Kafka sinks, other sinks ignored with a note")
    func severalSinks() throws {
        let yaml = """
            stats_sinks:
              - name: envoy.stat_sinks.statsd
                typed_config:
                  "@type": type.googleapis.com/envoy.config.metrics.v3.StatsdSink
                  tcp_cluster_name: statsd
              - name: envoy.stat_sinks.kafka
                typed_config:
                  "@type": \(kafkaTypeURL)
                  broker_list: a:9092
                  topic: one
              - typed_config:
                  "@type": \(kafkaTypeURL)
                  broker_list: b:9092
                  topic: two
                  format: PROTOBUF
            """
        let configuration = try parse(yaml)
        #expect(configuration.kafkaSinks.map(\.topic) == ["one", "two"])
        #expect(configuration.kafkaSinks.map(\.brokerList) == ["a:9092", "b:9092"])
        #expect(configuration.notes.contains {
            $0.hasPrefix("sink.yaml:2: stats_sinks[0]: ignored the envoy.stat_sinks.statsd sink")
        })
    }

    @Test("an Envoy bootstrap's other fields are ignored with notes")
    func envoyBootstrapFieldsAreNoted() throws {
        let yaml = """
            node:
              id: front-proxy
              cluster: front
              locality: {zone: a}
            static_resources:
              clusters: []
            layered_runtime: {layers: []}
            stats_flush_on_admin: false
            admin:
              address: {socket_address: {address: 0.0.0.0, port_value: 9901}}
              access_log_path: /dev/null
              listen: "[::1]:9902"
            \(config())
            """
        let configuration = try parse(yaml)
        #expect(configuration.node == NodeIdentity(id: "front-proxy", cluster: "front"))
        #expect(configuration.admin.listen == ListenAddress(host: "::1", port: 9902))
        let noted = configuration.notes.joined(separator: "\n")
        for key in ["node.locality", "static_resources", "layered_runtime", "stats_flush_on_admin", "admin.address", "admin.access_log_path"] {
            #expect(noted.contains(": \(key): ignored"), "no note for \(key)")
        }
        #expect(configuration.notes.first == "sink.yaml:4: node.locality: ignored: an Envoy node field that statsink does not use")
    }

    @Test("protobuf JSON names are accepted where Envoy accepts them")
    func jsonNames() throws {
        let yaml = """
            statsFlushInterval: 2s
            statsSinks:
              - name: envoy.stat_sinks.kafka
                typedConfig:
                  "@type": \(kafkaTypeURL)
                  brokerList: "kafka:9092"
                  topic: metrics
                  batchSize: 7
                  emitTagsAsLabels: false
                  bufferFlushTimeoutMs: 10
            """
        let configuration = try parse(yaml)
        #expect(configuration.statsFlushInterval == .seconds(2))
        #expect(configuration.kafkaSinks == [
            KafkaSinkConfiguration(brokerList: "kafka:9092", topic: "metrics", batchSize: 7, emitTagsAsLabels: false, bufferFlushTimeoutMs: 10)
        ])
    }

    @Test("listen addresses", arguments: [
        ("127.0.0.1:9902", "127.0.0.1", UInt16(9902)), ("localhost:9902", "localhost", 9902), ("[::1]:9902", "::1", 9902),
        ("0.0.0.0:1", "0.0.0.0", 1), ("[fe80::1%eth0]:65535", "fe80::1%eth0", 65535), ("metrics-1.internal:80", "metrics-1.internal", 80),
    ])
    func listenAddresses(text: String, host: String, port: UInt16) throws {
        let address = try ListenAddress(parsing: text)
        #expect(address == ListenAddress(host: host, port: port))
        #expect(address.description == text)
        #expect(try parse(config(extra: "admin: {listen: \"\(text)\"}")).admin.listen == address)
    }

    /// The package root, found from this file's path.
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test("the example files load")
    func exampleFiles() throws {
        let envoy = try ConfigurationLoader.load(path: Self.packageRoot.appendingPathComponent("examples/envoy-kafka.yaml").path)
        #expect(envoy.node == NodeIdentity(id: "envoy-example", cluster: "example"))
        #expect(envoy.kafkaSinks.map(\.brokerList) == ["127.0.0.1:9092"])
        #expect(envoy.kafkaSinks.first?.format == .protobuf)
        #expect(envoy.buffer == BufferConfiguration())

        let full = try ConfigurationLoader.load(path: Self.packageRoot.appendingPathComponent("examples/statsink-full.yaml").path)
        var expected = Self.interfaceConfiguration
        expected.kafkaSinks[0].brokerList = "127.0.0.1:9092"
        #expect(full == expected)
    }
}
