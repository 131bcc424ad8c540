import StatSinkKafka
import Synchronization

/// Reads the harness's topic the whole time the harness runs, with one long-lived consumer,
/// recording every message in a ``DeliveryLedger`` as it arrives: the broker keeps only the
/// newest messages of a partition, so a reader that came by now and then could miss some.
final class TopicFollower: Sendable {
    /// Shared by the follower's thread, which records, and the harness, which reads at the end.
    private final class SharedLedger: Sendable {
        let ledger = Mutex(DeliveryLedger())
    }

    private let follower: KafkaTopicFollower
    private let shared: SharedLedger

    private init(follower: KafkaTopicFollower, shared: SharedLedger) {
        self.follower = follower
        self.shared = shared
    }

    /// Starts reading `topic` from its beginning.
    static func start(bootstrapServers: String, topic: String) async throws -> TopicFollower {
        let shared = SharedLedger()
        let follower = try await KafkaTopicFollower.start(bootstrapServers: bootstrapServers, topic: topic) { message in
            shared.ledger.withLock { $0.record(message) }
        }
        return TopicFollower(follower: follower, shared: shared)
    }

    /// Waits until everything the topic holds now has been recorded, then stops reading and
    /// returns the ledger and how many messages the broker let go unread.
    func finish() async throws -> (ledger: DeliveryLedger, offsetsLost: Int, errors: [String]) {
        guard await follower.waitUntilCaughtUp(timeout: .seconds(60)) else {
            await follower.stop()
            throw HarnessFailure(description: "the topic could not be read to its end within 60 s")
        }
        await follower.stop()
        let progress = follower.progress
        return (shared.ledger.withLock { $0 }, progress.offsetsLost, progress.errors)
    }
}
