import StatSinkModel

/// Turns a metric snapshot into the Kafka messages that carry it.
///
/// Values are exactly those of Envoy's contrib Kafka stat sink (`wire-format.md` §2–4): the
/// snapshot's metrics in order (counters, gauges, histograms), split into messages of at most
/// ``EncodingOptions/batchSize`` metrics, a histogram counting as one; an empty snapshot still
/// makes one message. Each message also gets our key and headers (§5), which identify it by
/// `(node id, snapshot sequence, batch index)`.
public struct SnapshotEncoder: Sendable {
    /// The encoding settings.
    public let options: EncodingOptions

    /// Creates an encoder.
    public init(options: EncodingOptions) {
        self.options = options
    }

    /// Encodes `snapshot`, which the queue numbered `sequence`, into one or more messages.
    public func encode(_ snapshot: MetricSnapshot, sequence: UInt64) -> [KafkaMessage] {
        let ranges = batchRanges(metricCount: snapshot.metricCount)
        let key = Array(snapshot.node.id.utf8)
        let commonHeaders = [
            KafkaHeader(name: KafkaHeader.Name.contentType, value: options.format.contentType),
            KafkaHeader(name: KafkaHeader.Name.nodeID, value: snapshot.node.id),
            KafkaHeader(name: KafkaHeader.Name.snapshotSequence, value: String(sequence)),
            KafkaHeader(name: KafkaHeader.Name.snapshotTimeMs, value: String(snapshot.timestampMs)),
        ]
        let batchCount = KafkaHeader(name: KafkaHeader.Name.batchCount, value: String(ranges.count))
        return ranges.enumerated().map { batchIndex, range in
            var headers = commonHeaders
            headers.append(KafkaHeader(name: KafkaHeader.Name.batchIndex, value: String(batchIndex)))
            headers.append(batchCount)
            return KafkaMessage(
                value: encodeValue(snapshot, metrics: range),
                key: key,
                headers: headers,
                metricCount: range.count,
                batchIndex: batchIndex,
                batchCount: ranges.count
            )
        }
    }

    /// Encodes the message value holding the metrics at `metrics`, positions in the snapshot's
    /// order (counters, then gauges, then histograms).
    public func encodeValue(_ snapshot: MetricSnapshot, metrics: Range<Int>) -> [UInt8] {
        switch options.format {
        case .json:
            Self.encode(snapshot, metrics: metrics, with: JSONMessageWriter(options: options, timestampMs: snapshot.timestampMs))
        case .protobuf:
            Self.encode(snapshot, metrics: metrics, with: ProtobufMessageWriter(options: options, timestampMs: snapshot.timestampMs))
        }
    }

    /// The metric positions of each message: `batch_size` per message (the last may hold fewer),
    /// all in one when `batch_size` is 0, and one empty message for an empty snapshot.
    public func batchRanges(metricCount: Int) -> [Range<Int>] {
        let size = Int(options.batchSize)
        guard size > 0, metricCount > size else { return [0..<metricCount] }
        return stride(from: 0, to: metricCount, by: size).map { $0..<min($0 + size, metricCount) }
    }

    /// One pass over the metrics, straight into the array returned; each writer reserves room
    /// before writing, and sizes the array beforehand. Samples are passed as pointers into the
    /// snapshot's arrays, so they are read in place rather than copied.
    private static func encode(_ snapshot: MetricSnapshot, metrics: Range<Int>, with writer: some MetricValueWriter) -> [UInt8] {
        var writer = writer
        let gaugeStart = snapshot.counters.count
        let histogramStart = gaugeStart + snapshot.gauges.count
        // Positions within each array.
        let counters = metrics.clamped(to: 0..<gaugeStart)
        let gauges = metrics.clamped(to: gaugeStart..<histogramStart).offset(by: -gaugeStart)
        let histograms = metrics.clamped(to: histogramStart..<snapshot.metricCount).offset(by: -histogramStart)
        let capacity = writer.capacity(for: snapshot, counters: counters, gauges: gauges, histograms: histograms)
        return ByteCursor.bytes(capacity: capacity) { cursor in
            writer.writeStart(into: &cursor)
            snapshot.counters.forEachPointer(in: counters) { writer.write($0, into: &cursor) }
            snapshot.gauges.forEachPointer(in: gauges) { writer.write($0, into: &cursor) }
            snapshot.histograms.forEachPointer(in: histograms) { writer.write($0, into: &cursor) }
            writer.writeEnd(into: &cursor)
        }
    }
}

extension Range<Int> {
    fileprivate func offset(by distance: Int) -> Range<Int> {
        (lowerBound + distance)..<(upperBound + distance)
    }
}

extension Array {
    /// Calls `body` with a pointer to each element at `positions`, which must be valid. Unlike
    /// passing `self[index]`, this does not copy the elements (retaining what they reference).
    @inline(__always)
    func forEachPointer(in positions: Range<Int>, _ body: (UnsafePointer<Element>) -> Void) {
        withUnsafeBufferPointer { elements in
            precondition(positions.isEmpty || (positions.lowerBound >= 0 && positions.upperBound <= elements.count), "positions out of bounds")
            guard let base = elements.baseAddress else { return }
            for index in positions { body(base + index) }
        }
    }
}

/// What the JSON and PROTOBUF writers have in common: one write per metric, in order. Each write
/// reserves the room it needs in the cursor first. Samples come as pointers into the snapshot's
/// arrays, valid for the call.
protocol MetricValueWriter {
    /// The bytes to allocate for the value holding these metrics (positions in the snapshot's
    /// `counters`, `gauges` and `histograms`); growing the buffer later copies it.
    mutating func capacity(for snapshot: MetricSnapshot, counters: Range<Int>, gauges: Range<Int>, histograms: Range<Int>) -> Int
    mutating func writeStart(into cursor: inout ByteCursor)
    mutating func write(_ counter: UnsafePointer<CounterSample>, into cursor: inout ByteCursor)
    mutating func write(_ gauge: UnsafePointer<GaugeSample>, into cursor: inout ByteCursor)
    mutating func write(_ histogram: UnsafePointer<HistogramSample>, into cursor: inout ByteCursor)
    mutating func writeEnd(into cursor: inout ByteCursor)
}

extension ProtobufMessageWriter {
    /// Its estimate from the metric counts.
    func capacity(for snapshot: MetricSnapshot, counters: Range<Int>, gauges: Range<Int>, histograms: Range<Int>) -> Int {
        estimatedSize(counters: counters.count, gauges: gauges.count, histograms: histograms.count)
    }

    mutating func write(_ counter: UnsafePointer<CounterSample>, into cursor: inout ByteCursor) {
        write(counter.pointee, into: &cursor)
    }

    mutating func write(_ gauge: UnsafePointer<GaugeSample>, into cursor: inout ByteCursor) {
        write(gauge.pointee, into: &cursor)
    }

    mutating func write(_ histogram: UnsafePointer<HistogramSample>, into cursor: inout ByteCursor) {
        write(histogram.pointee, into: &cursor)
    }
}
