import ArgumentParser
import Logging
import StatSink
import StatSinkConfig
import StatSinkQueue

/// `statsink replay --db PATH …`
struct Replay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Re-queue dead letters, or push undelivered rows to another broker.",
        discussion: """
            Without --broker: moves the selected dead letters (--all, or by --from-id/--to-id, \
            --since/--until, --error) back into the queue with new record ids at its end, keeping \
            their key and headers; the sink's drainer delivers them. Works while the sink runs.

            With --broker: produces the undelivered rows (all, or by --stream and --from-id/--to-id) \
            to that cluster, to --topic or each row's own topic, and deletes each row only when that \
            broker acknowledges it. Needs the queue to itself: refuses while a sink drains it. Stops \
            at the first failed delivery; what was not acknowledged stays queued. Shows a progress \
            bar with rate and ETA on a terminal, plain lines otherwise.

            Exit 0 when everything selected was re-queued or delivered, 1 otherwise, 2 for usage errors.
            """
    )

    @OptionGroup var queue: QueueFileOption

    @Flag(help: "Re-queue every dead letter.")
    var all = false

    @OptionGroup var rows: RowRangeOptions

    @Option(help: ArgumentHelp("Only dead letters dead-lettered at or after this: \(TimeArgument.pointHelp).", valueName: "time"))
    var since: String?

    @Option(help: ArgumentHelp("Only dead letters dead-lettered at or before this (same forms as --since).", valueName: "time"))
    var until: String?

    @Option(help: ArgumentHelp("Only dead letters with this librdkafka error name, e.g. MSG_SIZE_TOO_LARGE.", valueName: "name"))
    var error: String?

    @Option(help: ArgumentHelp("Push undelivered rows to this cluster (bootstrap.servers) instead of re-queuing.", valueName: "brokers"))
    var broker: String?

    @Option(help: ArgumentHelp("With --broker: the topic to produce to (default: each row's own).", valueName: "topic"))
    var topic: String?

    @Option(name: [.customShort("X"), .customLong("producer-property")],
            help: ArgumentHelp("With --broker: a librdkafka property NAME=VALUE (e.g. security settings); repeatable. Secret values are never shown.", valueName: "name=value"))
    var producerProperties: [String] = []

    @Flag(help: "Show what would be done; change nothing.")
    var dryRun = false

    @Flag(help: "Print the outcome as JSON.")
    var json = false

    func validate() throws {
        if broker == nil {
            guard all || rows.hasIDs || since != nil || until != nil || error != nil else {
                throw ValidationError("say which dead letters to re-queue: --all, --from-id/--to-id, --since/--until or --error (or --broker to push undelivered rows)")
            }
            guard topic == nil, producerProperties.isEmpty else { throw ValidationError("--topic and --producer-property go with --broker") }
        } else {
            guard since == nil, until == nil, error == nil, !all else {
                throw ValidationError("--broker pushes undelivered rows, selected by --stream and --from-id/--to-id; --all, --since, --until and --error select dead letters")
            }
            guard let broker, !broker.isEmpty else { throw ValidationError("--broker must not be empty") }
            for property in producerProperties where !property.contains("=") || property.hasPrefix("=") {
                throw ValidationError("--producer-property \(property.split(separator: "=").first ?? ""): expected NAME=VALUE")
            }
        }
        for (name, value) in [("--since", since), ("--until", until)] {
            if let value, TimeArgument.pointMs(value, nowMs: 0) == nil { throw ValidationError("\(name) \(value): expected \(TimeArgument.pointHelp)") }
        }
    }

    func run() async throws {
        try OperatorOutput.requireFile(queue.db, option: "--db")
        if let broker {
            try await push(to: broker)
        } else {
            try await requeue()
        }
    }

    private func requeue() async throws {
        let nowMs = MessageQueue.currentTimeMs()
        let times = since == nil && until == nil ? nil
            : (since.flatMap { TimeArgument.pointMs($0, nowMs: nowMs) } ?? .min)...(until.flatMap { TimeArgument.pointMs($0, nowMs: nowMs) } ?? .max)
        let filter = RowFilter(ids: rows.ids, timeMs: times, errorName: error, stream: rows.stream)
        let outcome = try await OperatorOutput.run {
            let queue = try MessageQueue(configuration: MessageQueueConfiguration(path: queue.db, whenDamaged: .refuse), role: .writer)
            defer { queue.close() }
            return try queue.requeueDeadLetters(matching: filter, dryRun: dryRun)
        }
        if json { return try OperatorOutput.printJSON(outcome) }
        let figures = "\(outcome.rows) dead letters (\(OperatorOutput.bytes(outcome.payloadBytes)), \(outcome.metrics) metrics, ids \(OperatorOutput.range(outcome.firstID, outcome.lastID)))"
        if dryRun {
            print("replay --dry-run: would re-queue \(figures)")
        } else {
            print("replay: re-queued \(figures) as ids \(OperatorOutput.range(outcome.newFirstID, outcome.newLastID)); the drainer delivers them")
        }
    }

    private func push(to broker: String) async throws {
        let properties = producerProperties.map { entry in
            let name = entry.prefix { $0 != "=" }
            return ProducerProperty(name: String(name), value: String(entry.dropFirst(name.count + 1)))
        }
        let options = BacklogPush.Options(brokerList: broker, topic: topic, filter: RowFilter(ids: rows.ids, stream: rows.stream), producerConfig: properties)
        let destination = "\(broker) topic \(topic ?? "(each row's own)")"
        if dryRun {
            let selected = try await OperatorOutput.run {
                let queue = try MessageQueue(configuration: MessageQueueConfiguration(path: queue.db, whenDamaged: .refuse), role: .writer)
                defer { queue.close() }
                return try queue.measure(matching: options.filter)
            }
            if json { return try OperatorOutput.printJSON(selected) }
            print("replay --dry-run: would push \(selected.rows) rows (\(OperatorOutput.bytes(selected.payloadBytes)), ids \(OperatorOutput.range(selected.firstID, selected.lastID))) to \(destination)")
            return
        }
        var logger = Logger(label: "statsink-replay") { label in StreamLogHandler.standardError(label: label) }
        logger.logLevel = .error  // the outcome is reported below; librdkafka's retries are noise here
        let display = ProgressDisplay()
        let outcome = try await OperatorOutput.run {
            try await BacklogPush.run(queuePath: queue.db, options: options, logger: logger) { display.show($0) }
        }
        display.finish()
        if json {
            try OperatorOutput.printJSON(outcome)
        } else {
            let rate = outcome.elapsedSeconds > 0 ? Int(Double(outcome.deliveredRows) / outcome.elapsedSeconds) : 0
            print("replay: delivered \(outcome.deliveredRows) of \(outcome.totalRows) rows (\(OperatorOutput.bytes(outcome.deliveredBytes))) to \(destination) in \(OperatorOutput.age(outcome.elapsedSeconds)) (\(rate) rows/s); each deleted on acknowledgement")
        }
        if outcome.failedRows > 0 || outcome.deliveredRows < outcome.totalRows {
            printError("replay: \(outcome.totalRows - outcome.deliveredRows) rows not delivered, left in the queue: \(outcome.firstError ?? "stopped")")
            throw ExitCode(1)
        }
    }
}
