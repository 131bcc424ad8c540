import ArgumentParser
import Foundation

/// `statsink-harness`: whole-system fault injection against the real `statsink` binary and a
/// Kafka-protocol broker in another process. Each subcommand prints a table and exits 1 when a
/// guarantee did not hold.
@main
struct Harness: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "statsink-harness",
        abstract: "Fault-injection harnesses for statsink (run the statsink and statsink-mock-broker products built alongside).",
        subcommands: [Crash.self, Outage.self]
    )
}

/// `statsink-harness crash`.
struct Crash: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Kill statsink with SIGKILL at random moments under load, restart it, then check that nothing committed was lost."
    )

    @Option(help: "How many runs to kill.")
    var runs = 10
    @Option(help: "The random seed (kill times).")
    var seed: UInt64 = 1
    @Option(help: "Shortest life of a run before its SIGKILL, in seconds.")
    var minLife = 0.3
    @Option(help: "Longest life of a run before its SIGKILL, in seconds.")
    var maxLife = 2.0
    @Option(help: "Where the queue, configurations and logs go (default: a new temporary directory, removed on success).")
    var work: String?
    @Flag(help: "Print each run.")
    var verbose = false

    func validate() throws {
        guard runs >= 1 else { throw ValidationError("--runs must be at least 1") }
        guard minLife > 0, maxLife >= minLife else { throw ValidationError("need 0 < --min-life <= --max-life") }
    }

    func run() async throws {
        try await runInWorkDirectory(work, name: "crash") { directory in
            try await CrashHarness(runs: runs, seed: seed, lifetime: minLife...maxLife, directory: directory, verbose: verbose).run()
        }
    }
}

/// `statsink-harness outage`.
struct Outage: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Take the broker down and up in random cycles (with injected errors and poison rows) while statsink runs under load; check nothing was lost."
    )

    @Option(help: "How many outages.")
    var cycles = 5
    @Option(help: "The random seed (durations, injections).")
    var seed: UInt64 = 1
    @Option(help: "Shortest outage, in seconds.")
    var minDown = 3.0
    @Option(help: "Longest outage, in seconds.")
    var maxDown = 6.0
    @Option(help: "Shortest time up between outages, in seconds.")
    var minUp = 1.0
    @Option(help: "Longest time up between outages, in seconds.")
    var maxUp = 3.0
    @Option(help: "Where the queue, configurations and logs go (default: a new temporary directory, removed on success).")
    var work: String?
    @Flag(help: "Print each cycle.")
    var verbose = false

    func validate() throws {
        guard cycles >= 1 else { throw ValidationError("--cycles must be at least 1") }
        guard minDown > 0, maxDown >= minDown, minUp > 0, maxUp >= minUp else {
            throw ValidationError("need 0 < --min-down <= --max-down and 0 < --min-up <= --max-up")
        }
    }

    func run() async throws {
        try await runInWorkDirectory(work, name: "outage") { directory in
            try await OutageHarness(cycles: cycles, seed: seed, outage: minDown...maxDown, uptime: minUp...maxUp, directory: directory, verbose: verbose).run()
        }
    }
}

/// Runs a harness in `work` (or a new temporary directory, removed when every check passed);
/// exits 1, keeping the files, when one did not.
private func runInWorkDirectory(_ work: String?, name: String, _ harness: (URL) async throws -> Bool) async throws {
    let directory = work.map { URL(fileURLWithPath: $0) }
        ?? FileManager.default.temporaryDirectory.appendingPathComponent("statsink-\(name)-\(getpid())")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    guard try await harness(directory) else {
        print("Files kept in \(directory.path)")
        throw ExitCode(1)
    }
    if work == nil { try? FileManager.default.removeItem(at: directory) }
}
