import Foundation

/// An input on which an oracle did not hold.
public struct FuzzFailure: Sendable {
    /// The iteration of the run that made the input (with the seed, it makes it again).
    public var iteration: Int
    /// What went wrong.
    public var message: String
    /// The input.
    public var input: [UInt8]
    /// Where the input was saved, if it could be.
    public var file: String?

    /// The failure in a few lines: the message, where the input is, its base64 when short.
    public func description(target: String, seed: UInt64) -> String {
        var text = "FAILURE \(target) seed \(seed) iteration \(iteration): \(message)\n"
        text += "  input: \(input.count) bytes"
        if let file { text += ", saved to \(file) (replay: statsink-fuzz \(target) --replay \(file))" }
        if input.count <= 4096 { text += "\n  base64: \(Data(input).base64EncodedString())" }
        return text
    }
}

/// What a fuzz run did.
public struct FuzzReport: Sendable {
    /// The target's name.
    public var target: String
    /// The seed of the run.
    public var seed: UInt64
    /// Inputs run (seeds included).
    public var iterations = 0
    /// The run's duration.
    public var elapsed: Duration = .zero
    /// Inputs the code under test took.
    public var accepted = 0
    /// Inputs it refused with its documented error.
    public var rejected = 0
    /// Inputs by outcome class.
    public var outcomes: [String: Int] = [:]
    /// The failures, in order.
    public var failures: [FuzzFailure] = []
    /// The corpus size at the end.
    public var corpusSize = 0
    /// The longest time one input took.
    public var slowest: Duration = .zero
    /// The iteration of the slowest input.
    public var slowestIteration = 0
    /// Where the slowest input was saved (``FuzzOptions/saveSlowest``).
    public var slowestFile: String?

    /// Inputs per second.
    public var executionsPerSecond: Double {
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return seconds > 0 ? Double(iterations) / seconds : 0
    }

    /// The header of ``tableRow``.
    public static let tableHeader = "target  seed        iterations  seconds   execs/s  accepted  rejected  outcomes  corpus  slowest ms  failures"

    /// One line of the summary table.
    public var tableRow: String {
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let slowestMs = Double(slowest.components.seconds) * 1000 + Double(slowest.components.attoseconds) / 1e15
        return [
            target.padded(6), String(seed).padded(10), String(iterations).leftPadded(10), fixed(seconds, 1).leftPadded(7),
            fixed(executionsPerSecond, 0).leftPadded(8), String(accepted).leftPadded(8), String(rejected).leftPadded(8),
            String(outcomes.count).leftPadded(8), String(corpusSize).leftPadded(6), fixed(slowestMs, 1).leftPadded(10),
            String(failures.count).leftPadded(8),
        ].joined(separator: "  ")
    }

    /// The `limit` most frequent outcome classes, one per line with its count.
    public func outcomeLines(limit: Int) -> [String] {
        outcomes.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.prefix(limit).map { key, count in
            String(count).leftPadded(10) + "  " + key
        }
    }
}

/// `value` with `digits` decimals.
func fixed(_ value: Double, _ digits: Int) -> String {
    String(format: "%.\(digits)f", value)
}

extension String {
    func padded(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }

    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
