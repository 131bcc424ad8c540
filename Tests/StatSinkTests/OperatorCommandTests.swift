import Foundation
import StatSink
import StatSinkConfig
import StatSinkKafka
import StatSinkModel
import StatSinkQueue
import StatSinkTestKit
import Testing

/// The operator commands run as processes on queues made by `statsink run`, with the sink
/// running beside them where the command allows it.
@Suite("operator commands", .serialized)
struct OperatorCommandTests {
    let scratch = TemporaryDirectory(prefix: "statsink-ops")
    var directory: URL { scratch.url }
    let cluster: KafkaMockCluster

    init() throws {
        cluster = try KafkaMockCluster(brokerCount: 1)
        try cluster.createTopic(name: "envoy-metrics", partitions: 1)
        try cluster.createTopic(name: "central", partitions: 1)
    }

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    static func run(_ arguments: [String]) throws -> CheckConfigCommandTests.Result {
        try CheckConfigCommandTests.run(arguments)
    }

    /// A configuration for `statsink run` writing to `queue` and delivering to `broker`.
    func config(queue: String, broker: String, producerConfig: String = "{}", name: String = "statsink.yaml") throws -> String {
        let file = path(name)
        try """
            node: {id: edge-17, cluster: test}
            stats_flush_interval: 100ms
            stats_sinks:
              - name: envoy.stat_sinks.kafka
                typed_config:
                  "@type": type.googleapis.com/envoy.extensions.stat_sinks.kafka.v3.KafkaStatsSinkConfig
                  broker_list: "\(broker)"
                  topic: envoy-metrics
                  batch_size: 20
                  buffer_flush_timeout_ms: 5
                  producer_config: \(producerConfig)
            buffer: {path: "\(queue)"}
            sources:
              synthetic: {counters: 35, gauges: 10, histograms: 5}
            """.write(toFile: file, atomically: false, encoding: .utf8)
        return file
    }

    /// `statsink run` in the background; stop it with ``stop(_:)``.
    final class Sink {
        let process = Process()
        /// A file, not a pipe: a verbose sink must never block on a full pipe.
        let logPath: String
        var output = ""

        init(config: String, logLevel: String = "info") throws {
            logPath = config + ".\(UUID().uuidString).log"
            _ = FileManager.default.createFile(atPath: logPath, contents: nil)
            process.executableURL = CheckConfigCommandTests.statsink
            process.arguments = ["run", "--config", config, "--log-level", logLevel]
            process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
            process.standardOutput = FileHandle.nullDevice
            try process.run()
        }

        deinit {
            // A test that ends early must not leave its sink running.
            if process.isRunning { process.terminate() }
        }

        /// SIGTERM, then the exit status and everything it logged.
        func stop() async throws -> Int32 {
            process.terminate()
            let deadline = ContinuousClock.now.advanced(by: .seconds(15))
            while process.isRunning, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
            if process.isRunning { process.interrupt() }
            process.waitUntilExit()
            output = String(decoding: try Data(contentsOf: URL(fileURLWithPath: logPath)), as: UTF8.self)
            return process.terminationStatus
        }
    }

    /// Runs a sink for `seconds` and stops it; returns its log.
    func runSink(config: String, seconds: Double, logLevel: String = "info") async throws -> String {
        let sink = try Sink(config: config, logLevel: logLevel)
        try await Task.sleep(for: .seconds(seconds))
        let status = try await sink.stop()
        #expect(status == 0, "\(sink.output.suffix(2000))")
        return sink.output
    }

    /// `statsink status --db PATH --json`, decoded.
    func status(_ db: String) throws -> [String: Any] {
        let result = try Self.run(["status", "--db", db, "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        return try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
    }

    func backlogRows(_ status: [String: Any]) -> Int {
        (status["streams"] as? [[String: Any]] ?? []).reduce(0) { $0 + ($1["rows"] as? Int ?? 0) }
    }

    func deadLetterRows(_ status: [String: Any]) -> Int {
        (status["dead_letters"] as? [[String: Any]] ?? []).reduce(0) { $0 + ($1["rows"] as? Int ?? 0) }
    }

    /// Polls `condition` every 200 ms for up to `timeout`.
    func eventually(_ timeout: Duration = .seconds(20), _ condition: () throws -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while ContinuousClock.now < deadline {
            if try condition() { return true }
            try await Task.sleep(for: .milliseconds(200))
        }
        return try condition()
    }

    @Test func everyCommandHasHelpAndUsageErrorsExit2() throws {
        for command in ["status", "replay", "export", "import", "purge", "recover"] {
            let help = try Self.run([command, "--help"])
            #expect(help.status == 0 && help.stdout.contains("USAGE: statsink \(command)"), "\(command): \(help.stdout)")
        }
        let missing = path("missing.db")
        let usage: [([String], String)] = [
            (["status"], "Missing expected argument '--db <path>'"),
            (["status", "--db", missing], "--db \(missing): no such file"),
            (["replay", "--db", missing], "say which dead letters to re-queue"),
            (["replay", "--db", missing, "--broker", "b:9092", "--error", "X"], "--since, --until and --error select dead letters"),
            (["replay", "--db", missing, "--since", "yesterday", "--all"], "--since yesterday: expected"),
            (["purge", "--db", missing, "--older-than", "7x"], "--older-than 7x: expected a duration"),
            (["purge", "--db", missing], "say which rows"),
            (["import", "--db", missing, path("nothing.jsonl")], "import \(path("nothing.jsonl")): no such file"),
            (["recover", "--from", missing, "--into", missing], "--from and --into must be different files"),
        ]
        for (arguments, message) in usage {
            let result = try Self.run(arguments)
            #expect(result.status == 2, "\(arguments): \(result.stderr)")
            #expect(result.stderr.contains(message), "\(arguments): \(result.stderr)")
        }
    }

    @Test func deadLettersAreReQueuedWhileTheSinkRunsAndDelivered() async throws {
        let queue = path("queue.db")
        // First the broker refuses every message as too large: all become dead letters.
        let tooSmall = try config(queue: queue, broker: cluster.bootstrapServers, producerConfig: "{message.max.bytes: 1000}", name: "small.yaml")
        _ = try await runSink(config: tooSmall, seconds: 1.5)
        let before = try status(queue)
        let deadLetters = deadLetterRows(before)
        #expect(deadLetters >= 10)

        let sink = try Sink(config: try config(queue: queue, broker: cluster.bootstrapServers))
        try await Task.sleep(for: .seconds(1))
        let table = try Self.run(["status", "--db", queue])
        #expect(table.status == 0)
        #expect(table.stdout.contains("DEAD LETTERS") && table.stdout.contains("MSG_SIZE_TOO_LARGE") && table.stdout.contains("envoy-metrics@"))
        // Pushing elsewhere needs the queue to itself.
        let refused = try Self.run(["replay", "--db", queue, "--broker", cluster.bootstrapServers, "--topic", "central"])
        #expect(refused.status == 1 && refused.stderr.contains("a sink is draining this queue"), "\(refused.stderr)")
        let dry = try Self.run(["replay", "--db", queue, "--error", "MSG_SIZE_TOO_LARGE", "--dry-run"])
        #expect(dry.status == 0 && dry.stdout.contains("would re-queue \(deadLetters) dead letters"), "\(dry.stdout)")
        let replay = try Self.run(["replay", "--db", queue, "--error", "MSG_SIZE_TOO_LARGE"])
        #expect(replay.status == 0 && replay.stdout.contains("re-queued \(deadLetters) dead letters"), "\(replay.stdout)\(replay.stderr)")
        // The running drainer delivers them.
        #expect(try await eventually { let now = try status(queue); return deadLetterRows(now) == 0 && backlogRows(now) == 0 })
        // Export and purge work beside the sink too.
        let export = try Self.run(["export", "--db", queue, "--out", path("running.jsonl")])
        #expect(export.status == 0, "\(export.stderr)")
        let purge = try Self.run(["purge", "--db", queue, "--older-than", "1d", "--yes"])
        #expect(purge.status == 0 && purge.stdout.contains("deleted 0 undelivered rows"), "\(purge.stdout)\(purge.stderr)")
        #expect(try await sink.stop() == 0, "\(sink.output.suffix(2000))")

        let delivered = (try status(queue)["streams"] as? [[String: Any]])?.first?["delivered_rows"] as? Int ?? -1
        let consumed = try await KafkaTopicReader(bootstrapServers: cluster.bootstrapServers, topic: "envoy-metrics").read(timeout: .seconds(20))
        let identities = Set(consumed.map { message in
            message.headers.filter { $0.name == "statsink.snapshot_seq" || $0.name == "statsink.batch_index" }.map(\.value).joined(separator: "/")
        })
        #expect(delivered >= deadLetters && identities.count == delivered)
        // The first snapshots were the dead letters: they arrived with their original numbers.
        #expect(identities.contains("1/0"))
    }

    @Test func aBacklogIsExportedImportedPurgedAndPushedToAnotherBroker() async throws {
        let queue = path("queue.db")
        // The sink's broker is unreachable: a backlog builds.
        _ = try await runSink(config: try config(queue: queue, broker: "127.0.0.1:1", producerConfig: "{message.timeout.ms: 300}"), seconds: 2)
        let rows = backlogRows(try status(queue))
        #expect(rows >= 20)

        // Purge asks first; without a terminal it needs --yes.
        let unconfirmed = try Self.run(["purge", "--db", queue, "--from-id", "1", "--to-id", "2"])
        #expect(unconfirmed.status == 2 && unconfirmed.stderr.contains("add --yes"), "\(unconfirmed.stderr)")
        let purged = try Self.run(["purge", "--db", queue, "--from-id", "1", "--to-id", "2", "--yes"])
        #expect(purged.status == 0 && purged.stdout.contains("deleted 2 undelivered rows"), "\(purged.stdout)\(purged.stderr)")
        let afterPurge = try status(queue)
        #expect(backlogRows(afterPurge) == rows - 2)
        #expect((afterPurge["drops"] as? [[String: Any]])?.first?["reason"] as? String == "purge")

        // Export, then import on another node, all or nothing.
        let file = path("backlog.jsonl")
        let export = try Self.run(["export", "--db", queue, "--out", file, "--json"])
        #expect(export.status == 0, "\(export.stderr)")
        let exported = try #require(try JSONSerialization.jsonObject(with: Data(export.stdout.utf8)) as? [String: Any])
        #expect(exported["messages"] as? Int == rows - 2 && exported["first_id"] as? Int == 3)
        let other = path("other.db")
        let imported = try Self.run(["import", "--db", other, file, "--stream", "central@\(cluster.bootstrapServers)"])
        #expect(imported.status == 0 && imported.stdout.contains("import: \(rows - 2) records"), "\(imported.stdout)\(imported.stderr)")
        #expect(backlogRows(try status(other)) == rows - 2)
        var lines = try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n").map(String.init)
        lines[1] = "{\"statsink_export\":1,\"kind\":\"message\"}"
        try lines.joined(separator: "\n").write(toFile: file, atomically: false, encoding: .utf8)
        let bad = try Self.run(["import", "--db", other, file])
        #expect(bad.status == 2 && bad.stderr.contains("\(file):2: missing field id; nothing was imported"), "\(bad.stderr)")
        #expect(backlogRows(try status(other)) == rows - 2)

        // Push the backlog to another cluster; each row deleted on acknowledgement.
        let dry = try Self.run(["replay", "--db", queue, "--broker", cluster.bootstrapServers, "--topic", "central", "--dry-run"])
        #expect(dry.status == 0 && dry.stdout.contains("would push \(rows - 2) rows"), "\(dry.stdout)\(dry.stderr)")
        let push = try Self.run(["replay", "--db", queue, "--broker", cluster.bootstrapServers, "--topic", "central"])
        #expect(push.status == 0, "\(push.stdout)\(push.stderr)")
        #expect(push.stdout.contains("delivered \(rows - 2) of \(rows - 2) rows"), "\(push.stdout)")
        #expect(push.stderr.contains("replay: 0/\(rows - 2) rows"), "plain progress lines off a terminal: \(push.stderr)")
        #expect(backlogRows(try status(queue)) == 0)
        let consumed = try await KafkaTopicReader(bootstrapServers: cluster.bootstrapServers, topic: "central").read(count: rows - 2, timeout: .seconds(20))
        #expect(consumed.count == rows - 2)
        #expect(consumed.allSatisfy { $0.key == Array("edge-17".utf8) && $0.headers.contains { $0.name == "statsink.snapshot_seq" } })
        // The imported copy drains to the same place.
        let pushOther = try Self.run(["replay", "--db", other, "--broker", cluster.bootstrapServers])
        #expect(pushOther.status == 0 && pushOther.stdout.contains("delivered \(rows - 2) of \(rows - 2) rows"), "\(pushOther.stdout)\(pushOther.stderr)")
        // A push that cannot deliver stops, keeps the rows and says why.
        _ = try await runSink(config: try config(queue: queue, broker: "127.0.0.1:1", producerConfig: "{message.timeout.ms: 300}"), seconds: 1)
        let left = backlogRows(try status(queue))
        let failed = try Self.run(["replay", "--db", queue, "--broker", "127.0.0.1:1", "-X", "message.timeout.ms=500"])
        #expect(failed.status == 1 && failed.stderr.contains("rows not delivered, left in the queue"), "\(failed.stderr)")
        #expect(backlogRows(try status(queue)) == left)
    }

    @Test func aPushOnATerminalDrawsAProgressBarWithRateAndETA() async throws {
        let queue = path("queue.db")
        _ = try await runSink(config: try config(queue: queue, broker: "127.0.0.1:1", producerConfig: "{message.timeout.ms: 300}"), seconds: 1)
        let rows = backlogRows(try status(queue))
        // util-linux `script` runs the command on a pseudo-terminal.
        let command = [CheckConfigCommandTests.statsink.path, "replay", "--db", queue, "--broker", cluster.bootstrapServers, "--topic", "central"].joined(separator: " ")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/script")
        process.arguments = ["-qec", command, "/dev/null"]
        let out = Pipe()
        process.standardOutput = out
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let screen = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(screen)")
        #expect(screen.contains("\r\u{1B}[K[" + String(repeating: "#", count: 30) + "] \(rows)/\(rows) rows"), "\(screen)")
        #expect(screen.contains("rows/s  ETA "), "\(screen)")
        #expect(!screen.contains("replay: 0/"), "no plain lines on a terminal")
    }

    @Test func importAndRecoverKeepToMaxBytesAndChangeNothingWhenTheRowsDoNotFit() throws {
        // About 2.3 MiB of rows: 8 Envoy-sized snapshots of 10 messages.
        let source = path("source.db")
        do {
            let queue = try MessageQueue(configuration: MessageQueueConfiguration(path: source), role: .writer)
            defer { queue.close() }
            let writer = try SinkWriter(sink: KafkaSinkConfiguration(brokerList: "kafka1:9092", topic: "envoy-metrics", batchSize: 100), queue: queue)
            var synthetic = SyntheticSource(counters: 700, gauges: 200, histograms: 100, node: NodeIdentity(id: "edge-17"))
            for index in 0..<8 {
                try writer.write(synthetic.nextSnapshot(timestampMs: 1_764_000_000_000 + Int64(index) * 10_000))
            }
        }
        #expect(try Self.run(["export", "--db", source, "--out", path("backlog.jsonl")]).status == 0)

        let target = path("target.db")
        let refused = try Self.run(["import", "--db", target, path("backlog.jsonl"), "--max-bytes", "1MiB"])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("does not fit under --max-bytes 1MiB"), "\(refused.stderr)")
        #expect(backlogRows(try status(target)) == 0, "nothing was imported")
        let imported = try Self.run(["import", "--db", target, path("backlog.jsonl"), "--max-bytes", "64MiB"])
        #expect(imported.status == 0, "\(imported.stderr)")
        #expect(backlogRows(try status(target)) == 80)

        let salvaged = path("salvaged.db")
        let refusedRecover = try Self.run(["recover", "--from", source, "--into", salvaged, "--max-bytes", "1MiB"])
        #expect(refusedRecover.status == 1)
        #expect(refusedRecover.stderr.contains("does not fit under --max-bytes 1MiB"), "\(refusedRecover.stderr)")
        #expect(backlogRows(try status(salvaged)) == 0, "nothing was copied")
        let recovered = try Self.run(["recover", "--from", source, "--into", salvaged])
        #expect(recovered.status == 0, "\(recovered.stderr)")
        #expect(backlogRows(try status(salvaged)) == 80)

        let badSize = try Self.run(["import", "--db", target, path("backlog.jsonl"), "--max-bytes", "12XB"])
        #expect(badSize.status == 2 && badSize.stderr.contains("unknown unit"), "\(badSize.stderr)")
    }

    @Test func aDamagedQueueIsQuarantinedTheSinkKeepsRunningAndRecoverSalvagesIt() async throws {
        // A file that is not SQLite at all.
        let queue = path("queue.db")
        try Data(repeating: 0x5A, count: 10_000).write(to: URL(fileURLWithPath: queue))
        let log = try await runSink(config: try config(queue: queue, broker: cluster.bootstrapServers), seconds: 2)
        #expect(log.contains("the queue file was damaged: moved aside, a fresh queue started"), "\(log.suffix(2000))")
        let fresh = try status(queue)
        let quarantined = try #require((fresh["quarantined_files"] as? [[String: Any]])?.first)
        let moved = try #require(quarantined["moved_to"] as? String)
        #expect(try Data(contentsOf: URL(fileURLWithPath: moved)) == Data(repeating: 0x5A, count: 10_000))
        #expect(((fresh["streams"] as? [[String: Any]])?.first?["delivered_rows"] as? Int ?? 0) > 0, "the sink delivered from the fresh queue")
        let nothing = try Self.run(["recover", "--from", moved, "--into", path("salvaged.db")])
        #expect(nothing.status == 1 && nothing.stderr.contains("nothing could be read"), "\(nothing.stderr)")

        // A truncated queue with a backlog: moved aside, then salvaged into the live queue.
        let second = path("second.db")
        let secondConfig = try config(queue: second, broker: cluster.bootstrapServers, producerConfig: "{message.timeout.ms: 300}", name: "second.yaml")
        try cluster.setBrokerDown(-1)
        _ = try await runSink(config: secondConfig, seconds: 2)
        try cluster.setBrokerUp(-1)
        let backlog = backlogRows(try status(second))
        let wal = (try? FileManager.default.attributesOfItem(atPath: second + "-wal")[.size] as? Int) ?? 0
        #expect(wal == 0, "a sink that stops leaves everything in the file")
        let size = try #require(FileManager.default.attributesOfItem(atPath: second)[.size] as? Int)
        try FileHandle(forUpdating: URL(fileURLWithPath: second)).truncate(atOffset: UInt64(size * 3 / 4))
        let sink = try Sink(config: secondConfig)
        try await Task.sleep(for: .seconds(1))
        let movedSecond = try #require((try status(second)["quarantined_files"] as? [[String: Any]])?.first?["moved_to"] as? String)
        let recover = try Self.run(["recover", "--from", movedSecond, "--into", second, "--json"])
        #expect(recover.status == 0, "\(recover.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(recover.stdout.utf8)) as? [String: Any])
        let salvaged = report["messages"] as? Int ?? 0
        #expect(salvaged > 0 && salvaged <= backlog, "\(recover.stdout)")
        #expect(try await eventually { backlogRows(try status(second)) == 0 }, "the running drainer delivers the salvaged rows")
        #expect(try await sink.stop() == 0, "\(sink.output.suffix(2000))")
    }

    @Test func secretsNeverAppearInLogsStatusCheckConfigExportsOrTheDatabase() async throws {
        let secrets = ["S3cr3t-sasl-VALUE", "S3cr3t-key-VALUE"]
        let queue = path("queue.db")
        let file = try config(
            queue: queue, broker: "127.0.0.1:1",
            producerConfig: "{sasl.password: \"\(secrets[0])\", ssl.key.password: \"\(secrets[1])\", debug: all, message.timeout.ms: 300}"
        )
        var outputs: [(String, String)] = []
        outputs.append(("run log", try await runSink(config: file, seconds: 1.5, logLevel: "trace")))
        let checked = try Self.run(["check-config", file])
        outputs.append(("check-config", checked.stdout + checked.stderr))
        for arguments in [["status", "--db", queue], ["status", "--db", queue, "--json"]] {
            let result = try Self.run(arguments)
            outputs.append((arguments.joined(separator: " "), result.stdout + result.stderr))
        }
        let export = try Self.run(["export", "--db", queue, "--out", path("export.jsonl"), "--include-dead-letters"])
        outputs.append(("export", export.stdout + export.stderr + (try String(contentsOfFile: path("export.jsonl"), encoding: .utf8))))
        let push = try Self.run(["replay", "--db", queue, "--broker", "127.0.0.1:1", "-X", "sasl.password=\(secrets[0])", "-X", "message.timeout.ms=300"])
        outputs.append(("replay", push.stdout + push.stderr))
        let refused = try Self.run(["replay", "--db", queue, "--broker", "127.0.0.1:1", "-X", "ssl.key.password=\(secrets[1])", "-X", "security.protocol=\(secrets[1])"])
        #expect(refused.status == 1 && refused.stderr.contains("security.protocol"), "\(refused.stderr)")
        outputs.append(("replay refused", refused.stdout + refused.stderr))
        for name in try FileManager.default.contentsOfDirectory(atPath: directory.path) where name.hasPrefix("queue.db") {
            outputs.append((name, String(decoding: try Data(contentsOf: directory.appendingPathComponent(name)), as: UTF8.self)))
        }
        #expect(outputs[0].1.contains("sasl.password = [redacted]"), "librdkafka's own configuration dump is in the log")
        for (name, text) in outputs {
            for secret in secrets {
                #expect(!text.contains(secret), "\(name) shows a secret")
            }
        }
    }
}
