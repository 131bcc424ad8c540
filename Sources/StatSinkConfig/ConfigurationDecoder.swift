import StatSinkCodec
import StatSinkModel
import Yams

/// One key of a mapping and its value.
struct Entry {
    /// The key as written (duplicate markers removed).
    var name: String
    var key: Node
    var value: Node
    /// The key path of the value.
    var path: String

    /// The line problems with the value are reported on.
    var line: Int? { value.line ?? key.line }
}

/// The known keys of a mapping, by canonical name.
struct Section {
    var path: String
    var line: Int?
    var entries: [String: Entry]

    subscript(_ key: String) -> Entry? { entries[key] }
}

/// What a scalar is, after YAML's tag resolution.
enum ScalarKind {
    case null, bool, int, float, string

    /// How messages name a scalar of this kind, with its article.
    var noun: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .int: "an integer"
        case .float: "a number"
        case .string: "a string"
        }
    }
}

extension Node {
    /// The kind of a scalar node; `nil` for collections.
    var scalarKind: ScalarKind? {
        guard case .scalar = self else { return nil }
        switch tag.description {
        case Tag.Name.null.rawValue: return .null
        case Tag.Name.bool.rawValue: return .bool
        case Tag.Name.int.rawValue: return .int
        case Tag.Name.float.rawValue: return .float
        // Timestamps and other YAML 1.1 types read as text, as in Envoy.
        default: return .string
        }
    }

    var isNull: Bool { scalarKind == .null }

    var line: Int? { mark?.line }

    /// How a message shows this node after "got".
    var gotDescription: String {
        switch self {
        case .scalar(let scalar):
            if isNull { return scalar.string.isEmpty ? "nothing" : "null" }
            return scalar.string.quotedForMessage
        case .mapping: return "a mapping"
        case .sequence: return "a sequence"
        case .alias: return "an alias"
        }
    }
}

/// `parent.key`, or `parent["key"]` when the key would make the path ambiguous.
func childPath(_ parent: String, _ key: String) -> String {
    // Also a key with characters that print escaped (a line break would split the problem's line).
    let quoted = key.quotedForMessage
    let needsBrackets = key.isEmpty || key.contains { ".[]\"' \t".contains($0) } || quoted.utf8.count != key.utf8.count + 2
    if needsBrackets { return "\(parent)[\(quoted)]" }
    return parent.isEmpty ? key : "\(parent).\(key)"
}

/// `parent[index]`.
func elementPath(_ parent: String, _ index: Int) -> String {
    "\(parent)[\(index)]"
}

/// The text of a scalar key with any duplicate marker removed.
func keyText(_ key: Node) -> String? {
    guard case .scalar(let scalar) = key else { return nil }
    let text = scalar.string
    guard let markerRange = text.range(of: duplicateKeyMarker) else { return text }
    let rest = text[markerRange.upperBound...]
    guard let end = rest.range(of: "__") else { return text }
    return String(text[..<markerRange.lowerBound]) + String(rest[end.upperBound...])
}

/// `lowerCamelCase` as `snake_case` (protobuf JSON field names as proto field names).
func snakeCase(_ name: String) -> String {
    var result = ""
    for character in name {
        if character.isUppercase {
            result += "_" + character.lowercased()
        } else {
            result.append(character)
        }
    }
    return result
}

/// Turns a composed YAML document into a configuration, collecting every problem on the way.
///
/// Each `decode…` method reports what is wrong with its part and returns what it could make
/// of it, so that one bad value does not hide the next.
final class ConfigurationDecoder {
    let file: String
    private(set) var problems: [ConfigurationProblem] = []
    private var notes: [ConfigurationProblem] = []

    init(file: String) {
        self.file = file
    }

    /// The problems in file order (stable by line; problems without a line last).
    var sortedProblems: [ConfigurationProblem] { Self.fileOrder(problems) }

    private static func fileOrder(_ items: [ConfigurationProblem]) -> [ConfigurationProblem] {
        items.enumerated().sorted { lhs, rhs in
            let left = lhs.element.line ?? .max
            let right = rhs.element.line ?? .max
            return left != right ? left < right : lhs.offset < rhs.offset
        }.map(\.element)
    }

    func problem(_ path: String, line: Int?, _ message: String) {
        problems.append(ConfigurationProblem(file: file, line: line, keyPath: path, message: message))
    }

    func note(_ path: String, line: Int?, _ message: String) {
        notes.append(ConfigurationProblem(file: file, line: line, keyPath: path, message: message))
    }

    // MARK: - Bootstrap

    func decodeBootstrap(_ root: Node) -> StatSinkConfiguration? {
        rejectAliases(in: root, path: "", keyLine: nil)
        if root.isNull {
            problem("", line: root.line, "the file has no configuration: expected a mapping with at least stats_sinks")
            return nil
        }
        guard case .mapping = root else {
            problem("", line: root.line, "expected a mapping of Envoy bootstrap keys at the top level, got \(root.gotDescription)")
            return nil
        }
        guard
            let top = section(
                root, path: "", known: EnvoyFields.rootKeys, ignored: EnvoyFields.bootstrapKeys,
                ignoredReason: "ignored: an Envoy bootstrap field that statsink does not use", jsonNames: true
            )
        else { return nil }
        let node = decodeNode(top["node"])
        let interval = decodeFlushInterval(top["stats_flush_interval"])
        let sinks = decodeStatsSinks(top["stats_sinks"])
        let buffer = decodeBuffer(top["buffer"])
        let sources = decodeSources(top["sources"])
        let admin = decodeAdmin(top["admin"])
        if sources.isEmpty {
            note("sources", line: top["sources"]?.key.line,
                 "no source is enabled, so nothing will be collected (add sources.synthetic or sources.metrics_service)")
        }
        guard problems.isEmpty else { return nil }
        return StatSinkConfiguration(
            node: node,
            statsFlushInterval: interval,
            kafkaSinks: sinks,
            buffer: buffer,
            sources: sources,
            admin: admin,
            notes: Self.fileOrder(notes).map(\.description)
        )
    }

    private func decodeNode(_ entry: Entry?) -> NodeIdentity {
        let fallback = StatSinkConfiguration.defaultNode
        guard let entry,
            let node = section(
                entry.value, path: entry.path, known: ["id", "cluster"], ignored: EnvoyFields.nodeKeys,
                ignoredReason: "ignored: an Envoy node field that statsink does not use", jsonNames: true
            )
        else { return fallback }
        var identity = fallback
        if let id = present(node["id"]), let value = string(id, nonEmpty: true, hint: "omit node.id to use the host name") {
            identity.id = value
        }
        if let cluster = present(node["cluster"]), let value = string(cluster) {
            identity.cluster = value
        }
        return identity
    }

    private func decodeFlushInterval(_ entry: Entry?) -> Duration {
        let fallback = StatSinkConfiguration.defaultStatsFlushInterval
        guard let entry = present(entry), let duration = duration(entry) else { return fallback }
        if duration < .milliseconds(1) {
            problem(entry.path, line: entry.line, "must be at least 1ms (Envoy's lower bound), got \(DurationSyntax.format(duration))")
            return fallback
        }
        if duration >= .seconds(300) {
            problem(entry.path, line: entry.line, "must be less than 300s (Envoy's upper bound), got \(DurationSyntax.format(duration))")
            return fallback
        }
        return duration
    }

    /// A duration in Envoy's syntax: `10s`, `1.5s`, `500ms`, or `{seconds: N, nanos: M}`.
    private func duration(_ entry: Entry) -> Duration? {
        switch entry.value {
        case .mapping:
            return durationObject(entry)
        case .scalar(let scalar):
            switch entry.value.scalarKind {
            case .string?:
                switch DurationSyntax.parse(scalar.string) {
                case .success(let parsed): return parsed
                case .failure(let invalid):
                    problem(entry.path, line: entry.line, invalid.message)
                    return nil
                }
            case .int?, .float?:
                // A number without its unit; the text is only repeated in the advice when it is
                // digits (a tag such as `!!int` makes anything a number).
                switch DurationSyntax.parse(scalar.string) {
                case .failure(let invalid): problem(entry.path, line: entry.line, invalid.message)
                case .success: problem(entry.path, line: entry.line, "missing unit in \(scalar.string.quotedForMessage)")
                }
                return nil
            default:
                break
            }
        default:
            break
        }
        problem(entry.path, line: entry.line, "expected a duration such as 10s, 1.5s or 500ms, got \(entry.value.gotDescription)")
        return nil
    }

    /// The protobuf object form of a duration, `{seconds: N, nanos: M}`.
    private func durationObject(_ entry: Entry) -> Duration? {
        guard let object = section(entry.value, path: entry.path, known: ["seconds", "nanos"]) else { return nil }
        let before = problems.count
        var seconds: Int64 = 0
        var nanos: Int64 = 0
        if let field = present(object["seconds"]), let value = integer(field, in: 0...315_576_000_000, expected: "a non-negative number of seconds") {
            seconds = value
        }
        if let field = present(object["nanos"]), let value = integer(field, in: 0...999_999_999, expected: "nanoseconds from 0 to 999999999") {
            nanos = value
        }
        return problems.count == before ? .seconds(seconds) + .nanoseconds(nanos) : nil
    }

    // MARK: - Stats sinks

    private func decodeStatsSinks(_ entry: Entry?) -> [KafkaSinkConfiguration] {
        let required = "add a sink with name: \(KafkaSinkConfiguration.sinkName) and a KafkaStatsSinkConfig typed_config"
        guard let entry = present(entry) else {
            problem("stats_sinks", line: entry?.line, "required: \(required)")
            return []
        }
        guard case .sequence(let items) = entry.value else {
            problem(entry.path, line: entry.line,
                    "expected a sequence of sinks (\"- name: \(KafkaSinkConfiguration.sinkName)\"), got \(entry.value.gotDescription)")
            return []
        }
        var sinks: [KafkaSinkConfiguration] = []
        var possibleKafkaEntries = 0
        var firstIndexByTarget: [String: Int] = [:]
        for (index, item) in items.enumerated() {
            let path = elementPath(entry.path, index)
            guard isKafkaSink(item, path: path) else { continue }
            possibleKafkaEntries += 1
            guard let sink = decodeKafkaSink(item, path: path) else { continue }
            // Same brokers and topic twice is legal (two streams) but almost surely a mistake.
            let target = sink.brokerList + "\u{0}" + sink.topic
            if let first = firstIndexByTarget[target] {
                note(path, line: item.line,
                     "same broker_list and topic as stats_sinks[\(first)]: every metric will be sent twice")
            } else {
                firstIndexByTarget[target] = index
            }
            sinks.append(sink)
        }
        if possibleKafkaEntries == 0 {
            problem(entry.path, line: entry.line, "no \(KafkaSinkConfiguration.sinkName) sink: \(required)")
        }
        return sinks
    }

    /// Whether a `stats_sinks` entry is (or may be) a Kafka sink; notes ignored sinks and
    /// reports entries that cannot be told apart.
    private func isKafkaSink(_ item: Node, path: String) -> Bool {
        guard case .mapping(let mapping) = item else {
            problem(path, line: item.line, "expected a mapping with name and typed_config, got \(item.gotDescription)")
            return true
        }
        let nameNode = mapping["name"]
        let name = nameNode?.scalarKind == .string ? nameNode?.scalar?.string : nil
        let typeURL = (mapping["typed_config"] ?? mapping["typedConfig"])?.mapping?["@type"]?.scalar?.string
        if name == KafkaSinkConfiguration.sinkName || typeURL.map(EnvoyFields.isKafkaTypeURL) == true {
            return true
        }
        if let name, editDistance(name, KafkaSinkConfiguration.sinkName) <= 3 {
            problem(childPath(path, "name"), line: nameNode?.line,
                    "unknown sink \(name.quotedForMessage); did you mean \(KafkaSinkConfiguration.sinkName.quotedForMessage)?")
            return true
        }
        guard let described = name ?? typeURL else {
            problem(path, line: item.line,
                    "expected a sink with a name (\(KafkaSinkConfiguration.sinkName)) and a typed_config")
            return true
        }
        note(path, line: item.line,
             "ignored the \(described) sink: statsink only runs \(KafkaSinkConfiguration.sinkName) sinks")
        return false
    }

    private func decodeKafkaSink(_ item: Node, path: String) -> KafkaSinkConfiguration? {
        guard let entry = section(item, path: path, known: ["name", "typed_config"], jsonNames: true) else { return nil }
        let before = problems.count
        if let name = present(entry["name"]) { _ = string(name) }
        guard let typedConfig = present(entry["typed_config"]) else {
            problem(childPath(path, "typed_config"), line: item.line,
                    "required: a KafkaStatsSinkConfig with \"@type\": \(KafkaSinkConfiguration.typeURL)")
            return nil
        }
        let sink = decodeKafkaTypedConfig(typedConfig)
        return problems.count == before ? sink : nil
    }

    private func decodeKafkaTypedConfig(_ entry: Entry) -> KafkaSinkConfiguration? {
        guard let config = section(entry.value, path: entry.path, known: EnvoyFields.kafkaSinkKeys, jsonNames: true) else {
            return nil
        }
        let before = problems.count
        if let type = present(config["@type"]) {
            if let url = string(type), !EnvoyFields.isKafkaTypeURL(url) {
                problem(type.path, line: type.line,
                        "expected \(KafkaSinkConfiguration.typeURL.quotedForMessage), got \(url.quotedForMessage)")
            }
        } else {
            problem(childPath(entry.path, "@type"), line: config.line, "required: \(KafkaSinkConfiguration.typeURL)")
        }
        var sink = KafkaSinkConfiguration(brokerList: "", topic: "")
        if let field = required(config, "broker_list", "the Kafka bootstrap servers, e.g. \"kafka1:9092,kafka2:9092\""),
            let value = string(field, nonEmpty: true)
        {
            sink.brokerList = value
        }
        if let field = required(config, "topic", "the destination topic"), let value = string(field, nonEmpty: true) {
            sink.topic = value
        }
        if let field = present(config["batch_size"]), let value = uint32(field) {
            sink.batchSize = value
        }
        if let field = present(config["report_counters_as_deltas"]), let value = bool(field) {
            sink.reportCountersAsDeltas = value
        }
        if let field = present(config["emit_tags_as_labels"]), let value = bool(field) {
            sink.emitTagsAsLabels = value
        }
        if let field = present(config["producer_config"]) {
            sink.producerConfig = producerConfig(field)
        }
        if let field = present(config["buffer_flush_timeout_ms"]), let value = uint32(field) {
            // librdkafka rejects a larger linger.ms when the producer is created; say so now.
            if value > 900_000 {
                problem(field.path, line: field.line, "must be at most 900000 (librdkafka's linger.ms limit), got \(value)")
            } else {
                sink.bufferFlushTimeoutMs = value
            }
        }
        if let field = present(config["format"]), let value = serializationFormat(field) {
            sink.format = value
        }
        return problems.count == before ? sink : nil
    }

    private func producerConfig(_ entry: Entry) -> [ProducerProperty] {
        guard case .mapping(let mapping) = entry.value else {
            problem(entry.path, line: entry.line,
                    "expected a mapping of librdkafka property names to values, got \(entry.value.gotDescription)")
            return []
        }
        var properties: [ProducerProperty] = []
        for (_, property) in entries(of: mapping, path: entry.path) {
            if property.name.isEmpty || property.key.isNull {
                problem(property.path, line: property.key.line, "expected a librdkafka property name, got an empty key")
                continue
            }
            guard let kind = property.value.scalarKind, kind != .null, let text = property.value.scalar?.string else {
                problem(property.path, line: property.line,
                        "expected a string, number or boolean value, got \(property.value.gotDescription)")
                continue
            }
            properties.append(ProducerProperty(name: property.name, value: text))
        }
        return properties
    }

    private func serializationFormat(_ entry: Entry) -> SerializationFormat? {
        let text = entry.value.scalar?.string ?? ""
        switch entry.value.scalarKind {
        case .int? where text == "0": return .json
        case .int? where text == "1": return .protobuf
        case .string?:
            if let format = SerializationFormat(rawValue: text) { return format }
        default: break
        }
        var message = "expected one of JSON, PROTOBUF (or 0, 1), got \(entry.value.gotDescription)"
        if let format = SerializationFormat(rawValue: text.uppercased()) {
            message += "; did you mean \(format.rawValue)?"
        }
        problem(entry.path, line: entry.line, message)
        return nil
    }

    // MARK: - Our sections

    private func decodeBuffer(_ entry: Entry?) -> BufferConfiguration {
        var buffer = BufferConfiguration()
        guard let entry, let section = section(entry.value, path: entry.path, known: ["path", "max_bytes", "when_full", "durability", "disk_reserve", "max_in_flight", "max_retry_backoff"])
        else { return buffer }
        if let field = present(section["path"]), let value = string(field, nonEmpty: true) {
            buffer.path = value
        }
        if let field = present(section["max_bytes"]), let value = byteSize(field) {
            buffer.maxBytes = value
        }
        if let field = present(section["when_full"]), let value = choice(field, WhenFullPolicy.self) {
            buffer.whenFull = value
        }
        if let field = present(section["durability"]), let value = choice(field, Durability.self) {
            buffer.durability = value
        }
        if let field = present(section["disk_reserve"]), let value = byteSize(field) {
            buffer.diskReserveBytes = value
        }
        if let field = present(section["max_in_flight"]), let value = byteSize(field, in: BufferConfiguration.maxInFlightRange) {
            buffer.maxInFlightBytes = value
        }
        if let field = present(section["max_retry_backoff"]), let value = duration(field, in: BufferConfiguration.maxRetryBackoffRange) {
            buffer.maxRetryBackoff = value
        }
        return buffer
    }

    private func decodeSources(_ entry: Entry?) -> SourcesConfiguration {
        var sources = SourcesConfiguration()
        guard let entry, let section = section(entry.value, path: entry.path, known: ["synthetic", "metrics_service"]) else {
            return sources
        }
        // A section key without a value (`synthetic:`) enables the source with its defaults.
        if let synthetic = section["synthetic"],
            let fields = self.section(synthetic.value, path: synthetic.path, known: ["counters", "gauges", "histograms"])
        {
            var generator = SyntheticSourceConfiguration()
            let range = Int64(0)...Int64(SyntheticSourceConfiguration.maximumCount)
            let expected = "a non-negative integer (at most \(SyntheticSourceConfiguration.maximumCount))"
            if let field = present(fields["counters"]), let value = integer(field, in: range, expected: expected) {
                generator.counters = Int(value)
            }
            if let field = present(fields["gauges"]), let value = integer(field, in: range, expected: expected) {
                generator.gauges = Int(value)
            }
            if let field = present(fields["histograms"]), let value = integer(field, in: range, expected: expected) {
                generator.histograms = Int(value)
            }
            sources.synthetic = generator
        }
        if let service = section["metrics_service"] {
            sources.metricsService = decodeMetricsService(service)
        }
        return sources
    }

    private func decodeMetricsService(_ entry: Entry) -> MetricsServiceSourceConfiguration? {
        typealias Source = MetricsServiceSourceConfiguration
        let known = ["listen", "report_counters_as_deltas", "max_message_bytes", "snapshot_idle_timeout"]
        guard let fields = section(entry.value, path: entry.path, known: known) else { return nil }
        let before = problems.count
        var source = Source(listen: ListenAddress(host: "", port: 0))
        if let field = required(fields, "listen", "the gRPC server's address, e.g. \"127.0.0.1:18000\""),
            let address = listenAddress(field)
        {
            source.listen = address
        }
        if let field = present(fields["report_counters_as_deltas"]), let value = bool(field) {
            source.reportCountersAsDeltas = value
        }
        if let field = present(fields["max_message_bytes"]), let value = byteSize(field, in: Source.maxMessageBytesRange) {
            source.maxMessageBytes = value
        }
        if let field = present(fields["snapshot_idle_timeout"]), let value = duration(field, in: Source.snapshotIdleTimeoutRange) {
            source.snapshotIdleTimeout = value
        }
        return problems.count == before ? source : nil
    }

    /// `value` when `range` holds it; otherwise a problem naming the range, and `nil`.
    /// A byte size that must lie in `range`.
    private func byteSize(_ entry: Entry, in range: ClosedRange<UInt64>) -> UInt64? {
        byteSize(entry).flatMap { within(range, $0, entry, format: ByteSizeSyntax.format) }
    }

    /// A duration that must lie in `range`.
    private func duration(_ entry: Entry, in range: ClosedRange<Duration>) -> Duration? {
        duration(entry).flatMap { within(range, $0, entry, format: DurationSyntax.format) }
    }

    private func within<Value: Comparable>(
        _ range: ClosedRange<Value>, _ value: Value, _ entry: Entry, format: (Value) -> String
    ) -> Value? {
        if range.contains(value) { return value }
        problem(entry.path, line: entry.line,
                "must be from \(format(range.lowerBound)) to \(format(range.upperBound)), got \(format(value))")
        return nil
    }

    private func decodeAdmin(_ entry: Entry?) -> AdminConfiguration {
        var admin = AdminConfiguration()
        guard let entry,
            let section = section(
                entry.value, path: entry.path, known: ["listen"], ignored: EnvoyFields.adminKeys,
                ignoredReason: "ignored: an Envoy admin field; statsink's admin server listens on admin.listen",
                jsonNames: true
            )
        else { return admin }
        if let field = present(section["listen"]), let address = listenAddress(field) {
            admin.listen = address
        }
        return admin
    }

    // MARK: - Mappings

    /// The entries of a mapping in file order, reporting non-scalar and duplicate keys.
    private func entries(
        of mapping: Node.Mapping, path: String, canonical: (String) -> String = { $0 }
    ) -> [(canonical: String, entry: Entry)] {
        var result: [(canonical: String, entry: Entry)] = []
        var firstSeen: [String: (name: String, line: Int?)] = [:]
        for (key, value) in mapping {
            guard let name = keyText(key) else {
                problem(path, line: key.line, "keys must be strings, got \(key.gotDescription) as a key")
                continue
            }
            let entryPath = childPath(path, name)
            let canonicalName = canonical(name)
            if let first = firstSeen[canonicalName] {
                let what = first.name == name ? "duplicate key" : "duplicate key (same field as \(first.name.quotedForMessage))"
                let whereFirst = first.line.map { "; first set on line \($0)" } ?? ""
                problem(entryPath, line: key.line, what + whereFirst)
                continue
            }
            firstSeen[canonicalName] = (name, key.line)
            result.append((canonicalName, Entry(name: name, key: key, value: value, path: entryPath)))
        }
        return result
    }

    /// The known keys of a mapping (an empty section for null). Unknown keys are problems with
    /// a suggestion; `ignored` keys are noted. With `jsonNames`, protobuf JSON names
    /// (`brokerList`) are accepted for their proto names (`broker_list`), as Envoy does.
    private func section(
        _ node: Node, path: String, known: [String], ignored: [String] = [], ignoredReason: String = "",
        jsonNames: Bool = false
    ) -> Section? {
        if node.isNull { return Section(path: path, line: node.line, entries: [:]) }
        guard case .mapping(let mapping) = node else {
            problem(path, line: node.line, "expected a mapping, got \(node.gotDescription)")
            return nil
        }
        let knownSet = Set(known)
        let ignoredSet = Set(ignored)
        let canonical: (String) -> String = { name in
            guard jsonNames, name.contains(where: \.isUppercase) else { return name }
            let snake = snakeCase(name)
            return knownSet.contains(snake) || ignoredSet.contains(snake) ? snake : name
        }
        var section = Section(path: path, line: node.line, entries: [:])
        for (name, entry) in entries(of: mapping, path: path, canonical: canonical) {
            if knownSet.contains(name) {
                section.entries[name] = entry
            } else if ignoredSet.contains(name) {
                note(entry.path, line: entry.key.line, ignoredReason)
            } else {
                problem(entry.path, line: entry.key.line, unknownKeyMessage(entry.name, known: known, ignored: ignored))
            }
        }
        return section
    }

    private func unknownKeyMessage(_ name: String, known: [String], ignored: [String]) -> String {
        if let suggestion = closestMatch(to: name, among: known + ignored) {
            return "unknown key; did you mean \(suggestion.quotedForMessage)?"
        }
        return "unknown key; expected one of: " + known.joined(separator: ", ")
    }

    /// Rejects YAML aliases: Yams resolves an alias to the anchored node itself, mark included,
    /// so a node met twice at the same place is an alias.
    private func rejectAliases(in node: Node, path: String, keyLine: Int?) {
        var seen = Set<NodeLocation>()
        rejectAliases(in: node, path: path, keyLine: keyLine, seen: &seen)
    }

    private struct NodeLocation: Hashable {
        var kind: Int
        var line: Int
        var column: Int
    }

    private func rejectAliases(in node: Node, path: String, keyLine: Int?, seen: inout Set<NodeLocation>) {
        let kind: Int
        switch node {
        case .scalar(let scalar): kind = scalar.string.isEmpty && node.isNull ? -1 : 0
        case .mapping: kind = 1
        case .sequence: kind = 2
        case .alias: kind = 3
        }
        if kind >= 0, let mark = node.mark {
            guard seen.insert(NodeLocation(kind: kind, line: mark.line, column: mark.column)).inserted else {
                problem(path, line: keyLine,
                        "YAML aliases are not supported: write the value out (the alias repeats the value on line \(mark.line))")
                return
            }
        }
        switch node {
        case .mapping(let mapping):
            for (key, value) in mapping {
                let valuePath = childPath(path, keyText(key) ?? "?")
                rejectAliases(in: key, path: valuePath, keyLine: key.line, seen: &seen)
                rejectAliases(in: value, path: valuePath, keyLine: key.line, seen: &seen)
            }
        case .sequence(let sequence):
            for (index, item) in sequence.enumerated() {
                rejectAliases(in: item, path: elementPath(path, index), keyLine: nil, seen: &seen)
            }
        default:
            break
        }
    }

    // MARK: - Values

    /// The entry unless it is missing or null (null means "the default", as in protobuf JSON).
    private func present(_ entry: Entry?) -> Entry? {
        guard let entry, !entry.value.isNull else { return nil }
        return entry
    }

    /// The entry, or a "required" problem when it is missing or null.
    private func required(_ section: Section, _ key: String, _ description: String) -> Entry? {
        if let entry = present(section[key]) { return entry }
        let line = section[key]?.key.line ?? section.line
        problem(childPath(section.path, key), line: line, "required: \(description)")
        return nil
    }

    private func string(_ entry: Entry, nonEmpty: Bool = false, hint: String? = nil) -> String? {
        guard let kind = entry.value.scalarKind, let text = entry.value.scalar?.string else {
            problem(entry.path, line: entry.line, "expected a string, got \(entry.value.gotDescription)")
            return nil
        }
        guard kind == .string else {
            problem(entry.path, line: entry.line,
                    "expected a string, got \(text.quotedForMessage), which YAML reads as \(kind.noun); quote it")
            return nil
        }
        if nonEmpty && text.isEmpty {
            problem(entry.path, line: entry.line, "expected a non-empty string" + (hint.map { " (\($0))" } ?? ""))
            return nil
        }
        return text
    }

    private func uint32(_ entry: Entry) -> UInt32? {
        let kind = entry.value.scalarKind
        let text = entry.value.scalar?.string ?? ""
        let isDigits = !text.isEmpty && text.allSatisfy { $0.isASCII && $0.isNumber }
        guard kind == .int || kind == .string, isDigits else {
            problem(entry.path, line: entry.line, "expected an unsigned 32-bit integer, got \(entry.value.gotDescription)")
            return nil
        }
        guard let value = UInt32(text) else {
            problem(entry.path, line: entry.line,
                    "expected an unsigned 32-bit integer (at most \(UInt32.max)), got \(entry.value.gotDescription)")
            return nil
        }
        return value
    }

    /// A decimal integer scalar within `range`.
    private func integer(_ entry: Entry, in range: ClosedRange<Int64>, expected: String) -> Int64? {
        let text = entry.value.scalar?.string ?? ""
        let digits = text.hasPrefix("-") || text.hasPrefix("+") ? text.dropFirst() : Substring(text)
        guard entry.value.scalarKind == .int, !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }),
            let value = Int64(text), range.contains(value)
        else {
            problem(entry.path, line: entry.line, "expected \(expected), got \(entry.value.gotDescription)")
            return nil
        }
        return value
    }

    private func bool(_ entry: Entry) -> Bool? {
        if entry.value.scalarKind == .bool {
            switch entry.value.scalar?.string {
            case "true", "True", "TRUE": return true
            case "false", "False", "FALSE": return false
            default: break
            }
        }
        // yes/no/on/off are booleans to YAML 1.1 but not to Envoy's JSON conversion.
        problem(entry.path, line: entry.line, "expected true or false, got \(entry.value.gotDescription)")
        return nil
    }

    private func byteSize(_ entry: Entry) -> UInt64? {
        guard let kind = entry.value.scalarKind, kind != .bool, let text = entry.value.scalar?.string else {
            problem(entry.path, line: entry.line, "expected a size such as 512MiB or 1GiB, got \(entry.value.gotDescription)")
            return nil
        }
        switch ByteSizeSyntax.parse(text) {
        case .success(let bytes): return bytes
        case .failure(let invalid):
            problem(entry.path, line: entry.line, invalid.message)
            return nil
        }
    }

    private func choice<Value: RawRepresentable & CaseIterable>(_ entry: Entry, _ type: Value.Type) -> Value?
    where Value.RawValue == String {
        let names = Value.allCases.map(\.rawValue)
        if entry.value.scalarKind == .string, let text = entry.value.scalar?.string, let value = Value(rawValue: text) {
            return value
        }
        var message = "expected one of \(names.joined(separator: ", ")), got \(entry.value.gotDescription)"
        if let text = entry.value.scalar?.string, let suggestion = closestMatch(to: text, among: names) {
            message += "; did you mean \(suggestion)?"
        }
        problem(entry.path, line: entry.line, message)
        return nil
    }

    private func listenAddress(_ entry: Entry) -> ListenAddress? {
        guard entry.value.scalarKind == .string, let text = entry.value.scalar?.string else {
            var message = "expected \"HOST:PORT\" such as \"127.0.0.1:9902\", got \(entry.value.gotDescription)"
            if case .sequence = entry.value { message += " (quote IPv6 addresses: \"[::1]:9902\")" }
            problem(entry.path, line: entry.line, message)
            return nil
        }
        do {
            return try ListenAddress(parsing: text)
        } catch {
            problem(entry.path, line: entry.line, error.message)
            return nil
        }
    }
}
