import Foundation
import StatSinkConfig
import Testing

/// A bad configuration and what it must be rejected with.
struct BadConfiguration: Sendable, CustomTestStringConvertible {
    var yaml: String
    /// The exact key path of the problem.
    var keyPath: String
    /// A part of the message.
    var message: String

    var testDescription: String { "\(keyPath): \(message)" }
}

private let tc = "stats_sinks[0].typed_config"

@Suite("Rejected configurations")
struct RejectionTests {
    static let badConfigurations: [BadConfiguration] = [
        // typed_config fields
        .init(yaml: config(typedConfig: "batch_size: -1"), keyPath: "\(tc).batch_size", message: "expected an unsigned 32-bit integer, got \"-1\""),
        .init(yaml: config(typedConfig: "batch_size: 1.5"), keyPath: "\(tc).batch_size", message: "expected an unsigned 32-bit integer, got \"1.5\""),
        .init(yaml: config(typedConfig: "batch_size: many"), keyPath: "\(tc).batch_size", message: "unsigned 32-bit integer"),
        .init(yaml: config(typedConfig: "batch_size: 4294967296"), keyPath: "\(tc).batch_size", message: "at most 4294967295"),
        .init(yaml: config(typedConfig: "batch_size: [1]"), keyPath: "\(tc).batch_size", message: "got a sequence"),
        .init(yaml: config(typedConfig: "buffer_flush_timeout_ms: -5"), keyPath: "\(tc).buffer_flush_timeout_ms", message: "unsigned 32-bit integer"),
        .init(yaml: config(typedConfig: "buffer_flush_timeout_ms: 900001"), keyPath: "\(tc).buffer_flush_timeout_ms", message: "linger.ms"),
        .init(yaml: config(typedConfig: "emit_tags_as_labels: yes"), keyPath: "\(tc).emit_tags_as_labels", message: "expected true or false, got \"yes\""),
        .init(yaml: config(typedConfig: "report_counters_as_deltas: \"true\""), keyPath: "\(tc).report_counters_as_deltas", message: "expected true or false"),
        .init(yaml: config(typedConfig: "report_counters_as_deltas: 1"), keyPath: "\(tc).report_counters_as_deltas", message: "expected true or false"),
        .init(yaml: config(typedConfig: "format: XML"), keyPath: "\(tc).format", message: "expected one of JSON, PROTOBUF"),
        .init(yaml: config(typedConfig: "format: protobuf"), keyPath: "\(tc).format", message: "did you mean PROTOBUF?"),
        .init(yaml: config(typedConfig: "format: 2"), keyPath: "\(tc).format", message: "(or 0, 1), got \"2\""),
        .init(yaml: sink("\"@type\": \(kafkaTypeURL)\nbroker_list: \"\"\ntopic: t"), keyPath: "\(tc).broker_list", message: "non-empty"),
        .init(yaml: sink("\"@type\": \(kafkaTypeURL)\ntopic: t"), keyPath: "\(tc).broker_list", message: "required"),
        .init(yaml: sink("\"@type\": \(kafkaTypeURL)\nbroker_list: k:9092\ntopic: 123"), keyPath: "\(tc).topic", message: "expected a string, got \"123\", which YAML reads as an integer"),
        .init(yaml: sink("\"@type\": \(kafkaTypeURL)\nbroker_list: k:9092"), keyPath: "\(tc).topic", message: "required"),
        .init(yaml: sink("\"@type\": \(kafkaTypeURL)\nbroker_list: k:9092\ntopic: {a: b}"), keyPath: "\(tc).topic", message: "expected a string, got a mapping"),
        .init(yaml: config(typedConfig: "producer_config: [acks]"), keyPath: "\(tc).producer_config", message: "expected a mapping of librdkafka property names"),
        .init(yaml: config(typedConfig: "producer_config: {acks: [1]}"), keyPath: "\(tc).producer_config.acks", message: "expected a string, number or boolean value, got a sequence"),
        .init(yaml: config(typedConfig: "producer_config: {\"\": x}"), keyPath: "\(tc).producer_config[\"\"]", message: "empty key"),
        .init(yaml: config(typedConfig: "producer_config:\n  linger.ms:"), keyPath: "\(tc).producer_config[\"linger.ms\"]", message: "got nothing"),
        .init(yaml: config(typedConfig: "batch_sise: 10"), keyPath: "\(tc).batch_sise", message: "unknown key; did you mean \"batch_size\"?"),
        .init(yaml: config(typedConfig: "brokers: k:9092"), keyPath: "\(tc).brokers", message: "unknown key"),
        .init(yaml: sink("\"@type\": type.googleapis.com/envoy.config.metrics.v3.StatsdSink\nbroker_list: k\ntopic: t"), keyPath: "\(tc).@type", message: "expected \"\(kafkaTypeURL)\""),
        .init(yaml: sink("broker_list: k\ntopic: t"), keyPath: "\(tc).@type", message: "required"),
        .init(yaml: "stats_sinks:\n  - name: envoy.stat_sinks.kafka\n", keyPath: "stats_sinks[0].typed_config", message: "required"),
        .init(yaml: config().replacingOccurrences(of: "typed_config:", with: "typed_config: 5\n    unused:"), keyPath: "stats_sinks[0].typed_config", message: "expected a mapping"),
        // stats_sinks
        .init(yaml: "stats_flush_interval: 1s", keyPath: "stats_sinks", message: "required"),
        .init(yaml: "stats_sinks: {name: envoy.stat_sinks.kafka}", keyPath: "stats_sinks", message: "expected a sequence of sinks"),
        .init(yaml: "stats_sinks: []", keyPath: "stats_sinks", message: "no envoy.stat_sinks.kafka sink"),
        .init(yaml: "stats_sinks:\n  - name: envoy.stat_sinks.statsd\n", keyPath: "stats_sinks", message: "no envoy.stat_sinks.kafka sink"),
        .init(yaml: "stats_sinks:\n  - kafka\n", keyPath: "stats_sinks[0]", message: "expected a mapping with name and typed_config"),
        .init(yaml: "stats_sinks:\n  - {foo: bar}\n", keyPath: "stats_sinks[0]", message: "expected a sink with a name"),
        .init(yaml: config().replacingOccurrences(of: "stat_sinks.kafka", with: "stat_sinks.kafak"), keyPath: "stats_sinks[0].name", message: "did you mean \"envoy.stat_sinks.kafka\"?"),
        .init(yaml: config().replacingOccurrences(of: "    typed_config:", with: "    config: {}\n    typed_config:"), keyPath: "stats_sinks[0].config", message: "unknown key"),
        // stats_flush_interval
        .init(yaml: config(extra: "stats_flush_interval: 10"), keyPath: "stats_flush_interval", message: "missing unit"),
        .init(yaml: config(extra: "stats_flush_interval: \"10\""), keyPath: "stats_flush_interval", message: "missing unit"),
        .init(yaml: config(extra: "stats_flush_interval: 5m"), keyPath: "stats_flush_interval", message: "unsupported unit \"m\""),
        .init(yaml: config(extra: "stats_flush_interval: 1h"), keyPath: "stats_flush_interval", message: "unsupported unit \"h\""),
        .init(yaml: config(extra: "stats_flush_interval: 100us"), keyPath: "stats_flush_interval", message: "unsupported unit \"us\""),
        .init(yaml: config(extra: "stats_flush_interval: -1s"), keyPath: "stats_flush_interval", message: "must not be negative"),
        .init(yaml: config(extra: "stats_flush_interval: 0.0001s"), keyPath: "stats_flush_interval", message: "must be at least 1ms"),
        .init(yaml: config(extra: "stats_flush_interval: 0s"), keyPath: "stats_flush_interval", message: "must be at least 1ms"),
        .init(yaml: config(extra: "stats_flush_interval: 300s"), keyPath: "stats_flush_interval", message: "must be less than 300s"),
        .init(yaml: config(extra: "stats_flush_interval: 1.0000000001s"), keyPath: "stats_flush_interval", message: "at most 9 fractional digits"),
        .init(yaml: config(extra: "stats_flush_interval: soon"), keyPath: "stats_flush_interval", message: "expected a duration"),
        .init(yaml: config(extra: "stats_flush_interval: 1.2.3s"), keyPath: "stats_flush_interval", message: "expected a duration"),
        .init(yaml: config(extra: "stats_flush_interval: {seconds: 1, nanos: 2000000000}"), keyPath: "stats_flush_interval.nanos", message: "0 to 999999999"),
        .init(yaml: config(extra: "stats_flush_interval: {seconds: 1, millis: 2}"), keyPath: "stats_flush_interval.millis", message: "unknown key"),
        .init(yaml: config(extra: "stats_flush_interval: {seconds: 600}"), keyPath: "stats_flush_interval", message: "less than 300s"),
        // top level
        .init(yaml: config(extra: "bufer: {}"), keyPath: "bufer", message: "did you mean \"buffer\"?"),
        .init(yaml: config(extra: "stats_flush_intervall: 1s"), keyPath: "stats_flush_intervall", message: "did you mean \"stats_flush_interval\"?"),
        .init(yaml: config(extra: "frobnicate: 1"), keyPath: "frobnicate", message: "expected one of: node, stats_flush_interval, stats_sinks, buffer, sources, admin"),
        .init(yaml: config(extra: "stats_flush_interval: 1s\nstats_flush_interval: 2s"), keyPath: "stats_flush_interval", message: "duplicate key; first set on line 7"),
        // buffer
        .init(yaml: config(extra: "buffer: {max_bytes: 0}"), keyPath: "buffer.max_bytes", message: "must be greater than 0"),
        .init(yaml: config(extra: "buffer: {max_bytes: -1}"), keyPath: "buffer.max_bytes", message: "must be greater than 0"),
        .init(yaml: config(extra: "buffer: {max_bytes: 512MB}"), keyPath: "buffer.max_bytes", message: "did you mean MiB?"),
        .init(yaml: config(extra: "buffer: {max_bytes: 2PiB}"), keyPath: "buffer.max_bytes", message: "unknown unit \"PiB\""),
        .init(yaml: config(extra: "buffer: {max_bytes: 1.5}"), keyPath: "buffer.max_bytes", message: "whole number"),
        .init(yaml: config(extra: "buffer: {max_in_flight: 16KiB}"), keyPath: "buffer.max_in_flight", message: "must be from 64KiB to 1GiB, got 16KiB"),
        .init(yaml: config(extra: "buffer: {max_in_flight: 2GiB}"), keyPath: "buffer.max_in_flight", message: "must be from 64KiB to 1GiB, got 2GiB"),
        .init(yaml: config(extra: "buffer: {max_retry_backoff: 10ms}"), keyPath: "buffer.max_retry_backoff", message: "must be from 100ms to"),
        .init(yaml: config(extra: "buffer: {max_retry_backoff: 7200s}"), keyPath: "buffer.max_retry_backoff", message: "must be from 100ms to 3600s, got 7200s"),
        .init(yaml: config(extra: "buffer: {max_retry_backoff: 30}"), keyPath: "buffer.max_retry_backoff", message: "missing unit"),
        .init(yaml: config(extra: "buffer: {max_bytes: lots}"), keyPath: "buffer.max_bytes", message: "expected a size"),
        .init(yaml: config(extra: "buffer: {max_bytes: 20000000TiB}"), keyPath: "buffer.max_bytes", message: "too large"),
        .init(yaml: config(extra: "buffer: {when_full: drop_all}"), keyPath: "buffer.when_full", message: "expected one of drop_oldest, drop_newest"),
        .init(yaml: config(extra: "buffer: {when_full: drop-newest}"), keyPath: "buffer.when_full", message: "did you mean drop_newest?"),
        .init(yaml: config(extra: "buffer: {durability: paranoid}"), keyPath: "buffer.durability", message: "expected one of normal, full"),
        .init(yaml: config(extra: "buffer: {path: \"\"}"), keyPath: "buffer.path", message: "non-empty"),
        .init(yaml: config(extra: "buffer: {colour: red}"), keyPath: "buffer.colour", message: "unknown key; expected one of: path, max_bytes, when_full, durability"),
        .init(yaml: config(extra: "buffer: [path]"), keyPath: "buffer", message: "expected a mapping, got a sequence"),
        // sources
        .init(yaml: config(extra: "sources: {synthetic: {counters: -1}}"), keyPath: "sources.synthetic.counters", message: "expected a non-negative integer"),
        .init(yaml: config(extra: "sources: {synthetic: {gauges: 2000000}}"), keyPath: "sources.synthetic.gauges", message: "at most 1000000"),
        .init(yaml: config(extra: "sources: {synthetic: {histogram: 3}}"), keyPath: "sources.synthetic.histogram", message: "did you mean \"histograms\"?"),
        .init(yaml: config(extra: "sources: {synthetic: 5}"), keyPath: "sources.synthetic", message: "expected a mapping"),
        .init(yaml: config(extra: "sources: {metrics_service: {}}"), keyPath: "sources.metrics_service.listen", message: "required"),
        .init(yaml: config(extra: "sources: {metrics_servce: {}}"), keyPath: "sources.metrics_servce", message: "did you mean \"metrics_service\"?"),
        .init(yaml: config(extra: "sources: {metrics_service: {listen: \"127.0.0.1\"}}"), keyPath: "sources.metrics_service.listen", message: "missing port"),
        .init(yaml: config(extra: "sources: {metrics_service: {listen: \"127.0.0.1:18000\", report_counters_as_deltas: yes}}"), keyPath: "sources.metrics_service.report_counters_as_deltas", message: "expected true or false"),
        .init(yaml: config(extra: "sources: {metrics_service: {listen: \"127.0.0.1:18000\", max_message_bytes: 4KiB}}"), keyPath: "sources.metrics_service.max_message_bytes", message: "must be from 64KiB to 1GiB, got 4KiB"),
        .init(yaml: config(extra: "sources: {metrics_service: {listen: \"127.0.0.1:18000\", max_message_bytes: 2GiB}}"), keyPath: "sources.metrics_service.max_message_bytes", message: "must be from 64KiB to 1GiB, got 2GiB"),
        .init(yaml: config(extra: "sources: {metrics_service: {listen: \"127.0.0.1:18000\", max_message_bytes: 64MB}}"), keyPath: "sources.metrics_service.max_message_bytes", message: "did you mean MiB?"),
        .init(yaml: config(extra: "sources: {metrics_service: {listen: \"127.0.0.1:18000\", snapshot_idle_timeout: 200}}"), keyPath: "sources.metrics_service.snapshot_idle_timeout", message: "missing unit"),
        .init(yaml: config(extra: "sources: {metrics_service: {listen: \"127.0.0.1:18000\", snapshot_idle_timeout: 2m}}"), keyPath: "sources.metrics_service.snapshot_idle_timeout", message: "2m"),
        .init(yaml: config(extra: "sources: {metrics_service: {listen: \"127.0.0.1:18000\", snapshot_idle_timeout: 90s}}"), keyPath: "sources.metrics_service.snapshot_idle_timeout", message: "must be from 1ms to 60s, got 90s"),
        .init(yaml: config(extra: "sources: {metrics_service: {listen: \"127.0.0.1:18000\", snapshot_idle_timeout: 0s}}"), keyPath: "sources.metrics_service.snapshot_idle_timeout", message: "must be from 1ms to 60s"),
        .init(yaml: config(extra: "sources: {metrics_service: {listen: \"127.0.0.1:18000\", batch_size: 10}}"), keyPath: "sources.metrics_service.batch_size", message: "unknown key; expected one of: listen, report_counters_as_deltas, max_message_bytes, snapshot_idle_timeout"),
        .init(yaml: config(extra: "sources: {metrics_service: {listen: \"127.0.0.1:18000\", snapshot_idle_timout: 1s}}"), keyPath: "sources.metrics_service.snapshot_idle_timout", message: "did you mean \"snapshot_idle_timeout\"?"),
        // admin and listen addresses
        .init(yaml: config(extra: "admin: {listen: \"127.0.0.1:0\"}"), keyPath: "admin.listen", message: "port must be a number from 1 to 65535"),
        .init(yaml: config(extra: "admin: {listen: \"127.0.0.1:70000\"}"), keyPath: "admin.listen", message: "port must be a number from 1 to 65535"),
        .init(yaml: config(extra: "admin: {listen: \"localhost:http\"}"), keyPath: "admin.listen", message: "port must be a number"),
        .init(yaml: config(extra: "admin: {listen: \"::1:9902\"}"), keyPath: "admin.listen", message: "IPv6 addresses must be in brackets"),
        .init(yaml: config(extra: "admin: {listen: \"[::1:9902\"}"), keyPath: "admin.listen", message: "missing \"]\""),
        .init(yaml: config(extra: "admin: {listen: \":9902\"}"), keyPath: "admin.listen", message: "missing host"),
        .init(yaml: config(extra: "admin: {listen: 9902}"), keyPath: "admin.listen", message: "expected \"HOST:PORT\""),
        .init(yaml: config(extra: "admin:\n  listen:\n    - \"::1\""), keyPath: "admin.listen", message: "quote IPv6 addresses"),
        .init(yaml: config(extra: "admin: {port: 9902}"), keyPath: "admin.port", message: "unknown key; expected one of: listen"),
        // node
        .init(yaml: config(extra: "node: {id: \"\"}"), keyPath: "node.id", message: "non-empty string (omit node.id to use the host name)"),
        .init(yaml: config(extra: "node: {id: 17}"), keyPath: "node.id", message: "expected a string"),
        .init(yaml: config(extra: "node: {id: a, name: b}"), keyPath: "node.name", message: "unknown key"),
        .init(yaml: config(extra: "node: edge-17"), keyPath: "node", message: "expected a mapping"),
        // duplicates and aliases
        .init(yaml: config(typedConfig: "topic: again"), keyPath: "\(tc).topic", message: "duplicate key; first set on line 6"),
        .init(yaml: config(typedConfig: "brokerList: other:9092"), keyPath: "\(tc).brokerList", message: "same field as \"broker_list\""),
        .init(yaml: config(typedConfig: "producer_config: {acks: 1, \"acks\": all}"), keyPath: "\(tc).producer_config.acks", message: "duplicate key"),
        .init(yaml: config(extra: "buffer: {path: &p /tmp/q.db}\nnode: {id: *p}"), keyPath: "node.id", message: "YAML aliases are not supported"),
    ]

    @Test("each bad configuration is rejected, naming the key path", arguments: badConfigurations)
    func rejected(bad: BadConfiguration) {
        let found = problems(bad.yaml)
        let match = found.first { $0.keyPath == bad.keyPath && $0.message.contains(bad.message) }
        #expect(match != nil, "expected \(bad.keyPath): …\(bad.message)…; got:\n\(found.map(\.description).joined(separator: "\n"))")
        if let match {
            #expect(match.description.hasPrefix("sink.yaml:"))
            #expect(match.description.contains(" \(bad.keyPath): "))
        }
    }

    @Test("the table has many distinct cases")
    func distinctCases() {
        #expect(Set(Self.badConfigurations.map(\.yaml)).count == Self.badConfigurations.count)
        #expect(Self.badConfigurations.count >= 35)
    }

    @Test("the problem line has the documented shape")
    func problemShape() {
        let yaml = """
            node: {id: edge-17}
            stats_sinks:
              - name: envoy.stat_sinks.kafka
                typed_config:
                  "@type": type.googleapis.com/envoy.extensions.stat_sinks.kafka.v3.KafkaStatsSinkConfig
                  broker_list: "kafka:9092"
                  topic: metrics
                  format: JSON
                  emit_tags_as_labels: true
                  report_counters_as_deltas: false
                  buffer_flush_timeout_ms: 100
                  batch_size: -1
            """
        #expect(problems(yaml).map(\.description) == [
            "sink.yaml:12: stats_sinks[0].typed_config.batch_size: expected an unsigned 32-bit integer, got \"-1\""
        ])
    }

    @Test("every problem is reported, in file order, with its line")
    func allProblemsTogether() {
        let yaml = """
            stats_flush_interval: 10
            stats_sinks:
              - name: envoy.stat_sinks.kafka
                typed_config:
                  "@type": type.googleapis.com/envoy.extensions.stat_sinks.kafka.v3.KafkaStatsSinkConfig
                  broker_list: ""
                  topic: metrics
                  batch_size: -1
                  format: XML
                  topik: x
            buffer:
              max_bytes: 0
              when_full: drop_everything
            sources:
              synthetic: {counters: -5}
            admin:
              listen: "localhost"
            """
        let found = problems(yaml)
        #expect(found.map(\.keyPath) == [
            "stats_flush_interval",
            "stats_sinks[0].typed_config.broker_list",
            "stats_sinks[0].typed_config.batch_size",
            "stats_sinks[0].typed_config.format",
            "stats_sinks[0].typed_config.topik",
            "buffer.max_bytes",
            "buffer.when_full",
            "sources.synthetic.counters",
            "admin.listen",
        ])
        #expect(found.map(\.line) == [1, 6, 8, 9, 10, 12, 13, 15, 17])
        #expect(found.allSatisfy { $0.file == "sink.yaml" })
        #expect(found[4].message == "unknown key; did you mean \"topic\"?")
    }

    @Test("lines of duplicate keys and of problems in flow mappings")
    func lines() {
        let duplicate = problems(config(typedConfig: "batch_size: 1\nbatch_size: 2\nbatch_size: 3"))
        #expect(duplicate.map(\.description) == [
            "sink.yaml:8: stats_sinks[0].typed_config.batch_size: duplicate key; first set on line 7",
            "sink.yaml:9: stats_sinks[0].typed_config.batch_size: duplicate key; first set on line 7",
        ])
        let flow = problems("\n\n" + config(extra: "sources: {synthetic: {counters: 1, gauges: x}}"))
        #expect(flow.map(\.description) == [
            "sink.yaml:9: sources.synthetic.gauges: expected a non-negative integer (at most 1000000), got \"x\""
        ])
    }

    @Test("problems with the file as a whole", arguments: [
        ("", "the file is empty"),
        ("# only a comment\n", "the file is empty"),
        ("~", "the file has no configuration"),
        ("- a\n- b\n", "expected a mapping of Envoy bootstrap keys at the top level, got a sequence"),
        ("just text", "expected a mapping of Envoy bootstrap keys"),
        ("stats_sinks:\n\t- x\n", "invalid YAML"),
        ("a: [1, 2\n", "invalid YAML"),
        ("a: 1\n---\nb: 2\n", "invalid YAML: expected a single document in the stream but found another document"),
        ("a: *nowhere\n", "invalid YAML: found undefined alias"),
    ])
    func fileProblems(yaml: String, message: String) {
        let found = problems(yaml, fileName: "whole.yaml")
        #expect(found.count == 1)
        #expect(found.first?.keyPath == "")
        #expect(found.first?.message.contains(message) == true, "got \(found)")
        #expect(found.first?.description.hasPrefix("whole.yaml") == true)
    }

    @Test("a syntax error names its line")
    func syntaxErrorLine() {
        let found = problems("stats_sinks:\n  - name: x\n  bad: [\n")
        #expect(found.first?.line != nil)
        #expect(found.first?.description.hasPrefix("sink.yaml:") == true)
    }

    @Test("files that cannot be read")
    func unreadableFiles() throws {
        do {
            _ = try ConfigurationLoader.load(path: "/nonexistent/statsink.yaml")
            Issue.record("loaded a missing file")
        } catch {
            #expect(error.problems.count == 1)
            #expect(error.description.hasPrefix("/nonexistent/statsink.yaml: cannot open the file"))
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("statsink-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let binary = directory.appendingPathComponent("binary.yaml")
        try Data([0x61, 0x3A, 0x20, 0xFF, 0xFE]).write(to: binary)
        #expect(throws: ConfigurationError.self) { try ConfigurationLoader.load(path: binary.path) }
        do {
            _ = try ConfigurationLoader.load(path: binary.path)
        } catch {
            #expect(error.description == "\(binary.path): the file is not valid UTF-8 text")
        }
        let bad = directory.appendingPathComponent("bad.yaml")
        try Data(config(typedConfig: "batch_size: -1").utf8).write(to: bad)
        do {
            _ = try ConfigurationLoader.load(path: bad.path)
            Issue.record("loaded a bad file")
        } catch {
            #expect(error.description == "\(bad.path):7: \(tc).batch_size: expected an unsigned 32-bit integer, got \"-1\"")
        }
    }

    // Inputs `statsink-fuzz config` found (issue 6).

    @Test("a document nested as deep as libyaml allows is rejected on a small stack, not a crash")
    func deepNestingOnASmallStack() async {
        let yaml = "stats_sinks: " + String(repeating: "[", count: 990) + "x" + String(repeating: "]", count: 990) + "\n"
        // 256 KiB, less than a secondary thread gets on Darwin: the loader brings its own stack.
        let found = await withCheckedContinuation { continuation in
            let thread = Thread {
                do throws(ConfigurationError) {
                    _ = try parse(yaml)
                    continuation.resume(returning: [ConfigurationProblem]())
                } catch {
                    continuation.resume(returning: error.problems)
                }
            }
            thread.stackSize = 256 << 10
            thread.start()
        }
        #expect(found.first?.keyPath == "stats_sinks[0]")
        #expect(found.first?.message.hasPrefix("expected a mapping with name and typed_config") == true)
    }

    @Test("duplicate keys are named by key path whatever the line breaks", arguments: ["\r\n", "\r", "\u{85}", "\u{2028}"])
    func duplicateKeysWithOtherLineBreaks(lineBreak: String) {
        let yaml = "\u{FEFF}" + ["node:", "  id: a", "  id: b", "  cluster: c", "  cluster: c"].joined(separator: lineBreak) + lineBreak
        let found = problems(yaml)
        #expect(found.map(\.keyPath) == ["node.id", "node.cluster", "stats_sinks"])
        #expect(found.map(\.line) == [3, 5, nil])
    }

    @Test("a key with a line break is quoted in the key path, so that each problem stays one line")
    func keysWithLineBreaks() {
        let found = problems(config(extra: "\"a\\nb\": 1\nbuffer: {\"x\\u2028\": 2}"))
        #expect(found.map(\.keyPath) == ["[\"a\\nb\"]", "buffer[\"x\\u2028\"]"])
        #expect(found.allSatisfy { !$0.description.contains(where: \.isNewline) })
    }

    @Test("a file of aliases standing for millions of values is refused before composing")
    func billionLaughs() {
        var lines = ["l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
        for level in 1..<10 {
            lines.append("l\(level): &l\(level) [" + Array(repeating: "*l\(level - 1)", count: 10).joined(separator: ", ") + "]")
        }
        // Yams hashes a mapping key whole: a key standing for 10^9 values took minutes.
        lines.append("? *l9\n: x")
        let found = problems(lines.joined(separator: "\n"))
        #expect(found.map(\.line) == [5], "l4 stands for 111111 values")
        #expect(found.first?.message.hasPrefix("YAML aliases are not supported, and these stand for over 100000 values") == true)
        // A few aliases are still reported where they are, with their key paths.
        #expect(problems(config(extra: "buffer: {path: &p /q.db}\nnode: {id: *p, cluster: *p}")).map(\.keyPath) == ["node.id", "node.cluster"])
    }

    @Test("a tagged number is quoted in the message about its missing unit")
    func taggedNumbers() {
        let found = problems(config(extra: "stats_flush_interval: !!int \"1 x\\nmore\""))
        #expect(found.first?.message == "expected a duration such as 10s, 1.5s or 500ms, got \"1 x\\nmore\"")
        #expect(problems(config(extra: "stats_flush_interval: 10")).first?.message == "missing unit in \"10\": write e.g. 10s or 10ms")
    }

    @Test("a problem at the end of a file without a final line break is on its last line")
    func syntaxErrorAtTheEnd() {
        #expect(problems("stats_sinks: {a: b").first?.line == 1)
        #expect(problems("node: {}\nstats_sinks: [").first?.line == 2)
        #expect(problems("---\n# only a comment").first?.line == 2)
    }
}
