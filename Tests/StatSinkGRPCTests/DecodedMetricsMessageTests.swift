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
}
