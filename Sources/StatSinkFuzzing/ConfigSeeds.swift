/// Seed configuration files, written for the fuzzer (the shipped `examples/` join them with
/// `--corpus examples`): every section and key statsink reads, in block, flow and JSON form,
/// and an Envoy bootstrap with the sections statsink ignores.
enum ConfigSeeds {
    static let typeURL = "type.googleapis.com/envoy.extensions.stat_sinks.kafka.v3.KafkaStatsSinkConfig"

    static let all: [String] = [minimal, everySection, flow, json, envoyBootstrap, protoJSONNames, secrets]

    static let minimal = """
        stats_sinks:
          - name: envoy.stat_sinks.kafka
            typed_config:
              "@type": \(typeURL)
              broker_list: "kafka:9092"
              topic: metrics

        """

    static let everySection = """
        node:
          id: edge-3
          cluster: west
        stats_flush_interval: 2.5s
        stats_sinks:
          - name: envoy.stat_sinks.kafka
            typed_config:
              "@type": \(typeURL)
              broker_list: "kafka1:9092,kafka2:9092"
              topic: edge-metrics
              batch_size: 250
              format: JSON
              emit_tags_as_labels: false
              report_counters_as_deltas: false
              buffer_flush_timeout_ms: 20
              producer_config:
                compression.codec: zstd
                linger.ms: 7
                enable.idempotence: true
          - name: envoy.stat_sinks.kafka
            typed_config:
              "@type": \(typeURL)
              broker_list: "backup:9092"
              topic: copy
              format: PROTOBUF
        buffer:
          path: /tmp/statsink-fuzz.db
          max_bytes: 256MiB
          when_full: drop_newest
          durability: full
        sources:
          synthetic:
            counters: 10
            gauges: 5
            histograms: 2
          metrics_service:
            listen: "[::1]:18000"
            report_counters_as_deltas: true
            max_message_bytes: 1MiB
            snapshot_idle_timeout: 750ms
        admin:
          listen: "127.0.0.1:9902"

        """

    static let flow = """
        {node: {id: n, cluster: c}, stats_flush_interval: {seconds: 3, nanos: 500}, stats_sinks: [{name: envoy.stat_sinks.kafka, typed_config: {"@type": \(typeURL), broker_list: "k:1", topic: t, batch_size: 0, format: 1}}], buffer: {max_bytes: 1048576}, sources: {synthetic: {counters: 1, gauges: 0, histograms: 0}}}

        """

    static let json = """
        {
          "node": {"id": "json-node", "cluster": ""},
          "stats_flush_interval": "1ms",
          "stats_sinks": [
            {"name": "envoy.stat_sinks.kafka",
             "typed_config": {"@type": "\(typeURL)", "broker_list": "b:9092", "topic": "j",
                              "emit_tags_as_labels": true, "producer_config": {"acks": "all", "retries": 5}}}
          ],
          "admin": {"listen": "localhost:1"},
          "sources": {"metrics_service": {"listen": "0.0.0.0:65535", "max_message_bytes": "64KiB", "snapshot_idle_timeout": "60s"}}
        }

        """

    static let envoyBootstrap = """
        node:
          id: envoy-1
          cluster: mesh
          metadata: {team: edge}
          locality: {region: eu, zone: a}
        admin:
          address:
            socket_address: {address: 127.0.0.1, port_value: 9901}
        static_resources:
          listeners: []
          clusters:
            - name: statsink
              type: STATIC
        layered_runtime:
          layers:
            - name: static
              static_layer: {overload: {global_downstream_max_connections: 1000}}
        stats_sinks:
          - name: envoy.stat_sinks.metrics_service
            typed_config:
              "@type": type.googleapis.com/envoy.config.metrics.v3.MetricsServiceConfig
              transport_api_version: V3
              grpc_service: {envoy_grpc: {cluster_name: statsink}}
          - name: envoy.stat_sinks.kafka
            typed_config:
              "@type": \(typeURL)
              broker_list: "kafka:9092"
              topic: envoy
              format: PROTOBUF
              batch_size: 4294967295
              buffer_flush_timeout_ms: 900000
        stats_flush_interval: 299.999999999s

        """

    static let protoJSONNames = """
        statsFlushInterval: 10s
        statsSinks:
          - name: envoy.stat_sinks.kafka
            typedConfig:
              "@type": \(typeURL)
              brokerList: "kafka:9092"
              topic: camel
              batchSize: 3
              reportCountersAsDeltas: true
              emitTagsAsLabels: false
              bufferFlushTimeoutMs: 0
              producerConfig: {"queue.buffering.max.ms": 1}

        """

    static let secrets = """
        stats_sinks:
          - name: envoy.stat_sinks.kafka
            typed_config:
              "@type": \(typeURL)
              broker_list: "kafka:9093"
              topic: "envoy-metrics"
              producer_config:
                security.protocol: SASL_SSL
                sasl.username: envoy
                sasl.password: "hunter2"
                ssl.key.pem: "-----BEGIN PRIVATE KEY-----\\nMIIE\\n-----END PRIVATE KEY-----"
                "odd key: with # and \\u0001": "value with 'quotes' and \\\\ and ✓"
        buffer: {path: "/tmp/q ueue.db", max_bytes: 1536MiB}

        """
}
