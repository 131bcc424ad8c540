import StatSinkKafka

/// Reads a topic again and again from where it stopped, so that every message is seen before
/// the broker lets it go (librdkafka's mock cluster keeps only the last 5 MB of a partition).
actor TopicFollower {
    private let reader: KafkaTopicReader
    private var nextOffsets: [Int32: Int64] = [:]
    /// Everything read so far, in offset order per partition.
    private(set) var messages: [ConsumedMessage] = []
    /// Offsets that were gone before they could be read (the check is then incomplete).
    private(set) var missedOffsets = 0

    init(bootstrapServers: String, topic: String) {
        reader = KafkaTopicReader(bootstrapServers: bootstrapServers, topic: topic)
    }

    /// Reads what arrived since the last call, up to the end of every partition.
    func catchUp() async throws {
        let batch = try await reader.read(count: nil, timeout: .seconds(30), startOffsets: nextOffsets)
        for message in batch {
            let expected = nextOffsets[message.partition] ?? 0
            if message.offset > expected { missedOffsets += Int(message.offset - expected) }
            nextOffsets[message.partition] = message.offset + 1
            messages.append(message)
        }
    }
}
