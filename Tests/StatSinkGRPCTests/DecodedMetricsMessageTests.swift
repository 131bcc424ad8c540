import StatSinkModel
import StatSinkProtobuf
import StatSinkTestKit
import SwiftProtobuf
import Testing

@testable import StatSinkGRPC

/// The server's decoder against swift-protobuf's generated messages (with the converter): the
/// same snapshots from the same bytes, the same refusals.
@Suite("StreamMetricsMessage decoder")
struct DecodedMetricsMessageTests {
    /// The node and the snapshots of a message.
    struct Decoded: Equatable {
        var node: NodeIdentity?
        var snapshots: [MetricSnapshot]
    }

    /// What the server makes of `bytes`: the node and the snapshot, or the error.
    func viaDecoder(_ bytes: [UInt8]) -> Result<Decoded, MalformedMetricsError> {
        do {
            let message = try bytes.withUnsafeBytes { buffer throws(MalformedMetricsError) in try DecodedMetricsMessage(serializedBytes: buffer) }
            var assembler = SnapshotAssembler(node: NodeIdentity(id: "n"))
            var snapshots = assembler.add(message, receivedAtMs: 5)
            if let last = assembler.closeOpenSnapshot() { snapshots.append(last) }
            return .success(Decoded(node: message.node, snapshots: snapshots))
        } catch let error as MalformedMetricsError {
            return .failure(error)
        } catch {
            return .failure(MalformedMetricsError("unexpected \(error)"))
        }
    }

    /// What the generated messages and the converter make of `bytes`; `nil` when swift-protobuf
    /// cannot decode them.
    func viaGenerated(_ bytes: [UInt8]) -> Result<Decoded, MalformedMetricsError>? {
        guard let message = try? Envoy_Service_Metrics_V3_StreamMetricsMessage(serializedBytes: bytes) else { return nil }
        let node = message.hasIdentifier && message.identifier.hasNode
            ? NodeIdentity(id: message.identifier.node.id, cluster: message.identifier.node.cluster) : nil
        do {
            var assembler = SnapshotAssembler(node: NodeIdentity(id: "n"))
            var snapshots = try assembler.add(message.envoyMetrics, receivedAtMs: 5)
            if let last = assembler.closeOpenSnapshot() { snapshots.append(last) }
            return .success(Decoded(node: node, snapshots: snapshots))
        } catch {
            return .failure(error)
        }
    }

    func messages(labels: Bool, mode: EnvoyMetricsServiceFlusher.HistogramEmitMode, batchSize: Int = 0) throws -> [[UInt8]] {
        var generator = EnvoySnapshotGenerator(seed: 23)
        let snapshot = generator.snapshot(metricCount: 80)
        let flusher = EnvoyMetricsServiceFlusher(emitTagsAsLabels: labels, histogramEmitMode: mode, batchSize: batchSize)
        return try flusher.messages(snapshot, opensStream: true).map { try $0.serializedBytes() }
    }

    func expectSame(_ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) {
        let ours = viaDecoder(bytes)
        guard let theirs = viaGenerated(bytes) else {
            // swift-protobuf refuses the bytes: so must we.
            if case .success = ours { Issue.record("accepted bytes swift-protobuf refuses: \(bytes)", sourceLocation: sourceLocation) }
            return
        }
        switch (ours, theirs) {
        case (.success(let ours), .success(let theirs)):
            #expect(ours == theirs, sourceLocation: sourceLocation)
        case (.failure(let ours), .failure(let theirs)):
            #expect(ours == theirs, sourceLocation: sourceLocation)
        default:
            Issue.record("decoder \(ours) but generated messages \(theirs)", sourceLocation: sourceLocation)
        }
    }

    @Test("Envoy's messages in every mode", arguments: EnvoyMetricsServiceFlusher.HistogramEmitMode.allCases, [false, true])
    func envoysMessagesDecodeAsTheGeneratedOnes(mode: EnvoyMetricsServiceFlusher.HistogramEmitMode, labels: Bool) throws {
        for bytes in try messages(labels: labels, mode: mode) + messages(labels: labels, mode: mode, batchSize: 7) {
            expectSame(bytes)
        }
        let first = try messages(labels: labels, mode: mode)[0]
        guard case .success(let decoded) = viaDecoder(first) else { Issue.record("refused"); return }
        #expect(decoded.node == NodeIdentity(id: "edge-17", cluster: "edge"))
        #expect(decoded.snapshots.first?.metricCount == 80)
    }

    @Test func theSpecGoldenMessage() {
        expectSame(GoldenVectors.streamMetricsMessage)
        expectSame(GoldenVectors.counterEntry)
    }

    @Test func everyTruncationIsRefusedOrReadAsSwiftProtobufReadsIt() throws {
        let bytes = try messages(labels: true, mode: .summaryAndHistogram)[0]
        for length in stride(from: 0, to: bytes.count, by: 7) { expectSame(Array(bytes.prefix(length))) }
    }

    @Test func corruptedBytesAreRefusedOrReadAsSwiftProtobufReadsThem() throws {
        let original = try messages(labels: true, mode: .summaryAndHistogram, batchSize: 3)[1]
        var random = SplitMix64(seed: 99)
        for _ in 0..<400 {
            var bytes = original
            for _ in 0..<Int.random(in: 1...3, using: &random) {
                bytes[Int.random(in: 0..<bytes.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
            }
            expectSame(bytes)
        }
    }

    /// `familyBytes` as the only `envoy_metrics` entry of a message (short families only).
    func message(withFamily familyBytes: [UInt8]) -> [UInt8] {
        [0x12, UInt8(familyBytes.count)] + familyBytes
    }

    @Test func unknownFieldsAreSkippedAndFieldsMayComeInAnyOrder() throws {
        let familyBytes: [UInt8] = try counterFamily("c", 5).serializedBytes()
        // Field 9 (varint 7) and field 10 (a string) are unknown to both.
        expectSame(message(withFamily: familyBytes + [0x48, 0x07, 0x52, 0x01, 0x41]))
        // The metric (field 4) before the name (1) and type (3).
        let metric = Array(familyBytes.drop { $0 != 0x22 })
        let reordered = message(withFamily: metric + Array(familyBytes.prefix(familyBytes.count - metric.count)))
        expectSame(reordered)
        guard case .success(let decoded) = viaDecoder(reordered) else { Issue.record("refused"); return }
        #expect(decoded.snapshots.first?.counters == [CounterSample(name: MetricName("c"), value: 5, delta: 5)])
    }

    @Test func invalidUTF8IsRefused() throws {
        var message = Envoy_Service_Metrics_V3_StreamMetricsMessage()
        message.envoyMetrics = [counterFamily("cé", 5)]
        var bytes: [UInt8] = try message.serializedBytes()
        let index = try #require(bytes.firstIndex(of: 0xC3))
        bytes[index] = 0xFF
        guard case .failure(let error) = viaDecoder(bytes) else { Issue.record("accepted"); return }
        #expect(error.message.contains("UTF-8"))
        #expect(viaGenerated(bytes) == nil, "swift-protobuf refuses it too")
    }

    @Test func semanticRefusalsMatchTheConverter() throws {
        for family in MetricFamilyConverterTests.rejected.map(\.family) {
            var message = Envoy_Service_Metrics_V3_StreamMetricsMessage()
            message.envoyMetrics = [counterFamily("ok", 1), family]
            expectSame(try message.serializedBytes())
        }
    }

    /// A length-delimited field (short contents only).
    func field(_ number: UInt8, _ bytes: [UInt8]) -> [UInt8] {
        [number << 3 | 2, UInt8(bytes.count)] + bytes
    }

    func double(_ value: Double) -> [UInt8] {
        withUnsafeBytes(of: value.bitPattern.littleEndian, Array.init)
    }

    // Inputs `statsink-fuzz grpc` found taken differently from swift-protobuf (issue 6).

    @Test func everyFamilyNameMustBeUTF8() throws {
        let counter: [UInt8] = try counterFamily("c", 5).serializedBytes()
        // Without metrics, and in an earlier occurrence of the name.
        expectSame(field(2, field(1, [0x6E, 0xFF])))
        expectSame(field(2, field(1, [0xFF]) + counter))
        guard case .failure = viaDecoder(field(2, field(1, [0xFF]) + counter)) else { Issue.record("accepted"); return }
    }

    @Test func fieldKeysAreAtMost32Bits() throws {
        let counter: [UInt8] = try counterFamily("c", 5).serializedBytes()
        // Field 6 (timestamp_ms) with its key padded to 6 bytes, then one above 32 bits.
        expectSame(field(2, counter + [0xB0, 0x80, 0x80, 0x80, 0x80, 0x00, 0x01]))
        expectSame(field(2, counter + [0xB0, 0x80, 0x80, 0x80, 0x10, 0x01]))
        guard case .failure = viaDecoder(field(2, counter + [0xB0, 0x80, 0x80, 0x80, 0x80, 0x00, 0x01])) else { Issue.record("accepted"); return }
    }

    @Test func theTypeIsAnInt32() throws {
        // 2^32 + 1 is GAUGE to protobuf: the counter family becomes a gauge without its value.
        let counter: [UInt8] = try counterFamily("c", 5).serializedBytes()
        expectSame(field(2, counter + [0x18, 0x81, 0x80, 0x80, 0x80, 0x10]))
        guard case .failure(let error) = viaDecoder(field(2, counter + [0x18, 0x81, 0x80, 0x80, 0x80, 0x10])) else {
            Issue.record("accepted")
            return
        }
        #expect(error.message.contains("of type GAUGE has a metric without its gauge value"))
    }

    @Test func valuesSentTwiceMerge() throws {
        // counter {value: 5} then counter {}: 5.
        let counterMetric = field(3, [0x09] + double(5)) + field(3, []) + [0x30, 0xE8, 0x07]
        let counter = field(2, [0x0A, 0x01, 0x63, 0x18, 0x00] + field(4, counterMetric))
        expectSame(counter)
        guard case .success(let decoded) = viaDecoder(counter) else { Issue.record("refused"); return }
        #expect(decoded.snapshots.first?.counters.first?.value == 5)
        // Two histogram fields: the buckets add up, the last count wins.
        let histogramMetric = field(7, [0x08, 0x01] + field(3, [0x08, 0x01, 0x11] + double(1)))
            + field(7, [0x08, 0x02] + field(3, [0x08, 0x02, 0x11] + double(2)))
        let histogram = field(2, [0x0A, 0x01, 0x68, 0x18, 0x04] + field(4, histogramMetric))
        expectSame(histogram)
        guard case .success(let merged) = viaDecoder(histogram) else { Issue.record("refused"); return }
        let statistics = try #require(merged.snapshots.first?.histograms.first?.statistics)
        #expect(statistics.bucketBounds == [1, 2])
        #expect(statistics.cumulativeCounts == [1, 2])
        #expect(statistics.sampleCount == 2)
    }

    @Test func identifiersSentTwiceMerge() {
        let bytes = field(1, field(1, field(1, [0x61]))) + field(1, field(1, field(2, [0x62])))
        expectSame(bytes)
        guard case .success(let decoded) = viaDecoder(bytes) else { Issue.record("refused"); return }
        #expect(decoded.node == NodeIdentity(id: "a", cluster: "b"))
    }
}
