import Logging
import Synchronization

/// Warnings about repeated failures, at most one per kind per interval: a broker outage or a
/// refusing topic must show in the log without flooding it. The next warning of a kind says how
/// many were suppressed since the last one (`suppressed` metadata).
public final class RateLimitedLog: Sendable {
    private let interval: Duration
    private let clock = ContinuousClock()
    private let state = Mutex<[String: (last: ContinuousClock.Instant, suppressed: Int)]>([:])

    /// Creates a log letting one warning per kind through every `interval` (default 30 s).
    public init(interval: Duration = .seconds(30)) {
        self.interval = interval
    }

    /// Logs `message` at warning level unless a warning of `kind` was logged less than the
    /// interval ago, in which case it is counted as suppressed. Returns whether it was logged.
    @discardableResult
    public func warning(
        _ kind: String, _ message: @autoclosure () -> Logger.Message, metadata: Logger.Metadata = [:], logger: Logger
    ) -> Bool {
        let now = clock.now
        let suppressed: Int? = state.withLock { state in
            if let entry = state[kind], now < entry.last.advanced(by: interval) {
                state[kind]?.suppressed += 1
                return nil
            }
            defer { state[kind] = (now, 0) }
            return state[kind]?.suppressed ?? 0
        }
        guard let suppressed else { return false }
        var metadata = metadata
        if suppressed > 0 { metadata["suppressed"] = "\(suppressed)" }
        logger.warning(message(), metadata: metadata)
        return true
    }
}
