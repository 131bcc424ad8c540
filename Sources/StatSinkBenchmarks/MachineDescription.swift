import Foundation
import StatSinkKafka

/// The machine and libraries a run measured, printed under each queue table.
struct MachineDescription: CustomStringConvertible {
    var processors = ProcessInfo.processInfo.activeProcessorCount
    var cpuModel = Self.cpuModel()
    var librdkafka = Librdkafka.version
    var sqlite = RawSQLiteTable.version

    var description: String {
        "Machine: nproc \(processors), CPU \(cpuModel), librdkafka \(librdkafka), SQLite \(sqlite)."
    }

    /// The first `model name` of `/proc/cpuinfo`, or `unknown`.
    private static func cpuModel() -> String {
        let text = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let line = text.split(separator: "\n").first { $0.hasPrefix("model name") }
        return line.flatMap { $0.split(separator: ":", maxSplits: 1).last }.map { $0.trimmingCharacters(in: .whitespaces) } ?? "unknown"
    }
}
