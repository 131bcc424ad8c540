import Foundation
import StatSink
import StatSinkConfig
import StatSinkKafka
import Testing

/// `statsink check-config`, run as a real process, and the library check under it.
@Suite("check-config")
struct CheckConfigCommandTests {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The `statsink` executable built next to the test binary.
    static var statsink: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("statsink")
    }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static func run(_ arguments: [String]) throws -> Result {
        let process = Process()
        process.executableURL = statsink
        process.arguments = arguments
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self), stderr: String(decoding: stderr, as: UTF8.self))
    }

    static func temporaryFile(_ contents: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("statsink-\(UUID().uuidString).yaml").path
        try contents.write(toFile: path, atomically: false, encoding: .utf8)
        return path
    }

    static func sink(_ producerConfig: String) -> String {
        """
        stats_sinks:
          - name: envoy.stat_sinks.kafka
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.stat_sinks.kafka.v3.KafkaStatsSinkConfig
              broker_list: "127.0.0.1:9092"
              topic: metrics
              producer_config: \(producerConfig)
        """
    }

    @Test(arguments: ["examples/envoy-kafka.yaml", "examples/statsink-full.yaml"])
    func examplesPassWithTheEffectiveConfiguration(example: String) throws {
        let result = try Self.run(["check-config", Self.packageRoot.appendingPathComponent(example).path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("stats_sinks:"))
        #expect(result.stdout.contains("#   acks=all"))
        #expect(result.stderr.isEmpty)
    }

    @Test func secretsAreRedactedInTheEffectiveConfiguration() throws {
        let path = try Self.temporaryFile(Self.sink("{security.protocol: SASL_PLAINTEXT, sasl.mechanism: PLAIN, sasl.username: u, sasl.password: hunter2-secret}"))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let result = try Self.run(["check-config", path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(!result.stdout.contains("hunter2-secret"))
        #expect(result.stdout.contains("[redacted]"))
        #expect(result.stdout.contains("sasl.username"))
    }

    @Test func librdkafkaRefusalsExitTwoNamingTheProperty() throws {
        let path = try Self.temporaryFile(Self.sink("{compression.codec: lz5, sasl.pasword: x}"))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let result = try Self.run(["check-config", path])
        #expect(result.status == 2)
        #expect(result.stdout.isEmpty)
        let lines = result.stderr.split(separator: "\n").map(String.init)
        #expect(lines == [
            "\(path): stats_sinks[0].typed_config.producer_config.compression.codec: librdkafka 2.0.2 refused it: Invalid value \"lz5\" for configuration property \"compression.codec\"",
            "\(path): stats_sinks[0].typed_config.producer_config.sasl.pasword: librdkafka 2.0.2 refused it: No such configuration property: \"sasl.pasword\"",
        ].map { $0.replacingOccurrences(of: "2.0.2", with: Librdkafka.version) })
    }

    @Test func secretValuesQuotedByLibrdkafkaAreRedacted() throws {
        // An enum-valued property given a secret's value: librdkafka quotes the value back.
        let path = try Self.temporaryFile(Self.sink("{sasl.password: PLAINISH, security.protocol: PLAINISH}"))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let result = try Self.run(["check-config", path])
        #expect(result.status == 2)
        #expect(result.stderr.contains("producer_config.security.protocol"))
        #expect(!result.stderr.contains("PLAINISH"))
    }

    @Test func fileProblemsExitTwo() throws {
        let path = try Self.temporaryFile("stats_sinks: []\nbuffer: {max_bytes: -1}\n")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let result = try Self.run(["check-config", path])
        #expect(result.status == 2)
        #expect(result.stderr.contains("buffer.max_bytes"))
        #expect(result.stderr.contains("stats_sinks"))
        let missing = try Self.run(["check-config", "/nonexistent/statsink.yaml"])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("/nonexistent/statsink.yaml"))
    }

    @Test func usageErrorsExitTwo() throws {
        #expect(try Self.run(["check-config"]).status == 2)
        #expect(try Self.run(["no-such-command"]).status == 2)
        #expect(try Self.run(["check-config", "--help"]).status == 0)
    }

    @Test func libraryCheckReportsEveryProblem() throws {
        let path = try Self.temporaryFile(Self.sink("{acks: \"1\", enable.idempotence: \"true\"}"))
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(throws: ConfigurationError.self) { try ConfigurationCheck.load(path: path) }
        do {
            _ = try ConfigurationCheck.load(path: path)
        } catch {
            #expect(error.problems.map(\.keyPath) == ["stats_sinks[0].typed_config.producer_config"])
        }
    }
}
