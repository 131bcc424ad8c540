#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import StatSinkModel

/// A complete, validated configuration: what `statsink run` does.
///
/// Read one with ``ConfigurationLoader``; it has Envoy's bootstrap shape (`node`,
/// `stats_flush_interval`, `stats_sinks`) plus the `buffer`, `sources` and `admin` sections.
/// Values built in code are not validated.
public struct StatSinkConfiguration: Sendable {
    /// Envoy's default flush interval: 5 seconds.
    public static let defaultStatsFlushInterval: Duration = .seconds(5)

    /// Who the metrics describe; ``NodeIdentity/id`` keys every Kafka message.
    /// Default: ``defaultNode`` (the host name, no cluster).
    public var node: NodeIdentity
    /// How often a snapshot is taken. Envoy accepts at least 1 ms and less than 300 s.
    /// Default: ``defaultStatsFlushInterval``.
    public var statsFlushInterval: Duration
    /// The Kafka sinks, one independent durable stream each; at least one.
    public var kafkaSinks: [KafkaSinkConfiguration]
    /// The durable queue.
    public var buffer: BufferConfiguration
    /// Where snapshots come from.
    public var sources: SourcesConfiguration
    /// Self-observability.
    public var admin: AdminConfiguration
    /// Things worth telling the operator that are not errors, such as Envoy keys and non-Kafka
    /// sinks that were ignored; one line each, prefixed with `FILE:LINE:`.
    public var notes: [String]

    /// Creates a configuration with the documented defaults.
    public init(
        node: NodeIdentity = StatSinkConfiguration.defaultNode,
        statsFlushInterval: Duration = StatSinkConfiguration.defaultStatsFlushInterval,
        kafkaSinks: [KafkaSinkConfiguration],
        buffer: BufferConfiguration = BufferConfiguration(),
        sources: SourcesConfiguration = SourcesConfiguration(),
        admin: AdminConfiguration = AdminConfiguration(),
        notes: [String] = []
    ) {
        self.node = node
        self.statsFlushInterval = statsFlushInterval
        self.kafkaSinks = kafkaSinks
        self.buffer = buffer
        self.sources = sources
        self.admin = admin
        self.notes = notes
    }

    /// The node used when the file has no `node`: the host name as the id, an empty cluster.
    public static var defaultNode: NodeIdentity {
        NodeIdentity(id: hostName(), cluster: "")
    }

    /// This machine's host name (`gethostname`), or `localhost` when it cannot be read.
    public static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        // gethostname may not terminate a truncated name; the spare last byte does.
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return name.isEmpty ? "localhost" : name
    }
}

extension StatSinkConfiguration: Hashable {
    /// Equal when every setting is equal; ``notes`` describe the file rather than the
    /// configuration, so they are not compared.
    public static func == (lhs: StatSinkConfiguration, rhs: StatSinkConfiguration) -> Bool {
        lhs.node == rhs.node
            && lhs.statsFlushInterval == rhs.statsFlushInterval
            && lhs.kafkaSinks == rhs.kafkaSinks
            && lhs.buffer == rhs.buffer
            && lhs.sources == rhs.sources
            && lhs.admin == rhs.admin
    }

    /// Hashes every setting except ``notes``, consistently with `==`.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(node)
        hasher.combine(statsFlushInterval)
        hasher.combine(kafkaSinks)
        hasher.combine(buffer)
        hasher.combine(sources)
        hasher.combine(admin)
    }
}
