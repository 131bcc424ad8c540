import Logging
import StatSink
import Synchronization
import Testing

/// Failure warnings: one per kind per interval, the next one saying how many were suppressed.
@Suite("Rate-limited warnings")
struct RateLimitedLogTests {
    @Test func oneWarningPerKindPerIntervalWithTheSuppressedCount() async throws {
        let records = RecordedLog()
        let logger = Logger(label: "test") { _ in RecordingHandler(records: records) }
        let log = RateLimitedLog(interval: .milliseconds(300))
        #expect(log.warning("retry", "delivery failed", logger: logger))
        #expect(!log.warning("retry", "delivery failed", logger: logger))
        #expect(!log.warning("retry", "delivery failed", logger: logger))
        #expect(log.warning("dead-letter", "row dead-lettered", logger: logger), "kinds are limited separately")
        try await Task.sleep(for: .milliseconds(350))
        #expect(log.warning("retry", "delivery failed", logger: logger))
        let logged = records.entries.withLock { $0 }
        #expect(logged.map(\.message) == ["delivery failed", "row dead-lettered", "delivery failed"])
        #expect(logged.allSatisfy { $0.level == .warning })
        #expect(logged.map { $0.metadata["suppressed"] } == [nil, nil, "2"])
    }
}

final class RecordedLog: Sendable {
    let entries = Mutex<[(level: Logger.Level, message: String, metadata: [String: String])]>([])
}

struct RecordingHandler: LogHandler {
    let records: RecordedLog
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let metadata = (event.metadata ?? [:]).mapValues { "\($0)" }
        records.entries.withLock { $0.append((event.level, "\(event.message)", metadata)) }
    }
}
