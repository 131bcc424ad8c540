import ArgumentParser
import Logging
import StatSink

/// `statsink demo`
struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the whole pipeline against an embedded Kafka-protocol broker, with an outage.",
        discussion: """
            Starts librdkafka's mock cluster on loopback, the synthetic Envoy-like source and the \
            drainer; takes the broker down for a while and brings it back; prints what happens \
            every second; finally reads the topic back and reports whether anything was lost. \
            Exits 1 if anything was, or if the broker let messages go before they could be \
            checked.
            """
    )

    @Option(help: "Seconds of normal operation before the outage.")
    var warmUp: Int = 5

    @Option(help: "Seconds the broker stays down.")
    var outage: Int = 10

    @Option(help: "The queue file, kept afterwards for sqlite3 (default: a scratch file in the temporary directory, deleted at the end).")
    var db: String?

    func validate() throws {
        guard warmUp >= 1, outage >= 0 else { throw ValidationError("--warm-up must be >= 1 and --outage >= 0") }
    }

    func run() async throws {
        var options = StatSink.Demo.Options()
        options.warmUp = .seconds(warmUp)
        options.outage = .seconds(outage)
        options.queuePath = db
        var logger = Logger(label: "statsink-demo")
        logger.logLevel = .critical  // the demo narrates; connection errors during the outage are expected
        let result = try await StatSink.Demo.run(options: options, logger: logger) { line in print(line) }
        if result.lost > 0 || result.unread > 0 { throw ExitCode(1) }
    }
}
