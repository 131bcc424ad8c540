import Foundation

// statsink-bench: run in release mode (`swift run -c release statsink-bench`).
// Prints one table; every figure stands next to its baseline measured in the same run.

let quick = CommandLine.arguments.contains("--quick")
if let index = CommandLine.arguments.firstIndex(of: "--profile"), index + 1 < CommandLine.arguments.count {
    // Our encoder alone in a loop, for `perf record`.
    EncoderBenchmark.profile(format: CommandLine.arguments[index + 1], seconds: 3)
    exit(0)
}
let benchmark = EncoderBenchmark(
    cases: [(1_000, 0), (10_000, 0), (10_000, 1_000), (100_000, 0), (100_000, 1_000)],
    minimumRunTime: quick ? .milliseconds(200) : .seconds(2)
)
let rows = try benchmark.run()

func cell(_ value: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", value) }

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
