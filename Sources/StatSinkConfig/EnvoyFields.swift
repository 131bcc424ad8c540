/// The keys the configuration file may hold, ours and Envoy's.
enum EnvoyFields {
    /// Top-level keys statsink reads, in the order they are documented.
    static let rootKeys = ["node", "stats_flush_interval", "stats_sinks", "buffer", "sources", "admin"]

    /// The other fields of Envoy's v3 `Bootstrap`: accepted so that an Envoy bootstrap can be
    /// pasted, and ignored with a note.
    static let bootstrapKeys = [
        "node_context_params", "static_resources", "dynamic_resources", "cluster_manager", "hds_config",
        "flags_path", "deferred_stat_options", "stats_config", "stats_flush_on_admin", "watchdog", "watchdogs",
        "tracing", "layered_runtime", "overload_manager", "enable_dispatcher_stats", "header_prefix",
        "stats_server_version_override", "use_tcp_for_dns_lookups", "dns_resolution_config",
        "typed_dns_resolver_config", "bootstrap_extensions", "fatal_actions", "config_sources",
        "default_config_source", "default_socket_interface", "certificate_provider_instances", "inline_headers",
        "perf_tracing_file_path", "default_regex_engine", "xds_delegate_extension", "xds_config_tracker_extension",
        "listener_manager", "application_log_config", "grpc_async_client_manager_config",
        "memory_allocator_manager",
    ]

    /// Fields of Envoy's `config.core.v3.Node` other than `id` and `cluster`.
    static let nodeKeys = [
        "metadata", "dynamic_parameters", "locality", "user_agent_name", "user_agent_version",
        "user_agent_build_version", "extensions", "client_features", "listening_addresses",
    ]

    /// Fields of Envoy's `bootstrap.v3.Admin`; statsink's admin section has `listen` instead.
    static let adminKeys = [
        "access_log", "access_log_path", "profile_path", "address", "socket_options", "ignore_global_conn_limit",
    ]

    /// The fields of `KafkaStatsSinkConfig` (by field number) and the `Any`'s `@type`.
    static let kafkaSinkKeys = [
        "@type", "broker_list", "topic", "batch_size", "report_counters_as_deltas", "emit_tags_as_labels",
        "producer_config", "buffer_flush_timeout_ms", "format",
    ]

    /// Whether an `Any` type URL names `KafkaStatsSinkConfig`: like Envoy, only the part after
    /// the last `/` counts.
    static func isKafkaTypeURL(_ url: String) -> Bool {
        let typeName = url.split(separator: "/", omittingEmptySubsequences: false).last ?? ""
        return url.contains("/") && typeName == KafkaSinkConfiguration.typeURL.split(separator: "/").last!
    }
}

/// The Levenshtein distance between two strings, by characters.
func editDistance(_ lhs: String, _ rhs: String) -> Int {
    let left = Array(lhs)
    let right = Array(rhs)
    if left.isEmpty { return right.count }
    if right.isEmpty { return left.count }
    var previous = Array(0...right.count)
    var current = previous
    for i in 1...left.count {
        current[0] = i
        for j in 1...right.count {
            let substitution = previous[j - 1] + (left[i - 1] == right[j - 1] ? 0 : 1)
            current[j] = min(previous[j] + 1, current[j - 1] + 1, substitution)
        }
        swap(&previous, &current)
    }
    return previous[right.count]
}

/// The candidate `name` most likely meant: the same apart from case and separators, or within a
/// few edits (a quarter of the candidate's length, at least 1).
func closestMatch(to name: String, among candidates: [String]) -> String? {
    func normalized(_ text: String) -> String {
        String(text.lowercased().filter { $0 != "_" && $0 != "-" && $0 != "." })
    }
    let normalizedName = normalized(name)
    if let same = candidates.first(where: { normalized($0) == normalizedName }) { return same }
    // A candidate whose length differs by more than the largest allowed distance is farther
    // than any suggestion may be: skipping it leaves the answer as it is, and a long key (a
    // fuzzed 60 KB one took seconds) costs one pass.
    let limit = candidates.map { max(1, $0.count / 4) }.max() ?? 0
    let nameLength = name.count
    let lowercased = name.lowercased()
    let scored = candidates.filter { abs($0.count - nameLength) <= limit }.map {
        (candidate: $0, distance: editDistance(lowercased, $0.lowercased()))
    }
    guard let best = scored.min(by: { $0.distance < $1.distance }) else { return nil }
    return best.distance <= max(1, best.candidate.count / 4) && best.distance < name.count ? best.candidate : nil
}
