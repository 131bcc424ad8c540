import GRPCCore
import StatSinkModel
import StatSinkProtobuf

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A serialized `envoy.service.metrics.v3.StreamMetricsMessage`, read straight into the model.
///
/// The server reads messages with this decoder rather than with swift-protobuf's generated
/// messages: it makes no object per family, metric, label, quantile or bucket, only the strings
/// and arrays the snapshot keeps, which makes ingestion several times faster. It takes exactly
/// what ``SnapshotAssembler`` takes from the generated messages (the tests hold the two to each
/// other), refuses what it refuses, and skips unknown fields. A message that is not valid protobuf, or holds a string that is
/// not UTF-8, is refused as a whole.
public struct DecodedMetricsMessage: Sendable {
    /// `identifier.node`, when the message has one (Envoy sends it on a stream's first message).
    public var node: NodeIdentity?
    /// The metrics, in the message's order.
    var metrics: [ReceivedMetric]

    /// The number of series in the message (a family's metrics count one each).
    public var metricCount: Int { metrics.count }

    /// Decodes a serialized message.
    ///
    /// - Throws: ``MalformedMetricsError`` saying what is wrong.
    public init(serializedBytes bytes: UnsafeRawBufferPointer) throws(MalformedMetricsError) {
        var reader = ProtobufWireReader(bytes)
        var decoder = MetricsMessageDecoder()
        node = nil
        metrics = []
        while let field = try reader.nextField() {
            switch field.number {
            case 1:
                try ProtobufWireReader.expect(.lengthDelimited, field.wireType, field: 1, of: "StreamMetricsMessage")
                if let node = try decoder.identifierNode(reader.lengthDelimited()) { self.node = node }
            case 2:
                try ProtobufWireReader.expect(.lengthDelimited, field.wireType, field: 2, of: "StreamMetricsMessage")
                try decoder.family(reader.lengthDelimited(), into: &metrics)
            default:
                try reader.skip(field.wireType)
            }
        }
    }
}

/// The gRPC deserializer of the server: bytes → ``DecodedMetricsMessage``, or `INVALID_ARGUMENT`.
struct DecodedMetricsMessageDeserializer: MessageDeserializer {
    func deserialize<Bytes: GRPCContiguousBytes>(_ serializedMessageBytes: Bytes) throws -> DecodedMetricsMessage {
        do {
            return try serializedMessageBytes.withUnsafeBytes { try DecodedMetricsMessage(serializedBytes: $0) }
        } catch let error as MalformedMetricsError {
            throw RPCError(code: .invalidArgument, message: "cannot take this StreamMetricsMessage: \(error.message)")
        }
    }
}

/// The field-by-field reading of one message (`wire-format.md` §4 gives the field numbers).
private struct MetricsMessageDecoder {
    /// Tag names seen in this message: Envoy's few tag names are each made into a `String` once.
    private var tagNames: [String] = []

    mutating func identifierNode(_ bytes: UnsafeRawBufferPointer) throws(MalformedMetricsError) -> NodeIdentity? {
        var identifier = ProtobufWireReader(bytes)
        var node: NodeIdentity?
        while let field = try identifier.nextField() {
            guard field.number == 1 else {
                try identifier.skip(field.wireType)
                continue
            }
            try ProtobufWireReader.expect(.lengthDelimited, field.wireType, field: 1, of: "Identifier")
            var reader = ProtobufWireReader(try identifier.lengthDelimited())
            var decoded = node ?? NodeIdentity(id: "")
            while let nodeField = try reader.nextField() {
                switch nodeField.number {
                case 1:
                    try ProtobufWireReader.expect(.lengthDelimited, nodeField.wireType, field: 1, of: "Node")
                    decoded.id = try reader.string()
                case 2:
                    try ProtobufWireReader.expect(.lengthDelimited, nodeField.wireType, field: 2, of: "Node")
                    decoded.cluster = try reader.string()
                default:
                    try reader.skip(nodeField.wireType)
                }
            }
            node = decoded
        }
        return node
    }

    /// A `MetricFamily`: its name and type first (fields may come in any order), then each metric.
    mutating func family(_ bytes: UnsafeRawBufferPointer, into metrics: inout [ReceivedMetric]) throws(MalformedMetricsError) {
        var reader = ProtobufWireReader(bytes)
        var nameBytes = UnsafeRawBufferPointer(start: nil, count: 0)
        var type = Io_Prometheus_Client_MetricType.counter
        var metricCount = 0
        while let field = try reader.nextField() {
            switch field.number {
            case 1:
                try ProtobufWireReader.expect(.lengthDelimited, field.wireType, field: 1, of: "MetricFamily")
                nameBytes = try reader.lengthDelimited()
            case 3:
                try ProtobufWireReader.expect(.varint, field.wireType, field: 3, of: "MetricFamily")
                // An unknown enum value is kept aside in proto2, leaving the type as it was.
                if let known = Io_Prometheus_Client_MetricType(rawValue: Int(truncatingIfNeeded: try reader.varint())) { type = known }
            case 4:
                try ProtobufWireReader.expect(.lengthDelimited, field.wireType, field: 4, of: "MetricFamily")
                _ = try reader.lengthDelimited()
                metricCount += 1
            default:
                try reader.skip(field.wireType)
            }
        }
        guard metricCount > 0 else { return }
        let name = try ProtobufWireReader.string(nameBytes)
        if type == .untyped || type == .gaugeHistogram { throw MetricFamilyConverter.unsupportedType(name, type) }
        var metricsReader = ProtobufWireReader(bytes)
        while let field = try metricsReader.nextField() {
            if field.number == 4 {
                metrics.append(try metric(metricsReader.lengthDelimited(), family: name, type: type))
            } else {
                try metricsReader.skip(field.wireType)
            }
        }
    }

    /// A `Metric`: its labels, timestamp and the value of its family's type.
    private mutating func metric(
        _ bytes: UnsafeRawBufferPointer, family: String, type: Io_Prometheus_Client_MetricType
    ) throws(MalformedMetricsError) -> ReceivedMetric {
        var reader = ProtobufWireReader(bytes)
        var tags: [Tag] = []
        var timestamp: Int64?
        var valueBytes: UnsafeRawBufferPointer?
        // The field of the type's value: gauge 2, counter 3, summary 4, histogram 7.
        let valueField: UInt64 = switch type {
        case .gauge: 2
        case .summary: 4
        case .histogram: 7
        default: 3
        }
        while let field = try reader.nextField() {
            switch field.number {
            case 1:
                try ProtobufWireReader.expect(.lengthDelimited, field.wireType, field: 1, of: "Metric")
                tags.append(try label(reader.lengthDelimited()))
            case 6:
                try ProtobufWireReader.expect(.varint, field.wireType, field: 6, of: "Metric")
                timestamp = Int64(bitPattern: try reader.varint())
            case valueField:
                try ProtobufWireReader.expect(.lengthDelimited, field.wireType, field: valueField, of: "Metric")
                valueBytes = try reader.lengthDelimited()
            default:
                try reader.skip(field.wireType)
            }
        }
        let name = MetricFamilyConverter.metricName(family, tags: tags)
        guard let valueBytes else {
            let field = switch type {
            case .gauge: "gauge"
            case .summary: "summary"
            case .histogram: "histogram"
            default: "counter"
            }
            throw MetricFamilyConverter.missingValue(field, family, type)
        }
        let value: ReceivedMetric.Value
        switch type {
        case .gauge:
            value = .gauge(GaugeSample(name: name, value: MetricFamilyConverter.unsignedValue(try singleDouble(valueBytes))))
        case .summary:
            value = .summary(name, try summary(valueBytes))
        case .histogram:
            value = .histogram(name, try histogram(valueBytes, family: family))
        default:
            let count = MetricFamilyConverter.unsignedValue(try singleDouble(valueBytes))
            value = .counter(CounterSample(name: name, value: count, delta: count))
        }
        return ReceivedMetric(timestampMs: timestamp, value: value)
    }

    private mutating func label(_ bytes: UnsafeRawBufferPointer) throws(MalformedMetricsError) -> Tag {
        var reader = ProtobufWireReader(bytes)
        var tag = Tag(name: "", value: "")
        while let field = try reader.nextField() {
            switch field.number {
            case 1:
                try ProtobufWireReader.expect(.lengthDelimited, field.wireType, field: 1, of: "LabelPair")
                tag.name = try tagName(reader.lengthDelimited())
            case 2:
                try ProtobufWireReader.expect(.lengthDelimited, field.wireType, field: 2, of: "LabelPair")
                tag.value = try reader.string()
            default:
                try reader.skip(field.wireType)
            }
        }
        return tag
    }

    /// The `value` (field 1, a double) of a `Counter` or `Gauge`; 0 when absent.
    private func singleDouble(_ bytes: UnsafeRawBufferPointer) throws(MalformedMetricsError) -> Double {
        var reader = ProtobufWireReader(bytes)
        var value = 0.0
        while let field = try reader.nextField() {
            if field.number == 1 {
                try ProtobufWireReader.expect(.fixed64, field.wireType, field: 1, of: "Counter or Gauge")
                value = try reader.double()
            } else {
                try reader.skip(field.wireType)
            }
        }
        return value
    }

    private func summary(_ bytes: UnsafeRawBufferPointer) throws(MalformedMetricsError) -> ReceivedMetric.HistogramHalf {
        var half = ReceivedMetric.HistogramHalf(summaryCount: 0, sum: 0, capacity: HistogramStatistics.supportedQuantiles.count)
        try countSumAndEntries(bytes, of: "Summary", into: &half, nativeFamily: nil) { entry, half throws(MalformedMetricsError) in
            var quantile = ProtobufWireReader(entry)
            var point = 0.0
            var value = 0.0
            while let field = try quantile.nextField() {
                switch field.number {
                case 1:
                    try ProtobufWireReader.expect(.fixed64, field.wireType, field: 1, of: "Quantile")
                    point = try quantile.double()
                case 2:
                    try ProtobufWireReader.expect(.fixed64, field.wireType, field: 2, of: "Quantile")
                    value = try quantile.double()
                default:
                    try quantile.skip(field.wireType)
                }
            }
            half.addQuantile(point, value: value)
        }
        return half
    }

    private func histogram(_ bytes: UnsafeRawBufferPointer, family: String) throws(MalformedMetricsError) -> ReceivedMetric.HistogramHalf {
        var half = ReceivedMetric.HistogramHalf(histogramCount: 0, sum: 0, capacity: HistogramStatistics.defaultBucketBounds.count)
        try countSumAndEntries(bytes, of: "Histogram", into: &half, nativeFamily: family) { entry, half throws(MalformedMetricsError) in
            var bucket = ProtobufWireReader(entry)
            var bound = 0.0
            var count: UInt64 = 0
            while let field = try bucket.nextField() {
                switch field.number {
                case 1:
                    try ProtobufWireReader.expect(.varint, field.wireType, field: 1, of: "Bucket")
                    count = try bucket.varint()
                case 2:
                    try ProtobufWireReader.expect(.fixed64, field.wireType, field: 2, of: "Bucket")
                    bound = try bucket.double()
                case 4:
                    throw MetricFamilyConverter.nativeHistogram(family)  // cumulative_count_float
                default:
                    try bucket.skip(field.wireType)
                }
            }
            half.addBucket(bound, count: count)
        }
        return half
    }

    /// The fields a `Summary` and a `Histogram` share: `sample_count` (1), `sample_sum` (2) and
    /// the repeated entries (3: quantiles or buckets), each handed to `entry`. For a histogram
    /// (`nativeFamily`), fields 4 to 14 (float counts, schema, spans, …) mark a native one.
    private func countSumAndEntries(
        _ bytes: UnsafeRawBufferPointer, of message: StaticString, into half: inout ReceivedMetric.HistogramHalf, nativeFamily: String?,
        entry: (UnsafeRawBufferPointer, inout ReceivedMetric.HistogramHalf) throws(MalformedMetricsError) -> Void
    ) throws(MalformedMetricsError) {
        var reader = ProtobufWireReader(bytes)
        while let field = try reader.nextField() {
            switch field.number {
            case 1:
                try ProtobufWireReader.expect(.varint, field.wireType, field: 1, of: message)
                half.sampleCount = try reader.varint()
            case 2:
                try ProtobufWireReader.expect(.fixed64, field.wireType, field: 2, of: message)
                half.sampleSum = try reader.double()
            case 3:
                try ProtobufWireReader.expect(.lengthDelimited, field.wireType, field: 3, of: message)
                try entry(reader.lengthDelimited(), &half)
            case 4...14 where nativeFamily != nil:
                throw MetricFamilyConverter.nativeHistogram(nativeFamily!)
            default:
                try reader.skip(field.wireType)
            }
        }
        half.shareConstantPoints()
    }

    /// A tag name, made into a `String` once per message.
    private mutating func tagName(_ bytes: UnsafeRawBufferPointer) throws(MalformedMetricsError) -> String {
        for known in tagNames where known.utf8.count == bytes.count {
            let equal = known.utf8.withContiguousStorageIfAvailable { stored in
                bytes.count == 0 || memcmp(stored.baseAddress!, bytes.baseAddress!, bytes.count) == 0
            } ?? known.utf8.elementsEqual(bytes)
            if equal { return known }
        }
        let name = try ProtobufWireReader.string(bytes)
        if tagNames.count < 32 { tagNames.append(name) }
        return name
    }
}
