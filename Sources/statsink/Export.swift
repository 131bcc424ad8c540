import ArgumentParser
import StatSinkQueue

/// `statsink export --db PATH --out FILE`
struct Export: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write undelivered rows to a portable file, to carry them to another node.",
        discussion: """
            Writes JSON Lines, one record per message: {"statsink_export":1, "kind":"message", "id", \
            "stream", "topic", "node_id", "snapshot_seq", "snapshot_time_ms", "batch_index", \
            "batch_count", "format", "metric_count", "enqueued_at_ms", "attempts", "headers":[[name, \
            value], ...], "key" and "value" in base64}; dead letters (--include-dead-letters) add \
            "dead_lettered_at_ms", "error_name" and "error". The file (mode 0600) appears complete \
            or not at all. Nothing is deleted: once the file is safely elsewhere, purge the exported \
            id range. Works while the sink runs.
            """
    )

    @OptionGroup var queue: QueueFileOption

    @Option(help: ArgumentHelp("The file to write.", valueName: "file"))
    var out: String

    @Flag(help: "Export the dead letters too.")
    var includeDeadLetters = false

    @Option(help: ArgumentHelp("Only rows of this stream (TOPIC@BROKER_LIST, as status shows).", valueName: "stream"))
    var stream: String?

    @Flag(help: "Print the outcome as JSON.")
    var json = false

    func run() async throws {
        try OperatorOutput.requireFile(queue.db, option: "--db")
        let outcome = try await OperatorOutput.run {
            try MessageQueue.export(path: queue.db, to: out, includeDeadLetters: includeDeadLetters, stream: stream)
        }
        if json { return try OperatorOutput.printJSON(outcome) }
        let dead = includeDeadLetters ? " and \(outcome.deadLetters) dead letters" : ""
        print("export: \(outcome.messages) undelivered rows\(dead) (\(OperatorOutput.bytes(outcome.payloadBytes)) of payload) to \(out) (\(OperatorOutput.bytes(outcome.fileBytes)))")
        if let first = outcome.firstID, let last = outcome.lastID {
            print("export: undelivered ids \(first)-\(last); once the file is safe elsewhere: statsink purge --db \(queue.db) --from-id \(first) --to-id \(last)")
        }
    }
}

/// `statsink import --db PATH FILE`
struct Import: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Add the records of an export file to a queue, all or nothing.",
        discussion: """
            Validates every line first (an error names FILE:LINE and nothing is written, exit 2), \
            then adds all records in one transaction as undelivered rows with new record ids, their \
            key, headers and value unchanged (consumers dedupe by node, snapshot_seq and batch_index). \
            --stream sends them all to the stream this node's drainer delivers (TOPIC@BROKER_LIST); \
            by default each keeps its own. Creates the queue file if it does not exist.
            """
    )

    @OptionGroup var queue: QueueFileOption

    @OptionGroup var cap: QueueCapOption

    @Argument(help: ArgumentHelp("The export file.", valueName: "file"))
    var file: String

    @Option(help: ArgumentHelp("Put every record in this stream (TOPIC@BROKER_LIST).", valueName: "stream"))
    var stream: String?

    @Flag(help: "Validate and count; change nothing.")
    var dryRun = false

    @Flag(help: "Print the outcome as JSON.")
    var json = false

    func validate() throws {
        if let stream, stream.split(separator: "@", maxSplits: 1).count != 2 {
            throw ValidationError("--stream \(stream): expected TOPIC@BROKER_LIST, e.g. envoy-metrics@kafka1:9092")
        }
    }

    func run() async throws {
        try OperatorOutput.requireFile(file, option: "import")
        let target = stream.map { QueueStream(name: $0, topic: String($0.prefix { $0 != "@" })) }
        let outcome = try await OperatorOutput.run {
            let queue = try MessageQueue(configuration: MessageQueueConfiguration(path: queue.db, maxBytes: cap.maxBytes, whenDamaged: .refuse), role: .writer)
            defer { queue.close() }
            return try cap.explainingFull("import: \(file)") { try queue.importRecords(from: file, into: target, dryRun: dryRun) }
        }
        if json { return try OperatorOutput.printJSON(outcome) }
        let streams = outcome.rowsByStream.keys.sorted().joined(separator: ", ")
        if dryRun {
            print("import --dry-run: \(outcome.rows) valid records (\(OperatorOutput.bytes(outcome.payloadBytes))) for \(streams.isEmpty ? "no stream" : streams)")
        } else {
            print("import: \(outcome.rows) records (\(OperatorOutput.bytes(outcome.payloadBytes)), \(outcome.metrics) metrics) queued as ids \(OperatorOutput.range(outcome.newFirstID, outcome.newLastID)) in \(streams.isEmpty ? "no stream" : streams)")
        }
    }
}
