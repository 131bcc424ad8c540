import ArgumentParser
import Foundation
import StatSinkQueue

/// `statsink recover --from OLD --into NEW`
struct Recover: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Salvage the rows of a damaged queue file into a queue.",
        discussion: """
            Reads OLD (e.g. a PATH.corrupt-<time> file the sink moved aside) in record-id order, \
            stepping over what cannot be read, and copies every readable undelivered row (new ids, \
            key, headers and value unchanged) and dead letter into NEW in one transaction; carries \
            each stream's snapshot numbering over. NEW may be the live queue of a running sink (its \
            drainer then delivers the rows) or a new file. OLD is only read. Reports what was copied \
            and the id ranges that could not be read; exit 1 when OLD is not readable at all.
            """
    )

    @Option(help: ArgumentHelp("The damaged queue file.", valueName: "old"))
    var from: String

    @Option(help: ArgumentHelp("The queue to copy into (created if missing).", valueName: "new"))
    var into: String

    @OptionGroup var cap: QueueCapOption

    @Flag(help: "Print the report as JSON.")
    var json = false

    func validate() throws {
        guard URL(fileURLWithPath: from).standardizedFileURL != URL(fileURLWithPath: into).standardizedFileURL else {
            throw ValidationError("--from and --into must be different files")
        }
    }

    func run() async throws {
        try OperatorOutput.requireFile(from, option: "--from")
        let report = try await OperatorOutput.run {
            let queue = try MessageQueue(configuration: MessageQueueConfiguration(path: into, maxBytes: cap.maxBytes, whenDamaged: .refuse), role: .writer)
            defer { queue.close() }
            return try cap.explainingFull("recover: what \(from) holds") { try queue.salvage(from: from) }
        }
        if json {
            try OperatorOutput.printJSON(report)
        } else {
            print("recover: \(report.messages) undelivered rows and \(report.deadLetters) dead letters (\(OperatorOutput.bytes(report.payloadBytes))) copied from \(from) into \(into); \(report.streams) streams' numbering carried over")
            for range in report.unreadable { print("recover: unreadable ids \(range)") }
            for problem in report.problems { print("recover: \(problem)") }
        }
        if !report.readable {
            printError("--from \(from): nothing could be read: \(report.problems.first ?? "not a database")")
            throw ExitCode(1)
        }
    }
}
