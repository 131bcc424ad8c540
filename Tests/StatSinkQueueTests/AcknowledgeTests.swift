import StatSinkCodec
import StatSinkTestKit
import Testing

@testable import StatSinkQueue

/// `acknowledge` deletes exactly the ids it is given, whatever else lies between them.
@Suite("Acknowledging rows")
struct AcknowledgeTests {
    let directory = TemporaryDirectory()

    @Test func idsBecomeRunsOfConsecutiveIntegers() {
        #expect(MessageQueue.consecutiveRuns([]) == [])
        #expect(MessageQueue.consecutiveRuns([5]) == [5...5])
        #expect(MessageQueue.consecutiveRuns([8, 1, 2, 3, 7, 3]) == [1...3, 7...8])
        #expect(MessageQueue.consecutiveRuns([Int64.max, Int64.max - 1, 1]) == [1...1, (Int64.max - 1)...Int64.max])
    }

    @Test func onlyTheGivenIdsGoAndTheTotalsCountThem() throws {
        let queue = try MessageQueue(configuration: MessageQueueConfiguration(path: directory.path("ack.db")), role: .drainer)
        defer { queue.close() }
        let other = QueueStream(topic: "other", brokerList: "127.0.0.1:9093")
        // Two streams' rows interleaved: ids 1-4 ours, 5-8 theirs, 9-12 ours.
        try enqueueGenerated(queue, metrics: 20, batchSize: 5)
        try enqueueGenerated(queue, metrics: 20, batchSize: 5, stream: other)
        try enqueueGenerated(queue, metrics: 20, batchSize: 5, seed: 2)
        let ours = try queue.pendingRecords(stream: testStream, afterID: 0, limit: 100, maxBytes: .max)
        let theirs = try queue.pendingRecords(stream: other, afterID: 0, limit: 100, maxBytes: .max)
        #expect(ours.map(\.id) == [1, 2, 3, 4, 9, 10, 11, 12])
        #expect(theirs.map(\.id) == [5, 6, 7, 8])

        // Acknowledge all of ours except 10, out of order and with a repeat and an unknown id.
        let acknowledged: [Int64] = [12, 1, 2, 3, 4, 9, 11, 2, 99]
        try queue.acknowledge(acknowledged, stream: testStream)
        #expect(try queue.pendingRecords(stream: testStream, afterID: 0, limit: 100, maxBytes: .max).map(\.id) == [10])
        #expect(try queue.pendingRecords(stream: other, afterID: 0, limit: 100, maxBytes: .max).map(\.id) == [5, 6, 7, 8])
        let totals = try #require(try queue.status().streams.first { $0.stream == testStream.name })
        #expect(totals.deliveredRows == 7)
        #expect(totals.deliveredBytes == ours.filter { $0.id != 10 }.reduce(0) { $0 + Int64($1.value.count) })
        #expect(totals.rows == 1)
        #expect(totals.payloadBytes == Int64(ours.first { $0.id == 10 }!.value.count))
    }
}
