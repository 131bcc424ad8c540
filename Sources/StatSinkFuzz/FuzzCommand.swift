#if !STATSINK_LIBFUZZER
import ArgumentParser
import Foundation
import StatSinkFuzzing

/// `statsink-fuzz`: the seeded mutation fuzzer of the configuration loader and the gRPC
/// decoder. Prints a table; exits 1 when an oracle did not hold (the input saved for
/// `--replay`), 3 when an input hung, and dies of the signal of a crash after saving it.
@main
struct FuzzCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "statsink-fuzz",
        abstract: "Fuzz the configuration loader and the gRPC ingest decoder for a bounded time.",
        subcommands: [Config.self, GRPC.self]
    )

    struct Config: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Fuzz ConfigurationLoader (YAML and JSON configuration files).")
        @OptionGroup var options: FuzzCommandOptions
        func run() throws { try options.run(ConfigFuzzTarget()) }
    }

    struct GRPC: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "grpc", abstract: "Fuzz the gRPC decoder of StreamMetricsMessage, the snapshot assembly and the encoders.")
        @OptionGroup var options: FuzzCommandOptions
        func run() throws { try options.run(MetricsMessageFuzzTarget()) }
    }
}

/// The options both targets take.
struct FuzzCommandOptions: ParsableArguments {
    @Option(help: "Run for this many seconds (default 60 unless --iterations is given).")
    var seconds: Double?
    @Option(help: "Run this many inputs (with --seconds, whichever ends first).")
    var iterations: Int?
    @Option(help: "The random seed; a seed and an iteration number identify an input.")
    var seed: UInt64 = 1
    @Option(help: "A directory whose files are added to the built-in seeds (repeatable), e.g. examples.")
    var corpus: [String] = []
    @Option(help: "Seconds one input may take before it counts as a failure.")
    var timeout = 2.0
    @Option(help: "Where failing inputs are saved.")
    var artifacts = "fuzz-artifacts"
    @Option(help: "Stop after this many failures.")
    var maxFailures = 1
    @Option(parsing: .upToNextOption, help: "Run the target once on each of these files (saved failures) instead of fuzzing.")
    var replay: [String] = []
    @Option(help: "The stack of the thread inputs run on, in KiB.")
    var stackKib = FuzzOptions().stackSize >> 10
    @Flag(help: "No progress lines, only the table.")
    var quiet = false
    @Flag(help: "List the outcome classes after the table.")
    var outcomes = false
    @Flag(help: "Save the slowest input to the artifacts directory.")
    var saveSlowest = false

    func validate() throws {
        if let seconds, !(seconds > 0) { throw ValidationError("--seconds must be positive") }
        if let iterations, iterations < 1 { throw ValidationError("--iterations must be at least 1") }
        guard timeout > 0 else { throw ValidationError("--timeout must be positive") }
        guard stackKib >= 64 else { throw ValidationError("--stack-kib must be at least 64") }
        guard maxFailures >= 1 else { throw ValidationError("--max-failures must be at least 1") }
    }

    func run(_ target: any FuzzTarget) throws {
        if !replay.isEmpty { return try replayFiles(target) }
        var options = FuzzOptions(seed: seed, iterations: iterations, seconds: seconds, timeout: .nanoseconds(Int64(timeout * 1e9)))
        options.artifactsDirectory = artifacts
        options.maximumFailures = maxFailures
        options.stackSize = stackKib << 10
        options.saveSlowest = saveSlowest
        options.extraSeeds = try corpus.flatMap(Self.files)
        let quiet = quiet
        let report = Fuzzer.run(target, options: options) { line in
            if !quiet || line.hasPrefix("FAILURE") { printError(line) }
        }
        print(FuzzReport.tableHeader)
        print(report.tableRow)
        if let file = report.slowestFile { print("slowest input: iteration \(report.slowestIteration), saved to \(file)") }
        if outcomes {
            print("\noutcome classes (most frequent first):")
            report.outcomeLines(limit: .max).forEach { print($0) }
        }
        if !report.failures.isEmpty { throw ExitCode.failure }
    }

    private func replayFiles(_ target: any FuzzTarget) throws {
        var failed = false
        for path in replay {
            guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("cannot read \(path)") }
            let (outcome, took) = Fuzzer.replay(
                target, input: Array(data), timeout: .nanoseconds(Int64(timeout * 1e9)), stackSize: stackKib << 10)
            if let message = outcome.failureMessage {
                failed = true
                print("\(path): FAILURE after \(took): \(message)")
            } else {
                print("\(path): \(outcome.signature) (\(took))")
            }
        }
        if failed { throw ExitCode.failure }
    }

    /// The files of `directory`, by name.
    static func files(in directory: String) throws -> [[UInt8]] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else {
            throw ValidationError("cannot read the directory \(directory)")
        }
        return names.sorted().compactMap { name in FileManager.default.contents(atPath: directory + "/" + name).map(Array.init) }
    }
}

func printError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}
#endif
