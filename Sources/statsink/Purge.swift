import ArgumentParser
import Foundation
import StatSinkQueue

/// `statsink purge --db PATH --older-than DURATION`
struct Purge: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Delete undelivered rows (or dead letters) by age or id range; counted as drops.",
        discussion: """
            Deletes the rows enqueued longer ago than --older-than (dead letters: dead-lettered), \
            or within --from-id/--to-id, or both, in one transaction, and counts them in the drops \
            table with reason purge. Asks for confirmation on a terminal; --yes is required when \
            standard input is not one. Works while the sink runs.
            """
    )

    @OptionGroup var queue: QueueFileOption

    @Option(help: ArgumentHelp("Only rows older than this: \(TimeArgument.durationHelp).", valueName: "duration"))
    var olderThan: String?

    @OptionGroup var rows: RowRangeOptions

    @Flag(help: "Purge dead letters instead of undelivered rows.")
    var deadLetters = false

    @Flag(help: "Show what would be deleted; change nothing.")
    var dryRun = false

    @Flag(help: "Do not ask for confirmation.")
    var yes = false

    @Flag(help: "Print the outcome as JSON.")
    var json = false

    func validate() throws {
        guard olderThan != nil || rows.hasIDs else {
            throw ValidationError("say which rows: --older-than DURATION and/or --from-id/--to-id")
        }
        if let olderThan, TimeArgument.durationMs(olderThan) == nil {
            throw ValidationError("--older-than \(olderThan): expected \(TimeArgument.durationHelp)")
        }
    }

    func run() async throws {
        try OperatorOutput.requireFile(queue.db, option: "--db")
        let nowMs = MessageQueue.currentTimeMs()
        let filter = RowFilter(
            ids: rows.ids,
            timeMs: olderThan.flatMap(TimeArgument.durationMs).map { Int64.min...(nowMs - $0) },
            stream: rows.stream
        )
        let what = deadLetters ? "dead letters" : "undelivered rows"
        let outcome = try await OperatorOutput.run {
            let queue = try MessageQueue(configuration: MessageQueueConfiguration(path: queue.db, whenDamaged: .refuse), role: .writer)
            defer { queue.close() }
            if !dryRun, !yes {
                let selected = try queue.measure(matching: filter, deadLetters: deadLetters)
                guard selected.rows > 0 else { return selected }
                try confirm("purge: delete \(selected.rows) \(what) (\(OperatorOutput.bytes(selected.payloadBytes)), \(selected.metrics) metrics, ids \(OperatorOutput.range(selected.firstID, selected.lastID)))? They are counted as dropped. [y/N] ")
            }
            return try queue.purge(matching: filter, deadLetters: deadLetters, dryRun: dryRun, nowMs: nowMs)
        }
        if json { return try OperatorOutput.printJSON(outcome) }
        let figures = "\(outcome.rows) \(what) (\(OperatorOutput.bytes(outcome.payloadBytes)), \(outcome.metrics) metrics, ids \(OperatorOutput.range(outcome.firstID, outcome.lastID)))"
        print(dryRun ? "purge --dry-run: would delete \(figures)" : "purge: deleted \(figures); counted in drops as purge")
    }

    /// Asks on the terminal; refuses (exit 2) without one, aborts (exit 1) without a yes.
    private func confirm(_ question: String) throws {
        guard isatty(STDIN_FILENO) == 1 else {
            printError("purge: standard input is not a terminal; add --yes to delete without confirmation")
            throw ExitCode(2)
        }
        FileHandle.standardError.write(Data(question.utf8))
        let answer = readLine()?.trimmingCharacters(in: .whitespaces).lowercased()
        guard answer == "y" || answer == "yes" else {
            printError("purge: aborted; nothing deleted")
            throw ExitCode(1)
        }
    }
}
