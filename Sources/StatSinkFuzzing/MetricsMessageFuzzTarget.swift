import Foundation
import StatSinkCodec
import StatSinkGRPC
import StatSinkModel
import StatSinkProtobuf
import StatSinkSynthetic
import SwiftProtobuf

/// The gRPC ingest decoder (`grpc`): bytes of a `StreamMetricsMessage` through
/// `DecodedMetricsMessage`, the `SnapshotAssembler` and the Kafka encoders.
///
/// Oracles, besides ending without a trap in time:
/// - The decoder returns a message or throws `MalformedMetricsError` with a message (typed
///   throws guarantee the type).
/// - When it takes the bytes, swift-protobuf decodes the fields it reads
///   (``DecoderProjection``) and the generated messages with `MetricFamilyConverter` assemble
///   the same node and snapshots (doubles by bit pattern). When swift-protobuf takes the whole
///   bytes too, the same holds for them.
/// - When swift-protobuf takes the bytes, the canonical re-encoding of what it read (unknown
///   fields dropped) is read by our decoder exactly as the converter reads it: the same
///   snapshots, or the same refusal. (On the raw bytes our decoder may be stricter: it refuses
///   groups, wrong wire types and 10-byte varints above 64 bits, which protobuf skips or keeps.)
/// - The assembled snapshots encode to Kafka values in both formats: JSON that Foundation
///   parses, and PROTOBUF that swift-protobuf and our decoder read back, one family per metric.
public struct MetricsMessageFuzzTarget: FuzzTarget {
    public let name = "grpc"
    public let maximumInputSize = 64 * 1024

    /// Creates the target.
    public init() {}

    public func seeds() -> [[UInt8]] {
        MetricsMessageSeeds.all()
    }

    public func mutate(_ input: inout [UInt8], donor: [UInt8], using random: inout SplitMix64) {
        if Int.random(in: 0..<3, using: &random) > 0, ProtobufMutator.mutate(&input, donor: donor, using: &random) {
            if input.count > maximumInputSize { input.removeLast(input.count - maximumInputSize) }
            return
        }
        ByteMutator.mutate(&input, donor: donor, maximumSize: maximumInputSize, using: &random)
    }

    public func run(_ input: [UInt8]) -> FuzzOutcome {
        let ours = Self.viaDecoder(input)
        if let failure = checkAgainstReference(input, ours: ours) { return .failure(failure) }
        switch ours {
        case .failure(let error):
            return .rejected(FuzzOutcome.shape(of: error.message))
        case .success(let decoded):
            for snapshot in decoded.snapshots {
                if let failure = Self.checkEncoders(snapshot) { return .failure(failure) }
            }
            return .accepted(Self.signature(decoded))
        }
    }

    // MARK: Oracles

    private func checkAgainstReference(_ input: [UInt8], ours: Result<Decoded, MalformedMetricsError>) -> String? {
        if case .failure(let error) = ours, error.message.isEmpty { return "MalformedMetricsError with an empty message" }
        let whole = try? Envoy_Service_Metrics_V3_StreamMetricsMessage(serializedBytes: input)
        if case .success(let decoded) = ours {
            guard let projected = DecoderProjection.streamMetricsMessage(input) else {
                return "the decoder took bytes that do not read as protobuf"
            }
            let reference: Envoy_Service_Metrics_V3_StreamMetricsMessage
            do {
                reference = try Envoy_Service_Metrics_V3_StreamMetricsMessage(serializedBytes: projected)
            } catch {
                return "the decoder took bytes whose fields it reads swift-protobuf refuses (\(error)); those fields: \(hex(projected))"
            }
            if let difference = Self.difference(decoded, Self.viaConverter(reference)) {
                return "decoder and swift-protobuf + converter differ on the fields the decoder reads: \(difference)"
            }
            if let whole, let difference = Self.difference(decoded, Self.viaConverter(whole)) {
                return "decoder and swift-protobuf + converter differ on the whole bytes: \(difference)"
            }
        }
        guard whole != nil else { return nil }
        var options = BinaryDecodingOptions()
        options.discardUnknownFields = true
        guard let known = try? Envoy_Service_Metrics_V3_StreamMetricsMessage(serializedBytes: input, options: options),
            let canonical: [UInt8] = try? known.serializedBytes()
        else { return "swift-protobuf decodes the bytes but not without their unknown fields" }
        let converted = Self.viaConverter(known)
        switch (Self.viaDecoder(canonical), converted) {
        case (.success(let ours), .success):
            if let difference = Self.difference(ours, converted) {
                return "on swift-protobuf's canonical re-encoding, decoder and converter differ: \(difference); re-encoding: \(hex(canonical))"
            }
        case (.failure(let ours), .failure(let theirs)):
            if ours != theirs {
                return "on swift-protobuf's canonical re-encoding, the decoder refuses with \"\(ours)\", the converter with \"\(theirs)\""
            }
        case (.failure(let ours), .success):
            return "the decoder refuses swift-protobuf's canonical re-encoding, which the converter takes: \(ours); re-encoding: \(hex(canonical))"
        case (.success, .failure(let theirs)):
            return "the decoder takes swift-protobuf's canonical re-encoding, which the converter refuses: \(theirs)"
        }
        return nil
    }

    /// Encodes `snapshot` in both Kafka formats, with and without labels and batches, and
    /// reads the values back.
    static func checkEncoders(_ snapshot: MetricSnapshot) -> String? {
        let optionSets = [
            EncodingOptions(format: .json, batchSize: 0, emitTagsAsLabels: true, reportCountersAsDeltas: false),
            EncodingOptions(format: .json, batchSize: 2, emitTagsAsLabels: false, reportCountersAsDeltas: true),
            EncodingOptions(format: .protobuf, batchSize: 0, emitTagsAsLabels: true, reportCountersAsDeltas: false),
            EncodingOptions(format: .protobuf, batchSize: 3, emitTagsAsLabels: false, reportCountersAsDeltas: true),
        ]
        for options in optionSets {
            let messages = SnapshotEncoder(options: options).encode(snapshot, sequence: 1)
            guard messages.map(\.metricCount).reduce(0, +) == snapshot.metricCount else {
                return "the \(options.format.rawValue) messages hold \(messages.map(\.metricCount)) metrics of \(snapshot.metricCount)"
            }
            for message in messages {
                switch options.format {
                case .json:
                    guard (try? JSONSerialization.jsonObject(with: Data(message.value))) is [String: Any] else {
                        return "a JSON value Foundation cannot parse: \(String(decoding: message.value, as: UTF8.self))"
                    }
                case .protobuf:
                    guard let reference = try? Envoy_Service_Metrics_V3_StreamMetricsMessage(serializedBytes: message.value) else {
                        return "a PROTOBUF value swift-protobuf cannot decode: \(hex(message.value))"
                    }
                    guard reference.envoyMetrics.count == message.metricCount else {
                        return "a PROTOBUF value with \(reference.envoyMetrics.count) families for \(message.metricCount) metrics"
                    }
                    switch message.value.withUnsafeBytes({ bytes in Result { () throws(MalformedMetricsError) in try DecodedMetricsMessage(serializedBytes: bytes) } }) {
                    case .success(let decoded) where decoded.metricCount == message.metricCount:
                        break
                    case .success(let decoded):
                        return "our decoder reads \(decoded.metricCount) metrics from a PROTOBUF value of \(message.metricCount)"
                    case .failure(let error):
                        return "our decoder refuses a PROTOBUF value of our encoder: \(error); value: \(hex(message.value))"
                    }
                }
            }
        }
        return nil
    }

    // MARK: The two readings

    /// The node and the snapshots of one message on a fresh stream.
    struct Decoded {
        var node: NodeIdentity?
        var snapshots: [MetricSnapshot]
    }

    static let streamNode = NodeIdentity(id: "fuzz-node")
    static let receivedAtMs: Int64 = 1_764_000_000_000

    static func viaDecoder(_ bytes: [UInt8]) -> Result<Decoded, MalformedMetricsError> {
        bytes.withUnsafeBytes { buffer in
            Result { () throws(MalformedMetricsError) in
                let message = try DecodedMetricsMessage(serializedBytes: buffer)
                var assembler = SnapshotAssembler(node: streamNode)
                var snapshots = assembler.add(message, receivedAtMs: receivedAtMs)
                if let last = assembler.closeOpenSnapshot() { snapshots.append(last) }
                return Decoded(node: message.node, snapshots: snapshots)
            }
        }
    }

    static func viaConverter(_ message: Envoy_Service_Metrics_V3_StreamMetricsMessage) -> Result<Decoded, MalformedMetricsError> {
        let node = message.hasIdentifier && message.identifier.hasNode
            ? NodeIdentity(id: message.identifier.node.id, cluster: message.identifier.node.cluster) : nil
        return Result { () throws(MalformedMetricsError) in
            var assembler = SnapshotAssembler(node: streamNode)
            var snapshots = try assembler.add(message.envoyMetrics, receivedAtMs: receivedAtMs)
            if let last = assembler.closeOpenSnapshot() { snapshots.append(last) }
            return Decoded(node: node, snapshots: snapshots)
        }
    }

    static func difference(_ ours: Decoded, _ theirs: Result<Decoded, MalformedMetricsError>) -> String? {
        switch theirs {
        case .failure(let error):
            return "the decoder takes what the converter refuses: \(error)"
        case .success(let theirs):
            if ours.node != theirs.node { return "node \(String(describing: ours.node)) against \(String(describing: theirs.node))" }
            return SnapshotDifference.first(ours.snapshots, theirs.snapshots)
        }
    }

    /// The class of an accepted message: how many snapshots, which kinds of metric, a node.
    static func signature(_ decoded: Decoded) -> String {
        var kinds = ""
        if decoded.snapshots.contains(where: { !$0.counters.isEmpty }) { kinds += "c" }
        if decoded.snapshots.contains(where: { !$0.gauges.isEmpty }) { kinds += "g" }
        if decoded.snapshots.contains(where: { $0.histograms.contains { !$0.statistics.quantiles.isEmpty } }) { kinds += "q" }
        if decoded.snapshots.contains(where: { $0.histograms.contains { !$0.statistics.bucketBounds.isEmpty } }) { kinds += "b" }
        let tags = decoded.snapshots.contains { $0.counters.contains { !$0.name.tags.isEmpty } } ? " tags" : ""
        return "\(min(decoded.snapshots.count, 3)) snapshots \(kinds.isEmpty ? "-" : kinds)\(decoded.node == nil ? "" : " node")\(tags)"
    }
}

/// `bytes` in hex, cut after 512 bytes.
func hex(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef")
    var text = ""
    for byte in bytes.prefix(512) {
        text.append(digits[Int(byte >> 4)])
        text.append(digits[Int(byte & 0xF)])
    }
    return bytes.count > 512 ? text + "… (\(bytes.count) bytes)" : text
}
