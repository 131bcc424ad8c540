import Foundation
import StatSinkCodec
@testable import StatSinkQueue
import StatSinkTestKit
import Testing

@Suite("Queue operations: status, re-queue, purge, export and import")
struct OperationsTests {
    let directory = TemporaryDirectory()

    func open(_ name: String = "queue.db", role: MessageQueue.Role = .writer) throws -> MessageQueue {
        try MessageQueue(configuration: MessageQueueConfiguration(path: directory.path(name)), role: role)
    }

    @Test func statusHasTheBacklogDeadLettersDropsAndDeliveries() throws {
        let queue = try open()
        defer { queue.close() }
        let first = try enqueueGenerated(queue, metrics: 20, batchSize: 5, seed: 1)
        let second = try enqueueGenerated(queue, metrics: 10, batchSize: 5, seed: 2)
        let ids = first.outcome.recordIDs + second.outcome.recordIDs
        let messages = first.messages + second.messages
        try queue.acknowledge([ids[0]], stream: testStream, nowMs: 5_000)
        try queue.deadLetter(ids[1], errorName: "MSG_SIZE_TOO_LARGE", error: "too large", stream: testStream, nowMs: 6_000)
        try queue.deadLetter(ids[2], errorName: "MSG_SIZE_TOO_LARGE", error: "too large", stream: testStream, nowMs: 7_000)
        try queue.recordFailedAttempt([ids[3]], error: "_TRANSPORT: down", stream: testStream, nowMs: 8_000)
        try queue.purge(matching: RowFilter(ids: ids[5]...ids[5]), nowMs: 9_000)

        let status = try MessageQueue.status(path: directory.path("queue.db"), nowMs: 10_000)
        #expect(status.schemaVersion == 4)
        #expect(status.streams.count == 1)
        let stream = try #require(status.streams.first)
        let waiting = [3, 4]
        #expect(stream.rows == 2)
        #expect(stream.payloadBytes == Int64(waiting.reduce(0) { $0 + messages[$1].value.count }))
        #expect(stream.metrics == waiting.reduce(0) { $0 + messages[$1].metricCount })
        #expect(stream.firstID == ids[3] && stream.lastID == ids[4])
        #expect(stream.retriedRows == 1)
        #expect(stream.lastSnapshotSeq == 2 && stream.enqueuedRows == 6 && stream.deliveredRows == 1)
        #expect(stream.lastDeliveryAtMs == 5_000 && stream.lastDeliveryAgeSeconds == 5)
        #expect(stream.lastError == "_TRANSPORT: down" && stream.lastErrorAgeSeconds == 2)
        #expect(status.deadLetters.count == 1)
        #expect(status.deadLetters.first?.rows == 2 && status.deadLetters.first?.errorName == "MSG_SIZE_TOO_LARGE")
        #expect(status.deadLetters.first?.firstID == ids[1] && status.deadLetters.first?.lastID == ids[2])
        #expect(status.drops.map(\.reason) == ["purge"] && status.drops.first?.rows == 1)
        #expect(status.file.fileBytes > 0 && status.file.pageSize == 16384)
        // The same figures through the queue's own connection.
        #expect(try queue.status(nowMs: 10_000).streams == status.streams)
    }

    @Test func statusOfAMissingOrForeignFileSaysSo() throws {
        let missing = directory.path("missing.db")
        #expect(throws: QueueError.cannotOpen(path: missing, reason: "no such file")) { try MessageQueue.status(path: missing) }
        let foreign = directory.path("foreign.db")
        try "this is not a database, just text that is long enough to look like a header ....".write(toFile: foreign, atomically: false, encoding: .utf8)
        #expect {
            try MessageQueue.status(path: foreign)
        } throws: { error in
            guard case .damaged(let path, _) = error as? QueueError else { return false }
            return path == foreign
        }
    }

    @Test func requeuedDeadLettersGetNewIdsAtTheEndAndKeepKeyHeadersAndPayload() throws {
        let queue = try open(role: .drainer)
        defer { queue.close() }
        let (outcome, messages) = try enqueueGenerated(queue, metrics: 30, batchSize: 5)
        let ids = outcome.recordIDs
        try queue.deadLetter(ids[1], errorName: "MSG_SIZE_TOO_LARGE", error: "too large", stream: testStream, nowMs: 1_000)
        try queue.deadLetter(ids[2], errorName: "TOPIC_AUTHORIZATION_FAILED", error: "denied", stream: testStream, nowMs: 2_000)
        try queue.deadLetter(ids[3], errorName: "TOPIC_AUTHORIZATION_FAILED", error: "denied", stream: testStream, nowMs: 3_000)
        let cursor = ids.last!  // the drainer has produced everything

        let dry = try queue.requeueDeadLetters(matching: RowFilter(errorName: "msg_size_too_large"), dryRun: true)
        #expect(dry.rows == 1 && dry.dryRun && dry.newFirstID == nil)
        #expect(try queue.statistics().deadLetters == 3)

        let bySize = try queue.requeueDeadLetters(matching: RowFilter(errorName: "MSG_SIZE_TOO_LARGE"))
        #expect(bySize.rows == 1 && bySize.firstID == ids[1])
        #expect(try #require(bySize.newFirstID) > cursor)
        // The drainer's next page after its cursor has the row again, intact.
        let again = try queue.pendingRecords(stream: testStream, afterID: cursor, limit: 10, maxBytes: 1 << 30)
        #expect(again.map(\.id) == [bySize.newFirstID!])
        #expect(again.first?.value == messages[1].value && again.first?.key == messages[1].key)
        #expect(again.first?.headers == messages[1].headers && again.first?.attempts == 0)

        // By time range, then by id range: each takes only its rows.
        let byTime = try queue.requeueDeadLetters(matching: RowFilter(timeMs: 2_500...3_500))
        #expect(byTime.rows == 1 && byTime.firstID == ids[3])
        let byID = try queue.requeueDeadLetters(matching: RowFilter(ids: ids[2]...ids[2]))
        #expect(byID.rows == 1 && byID.newFirstID == byTime.newLastID! + 1)
        #expect(try queue.statistics().deadLetters == 0)
        #expect(try queue.requeueDeadLetters(matching: RowFilter()).rows == 0)
        // Ids only increase: a new snapshot lands after the re-queued rows.
        let next = try enqueueGenerated(queue, metrics: 5, batchSize: 5, seed: 9)
        #expect(next.outcome.recordIDs.first! > byID.newFirstID!)
        #expect(try streamsWithWrongTotals(directory.path("queue.db")) == [])
    }

    @Test func purgeDeletesByAgeOrIdsAndCountsDrops() throws {
        let queue = try open()
        defer { queue.close() }
        var generator = EnvoySnapshotGenerator(seed: 3)
        let encoder = SnapshotEncoder(options: EncodingOptions(format: .json, batchSize: 5))
        var all: [KafkaMessage] = []
        for (index, enqueuedAt) in [Int64(1_000), 2_000, 3_000].enumerated() {
            let snapshot = generator.snapshot(metricCount: 10)
            _ = try queue.enqueueSnapshot(stream: testStream, nodeID: "n", snapshotTimeMs: Int64(index), format: .json, nowMs: enqueuedAt) { sequence in
                let messages = encoder.encode(snapshot, sequence: sequence)
                all += messages
                return messages
            }
        }
        let dry = try queue.purge(matching: RowFilter(timeMs: .min...2_000), dryRun: true)
        #expect(dry.rows == 4 && dry.dryRun)
        #expect(try queue.statistics().rows == 6)
        let old = try queue.purge(matching: RowFilter(timeMs: .min...2_000), nowMs: 50_000)
        #expect(old.rows == 4)
        #expect(old.payloadBytes == Int64(all[0..<4].reduce(0) { $0 + $1.value.count }))
        #expect(old.metrics == all[0..<4].reduce(0) { $0 + $1.metricCount })
        let byID = try queue.purge(matching: RowFilter(ids: 5...5))
        #expect(byID.rows == 1)
        #expect(try queue.statistics().rows == 1)
        #expect(try queue.statistics().drops == [.purge: 5])
        let path = directory.path("queue.db")
        #expect(try sqlite3(path, "SELECT reason, rows, metrics FROM drops") == ["purge|5|\(all[0..<5].reduce(0) { $0 + $1.metricCount })"])

        try queue.deadLetter(6, errorName: "INVALID_MSG", error: "bad", stream: testStream)
        #expect(try queue.purge(matching: RowFilter(ids: 1...100), deadLetters: true).rows == 1)
        #expect(try queue.statistics().deadLetters == 0 && queue.statistics().drops == [.purge: 6])
        #expect(try streamsWithWrongTotals(path) == [])
    }

    @Test func exportThenImportCarriesEveryMessageToAnotherQueue() throws {
        let source = try open("a.db")
        defer { source.close() }
        let first = try enqueueGenerated(source, metrics: 20, batchSize: 5, seed: 1)
        let second = try enqueueGenerated(source, metrics: 10, batchSize: 5, seed: 2)
        let messages = first.messages + second.messages
        try source.deadLetter(first.outcome.recordIDs[0], errorName: "MSG_SIZE_TOO_LARGE", error: "too large", stream: testStream)
        let file = directory.path("backlog.jsonl")
        let exported = try MessageQueue.export(path: directory.path("a.db"), to: file, includeDeadLetters: true)
        #expect(exported.messages == 5 && exported.deadLetters == 1)
        #expect(exported.firstID == first.outcome.recordIDs[1] && exported.lastID == second.outcome.recordIDs.last)
        #expect(!FileManager.default.fileExists(atPath: file + ".partial"))
        let attributes = try FileManager.default.attributesOfItem(atPath: file)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        let lines = try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 6)
        let record = try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any]
        #expect(record?["statsink_export"] as? Int == 1 && record?["kind"] as? String == "message")
        #expect(record?["value"] as? String == Data(messages[1].value).base64EncodedString())
        #expect(record?["node_id"] as? String == messages[1].headers.first { $0.name == "statsink.node_id" }?.value)
        let dead = try JSONSerialization.jsonObject(with: Data(lines[5].utf8)) as? [String: Any]
        #expect(dead?["kind"] as? String == "dead_letter" && dead?["error_name"] as? String == "MSG_SIZE_TOO_LARGE")

        let target = try open("b.db", role: .drainer)
        defer { target.close() }
        try enqueueGenerated(target, metrics: 5, batchSize: 5, seed: 7, stream: QueueStream(topic: "central", brokerList: "c:9092"))
        let central = QueueStream(topic: "central", brokerList: "c:9092")
        #expect(try target.importRecords(from: file, into: central, dryRun: true).rows == 6)
        let imported = try target.importRecords(from: file, into: central)
        #expect(imported.rows == 6 && imported.newFirstID == 2 && imported.newLastID == 7)
        let rows = try target.pendingRecords(stream: central, afterID: 1, limit: 100, maxBytes: 1 << 30)
        let expected = Array(messages[1...]) + [messages[0]]
        #expect(rows.map(\.value) == expected.map(\.value))
        #expect(rows.map(\.key) == expected.map(\.key))
        #expect(rows.map(\.headers) == expected.map(\.headers))
        #expect(rows.allSatisfy { $0.topic == "central" })
        #expect(try sqlite3(directory.path("b.db"), "SELECT enqueued_rows FROM streams") == ["7"])
        #expect(try streamsWithWrongTotals(directory.path("b.db")) == [])
    }

    @Test func importValidatesEveryLineFirstAndWritesNothingOnError() throws {
        let source = try open("a.db")
        defer { source.close() }
        try enqueueGenerated(source, metrics: 15, batchSize: 5)
        let file = directory.path("backlog.jsonl")
        _ = try MessageQueue.export(path: directory.path("a.db"), to: file)
        var lines = try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n").map(String.init)
        let target = try open("b.db")
        defer { target.close() }
        let cases: [(String, String)] = [
            (lines[2].replacingOccurrences(of: "\"statsink_export\":1", with: "\"statsink_export\":9"), "statsink_export: version 9 is not supported (this statsink reads 1)"),
            (lines[2].replacingOccurrences(of: "\"format\":\"JSON\"", with: "\"format\":\"XML\""), "format: expected JSON or PROTOBUF, got \"XML\""),
            (lines[2].replacingOccurrences(of: "\"value\":\"", with: "\"value\":\"%%"), "value: not base64"),
            ("{\"statsink_export\":1}", "missing field kind"),
            ("not json", "not a JSON object"),
        ]
        for (bad, problem) in cases {
            lines[2] = bad
            try lines.joined(separator: "\n").write(toFile: file, atomically: false, encoding: .utf8)
            #expect(throws: QueueError.invalidExport(file: file, line: 3, problem: problem)) { try target.importRecords(from: file) }
        }
        #expect(try target.statistics().rows == 0)
    }

    @Test func anSQLiteShellReaderNeverStallsTheWriterOrDrainer() async throws {
        let queue = try open(role: .drainer)
        defer { queue.close() }
        let ids = try enqueueGenerated(queue, metrics: 20, batchSize: 5).outcome.recordIDs
        // An operator's shell holding a read transaction open, as in the middle of a long query.
        let shell = Process()
        shell.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        shell.arguments = ["-readonly", directory.path("queue.db")]
        let input = Pipe()
        let output = Pipe()
        shell.standardInput = input
        shell.standardOutput = output
        try shell.run()
        input.fileHandleForWriting.write(Data("BEGIN; SELECT count(*) FROM pending_messages;\n".utf8))
        var seen = Data()
        while !String(decoding: seen, as: UTF8.self).contains("\n") { seen += output.fileHandleForReading.availableData }
        #expect(String(decoding: seen, as: UTF8.self).hasPrefix("4"))
        let clock = ContinuousClock()
        let elapsed = try clock.measure {
            try enqueueGenerated(queue, metrics: 20, batchSize: 5, seed: 2)
            try queue.acknowledge(ids, stream: testStream)
            try queue.checkpoint()
            _ = try MessageQueue.status(path: directory.path("queue.db"))
        }
        input.fileHandleForWriting.write(Data("COMMIT;\n.quit\n".utf8))
        try input.fileHandleForWriting.close()
        shell.waitUntilExit()
        #expect(elapsed < .seconds(1), "the writer waited \(elapsed) for the reader")
        #expect(try queue.statistics().rows == 4)
    }
}
