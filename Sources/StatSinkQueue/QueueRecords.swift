import StatSinkCodec

/// A stream of the queue: the rows of one Kafka sink. Several sinks share one file as several
/// streams, each with its own snapshot numbering and drainer position.
public struct QueueStream: Sendable, Hashable, CustomStringConvertible {
    /// The stream's name in the `stream` column, e.g. `envoy-metrics@kafka1:9092`.
    public var name: String
    /// The topic its rows are produced to.
    public var topic: String

    /// Creates a stream.
    public init(name: String, topic: String) {
        self.name = name
        self.topic = topic
    }

    /// The stream of a sink: `TOPIC@BROKER_LIST`.
    public init(topic: String, brokerList: String) {
        self.init(name: "\(topic)@\(brokerList)", topic: topic)
    }

    public var description: String { name }
}

/// What one snapshot's enqueue did.
public struct EnqueueOutcome: Sendable, Hashable {
    /// The snapshot's sequence number in its stream (consumed even when the snapshot was dropped,
    /// so consumers see the gap that the `drops` table explains).
    public var sequence: UInt64
    /// The record ids of the stored messages, ascending; empty when the snapshot was dropped.
    public var recordIDs: [Int64]
    /// Rows removed to respect the byte cap (older rows, or this snapshot's own), by reason.
    public var drops: [DropReason: Int]
}

/// Why a row left the queue without being delivered. Stored in `drops.reason`.
public enum DropReason: String, Sendable, Hashable, CaseIterable {
    /// Deleted at the byte cap to make room for a newer snapshot (`when_full: drop_oldest`).
    case capDropOldest = "cap_drop_oldest"
    /// A new snapshot refused at the byte cap (`when_full: drop_newest`).
    case capDropNewest = "cap_drop_newest"
    /// A snapshot larger than the whole cap.
    case snapshotTooLarge = "snapshot_too_large"
    /// The disk itself was full (SQLITE_FULL below the cap).
    case diskFull = "disk_full"
    /// Deleted by an operator.
    case purge
    /// Refused by the broker for good, but no room was left to keep it as a dead letter (the
    /// byte cap under `drop_newest`, or a full disk).
    case deadLetterNoRoom = "dead_letter_no_room"
}

/// A queued message as the drainer produces it.
public struct PendingRecord: Sendable, Hashable {
    /// The record id: increasing, never reused; the per-message opaque of the produce call.
    public var id: Int64
    /// The destination topic.
    public var topic: String
    /// The message key.
    public var key: [UInt8]
    /// The message value.
    public var value: [UInt8]
    /// The headers, in produce order.
    public var headers: [KafkaHeader]
    /// Failed delivery attempts so far.
    public var attempts: Int
}

/// A queued message seen in place, during ``MessageQueue/forEachPendingRecord(stream:afterID:limit:maxBytes:_:)``.
///
/// `key` points into SQLite's memory: valid only during the call that received the view, never
/// to be kept. The value is not read until asked for, and then straight into the caller's
/// buffer (``readValue(into:)``), so a drainer can hand that buffer on without copying it again.
public struct PendingRecordView: ~Copyable {
    /// The record id: increasing, never reused; the per-message opaque of the produce call.
    public let id: Int64
    /// The destination topic.
    public let topic: String
    /// The message key.
    public let key: UnsafeRawBufferPointer
    /// The size of the message value in bytes.
    public let valueCount: Int
    /// The headers, in produce order.
    public let headers: [(name: String, value: String)]
    /// Failed delivery attempts so far.
    public let attempts: Int
    let valueReader: SQLiteBlobReader

    /// Copies the message value into `destination`, which must hold exactly ``valueCount`` bytes.
    public func readValue(into destination: UnsafeMutableRawBufferPointer) throws(QueueError) {
        precondition(destination.count == valueCount, "the destination must hold exactly valueCount bytes")
        try valueReader.read(rowID: id, into: destination)
    }

    /// The message value, copied into an array.
    public func value() throws(QueueError) -> [UInt8] {
        var failure: QueueError?
        let bytes = [UInt8](unsafeUninitializedCapacity: valueCount) { buffer, initialized in
            do throws(QueueError) {
                try readValue(into: UnsafeMutableRawBufferPointer(buffer))
                initialized = valueCount
            } catch {
                failure = error
                initialized = 0
            }
        }
        if let failure { throw failure }
        return bytes
    }
}

/// Counts that describe a queue file, for status output and self-metrics.
public struct QueueStatistics: Sendable, Hashable {
    /// Rows waiting for delivery.
    public var rows: Int
    /// Their payload bytes.
    public var payloadBytes: Int64
    /// When the oldest waiting row was enqueued (epoch ms), if any.
    public var oldestEnqueuedAtMs: Int64?
    /// Rows in `dead_letters`.
    public var deadLetters: Int
    /// Rows dropped, by reason, over the file's life.
    public var drops: [DropReason: Int]
    /// Rows delivered over the file's life.
    public var deliveredRows: Int
    /// Database pages in use and free, and the page size: the file is `(used + free) × pageSize`.
    public var usedPages: Int64
    public var freePages: Int64
    public var pageSize: Int64
}
