import StatSinkTestKit
import Foundation

/// CPU time used, to tell a phase that is CPU-bound (the machine busy) from one that waits.
struct CPUTime {
    /// CPU-seconds of the whole machine (every process, every CPU) that were not idle.
    var machineBusySeconds: Double
    /// CPU-seconds this process has used, user and system.
    var processSeconds: Double
    /// CPU-seconds the broker process has used.
    var brokerSeconds: Double

    /// Busy CPU-seconds of every other process (and the kernel's own threads): near 0 when the
    /// machine was quiet, as a benchmark needs.
    var otherSeconds: Double { max(0, machineBusySeconds - processSeconds - brokerSeconds) }

    /// The counters now (`broker`: none when the phase has no broker process).
    static func now(broker: MockBrokerProcess? = nil) -> CPUTime {
        var spec = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &spec)
        return CPUTime(
            machineBusySeconds: machineBusy(), processSeconds: Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9,
            brokerSeconds: broker?.cpuSeconds ?? 0
        )
    }

    /// What was used since `start`.
    func since(_ start: CPUTime) -> CPUTime {
        CPUTime(
            machineBusySeconds: machineBusySeconds - start.machineBusySeconds, processSeconds: processSeconds - start.processSeconds,
            brokerSeconds: brokerSeconds - start.brokerSeconds
        )
    }

    /// The first line of `/proc/stat` (clock ticks): user, nice, system, idle, iowait, irq,
    /// softirq, steal; busy is all but idle and iowait. 0 where there is no `/proc`.
    private static func machineBusy() -> Double {
        guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("cpu ") })
        else { return 0 }
        let ticks = line.split(separator: " ").dropFirst().prefix(8).compactMap { Double($0) }
        guard ticks.count == 8 else { return 0 }
        let busy = ticks.enumerated().filter { $0.offset != 3 && $0.offset != 4 }.reduce(0) { $0 + $1.element }
        return busy / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}
