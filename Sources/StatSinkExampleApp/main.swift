import CoreMetrics
import Foundation
import Logging
import ServiceLifecycle
import StatSink
import StatSinkConfig
import StatSinkMetrics

// statsink-example-app --config FILE
//
// A Swift server that ships its swift-metrics to Kafka through the durable queue: the metrics
// backend, a flusher taking a snapshot every `stats_flush_interval`, the drainer of each Kafka
// sink, and a toy workload recording metrics, in one ServiceGroup until SIGTERM or SIGINT.

let arguments = Array(CommandLine.arguments.dropFirst())
guard arguments.count == 2, arguments[0] == "--config" else {
    FileHandle.standardError.write(Data("usage: statsink-example-app --config FILE\n".utf8))
    exit(2)
}
let configuration: StatSinkConfiguration
do {
    configuration = try ConfigurationLoader.load(path: arguments[1])
} catch {
    for problem in error.problems { FileHandle.standardError.write(Data("\(problem)\n".utf8)) }
    exit(2)
}
let logger = Logger(label: "statsink-example-app")

// 1. The backend, once per process: every Counter, Timer, Meter... made from now on reports to it.
let metrics = StatSinkMetricsFactory()
MetricsSystem.bootstrap(metrics)

// 2. The queue file, and per Kafka sink a writer and a drainer (plus the configured sources).
let pipeline = try Pipeline(configuration: configuration, logger: logger)

// 3. The flusher: a snapshot every stats_flush_interval, written through every sink's writer.
let flusher = MetricsFlushService(
    factory: metrics, writers: pipeline.writers, node: configuration.node,
    flushInterval: configuration.statsFlushInterval, logger: logger
)

// A ServiceGroup stops its services in reverse order: the workload first, then the flusher
// (which writes one last snapshot), then the drainers (what they have not delivered stays
// queued for the next start).
let group = ServiceGroup(configuration: ServiceGroupConfiguration(
    services: (pipeline.services + [flusher, ToyWorkload()]).map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) },
    gracefulShutdownSignals: [.sigterm, .sigint],
    logger: logger
))
try await group.run()
pipeline.queue.close()
