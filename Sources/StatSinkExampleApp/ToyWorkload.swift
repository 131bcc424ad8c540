import CoreMetrics
import ServiceLifecycle

/// Stands in for a server's request handling: records the metrics a handler would, through the
/// bootstrapped swift-metrics backend, until graceful shutdown.
struct ToyWorkload: Service {
    func run() async throws {
        let inFlight = Meter(label: "http.requests_in_flight")
        let responseBytes = Recorder(label: "http.response_bytes")
        var generator = SystemRandomNumberGenerator()
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            let status = Int.random(in: 0..<20, using: &generator) == 0 ? "500" : "200"
            // Made per request here to show dimensions; each lookup is a dictionary lookup under
            // the factory's lock, so a real server keeps the metrics it uses on every request.
            Counter(label: "http.requests", dimensions: [("method", "GET"), ("status", status)]).increment()
            Timer(label: "http.request_duration", dimensions: [("method", "GET")])
                .recordNanoseconds(Int64.random(in: 200_000...80_000_000, using: &generator))
            responseBytes.record(Int.random(in: 100...20_000, using: &generator))
            inFlight.set(Int.random(in: 0...12, using: &generator))
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(10)) }
            } catch {
                return
            }
        }
    }
}
