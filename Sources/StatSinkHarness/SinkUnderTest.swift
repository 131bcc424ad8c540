import CSQLite
import Foundation

/// One `statsink run --config FILE` process, its output going to a log file.
final class SinkUnderTest {
    private let process = Process()
    private let log: URL

    /// Starts `statsink` (looked for next to this executable) with `configuration`.
    init(configuration: URL, log: URL) throws {
        let own = Bundle.main.executableURL ?? URL(fileURLWithPath: CommandLine.arguments[0])
        let executable = own.resolvingSymlinksInPath().deletingLastPathComponent().appendingPathComponent("statsink")
        guard FileManager.default.isExecutableFile(atPath: executable.path) else {
            throw HarnessFailure(description: "\(executable.path) not found: build the statsink product next to the harness")
        }
        self.log = log
        guard FileManager.default.createFile(atPath: log.path, contents: nil) else {
            throw HarnessFailure(description: "cannot create \(log.path)")
        }
        let output = try FileHandle(forWritingTo: log)
        process.executableURL = executable
        process.arguments = ["run", "--config", configuration.path]
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    /// Waits until the process has logged that it runs (its signal handlers are then in place).
    func waitUntilRunning(timeout: Duration = .seconds(30)) async throws {
        let start = ContinuousClock.now
        while ContinuousClock.now - start < timeout {
            if let text = try? String(contentsOf: log, encoding: .utf8), text.contains("statsink running") { return }
            guard process.isRunning else { throw HarnessFailure(description: "statsink exited at start; see \(log.path)") }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw HarnessFailure(description: "statsink did not start within \(timeout); see \(log.path)")
    }

    /// SIGKILL: no handler runs, nothing is flushed; what the file holds is all that survives.
    func kill() {
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// SIGTERM, then waits; a non-zero exit is a failure.
    func terminate() throws {
        process.terminate()
        process.waitUntilExit()
        guard process.terminationReason == .exit, process.terminationStatus == 0 else {
            throw HarnessFailure(description: "statsink exited with status \(process.terminationStatus) after SIGTERM")
        }
    }

    /// Writes a `statsink` configuration: one Kafka sink (JSON, `batch_size`, linger 5 ms), the
    /// queue at `queuePath`, a 100 ms flush interval, and the synthetic source if given.
    static func writeConfiguration(
        in directory: URL, name: String, broker: String, topic: String, queuePath: String, batchSize: Int,
        synthetic: (counters: Int, gauges: Int, histograms: Int)?, producerConfig: [String: String] = [:]
    ) throws -> URL {
        var yaml = """
            node: {id: harness-node, cluster: harness}
            stats_flush_interval: 100ms
            stats_sinks:
              - name: envoy.stat_sinks.kafka
                typed_config:
                  "@type": type.googleapis.com/envoy.extensions.stat_sinks.kafka.v3.KafkaStatsSinkConfig
                  broker_list: "\(broker)"
                  topic: "\(topic)"
                  batch_size: \(batchSize)
                  format: JSON
                  report_counters_as_deltas: true
                  buffer_flush_timeout_ms: 5
                  producer_config: {\(producerConfig.sorted { $0.key < $1.key }.map { "\($0.key): \"\($0.value)\"" }.joined(separator: ", "))}
            buffer: {path: "\(queuePath)", max_bytes: 4GiB, durability: normal}

            """
        if let synthetic {
            yaml += "sources: {synthetic: {counters: \(synthetic.counters), gauges: \(synthetic.gauges), histograms: \(synthetic.histograms)}}\n"
        }
        let url = directory.appendingPathComponent(name)
        try yaml.write(to: url, atomically: false, encoding: .utf8)
        return url
    }

    /// `streams.last_snapshot_seq` of the queue's only stream: the snapshots whose commit returned.
    static func lastSnapshotSequence(queuePath: String) throws -> Int {
        try query(queuePath, "SELECT coalesce(max(last_snapshot_seq), 0) FROM streams").first?.first.map(Int.init) ?? 0
    }

    /// The dead letters of the queue: `(snapshot_seq, batch_index)` with the snapshot's batch count.
    static func deadLetters(queuePath: String) throws -> [DeliveryAudit.Identity: Int] {
        var result: [DeliveryAudit.Identity: Int] = [:]
        for row in try query(queuePath, "SELECT snapshot_seq, batch_index, batch_count FROM dead_letters") {
            result[DeliveryAudit.Identity(sequence: Int(row[0]), batchIndex: Int(row[1]))] = Int(row[2])
        }
        return result
    }

    /// The integer columns of `sql`'s rows, read with a read-only connection.
    static func query(_ queuePath: String, _ sql: String) throws -> [[Int64]] {
        var database: OpaquePointer?
        defer { sqlite3_close_v2(database) }
        guard sqlite3_open_v2(queuePath, &database, SQLITE_OPEN_READONLY, nil) == SQLITE_OK else {
            throw HarnessFailure(description: "cannot open \(queuePath)")
        }
        var statement: OpaquePointer?
        defer { sqlite3_finalize(statement) }
        guard sqlite3_prepare_v2(database, sql, -1, &statement, nil) == SQLITE_OK else {
            throw HarnessFailure(description: "cannot read \(queuePath): \(String(cString: sqlite3_errmsg(database)))")
        }
        var rows: [[Int64]] = []
        while true {
            switch sqlite3_step(statement) {
            case SQLITE_ROW: rows.append((0..<sqlite3_column_count(statement)).map { sqlite3_column_int64(statement, $0) })
            case SQLITE_DONE: return rows
            default: throw HarnessFailure(description: "cannot read \(queuePath): \(String(cString: sqlite3_errmsg(database)))")
            }
        }
    }
}
