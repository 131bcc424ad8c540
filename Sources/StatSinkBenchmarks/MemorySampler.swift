import Foundation
import Synchronization

/// Samples this process's resident set size (`VmRSS` of `/proc/self/status`) on a thread of its
/// own, every ``interval``, and keeps the largest value seen, until stopped.
final class MemorySampler: Sendable {
    /// What the process's `/proc/self/status` says, in bytes.
    struct Status {
        /// `VmRSS`: resident now.
        var residentBytes: Int
        /// `VmHWM`: the peak resident size since start or since ``resetPeak()``.
        var peakBytes: Int
    }

    let interval: Duration
    private let state = Mutex((stopped: false, samples: 0, maximum: 0))

    /// Starts sampling at once.
    init(interval: Duration = .milliseconds(50)) {
        self.interval = interval
        Thread.detachNewThread { [self] in
            while true {
                let resident = Self.status()?.residentBytes ?? 0
                let stopped = state.withLock { state in
                    state.samples += 1
                    state.maximum = max(state.maximum, resident)
                    return state.stopped
                }
                if stopped { return }
                Thread.sleep(forTimeInterval: interval.milliseconds / 1000)
            }
        }
    }

    /// Stops sampling; returns the largest `VmRSS` seen and the number of samples.
    func stop() -> (maximumBytes: Int, samples: Int) {
        let current = Self.status()?.residentBytes ?? 0
        return state.withLock { state in
            state.stopped = true
            state.maximum = max(state.maximum, current)
            return (state.maximum, state.samples)
        }
    }

    /// Reads `VmRSS` and `VmHWM`; `nil` where there is no `/proc` (not Linux).
    static func status() -> Status? {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        var status = Status(residentBytes: 0, peakBytes: 0)
        for line in text.split(separator: "\n") where line.hasPrefix("VmRSS:") || line.hasPrefix("VmHWM:") {
            // "VmRSS:     12345 kB"
            let kibibytes = line.split(whereSeparator: \.isWhitespace).dropFirst().first.flatMap { Int($0) } ?? 0
            if line.hasPrefix("VmRSS:") { status.residentBytes = kibibytes << 10 } else { status.peakBytes = kibibytes << 10 }
        }
        return status
    }

    /// Resets `VmHWM` to the current `VmRSS` (Linux: `5` written to `/proc/self/clear_refs`), so
    /// a later `VmHWM` is the peak of what follows. `false` where that is not allowed.
    static func resetPeak() -> Bool {
        let descriptor = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        return write(descriptor, "5", 1) == 1
    }
}
