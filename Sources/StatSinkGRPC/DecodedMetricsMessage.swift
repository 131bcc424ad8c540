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
/// what ``SnapshotAssembler`` takes from the generated messages (the tests and `statsink-fuzz
/// grpc` hold the two to each other), fields sent twice merged as protobuf merges them, and
/// refuses what it refuses. It skips unknown fields and the fields it does not use (`help`,
/// exemplars, the rest of `Node`) without checking them. A message that is not valid protobuf,
/// or holds a string it reads that is not UTF-8, is refused as a whole; so are groups and known
/// fields of the wrong wire type, which protobuf would keep as unknown fields.
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
                // A field sent twice merges with the first (protobuf's rule for messages).
                node = try decoder.identifierNode(reader.lengthDelimited(), merging: node)
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

    /// `identifier.node` read into `node` (the node of an earlier `identifier`, if any).
    mutating func identifierNode(
        _ bytes: UnsafeRawBufferPointer, merging node: NodeIdentity?
    ) throws(MalformedMetricsError) -> NodeIdentity? {
        var identifier = ProtobufWireReader(bytes)
        var node = node
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
        var hasName = false
        var type = Io_Prometheus_Client_MetricType.counter
        var metricCount = 0
        while let field = try reader.nextField() {
            switch field.number {
            case 1:
                try ProtobufWireReader.expect(.lengthDelimited, field.wireType, field: 1, of: "MetricFamily")
                // The last name counts, but an earlier one must be UTF-8 too (as in swift-protobuf).
                if hasName { _ = try ProtobufWireReader.string(nameBytes) }
                nameBytes = try reader.lengthDelimited()
                hasName = true
            case 3:
                try ProtobufWireReader.expect(.varint, field.wireType, field: 3, of: "MetricFamily")
                // An enum is an int32 (protobuf keeps the low 32 bits of the varint); an unknown
                // value is kept aside in proto2, leaving the type as it was.
                let raw = Int(Int32(truncatingIfNeeded: try reader.varint()))
                if let known = Io_Prometheus_Client_MetricType(rawValue: raw) { type = known }
            case 4:
                try ProtobufWireReader.expect(.lengthDelimited, field.wireType, field: 4, of: "MetricFamily")
                _ = try reader.lengthDelimited()
                metricCount += 1
            default:
                try reader.skip(field.wireType)
            }
        }
        // Checked even without metrics: a name that is not UTF-8 refuses the message, as in
        // swift-protobuf.
        let name = try ProtobufWireReader.string(nameBytes)
        guard metricCount > 0 else { return }
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
        var hasValue = false
        // The value, merged over every occurrence of its field: protobuf merges a message field
        // sent more than once (later fields win, repeated entries add up).
        var number = 0.0
        var half: ReceivedMetric.HistogramHalf?
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
                let valueBytes = try reader.lengthDelimited()
                hasValue = true
                switch type {
                case .summary: try summary(valueBytes, into: &half)
                case .histogram: try histogram(valueBytes, family: family, into: &half)
                default: try singleDouble(valueBytes, into: &number)
                }
            default:
                try reader.skip(field.wireType)
            }
        }
        let name = MetricFamilyConverter.metricName(family, tags: tags)
        guard hasValue else {
            let field = switch type {
            case .gauge: "gauge"
            case .summary: "summary"
            case .histogram: "histogram"
            default: "counter"
            }
            throw MetricFamilyConverter.missingValue(field, family, type)
        }
        half?.shareConstantPoints()
        let value: ReceivedMetric.Value
        switch type {
        case .gauge:
            value = .gauge(GaugeSample(name: name, value: MetricFamilyConverter.unsignedValue(number)))
        case .summary:
            value = .summary(name, half!)
        case .histogram:
            value = .histogram(name, half!)
        default:
            let count = MetricFamilyConverter.unsignedValue(number)
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

    /// Reads the `value` (field 1, a double) of a `Counter` or `Gauge` into `value`, which is
    /// left as it was when absent.
    private func singleDouble(_ bytes: UnsafeRawBufferPointer, into value: inout Double) throws(MalformedMetricsError) {
        var reader = ProtobufWireReader(bytes)
        while let field = try reader.nextField() {
            if field.number == 1 {
                try ProtobufWireReader.expect(.fixed64, field.wireType, field: 1, of: "Counter or Gauge")
                value = try reader.double()
            } else {
                try reader.skip(field.wireType)
            }
        }
    }

    /// Reads a `Summary` into `half` (made on its first occurrence).
    private func summary(_ bytes: UnsafeRawBufferPointer, into half: inout ReceivedMetric.HistogramHalf?) throws(MalformedMetricsError) {
        if half == nil { half = ReceivedMetric.HistogramHalf(summaryCount: 0, sum: 0, capacity: HistogramStatistics.supportedQuantiles.count) }
        try countSumAndEntries(bytes, of: "Summary", into: &half!, nativeFamily: nil) { entry, half throws(MalformedMetricsError) in
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
    }

    /// Reads a `Histogram` into `half` (made on its first occurrence).
    private func histogram(
        _ bytes: UnsafeRawBufferPointer, family: String, into half: inout ReceivedMetric.HistogramHalf?
    ) throws(MalformedMetricsError) {
        if half == nil { half = ReceivedMetric.HistogramHalf(histogramCount: 0, sum: 0, capacity: HistogramStatistics.defaultBucketBounds.count) }
        try countSumAndEntries(bytes, of: "Histogram", into: &half!, nativeFamily: family) { entry, half throws(MalformedMetricsError) in
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
