/// The delivery reports of a ``KafkaProducer``, in the order librdkafka produced them.
///
/// The buffer is unbounded, so no report is ever dropped; the caller bounds it by bounding the
/// records it has in flight. The sequence ends once the producer is shut down or has failed
/// fatally, after the report of every record it accepted. Iterate it from one task only.
public struct KafkaDeliveryReports: AsyncSequence, Sendable {
    /// A report.
    public typealias Element = DeliveryReport
    /// Iteration does not fail.
    public typealias Failure = Never

    let stream: AsyncStream<[DeliveryReport]>

    /// The iterator.
    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: AsyncStream<[DeliveryReport]>.Iterator
        /// The batch being handed out, and where in it.
        var batch: [DeliveryReport] = []
        var index = 0

        /// The next report, or `nil` after the last one.
        public mutating func next() async -> DeliveryReport? {
            await next(isolation: nil)
        }

        /// The next report, or `nil` after the last one, without leaving `actor`'s isolation.
        public mutating func next(isolation actor: isolated (any Actor)?) async -> DeliveryReport? {
            while index == batch.count {
                guard let next = await base.next(isolation: actor) else { return nil }
                (batch, index) = (next, 0)
            }
            defer { index += 1 }
            return batch[index]
        }
    }

    /// Creates the iterator.
    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: stream.makeAsyncIterator())
    }
}
