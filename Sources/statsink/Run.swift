import ArgumentParser
import Logging
import ServiceLifecycle
import StatSink
import StatSinkConfig

/// `statsink run --config FILE`
struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the sources, the queue writer and the drainer until SIGTERM or SIGINT.",
        discussion: """
            With no sources configured, run is a drainer only: writers in other processes (apps \
            using the library) and this drainer meet in the queue file. On SIGTERM/SIGINT the \
            drainer stops taking rows, waits briefly for in-flight deliveries and leaves \
            everything else in the queue for the next start.
            """
    )

    @Option(name: .long, help: "The configuration file (YAML).")
    var config: String

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    func run() async throws {
        let configuration: StatSinkConfiguration
        do {
            configuration = try ConfigurationCheck.load(path: config)
        } catch {
            for problem in error.problems { printError(problem.description) }
            throw ExitCode(2)
        }
        let level = logLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "statsink")
        for note in configuration.notes { logger.notice("\(note)") }
        let pipeline: Pipeline
        do {
            pipeline = try Pipeline(configuration: configuration, logger: logger)
        } catch {
            printError("\(config): \(error)")
            throw ExitCode(1)
        }
        defer { pipeline.queue.close() }
        logger.info("statsink running", metadata: [
            "queue": "\(configuration.buffer.path)", "sinks": "\(pipeline.writers.map(\.stream.name))",
        ])
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: pipeline.services.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) },
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        ))
        try await group.run()
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
