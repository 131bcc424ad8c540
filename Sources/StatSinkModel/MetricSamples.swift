/// A counter at one flush: its cumulative value and how much it grew since the previous flush.
///
/// Which of the two is written depends on `report_counters_as_deltas`.
public struct CounterSample: Sendable, Hashable {
    /// The counter's identity.
    public var name: MetricName
    /// The cumulative value since the counter was created.
    public var value: UInt64
    /// The increase since the previous flush.
    public var delta: UInt64

    /// Creates a counter sample.
    public init(name: MetricName, value: UInt64, delta: UInt64) {
        self.name = name
        self.value = value
        self.delta = delta
    }
}

/// A gauge at one flush. Envoy's gauges are unsigned integers.
public struct GaugeSample: Sendable, Hashable {
    /// The gauge's identity.
    public var name: MetricName
    /// The current value.
    public var value: UInt64

    /// Creates a gauge sample.
    public init(name: MetricName, value: UInt64) {
        self.name = name
        self.value = value
    }
}

/// A histogram at one flush: the statistics of the last flush interval only.
public struct HistogramSample: Sendable, Hashable {
    /// The histogram's identity.
    public var name: MetricName
    /// The interval statistics.
    public var statistics: HistogramStatistics

    /// Creates a histogram sample.
    public init(name: MetricName, statistics: HistogramStatistics) {
        self.name = name
        self.statistics = statistics
    }
}
