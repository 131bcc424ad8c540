import Foundation

// statsink-bench: run in release mode (`swift run -c release statsink-bench`).
// Prints one table per section; every figure stands next to its baseline measured in the same run.
//
//   (no flag)          the encoder table
//   --queue            the queue tables of issue 3 (needs statsink-mock-broker built alongside)
//   --metrics          the swift-metrics backend tables (hot path ns/call, snapshot time)
//   --grpc             the gRPC metrics_service ingest table of issue 4
//   --all              the encoder, queue and metrics tables (not --grpc)
//   --quick            shorter runs; the queue backlog is 64 MiB
//   --backlog-mib N    the queue backlog (default 1024, or 64 with --quick)
//   --profile FORMAT   our encoder alone in a loop, for `perf record` (`--profile grpc`: the gRPC decoder)

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
let known: Set<String> = ["--queue", "--metrics", "--all", "--quick", "--backlog-mib", "--grpc"]
var backlogMiB = quick ? 64 : 1024
for (index, argument) in zip(arguments.indices, arguments) where !known.contains(argument) {
    guard index > arguments.startIndex, arguments[index - 1] == "--backlog-mib" else {
        FileHandle.standardError.write(Data("statsink-bench: unknown argument \(argument)\n".utf8))
        exit(2)
    }
}
if let index = arguments.firstIndex(of: "--backlog-mib") {
    guard index + 1 < arguments.endIndex, let value = Int(arguments[index + 1]), value > 0 else {
        FileHandle.standardError.write(Data("statsink-bench: --backlog-mib needs a positive number of MiB\n".utf8))
        exit(2)
    }
    backlogMiB = value
}
let runQueue = arguments.contains("--queue") || arguments.contains("--all")
let runMetrics = arguments.contains("--metrics") || arguments.contains("--all")
let runGRPC = arguments.contains("--grpc")
let runEncoder = !(arguments.contains("--queue") || runMetrics || runGRPC) || arguments.contains("--all")

func cell(_ value: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", value) }

if runEncoder {
    let benchmark = EncoderBenchmark(
        cases: [(1_000, 0), (10_000, 0), (10_000, 1_000), (100_000, 0), (100_000, 1_000)],
        minimumRunTime: quick ? .milliseconds(200) : .seconds(2)
    )
    let rows = try benchmark.run()

    print("Snapshot encoding (Envoy mix: 70% counters, 20% gauges, 10% histograms, 0-3 tags; median of runs)")
    print("Baselines encode the whole snapshot as one value; ours is the full encode (values, keys, headers).")
    print("| metrics | batch_size (messages) | format | ms/snapshot | MB/s | metrics/s | baseline ms | baseline | speed-up |")
    print("|---:|---:|---|---:|---:|---:|---:|---|---:|")
    for row in rows {
        let ms = row.ours.milliseconds
        let megabytesPerSecond = Double(row.ours.bytes) / 1e6 / (ms / 1000)
        let metricsPerSecond = Double(row.metrics) / (ms / 1000)
        let baselineName = row.format == "JSON" ? "Foundation JSONSerialization" : "swift-protobuf messages"
        print("| \(row.metrics) | \(row.batchSize) (\(row.messages)) | \(row.format) | \(cell(ms, 3)) | \(cell(megabytesPerSecond, 1)) | \(cell(metricsPerSecond / 1e6, 2))M | \(cell(row.baseline.milliseconds, 3)) | \(baselineName) | \(cell(row.baseline.milliseconds / ms, 1))x |")
    }
}

if runMetrics {
    MetricsBackendBenchmark(iterations: quick ? 2_000_000 : 20_000_000, snapshotSizes: [1_000, 10_000]).report()
}

if runQueue {
    try await QueueBenchmark(snapshots: quick ? 50 : 100, backlogBytes: Int64(backlogMiB) << 20).run()
}

if runGRPC {
    let flushes = quick ? 3 : 20
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("statsink-bench-grpc-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let rows = try await GRPCIngestBenchmark(flushes: flushes, directory: directory).run(streamCounts: [1, 4])
    GRPCIngestBenchmark.report(rows, flushes: flushes)
}
