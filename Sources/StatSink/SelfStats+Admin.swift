import Foundation
import Logging
import StatSinkAdmin
import StatSinkQueue

extension SelfStats {
    /// The admin server's routes: `/metrics` (Prometheus text) and `/healthz`. A queue that cannot
    /// be read answers 500 on `/metrics` and 503 on `/healthz`, logged (rate-limited) as warnings.
    public func adminRoutes(logger: Logger) -> [String: AdminServer.AdminResponder] {
        let log = RateLimitedLog()
        return [
            "/metrics": { [self] in
                do {
                    return AdminResponse(contentType: PrometheusText.contentType, body: Self.prometheusText(try figures()))
                } catch {
                    log.warning("metrics", "cannot read the queue for /metrics", metadata: ["error": "\(error)"], logger: logger)
                    return AdminResponse(status: 500, body: "cannot read the queue: \(error)\n")
                }
            },
            "/healthz": { [self] in
                let report = health()
                if let failure = report.failure {
                    log.warning("health", "unhealthy", metadata: ["reason": "\(failure)"], logger: logger)
                }
                return AdminResponse(status: report.healthy ? 200 : 503, contentType: "application/json", body: report.json)
            },
        ]
    }

    /// Healthy when the queue reads, every drainer runs and every drainer's broker answered its
    /// last delivery report (``DrainerTotals/brokerReachable``).
    public func health() -> HealthReport {
        let figures: Figures
        do {
            figures = try self.figures()
        } catch {
            return HealthReport(streams: [], failure: "cannot read the queue: \(error)")
        }
        let streams = figures.streams.filter { $0.drainer != nil }.map { stream in
            HealthReport.Stream(
                stream: stream.stream, drainerRunning: stream.drainerRunning, brokerReachable: stream.drainer?.brokerReachable ?? false,
                lastDeliveryAgeSeconds: stream.drainer?.lastDeliveryAtMs.map { Double(max(0, figures.nowMs - $0)) / 1000 }
            )
        }
        var reasons: [String] = []
        for stream in streams {
            if !stream.drainerRunning { reasons.append("\(stream.stream): drainer not running") }
            if !stream.brokerReachable { reasons.append("\(stream.stream): broker unreachable") }
        }
        return HealthReport(streams: streams, failure: reasons.isEmpty ? nil : reasons.joined(separator: "; "))
    }

    /// `figures` in Prometheus text format (README "Self-observability").
    public static func prometheusText(_ figures: Figures) -> String {
        var out = PrometheusText()
        func perStream(_ name: String, _ type: String, _ help: String, _ value: (StreamFigures) -> Double?) {
            out.family(name, type, help)
            for stream in figures.streams {
                if let sample = value(stream) { out.sample(name, [("stream", stream.stream)], sample) }
            }
        }
        perStream("statsink_queue_rows", "gauge", "Rows waiting for delivery.") { Double($0.queue.rows) }
        perStream("statsink_queue_bytes", "gauge", "Payload bytes of the rows waiting.") { Double($0.queue.payloadBytes) }
        perStream("statsink_queue_oldest_age_seconds", "gauge", "Age of the oldest unacknowledged row; 0 with no backlog.") {
            $0.oldestAgeSeconds(nowMs: figures.nowMs)
        }
        perStream("statsink_in_flight_rows", "gauge", "Rows handed to the producer, not yet reported.") { $0.drainer == nil ? nil : Double($0.inFlightRows) }
        perStream("statsink_in_flight_bytes", "gauge", "Payload bytes in flight.") { $0.drainer == nil ? nil : Double($0.inFlightBytes) }
        perStream("statsink_enqueued_total", "counter", "Rows enqueued over the queue file's life.") { Double($0.queue.enqueuedRows) }
        perStream("statsink_snapshots_total", "counter", "Snapshots this process committed to the queue.") { $0.writer.map { Double($0.snapshots) } }
        perStream("statsink_enqueue_failures_total", "counter", "Snapshots the queue refused with an error.") { $0.writer.map { Double($0.failures) } }
        perStream("statsink_delivered_total", "counter", "Rows the broker acknowledged (deleted).") { $0.drainer.map { Double($0.delivered) } }
        perStream("statsink_retried_total", "counter", "Failed delivery attempts that left the row queued.") { $0.drainer.map { Double($0.retried) } }
        perStream("statsink_dead_lettered_total", "counter", "Rows this process moved to dead letters.") { $0.drainer.map { Double($0.deadLettered) } }
        perStream("statsink_dead_letters", "gauge", "Rows in dead_letters.") { Double($0.queue.deadLetters) }
        out.family("statsink_dropped_total", "counter", "Rows dropped without delivery over the file's life, by reason.")
        for stream in figures.streams {
            for reason in DropReason.allCases {
                out.sample("statsink_dropped_total", [("stream", stream.stream), ("reason", reason.rawValue)], stream.queue.drops[reason.rawValue] ?? 0)
            }
        }
        out.family("statsink_producer_errors_total", "counter", "Failed delivery reports and refused produce calls, by librdkafka error name.")
        for stream in figures.streams {
            for (error, count) in (stream.drainer?.producerErrors ?? [:]).sorted(by: { $0.key < $1.key }) {
                out.sample("statsink_producer_errors_total", [("stream", stream.stream), ("error", error)], count)
            }
        }
        perStream("statsink_last_delivery_timestamp_seconds", "gauge", "When the broker last acknowledged a row (Unix time).") {
            $0.drainer?.lastDeliveryAtMs.map { Double($0) / 1000 }
        }
        perStream("statsink_broker_reachable", "gauge", "1 when the broker answered the last delivery report.") {
            $0.drainer.map { $0.brokerReachable ? 1 : 0 }
        }
        perStream("statsink_drainer_running", "gauge", "1 while the stream's drainer runs.") { $0.drainer == nil ? nil : ($0.drainerRunning ? 1 : 0) }
        out.family("statsink_enqueue_commit_seconds", "histogram", "Time to commit one snapshot's rows to the queue.")
        for stream in figures.streams {
            guard let writer = stream.writer else { continue }
            let labels = [("stream", stream.stream)]
            for (bound, count) in zip(WriterStatistics.latencyBounds, writer.latencyBuckets) {
                out.sample("statsink_enqueue_commit_seconds_bucket", labels + [("le", PrometheusText.format(bound))], count)
            }
            out.sample("statsink_enqueue_commit_seconds_bucket", labels + [("le", "+Inf")], writer.latencyCount)
            out.sample("statsink_enqueue_commit_seconds_sum", labels, writer.latencySum)
            out.sample("statsink_enqueue_commit_seconds_count", labels, writer.latencyCount)
        }
        out.family("statsink_queue_file_bytes", "gauge", "Size of the queue's database file.")
        out.sample("statsink_queue_file_bytes", [], figures.fileBytes)
        out.family("statsink_queue_wal_bytes", "gauge", "Size of the queue's write-ahead log.")
        out.sample("statsink_queue_wal_bytes", [], figures.walBytes)
        out.family("statsink_quarantined_files", "gauge", "Damaged queue files moved aside and replaced.")
        out.sample("statsink_quarantined_files", [], figures.quarantinedFiles)
        return out.text
    }
}

/// What `/healthz` answers.
public struct HealthReport: Sendable, Hashable, Encodable {
    /// One drained stream.
    public struct Stream: Sendable, Hashable, Encodable {
        public var stream: String
        public var drainerRunning: Bool
        public var brokerReachable: Bool
        /// Seconds since the last acknowledgement, if any.
        public var lastDeliveryAgeSeconds: Double?

        enum CodingKeys: String, CodingKey {
            case stream, drainerRunning = "drainer_running", brokerReachable = "broker_reachable"
            case lastDeliveryAgeSeconds = "last_delivery_age_s"
        }
    }

    /// The drained streams.
    public var streams: [Stream]
    /// Why it is unhealthy; `nil` when healthy.
    public var failure: String?

    /// Whether `/healthz` answers 200.
    public var healthy: Bool { failure == nil }

    /// `{"reason":…,"status":"ok"|"unavailable","streams":[…]}`, one line, keys sorted.
    public var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(self)) ?? Data("{\"status\":\"unavailable\"}".utf8)
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    /// Encodes `status`, `reason` (only when unhealthy) and `streams`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(healthy ? "ok" : "unavailable", forKey: .status)
        try container.encodeIfPresent(failure, forKey: .reason)
        try container.encode(streams, forKey: .streams)
    }

    enum CodingKeys: String, CodingKey {
        case status, reason, streams
    }
}
