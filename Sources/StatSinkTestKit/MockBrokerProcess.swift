import Foundation

/// A `statsink-mock-broker` child process: a Kafka-protocol broker outside the process under
/// test or measurement (benchmarks, harnesses), so its CPU and memory are not counted as ours and
/// it survives when the process under test is killed.
///
/// The binary is looked for next to the running executable (SwiftPM builds all products into one
/// directory). The child stops when its stdin closes, so it does not outlive us even if we crash.
/// Its brokers can be taken down and up, and produce errors injected, with ``send(_:)``.
public final class MockBrokerProcess: @unchecked Sendable {
    /// What went wrong with the broker.
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// The broker's `bootstrap.servers`.
    public let bootstrapServers: String
    private let process: Process
    private let stdin: Pipe
    private let stdout: Pipe
    /// Bytes read from stdout after the last full line. Commands are sent one at a time.
    private var pending = Data()

    /// Starts the broker with these topics (name and partitions) and waits for its address.
    public init(topics: [(name: String, partitions: Int)], brokers: Int = 1) throws {
        let executable = Self.executableURL
        guard FileManager.default.isExecutableFile(atPath: executable.path) else {
            throw Failure(description: """
                \(executable.path) not found: build it next to the benchmark with
                swift build -c release --product statsink-mock-broker (and the benchmark's --scratch-path, if any)
                """)
        }
        process = Process()
        process.executableURL = executable
        process.arguments = ["--brokers", String(brokers)] + topics.flatMap { ["--topic", "\($0.name):\($0.partitions)"] }
        stdin = Pipe()
        stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        try process.run()
        // The first line of its stdout is the address; EOF before it means it failed (its stderr
        // is ours, so the reason is already printed).
        guard let address = Self.readLine(from: stdout, buffer: &pending) else {
            process.waitUntilExit()
            throw Failure(description: "statsink-mock-broker exited (status \(process.terminationStatus)) before printing its address")
        }
        bootstrapServers = address
    }

    /// Sends one command line and returns the broker's reply (`ok`), or throws its error.
    /// Commands: `down ID`, `up ID` (broker ids from 1), `errors NAME_OR_CODE[,…]` (the next
    /// produce requests fail with these codes, one each, e.g. `errors NOT_ENOUGH_REPLICAS,50`),
    /// `clear-errors`.
    @discardableResult
    public func send(_ command: String) throws -> String {
        stdin.fileHandleForWriting.write(Data("\(command)\n".utf8))
        guard let reply = Self.readLine(from: stdout, buffer: &pending) else {
            throw Failure(description: "statsink-mock-broker exited while answering '\(command)'")
        }
        guard reply == "ok" else { throw Failure(description: "statsink-mock-broker refused '\(command)': \(reply)") }
        return reply
    }

    private static func readLine(from pipe: Pipe, buffer: inout Data) -> String? {
        while true {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffer[buffer.startIndex..<newline], as: UTF8.self)
                buffer.removeSubrange(buffer.startIndex...newline)
                return line
            }
            let chunk = pipe.fileHandleForReading.availableData
            if chunk.isEmpty { return nil }
            buffer.append(chunk)
        }
    }

    /// Closes the broker's stdin (its stop request) and waits for it to exit.
    public func stop() {
        try? stdin.fileHandleForWriting.close()
        process.waitUntilExit()
    }

    /// CPU-seconds the broker has used so far (user and system, from `/proc/PID/stat`); 0 where
    /// there is no `/proc`.
    public var cpuSeconds: Double {
        guard let text = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/stat", encoding: .utf8),
              let end = text.lastIndex(of: ")")
        else { return 0 }
        // After "PID (COMM)": state is field 3, utime 14 and stime 15.
        let fields = text[text.index(after: end)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// `statsink-mock-broker` in the directory of the running executable.
    public static var executableURL: URL {
        let own = Bundle.main.executableURL ?? URL(fileURLWithPath: CommandLine.arguments[0])
        return own.resolvingSymlinksInPath().deletingLastPathComponent().appendingPathComponent("statsink-mock-broker")
    }
}
