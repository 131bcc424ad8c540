import Foundation
import StatSink
import Synchronization

/// The progress of a push on stderr: a bar redrawn in place on a terminal, a plain line every
/// few seconds otherwise (logs, CI).
final class ProgressDisplay: Sendable {
    private let isTerminal = isatty(STDERR_FILENO) == 1
    private let lastLine = Mutex<Double>(-1)
    private let plainInterval: Double

    init(plainInterval: Double = 2) {
        self.plainInterval = plainInterval
    }

    func show(_ progress: BacklogPush.Progress) {
        let rate = progress.elapsedSeconds > 0 ? Double(progress.deliveredRows) / progress.elapsedSeconds : 0
        let remaining = progress.totalRows - progress.deliveredRows - progress.failedRows
        let eta = rate > 0 ? OperatorOutput.age(Double(remaining) / rate) : "-"
        let figures = "\(progress.deliveredRows)/\(progress.totalRows) rows  \(OperatorOutput.bytes(progress.deliveredBytes))/\(OperatorOutput.bytes(progress.totalBytes))  \(Int(rate)) rows/s  ETA \(eta)"
        if isTerminal {
            let width = 30
            let done = progress.totalRows > 0 ? width * progress.deliveredRows / progress.totalRows : width
            let bar = String(repeating: "#", count: done) + String(repeating: ".", count: width - done)
            write("\r\u{1B}[K[\(bar)] \(figures)")
            return
        }
        let due = lastLine.withLock { last in
            guard last < 0 || progress.elapsedSeconds - last >= plainInterval else { return false }
            last = progress.elapsedSeconds
            return true
        }
        if due { write("replay: \(figures.replacingOccurrences(of: "  ", with: ", "))\n") }
    }

    /// Ends the bar's line on a terminal.
    func finish() {
        if isTerminal { write("\n") }
    }

    private func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}
