import StatSinkConfig
import StatSinkKafka

/// Everything that can be checked about a configuration file before anything runs: the file
/// itself (syntax, names, types, ranges) and, for each Kafka sink, librdkafka's own verdict on
/// its producer properties.
public enum ConfigurationCheck {
    /// Loads and checks the configuration at `path`.
    ///
    /// - Throws: every problem found, each naming the file and key path at fault.
    public static func load(path: String) throws(ConfigurationError) -> StatSinkConfiguration {
        let configuration = try ConfigurationLoader.load(path: path)
        let problems = configuration.kafkaSinks.enumerated().flatMap { index, sink in
            sink.producerProperties.validate().map { problem($0, sink: sink, index: index, file: path) }
        }
        guard problems.isEmpty else { throw ConfigurationError(problems: problems) }
        return configuration
    }

    /// The effective configuration as YAML (defaults included, secrets redacted), followed by the
    /// librdkafka properties each producer gets, in application order.
    public static func report(_ configuration: StatSinkConfiguration) -> String {
        var lines = configuration.notes.map { "# note: \($0)" }
        lines.append(configuration.effectiveConfigurationYAML().trimmingTrailingNewlines())
        for (index, sink) in configuration.kafkaSinks.enumerated() {
            lines.append("# stats_sinks[\(index)]: librdkafka \(Librdkafka.version) producer properties, in application order:")
            for property in sink.producerProperties.properties {
                let value = ProducerProperty.isSecret(name: property.name) ? ProducerProperty.redactedValue : property.value
                lines.append("#   \(property.name)=\(value)")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private static func problem(_ problem: KafkaPropertyProblem, sink: KafkaSinkConfiguration, index: Int, file: String) -> ConfigurationProblem {
        let base = "stats_sinks[\(index)].typed_config"
        let keyPath: String
        switch problem.property?.origin {
        case .brokerList: keyPath = "\(base).broker_list"
        case .bufferFlushTimeout: keyPath = "\(base).buffer_flush_timeout_ms"
        case .producerConfig: keyPath = "\(base).producer_config.\(problem.property!.name)"
        case .deliveryDefault, nil: keyPath = "\(base).producer_config"
        }
        // librdkafka quotes refused values; a secret must not reach the terminal that way.
        var message = "librdkafka \(Librdkafka.version) refused it: \(problem.message)"
        for secret in sink.producerConfig where secret.isSecret && !secret.value.isEmpty {
            message = message.replacingOccurrences(of: secret.value, with: ProducerProperty.redactedValue)
        }
        return ConfigurationProblem(file: file, line: nil, keyPath: keyPath, message: message)
    }
}

extension String {
    fileprivate func trimmingTrailingNewlines() -> String {
        var result = self
        while result.hasSuffix("\n") { result.removeLast() }
        return result
    }

    fileprivate func replacingOccurrences(of target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        return split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
