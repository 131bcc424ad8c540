import ArgumentParser
import Foundation

/// `statsink`: a thin command line over the StatSink library (`interface.md`).
///
/// Exit codes: 0 success, 1 runtime failure, 2 usage or configuration error. Errors go to
/// stderr, one line each, naming the file, key path or option at fault.
@main
struct Statsink: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "statsink",
        abstract: "Ships metric snapshots to Kafka through a durable SQLite queue.",
        subcommands: [
            Run.self, Demo.self, CheckConfig.self, Status.self, Replay.self, Export.self, Import.self, Purge.self, Recover.self,
        ]
    )

    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            let code = exitCode(for: error)
            let message = fullMessage(for: error)
            if code == .success {
                if !message.isEmpty { print(message) }
                Foundation.exit(0)
            }
            if !message.isEmpty { FileHandle.standardError.write(Data((message + "\n").utf8)) }
            // ArgumentParser reports usage errors as EX_USAGE (64); our contract says 2.
            Foundation.exit(code.rawValue == 64 ? 2 : code.rawValue)
        }
    }
}

/// Writes one line to standard error.
func printError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}
