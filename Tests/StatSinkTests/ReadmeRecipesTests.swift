import Foundation
import StatSink
import StatSinkConfig
import StatSinkModel
import StatSinkQueue
import StatSinkTestKit
import Testing

/// The README's "Query the backlog with sqlite3" recipes, run with the real `sqlite3` shell
/// against a queue the product made, so they never rot.
@Suite("README sqlite3 recipes")
struct ReadmeRecipesTests {
    static let readme = CheckConfigCommandTests.packageRoot.appendingPathComponent("README.md")

    /// Every `sqlite3 …` command line of the section's `sh` blocks.
    static func recipes() throws -> [String] {
        let text = try String(contentsOf: readme, encoding: .utf8)
        let start = try #require(text.range(of: "\n## Query the backlog with sqlite3\n"))
        let rest = text[start.upperBound...]
        let section = rest[..<(rest.range(of: "\n## ")?.lowerBound ?? rest.endIndex)]
        var commands: [String] = []
        var inShellBlock = false
        for line in section.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("```") {
                inShellBlock = !inShellBlock && line == "```sh"
            } else if inShellBlock, line.hasPrefix("sqlite3 ") {
                commands.append(String(line))
            }
        }
        return commands
    }

    /// A queue with every kind of row the recipes ask about, made by the product: a damaged file
    /// it replaced, snapshots from the synthetic source through a `SinkWriter`, a retried row,
    /// dead letters and a purge.
    static func makeQueue(in directory: URL) throws {
        let path = directory.appendingPathComponent("queue.db").path
        try Data(repeating: 0x58, count: 4096).write(to: URL(fileURLWithPath: path))
        let queue = try MessageQueue(configuration: MessageQueueConfiguration(path: path), role: .drainer)
        defer { queue.close() }
        let sink = KafkaSinkConfiguration(brokerList: "kafka1:9092", topic: "envoy-metrics", batchSize: 20)
        let writer = try SinkWriter(sink: sink, queue: queue)
        var source = SyntheticSource(counters: 35, gauges: 10, histograms: 5, node: NodeIdentity(id: "edge-17"))
        for index in 0..<5 {
            try writer.write(source.nextSnapshot(timestampMs: 1_764_000_000_000 + Int64(index) * 10_000))
        }
        let rows = try queue.pendingRecords(stream: writer.stream, afterID: 0, limit: 100, maxBytes: .max).map(\.id)
        try queue.recordFailedAttempt([rows[0]], error: "_MSG_TIMED_OUT: Local: Message timed out", stream: writer.stream)
        try queue.deadLetter(rows[1], errorName: "MSG_SIZE_TOO_LARGE", error: "Broker: Message size too large", stream: writer.stream)
        try queue.deadLetter(rows[2], errorName: "MSG_SIZE_TOO_LARGE", error: "Broker: Message size too large", stream: writer.stream)
        try queue.purge(matching: RowFilter(ids: rows[3]...rows[3]))
    }

    @Test func everyRecipeRunsAndAnswers() throws {
        let commands = try Self.recipes()
        #expect(commands.count >= 10, "the section's sh blocks were found")
        let scratch = TemporaryDirectory(prefix: "statsink-readme")
        defer { withExtendedLifetime(scratch) {} }
        let directory = scratch.url
        try Self.makeQueue(in: directory)
        for command in commands {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", command]
            process.currentDirectoryURL = directory
            let out = Pipe()
            let err = Pipe()
            process.standardOutput = out
            process.standardError = err
            try process.run()
            let stdout = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            #expect(process.terminationStatus == 0 && stderr.isEmpty, "\(command)\n\(stderr)")
            // A header line and at least one row.
            #expect(stdout.split(separator: "\n").count >= 3, "\(command) answered nothing:\n\(stdout)")
        }
    }
}
