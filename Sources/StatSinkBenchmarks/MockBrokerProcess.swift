import Foundation

/// A `statsink-mock-broker` child process: the broker of the drain benchmark lives outside the
/// measured process, so its memory and CPU are not counted as ours.
///
/// The binary is looked for next to this benchmark's own (SwiftPM builds both products into one
/// directory). The child stops when its stdin closes, so it does not outlive us even if we crash.
final class MockBrokerProcess {
    /// What went wrong starting the broker.
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// The broker's `bootstrap.servers`.
    let bootstrapServers: String
    private let process: Process
    private let stdin: Pipe

    /// Starts the broker with these topics (name and partitions) and waits for its address.
    init(topics: [(name: String, partitions: Int)], brokers: Int = 1) throws {
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
        let stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        try process.run()

        // The first line of its stdout is the address; EOF before it means it failed (its stderr
        // is ours, so the reason is already printed).
        var output = Data()
        while !output.contains(UInt8(ascii: "\n")) {
            let chunk = stdout.fileHandleForReading.availableData
            if chunk.isEmpty {
                process.waitUntilExit()
                throw Failure(description: "statsink-mock-broker exited (status \(process.terminationStatus)) before printing its address")
            }
            output.append(chunk)
        }
        bootstrapServers = String(decoding: output.prefix { $0 != UInt8(ascii: "\n") }, as: UTF8.self)
    }

    /// Closes the broker's stdin (its stop request) and waits for it to exit.
    func stop() {
        try? stdin.fileHandleForWriting.close()
        process.waitUntilExit()
    }

    /// CPU-seconds the broker has used so far (user and system, from `/proc/PID/stat`); 0 where
    /// there is no `/proc`.
    var cpuSeconds: Double {
        guard let text = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/stat", encoding: .utf8),
              let end = text.lastIndex(of: ")")
        else { return 0 }
        // After "PID (COMM)": state is field 3, utime 14 and stime 15.
        let fields = text[text.index(after: end)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// `statsink-mock-broker` in the directory of the running executable.
    static var executableURL: URL {
        let own = Bundle.main.executableURL ?? URL(fileURLWithPath: CommandLine.arguments[0])
        return own.resolvingSymlinksInPath().deletingLastPathComponent().appendingPathComponent("statsink-mock-broker")
    }
}
