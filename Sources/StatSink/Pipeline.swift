import Logging
import ServiceLifecycle
import StatSinkAdmin
import StatSinkConfig
import StatSinkGRPC
import StatSinkKafka
import StatSinkModel
import StatSinkQueue
import StatSinkSynthetic

/// The services of `statsink run`, built from a checked configuration: one queue file, and per
/// Kafka sink a ``SinkWriter`` and a ``Drainer`` (several sinks are independent streams in the
/// file), plus the configured sources: the synthetic generator, and the gRPC `metrics_service`
/// server, which writes every snapshot through all the writers (``SinkWriterGroup``).
public struct Pipeline: Sendable {
    /// The queue file, opened as its drainer.
    public let queue: MessageQueue
    /// One writer per Kafka sink.
    public let writers: [SinkWriter]
    /// One drainer per Kafka sink.
    public let drainers: [Drainer]
    /// Every long-running part, for a `ServiceGroup`.
    public let services: [any Service]
    /// The sink's own figures, also written into every snapshot as `statsink.*` stats.
    public let selfStats: SelfStats
    /// The admin server (`/metrics`, `/healthz`) when `admin.listen` is set; among ``services``.
    public let adminServer: AdminServer?

    /// Opens the queue and builds the services. The drainers are paced by the `buffer` section
    /// unless `drainerConfiguration` is given. `shipsOwnStats: false` leaves the sink's own
    /// `statsink.*` stats out of the shipped snapshots (tests that compare them byte for byte).
    public init(
        configuration: StatSinkConfiguration, drainerConfiguration: DrainerConfiguration? = nil,
        shipsOwnStats: Bool = true, logger: Logger
    ) throws(QueueError) {
        let drainerConfiguration = drainerConfiguration ?? configuration.buffer.drainerConfiguration
        queue = try MessageQueue(configuration: configuration.buffer.queueConfiguration, role: .drainer)
        var writers: [SinkWriter] = []
        var drainers: [Drainer] = []
        for sink in configuration.kafkaSinks {
            let writer = try SinkWriter(sink: sink, queue: queue)
            writers.append(writer)
            drainers.append(Drainer(stream: writer.stream, queue: queue, properties: sink.producerProperties, configuration: drainerConfiguration, logger: logger))
        }
        var services: [any Service] = drainers
        if let synthetic = configuration.sources.synthetic {
            let source = SyntheticSource(counters: synthetic.counters, gauges: synthetic.gauges, histograms: synthetic.histograms, node: configuration.node)
            services.append(SyntheticSourceService(source: source, writers: writers, flushInterval: configuration.statsFlushInterval, logger: logger))
        }
        if let metricsService = configuration.sources.metricsService {
            let sink = SinkWriterGroup(writers: writers, counters: metricsService.reportCountersAsDeltas ? .deltas : .cumulative, logger: logger)
            services.append(MetricsServiceServer(configuration: metricsService.serverConfiguration(node: configuration.node), sink: sink, logger: logger))
        }
        // Self-observability (README "Self-observability").
        let selfStats = SelfStats(queue: queue, drainers: drainers, writers: writers)
        if shipsOwnStats {
            for writer in writers { writer.attach(selfStats) }
        }
        adminServer = configuration.admin.listen.map { AdminServer(address: $0, routes: selfStats.adminRoutes(logger: logger), logger: logger) }
        self.selfStats = selfStats
        if let adminServer { services.append(adminServer) }
        self.writers = writers
        self.drainers = drainers
        self.services = services
    }
}

extension BufferConfiguration {
    /// The queue settings of this `buffer` section.
    public var queueConfiguration: MessageQueueConfiguration {
        MessageQueueConfiguration(
            path: path,
            maxBytes: maxBytes,
            whenFull: whenFull == .dropOldest ? .dropOldest : .dropNewest,
            durability: durability == .full ? .full : .normal,
            diskReserveBytes: Int64(clamping: diskReserveBytes)
        )
    }

    /// The drainer settings of this `buffer` section (the rest at their defaults).
    public var drainerConfiguration: DrainerConfiguration {
        DrainerConfiguration(maxInFlightBytes: Int(clamping: maxInFlightBytes), maxBackoff: maxRetryBackoff)
    }
}

extension MetricsServiceSourceConfiguration {
    /// The server settings of this `sources.metrics_service` section; `node` (statsink's own)
    /// stands in for Envoys that send an empty node id.
    public func serverConfiguration(node: NodeIdentity) -> MetricsServiceServerConfiguration {
        MetricsServiceServerConfiguration(
            host: listen.host, port: Int(listen.port), maxMessageBytes: Int(maxMessageBytes),
            snapshotIdleTimeout: snapshotIdleTimeout, fallbackNode: node
        )
    }
}
