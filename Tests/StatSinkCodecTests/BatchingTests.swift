import Foundation
import StatSinkCodec
import StatSinkModel
import StatSinkProtobuf
import StatSinkTestKit
import Testing

@Suite("Batching, key and headers (wire-format.md §2, §5)")
struct BatchingTests {
    /// 7 counters, 2 gauges, 1 histogram: batches cross the kind boundaries.
    static func snapshot() -> MetricSnapshot {
        var generator = EnvoySnapshotGenerator(seed: 5)
        let snapshot = generator.snapshot(metricCount: 10, timestampMs: 1_700_000_000_000)
        #expect(snapshot.counters.count == 7 && snapshot.gauges.count == 2 && snapshot.histograms.count == 1)
        return snapshot
    }

    static let batchCases: [(UInt32, [Int])] = [
        (0, [10]), (1, Array(repeating: 1, count: 10)), (3, [3, 3, 3, 1]), (7, [7, 3]),
        (9, [9, 1]), (10, [10]), (11, [10]), (UInt32.max, [10]),
    ]

    @Test(arguments: batchCases)
    func batchSizeSplitsMetricsCountingAHistogramAsOne(batchSize: UInt32, expectedCounts: [Int]) throws {
        for format in SerializationFormat.allCases {
            let options = EncodingOptions(format: format, batchSize: batchSize)
            let messages = SnapshotEncoder(options: options).encode(Self.snapshot(), sequence: 9)
            #expect(messages.map(\.metricCount) == expectedCounts)
            #expect(messages.map(\.batchIndex) == Array(0..<expectedCounts.count))
            #expect(messages.allSatisfy { $0.batchCount == expectedCounts.count })
            // Each value holds exactly its share of metrics.
            for message in messages {
                #expect(try Self.metricNames(in: message.value, format: format).count == message.metricCount)
            }
        }
    }

    @Test func batchesTogetherEqualTheUnbatchedSnapshot() throws {
        let snapshot = Self.snapshot()
        for format in SerializationFormat.allCases {
            let whole = SnapshotEncoder(options: EncodingOptions(format: format)).encode(snapshot, sequence: 1)[0].value
            for batchSize in UInt32(1)...11 {
                let parts = SnapshotEncoder(options: EncodingOptions(format: format, batchSize: batchSize)).encode(snapshot, sequence: 1)
                let names = try parts.flatMap { try Self.metricNames(in: $0.value, format: format) }
                #expect(names == (try Self.metricNames(in: whole, format: format)))
                if format == .protobuf {
                    // Repeated fields concatenate: the parts' bytes are the whole message's bytes.
                    #expect(parts.flatMap(\.value) == whole)
                }
            }
        }
    }

    @Test func everyMessageCarriesKeyAndIdentifyingHeaders() {
        let snapshot = Self.snapshot()
        for format in SerializationFormat.allCases {
            let messages = SnapshotEncoder(options: EncodingOptions(format: format, batchSize: 4)).encode(snapshot, sequence: 123)
            #expect(messages.count == 3)
            for (index, message) in messages.enumerated() {
                #expect(message.key == Array("edge-17".utf8))
                #expect(message.headers.map(\.name) == [
                    "content-type", "statsink.node_id", "statsink.snapshot_seq", "statsink.snapshot_time_ms",
                    "statsink.batch_index", "statsink.batch_count",
                ])
                #expect(message.header("content-type") == (format == .json ? "application/json" : "application/x-protobuf; messageType=envoy.service.metrics.v3.StreamMetricsMessage"))
                #expect(message.header("statsink.node_id") == "edge-17")
                #expect(message.header("statsink.snapshot_seq") == "123")
                #expect(message.header("statsink.snapshot_time_ms") == "1700000000000")
                #expect(message.header("statsink.batch_index") == String(index))
                #expect(message.header("statsink.batch_count") == "3")
            }
        }
    }

    @Test func emptySnapshotHasOneMessageWithBatchCountOne() {
        let messages = SnapshotEncoder(options: EncodingOptions(batchSize: 3)).encode(MetricSnapshot(timestampMs: 0, node: NodeIdentity(id: "x")), sequence: 1)
        #expect(messages.count == 1)
        #expect(messages[0].header("statsink.batch_count") == "1")
        #expect(messages[0].header("statsink.batch_index") == "0")
    }

    /// The metric names in a message value, decoded with independent decoders.
    static func metricNames(in value: [UInt8], format: SerializationFormat) throws -> [String] {
        switch format {
        case .json:
            let object = try JSONSerialization.jsonObject(with: Data(value)) as? [String: Any]
            let metrics = try #require(object?["metrics"] as? [[String: Any]])
            return metrics.compactMap { $0["name"] as? String }
        case .protobuf:
            return try Envoy_Service_Metrics_V3_StreamMetricsMessage(serializedBytes: value).envoyMetrics.map(\.name)
        }
    }
}

@Suite("JSON round trip through an independent parser")
struct JSONRoundTripTests {
    /// The JSON message value as an independent decoder reads it.
    struct Message: Decodable {
        struct Entry: Decodable {
            var type: String
            var name: String
            var tags: [String: String]?
            var timestamp_ms: Int64
            var value: UInt64?
            var delta: Bool?
            var sample_count: UInt64?
            var sample_sum: Double?
            var buckets: [Bucket]?
            var quantiles: [Quantile]?
        }
        struct Bucket: Decodable, Equatable {
            var upper_bound: Double
            var cumulative_count: UInt64
        }
        struct Quantile: Decodable, Equatable {
            var quantile: Double
            var value: Double?
        }
        var metrics: [Entry]
    }

    /// Random realistic snapshots decode with Foundation and carry exactly the snapshot's values,
    /// doubles included (shortest round-trip digits read back to the same double).
    @Test(arguments: [false, true], [false, true])
    func valuesSurviveAStandardJSONDecoder(labels: Bool, deltas: Bool) throws {
        var generator = EnvoySnapshotGenerator(seed: 99)
        let snapshot = generator.snapshot(metricCount: 500)
        let options = EncodingOptions(emitTagsAsLabels: labels, reportCountersAsDeltas: deltas)
        let value = SnapshotEncoder(options: options).encode(snapshot, sequence: 1)[0].value
        let entries = try JSONDecoder().decode(Message.self, from: Data(value)).metrics
        #expect(entries.count == snapshot.metricCount)

        func checkName(_ entry: Message.Entry, _ name: MetricName) {
            #expect(entry.name == (labels ? name.tagExtractedName : name.fullName))
            if labels, !name.tags.isEmpty {
                #expect(entry.tags == Dictionary(uniqueKeysWithValues: name.tags.map { ($0.name, $0.value) }))
            } else {
                #expect(entry.tags == nil)
            }
            #expect(entry.timestamp_ms == snapshot.timestampMs)
        }
        for (entry, counter) in zip(entries, snapshot.counters) {
            #expect(entry.type == "counter")
            checkName(entry, counter.name)
            #expect(entry.value == (deltas ? counter.delta : counter.value))
            #expect(entry.delta == (deltas ? true : nil))
        }
        for (entry, gauge) in zip(entries.dropFirst(snapshot.counters.count), snapshot.gauges) {
            #expect(entry.type == "gauge")
            checkName(entry, gauge.name)
            #expect(entry.value == gauge.value)
            #expect(entry.delta == nil)
        }
        for (entry, histogram) in zip(entries.dropFirst(snapshot.counters.count + snapshot.gauges.count), snapshot.histograms) {
            let statistics = histogram.statistics
            #expect(entry.type == "histogram")
            checkName(entry, histogram.name)
            #expect(entry.value == nil)
            #expect(entry.sample_count == statistics.sampleCount)
            #expect(entry.sample_sum == statistics.sampleSum)
            #expect(entry.buckets == zip(statistics.bucketBounds, statistics.cumulativeCounts).map {
                Message.Bucket(upper_bound: $0, cumulative_count: $1)
            })
            #expect(entry.quantiles == zip(statistics.quantiles, statistics.quantileValues).map {
                Message.Quantile(quantile: $0, value: $1.isNaN ? nil : $1)
            })
        }
    }
}
