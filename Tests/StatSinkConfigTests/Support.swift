import StatSinkConfig
import Testing

/// Parses `yaml` as the file `sink.yaml`.
func parse(_ yaml: String, fileName: String = "sink.yaml") throws(ConfigurationError) -> StatSinkConfiguration {
    try ConfigurationLoader.parse(yaml: yaml, fileName: fileName)
}

/// The problems `yaml` is rejected with; records an issue when it is accepted.
func problems(
    _ yaml: String, fileName: String = "sink.yaml", sourceLocation: SourceLocation = #_sourceLocation
) -> [ConfigurationProblem] {
    do {
        _ = try parse(yaml, fileName: fileName)
        Issue.record("accepted a bad configuration:\n\(yaml)", sourceLocation: sourceLocation)
        return []
    } catch {
        return error.problems
    }
}

let kafkaTypeURL = "type.googleapis.com/envoy.extensions.stat_sinks.kafka.v3.KafkaStatsSinkConfig"

/// A configuration with one Kafka sink; `typedConfig` lines are added inside its typed_config
/// (6 spaces of indent) and `extra` at the end of the file.
func config(typedConfig: String = "", extra: String = "") -> String {
    var text = """
        stats_sinks:
          - name: envoy.stat_sinks.kafka
            typed_config:
              "@type": \(kafkaTypeURL)
              broker_list: "kafka:9092"
              topic: metrics

        """
    if !typedConfig.isEmpty { text += typedConfig.split(separator: "\n").map { "      " + $0 + "\n" }.joined() }
    if !extra.isEmpty { text += extra + "\n" }
    return text
}

/// A configuration with one Kafka sink whose typed_config is exactly `lines` (6 spaces added).
func sink(_ lines: String) -> String {
    "stats_sinks:\n  - name: envoy.stat_sinks.kafka\n    typed_config:\n"
        + lines.split(separator: "\n").map { "      " + $0 + "\n" }.joined()
}
