import Foundation
import StatSinkCodec
import StatSinkModel
import StatSinkTestKit
import SwiftProtobuf

/// Encodes realistic Envoy snapshots (70 % counters, 20 % gauges, 10 % histograms, 0–3 tags)
/// with `SnapshotEncoder` and with a baseline measured in the same run: swift-protobuf's generated
/// messages for PROTOBUF, Foundation's `JSONSerialization` of the same entries for JSON.
struct EncoderBenchmark {
    struct Row {
        var metrics: Int
        var batchSize: UInt32
        var messages: Int
        var format: String
        var ours: Measurement
        var baseline: Measurement
    }

    struct Measurement {
        /// Median milliseconds per snapshot.
        var milliseconds: Double
        /// Bytes of one encoded snapshot.
        var bytes: Int
    }

    /// Snapshot sizes and the `batch_size` to encode each with (0: one message).
    let cases: [(metrics: Int, batchSize: UInt32)]
    let minimumRunTime: Duration

    func run() throws -> [Row] {
        var rows: [Row] = []
        for (size, batchSize) in cases {
            var generator = EnvoySnapshotGenerator(seed: UInt64(size))
            let snapshot = generator.snapshot(metricCount: size)
            for format in SerializationFormat.allCases {
                let encoder = SnapshotEncoder(options: EncodingOptions(format: format, batchSize: batchSize))
                // The full product path: values, keys and headers of every message.
                let ours = measure { encoder.encode(snapshot, sequence: 1).reduce(0) { $0 + $1.value.count } }
                let baseline: Measurement
                switch format {
                case .protobuf:
                    baseline = try measureThrowing {
                        let bytes: [UInt8] = try ReferenceProtobufEncoder.message(for: snapshot, options: encoder.options).serializedBytes()
                        return bytes.count
                    }
                case .json:
                    baseline = try measureThrowing {
                        try JSONSerialization.data(withJSONObject: Self.foundationObject(snapshot)).count
                    }
                }
                rows.append(Row(
                    metrics: size, batchSize: batchSize, messages: encoder.batchRanges(metricCount: size).count,
                    format: format.rawValue, ours: ours, baseline: baseline
                ))
            }
        }
        return rows
    }

    /// Prints the table of `rows`.
    static func report(_ rows: [Row]) {
        print("Snapshot encoding (Envoy mix: 70% counters, 20% gauges, 10% histograms, 0-3 tags; median of runs)")
        print("Baselines encode the whole snapshot as one value; ours is the full encode (values, keys, headers).")
        print("| metrics | batch_size (messages) | format | ms/snapshot | MB/s | metrics/s | baseline ms | baseline | speed-up |")
        print("|---:|---:|---|---:|---:|---:|---:|---|---:|")
        for row in rows {
            let ms = row.ours.milliseconds
            let megabytesPerSecond = Double(row.ours.bytes) / 1e6 / (ms / 1000)
            let metricsPerSecond = Double(row.metrics) / (ms / 1000)
            print("| \(row.metrics) | \(row.batchSize) (\(row.messages)) | \(row.format) | \(cell(ms, 3)) | \(cell(megabytesPerSecond, 1)) | \(cell(metricsPerSecond / 1e6, 2))M | \(cell(row.baseline.milliseconds, 3)) | \(baselineName(row.format)) | \(cell(row.baseline.milliseconds / ms, 1))x |")
        }
    }

    /// What the baseline of `format` is.
    static func baselineName(_ format: String) -> String {
        format == "JSON" ? "Foundation JSONSerialization" : "swift-protobuf messages"
    }

    static func profile(format: String, seconds: Int) {
        var generator = EnvoySnapshotGenerator(seed: 10_000)
        let snapshot = generator.snapshot(metricCount: 10_000)
        let encoder = SnapshotEncoder(options: EncodingOptions(format: SerializationFormat(rawValue: format) ?? .json))
        let deadline = ContinuousClock.now.advanced(by: .seconds(seconds))
        var total = 0
        while ContinuousClock.now < deadline { total &+= encoder.encodeValue(snapshot, metrics: 0..<snapshot.metricCount).count }
        print(total)
    }

    private func measure(_ body: () -> Int) -> Measurement {
        // A throwing wrapper would cost nothing measurable, but keep our path free of it.
        var bytes = body()  // warm-up
        var samples: [Double] = []
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: minimumRunTime)
        while samples.count < 3 || clock.now < deadline {
            let start = clock.now
            bytes = body()
            samples.append((clock.now - start).milliseconds)
        }
        return Measurement(milliseconds: samples.median, bytes: bytes)
    }

    private func measureThrowing(_ body: () throws -> Int) throws -> Measurement {
        var failure: (any Error)?
        let result = measure {
            do { return try body() } catch {
                failure = error
                return 0
            }
        }
        if let failure { throw failure }
        return result
    }

    /// The snapshot as Foundation objects in the JSON format's shape.
    static func foundationObject(_ snapshot: MetricSnapshot) -> [String: Any] {
        func entry(_ type: String, _ name: MetricName) -> [String: Any] {
            var entry: [String: Any] = ["type": type, "name": name.tagExtractedName, "timestamp_ms": snapshot.timestampMs]
            if !name.tags.isEmpty {
                entry["tags"] = Dictionary(name.tags.map { ($0.name, $0.value) }, uniquingKeysWith: { $1 })
            }
            return entry
        }
        var metrics: [[String: Any]] = []
        metrics.reserveCapacity(snapshot.metricCount)
        for counter in snapshot.counters {
            var object = entry("counter", counter.name)
            object["value"] = counter.value
            metrics.append(object)
        }
        for gauge in snapshot.gauges {
            var object = entry("gauge", gauge.name)
            object["value"] = gauge.value
            metrics.append(object)
        }
        for histogram in snapshot.histograms {
            let statistics = histogram.statistics
            var object = entry("histogram", histogram.name)
            object["sample_count"] = statistics.sampleCount
            object["sample_sum"] = statistics.sampleSum
            object["buckets"] = zip(statistics.bucketBounds, statistics.cumulativeCounts).map {
                ["upper_bound": $0, "cumulative_count": $1] as [String: Any]
            }
            object["quantiles"] = zip(statistics.quantiles, statistics.quantileValues).map {
                ["quantile": $0, "value": $1.isNaN ? NSNull() : $1] as [String: Any]
            }
            metrics.append(object)
        }
        return ["metrics": metrics]
    }
}

extension Duration {
    var milliseconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) * 1000 + Double(attoseconds) / 1e15
    }
}

extension Array where Element == Double {
    var median: Double {
        let sorted = sorted()
        return sorted[sorted.count / 2]
    }
}
