extension StatSinkConfiguration {
    /// The full effective configuration as YAML, defaults included, in the shape of the input
    /// file (`node`, `stats_flush_interval`, `stats_sinks`, `buffer`, `sources`, `admin`).
    ///
    /// Secret `producer_config` values are replaced by ``ProducerProperty/redactedValue``;
    /// otherwise the text parses back to an equal configuration. ``notes`` are not included.
    public func effectiveConfigurationYAML() -> String {
        var lines = ["# statsink effective configuration: defaults included, secrets redacted."]
        lines.append("node:")
        lines.append("  id: \(yamlString(node.id))")
        lines.append("  cluster: \(yamlString(node.cluster))")
        lines.append("stats_flush_interval: \(DurationSyntax.format(statsFlushInterval))")
        lines.append(kafkaSinks.isEmpty ? "stats_sinks: []" : "stats_sinks:")
        for sink in kafkaSinks {
            lines.append("  - name: \(KafkaSinkConfiguration.sinkName)")
            lines.append("    typed_config:")
            lines.append("      \"@type\": \(KafkaSinkConfiguration.typeURL)")
            lines.append("      broker_list: \(yamlString(sink.brokerList))")
            lines.append("      topic: \(yamlString(sink.topic))")
            lines.append("      batch_size: \(sink.batchSize)")
            lines.append("      report_counters_as_deltas: \(sink.reportCountersAsDeltas)")
            lines.append("      emit_tags_as_labels: \(sink.emitTagsAsLabels)")
            if sink.producerConfig.isEmpty {
                lines.append("      producer_config: {}")
            } else {
                lines.append("      producer_config:")
                for property in sink.producerConfig {
                    lines.append("        \(yamlString(property.name)): \(yamlString(property.displayValue))")
                }
            }
            lines.append("      buffer_flush_timeout_ms: \(sink.bufferFlushTimeoutMs)")
            lines.append("      format: \(sink.format.rawValue)")
        }
        lines.append("buffer:")
        lines.append("  path: \(yamlString(buffer.path))")
        lines.append("  max_bytes: \(ByteSizeSyntax.format(buffer.maxBytes))")
        lines.append("  when_full: \(buffer.whenFull.rawValue)")
        lines.append("  durability: \(buffer.durability.rawValue)")
        lines.append("  disk_reserve: \(ByteSizeSyntax.format(buffer.diskReserveBytes))")
        lines.append("  max_in_flight: \(ByteSizeSyntax.format(buffer.maxInFlightBytes))")
        lines.append("  max_retry_backoff: \(DurationSyntax.format(buffer.maxRetryBackoff))")
        if sources.isEmpty {
            lines.append("sources: {}  # none enabled")
        } else {
            lines.append("sources:")
            if let synthetic = sources.synthetic {
                lines.append("  synthetic:")
                lines.append("    counters: \(synthetic.counters)")
                lines.append("    gauges: \(synthetic.gauges)")
                lines.append("    histograms: \(synthetic.histograms)")
            }
            if let metricsService = sources.metricsService {
                lines.append("  metrics_service:")
                lines.append("    listen: \(yamlString(metricsService.listen.description))")
                lines.append("    report_counters_as_deltas: \(metricsService.reportCountersAsDeltas)")
                lines.append("    max_message_bytes: \(ByteSizeSyntax.format(metricsService.maxMessageBytes))")
                lines.append("    snapshot_idle_timeout: \(DurationSyntax.format(metricsService.snapshotIdleTimeout))")
            }
        }
        if let listen = admin.listen {
            lines.append("admin:")
            lines.append("  listen: \(yamlString(listen.description))")
        } else {
            lines.append("admin: {}  # no admin server")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// `text` as a YAML double-quoted scalar, escaping everything YAML does not allow there
/// unescaped, so any string survives the round trip.
func yamlString(_ text: String) -> String {
    var result = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": result += "\\\""
        case "\\": result += "\\\\"
        case "\n": result += "\\n"
        case "\r": result += "\\r"
        case "\t": result += "\\t"
        default:
            let value = scalar.value
            // C0, DEL, C1, the surrogates' neighbours and non-characters YAML excludes, and the
            // line breaks NEL, LS and PS, which a quoted scalar would fold into a space.
            let printable = (0x20...0x7E).contains(value) || (0xA0...0xD7FF).contains(value) && value != 0x2028 && value != 0x2029
                || (0xE000...0xFFFD).contains(value) && value != 0xFEFF || (0x10000...0x10FFFF).contains(value)
            if printable {
                result.unicodeScalars.append(scalar)
            } else if value <= 0xFFFF {
                result += "\\u" + String(value, radix: 16).leftPadded(to: 4)
            } else {
                result += "\\U" + String(value, radix: 16).leftPadded(to: 8)
            }
        }
    }
    return result + "\""
}
