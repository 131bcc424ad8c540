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
            var writer = JSONMessageWriter(options: options, capacity: metrics.count * 160 + 16)
            write(snapshot, metrics: metrics, into: &writer)
            return writer.finish()
        case .protobuf:
            var writer = ProtobufMessageWriter(options: options, capacity: metrics.count * 96)
            write(snapshot, metrics: metrics, into: &writer)
            return writer.finish()
        }
    }

    /// The metric positions of each message: `batch_size` per message (the last may hold fewer),
    /// all in one when `batch_size` is 0, and one empty message for an empty snapshot.
    public func batchRanges(metricCount: Int) -> [Range<Int>] {
        let size = Int(options.batchSize)
        guard size > 0, metricCount > size else { return [0..<metricCount] }
        return stride(from: 0, to: metricCount, by: size).map { $0..<min($0 + size, metricCount) }
    }

    private func write(_ snapshot: MetricSnapshot, metrics: Range<Int>, into writer: inout some MetricValueWriter) {
        let timestamp = snapshot.timestampMs
        let gaugeStart = snapshot.counters.count
        let histogramStart = gaugeStart + snapshot.gauges.count
        for index in metrics.clamped(to: 0..<gaugeStart) {
            writer.writeCounter(snapshot.counters[index], timestampMs: timestamp)
        }
        for index in metrics.clamped(to: gaugeStart..<histogramStart) {
            writer.writeGauge(snapshot.gauges[index - gaugeStart], timestampMs: timestamp)
        }
        for index in metrics.clamped(to: histogramStart..<snapshot.metricCount) {
            writer.writeHistogram(snapshot.histograms[index - histogramStart], timestampMs: timestamp)
        }
    }
}

/// What the JSON and PROTOBUF writers have in common: one call per metric, in order.
protocol MetricValueWriter {
    mutating func writeCounter(_ counter: CounterSample, timestampMs: Int64)
    mutating func writeGauge(_ gauge: GaugeSample, timestampMs: Int64)
    mutating func writeHistogram(_ histogram: HistogramSample, timestampMs: Int64)
}

extension JSONMessageWriter: MetricValueWriter {}
extension ProtobufMessageWriter: MetricValueWriter {}
