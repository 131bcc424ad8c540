import Foundation

// statsink-bench: run in release mode (`tools/bench`, or `swift run -c release statsink-bench`).
// Prints one table per section; every figure stands next to its baseline measured in the same run.
//
//   (no flag)              the encoder table
//   --queue                the queue tables of issue 3 (needs statsink-mock-broker built alongside)
//   --drain                the drain table of issue 3 alone (no enqueue), for working on the drainer
//   --catch-up             the catch-up table: a backlog drained while live data flows, and the
//                          queue file's size full and after the drain (needs the broker too)
//   --metrics              the swift-metrics backend tables (hot path ns/call, snapshot time)
//   --grpc                 the gRPC metrics_service ingest table of issue 4
//   --all                  the encoder, queue, catch-up and metrics tables (not --grpc)
//   --summary              the encoder, queue, catch-up and gRPC tables, then one summary table of
//                          every figure of issue 6 (what `tools/bench` runs)
//   --quick                shorter runs: no 100k-metric encoding, 64 MiB queue backlogs
//   --backlog-mib N        the queue backlogs (default 1024, or 64 with --quick)
//   --drain-rounds N       drains of the backlog, each with its baseline (default 5)
//   --live-interval-ms N   the catch-up's live writer: one 10k-metric snapshot every N ms (default 100)
//   --profile FORMAT       our encoder alone in a loop, for `perf record` (`--profile grpc`: the gRPC decoder)

let arguments = CommandLine.arguments.dropFirst()
let quick = arguments.contains("--quick")
if let index = arguments.firstIndex(of: "--profile"), index + 1 < arguments.endIndex {
    // Our encoder (or with `grpc`, the gRPC source's decoder) alone in a loop, for `perf record`.
    if arguments[index + 1] == "grpc" {
        try GRPCIngestBenchmark(flushes: 5, directory: FileManager.default.temporaryDirectory).profileDecoding(seconds: 5)
    } else {
        EncoderBenchmark.profile(format: arguments[index + 1], seconds: 3)
    }
    exit(0)
}
let flags: Set<String> = ["--queue", "--drain", "--catch-up", "--metrics", "--all", "--summary", "--quick", "--grpc"]
/// Flags followed by a positive number.
let valued: Set<String> = ["--backlog-mib", "--live-interval-ms", "--drain-rounds"]
for (index, argument) in zip(arguments.indices, arguments) where !flags.contains(argument) && !valued.contains(argument) {
    guard index > arguments.startIndex, valued.contains(arguments[index - 1]) else {
        FileHandle.standardError.write(Data("statsink-bench: unknown argument \(argument)\n".utf8))
        exit(2)
    }
}
/// The positive number after `flag`, if given.
func number(after flag: String) -> Int? {
    guard let index = arguments.firstIndex(of: flag) else { return nil }
    guard index + 1 < arguments.endIndex, let value = Int(arguments[index + 1]), value > 0 else {
        FileHandle.standardError.write(Data("statsink-bench: \(flag) needs a positive number\n".utf8))
        exit(2)
    }
    return value
}
let backlogMiB = number(after: "--backlog-mib") ?? (quick ? 64 : 1024)
let drainRounds = number(after: "--drain-rounds") ?? 5
let liveInterval = Duration.milliseconds(number(after: "--live-interval-ms") ?? 100)
let summaryMode = arguments.contains("--summary")
let runQueue = arguments.contains("--queue") || arguments.contains("--drain") || arguments.contains("--all") || summaryMode
let runEnqueue = !arguments.contains("--drain") || arguments.contains("--queue") || arguments.contains("--all") || summaryMode
let runCatchUp = arguments.contains("--catch-up") || arguments.contains("--all") || summaryMode
let runMetrics = arguments.contains("--metrics") || arguments.contains("--all")
let runGRPC = arguments.contains("--grpc") || summaryMode
let runEncoder = !(runQueue || runCatchUp || runMetrics || runGRPC) || arguments.contains("--all") || summaryMode

func cell(_ value: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", value) }

/// A fresh directory for one benchmark's files; the caller removes it.
func temporaryDirectory(_ name: String) throws -> URL {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("statsink-bench-\(name)-\(getpid())")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    return directory
}

let machine = MachineDescription()
// Each part's figures, for the summary.
var queueResult: QueueBenchmark.Result?
var catchUpResult: CatchUpBenchmark.Result?
var encoding: (rows: [EncoderBenchmark.Row], load: BenchmarkSummary.Load)?
var grpcRows: [GRPCIngestBenchmark.Row]?

// The queue first: its RSS figures need a heap that the encoder's 100k-metric baselines
// (hundreds of MiB of Foundation objects) have not grown.
if runQueue {
    let directory = try temporaryDirectory("queue")
    defer { try? FileManager.default.removeItem(at: directory) }
    queueResult = try await QueueBenchmark(snapshots: runEnqueue ? (quick ? 50 : 100) : 0, backlogBytes: Int64(backlogMiB) << 20, drainRounds: drainRounds).run(in: directory)
}

if runCatchUp {
    let directory = try temporaryDirectory("catch-up")
    defer { try? FileManager.default.removeItem(at: directory) }
    var benchmark = CatchUpBenchmark(backlogBytes: Int64(backlogMiB) << 20, directory: directory)
    benchmark.liveInterval = liveInterval
    benchmark.quietWrites = quick ? 20 : 100
    let result = try await benchmark.run()
    CatchUpBenchmark.report(result, machine: machine)
    catchUpResult = result
}

if runEncoder {
    // --quick leaves out 100k metrics: Foundation's baseline alone takes 10-20 s a run there.
    let benchmark = EncoderBenchmark(
        cases: [(1_000, 0), (10_000, 0), (10_000, 1_000)] + (quick ? [] : [(100_000, 0), (100_000, 1_000)]),
        minimumRunTime: quick ? .milliseconds(200) : .seconds(2)
    )
    let cpu = CPUTime.now()
    let start = ContinuousClock.now
    let rows = try benchmark.run()
    encoding = (rows, BenchmarkSummary.Load(phase: "encode", cpu: CPUTime.now().since(cpu), seconds: (ContinuousClock.now - start).seconds))
    EncoderBenchmark.report(rows)
}

if runMetrics {
    MetricsBackendBenchmark(iterations: quick ? 2_000_000 : 20_000_000, snapshotSizes: [1_000, 10_000]).report()
}

if runGRPC {
    let flushes = quick ? 3 : 20
    let directory = try temporaryDirectory("grpc")
    defer { try? FileManager.default.removeItem(at: directory) }
    let rows = try await GRPCIngestBenchmark(flushes: flushes, directory: directory).run(streamCounts: [1, 4])
    GRPCIngestBenchmark.report(rows, flushes: flushes)
    grpcRows = rows
}

if summaryMode {
    var summary = BenchmarkSummary()
    if let encoding { summary.addEncoding(encoding.rows, load: encoding.load) }
    if let queueResult { summary.addQueue(queueResult) }
    if let catchUpResult { summary.addCatchUp(catchUpResult, drain: queueResult?.drain) }
    if let grpcRows { summary.addGRPC(grpcRows) }
    summary.report(machine: machine)
}
