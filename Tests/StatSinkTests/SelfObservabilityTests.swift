import Foundation
import Logging
import ServiceLifecycle
import StatSink
import StatSinkAdmin
import StatSinkConfig
import StatSinkKafka
import StatSinkModel
import StatSinkQueue
import StatSinkTestKit
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `/metrics` and `/healthz` over a real TCP connection, checked against what the pipeline did
/// with librdkafka's mock cluster: deliveries, an outage, a dead letter, a purge.
@Suite("Self-observability", .serialized)
struct SelfObservabilityTests {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("statsink-admin-\(UUID().uuidString)")
    let topic = "envoy-metrics"

    @Test func adminServerAnswersUnknownPathsAndMethodsAndStopsOnShutdown() async throws {
        let server = AdminServer(
            address: ListenAddress(host: "127.0.0.1", port: 0),
            routes: ["/hello": { AdminResponse(body: "hi\n") }], logger: Logger(label: "test")
        )
        let group = ServiceGroup(services: [server], logger: Logger(label: "test"))
        let task = Task { try await group.run() }
        let port = try await Self.waitForPort(server)
        #expect(try HTTP.request(port: port, path: "/hello?x=1") == HTTP.Response(status: 200, body: "hi\n"))
        #expect(try HTTP.request(port: port, path: "/nope").status == 404)
        #expect(try HTTP.request(port: port, method: "POST", path: "/hello").status == 405)
        await group.triggerGracefulShutdown()
        try await task.value
        #expect(server.boundPort == nil)
        #expect(throws: (any Error).self) { try HTTP.request(port: port, path: "/hello") }
    }

    @Test func labelValuesAreEscaped() async throws {
        let figures = SelfStats.Figures(
            nowMs: 0, streams: [SelfStats.StreamFigures(stream: "a\"b\\c\nd", queue: QueueGauges.Stream())],
            fileBytes: 0, walBytes: 0, quarantinedFiles: 0
        )
        let text = SelfStats.prometheusText(figures)
        #expect(text.contains(#"statsink_queue_rows{stream="a\"b\\c\nd"} 0"#))
    }

    @Test func metricsAndHealthFollowDeliveriesOutageDeadLettersAndDrops() async throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let cluster = try KafkaMockCluster(brokerCount: 1)
        defer { cluster.close() }
        try cluster.createTopic(name: topic, partitions: 1)
        let sink = KafkaSinkConfiguration(
            brokerList: cluster.bootstrapServers, topic: topic, batchSize: 0,
            producerConfig: [
                ProducerProperty(name: "message.timeout.ms", value: "1500"),
                ProducerProperty(name: "retry.backoff.ms", value: "20"),
                ProducerProperty(name: "reconnect.backoff.ms", value: "20"),
                ProducerProperty(name: "reconnect.backoff.max.ms", value: "100"),
            ],
            bufferFlushTimeoutMs: 5
        )
        let configuration = StatSinkConfiguration(
            node: NodeIdentity(id: "edge-17"), kafkaSinks: [sink],
            buffer: BufferConfiguration(path: directory.appendingPathComponent("queue.db").path),
            admin: AdminConfiguration(listen: ListenAddress(host: "127.0.0.1", port: 0))
        )
        var drainerConfiguration = DrainerTests.fast
        drainerConfiguration.maxInFlightRows = 1  // one row per produce request: an injected error hits one row
        let pipeline = try Pipeline(configuration: configuration, drainerConfiguration: drainerConfiguration, logger: Logger(label: "test"))
        defer { pipeline.queue.close() }
        let server = try #require(pipeline.adminServer)
        let writer = pipeline.writers[0]
        let drainer = pipeline.drainers[0]
        let stream = "{stream=\"\(writer.stream.name)\"}"
        let group = ServiceGroup(services: pipeline.services, logger: Logger(label: "test"))
        let task = Task { try await group.run() }
        defer { task.cancel() }
        let port = try await Self.waitForPort(server)
        var metricsCounter: UInt64 = 0
        func write() throws -> Int {
            metricsCounter += 1
            let snapshot = MetricSnapshot(
                timestampMs: MessageQueue.currentTimeMs(), node: NodeIdentity(id: "edge-17"),
                counters: [CounterSample(name: MetricName("app.requests"), value: metricsCounter, delta: 1)], gauges: [], histograms: []
            )
            return try writer.write(snapshot).recordIDs.count
        }
        func drained() async throws {
            try await Self.eventually { try pipeline.queue.statistics().rows == 0 && drainer.inFlight.rows == 0 }
        }
        func metrics() throws -> [String: Double] {
            let response = try HTTP.request(port: port, path: "/metrics")
            #expect(response.status == 200)
            return Self.parse(response.body)
        }

        // Deliveries.
        #expect(try HTTP.request(port: port, path: "/healthz").status == 200)
        var written = try write() + write()
        try await drained()
        var figures = try metrics()
        #expect(figures["statsink_delivered_total\(stream)"] == Double(written))
        #expect(figures["statsink_enqueued_total\(stream)"] == Double(written))
        #expect(figures["statsink_snapshots_total\(stream)"] == 2)
        #expect(figures["statsink_enqueue_commit_seconds_count\(stream)"] == 2)
        #expect(figures["statsink_enqueue_commit_seconds_bucket{stream=\"\(writer.stream.name)\",le=\"+Inf\"}"] == 2)
        #expect(figures["statsink_queue_rows\(stream)"] == 0)
        #expect(figures["statsink_in_flight_rows\(stream)"] == 0)
        #expect(figures["statsink_broker_reachable\(stream)"] == 1)
        #expect(figures["statsink_drainer_running\(stream)"] == 1)
        #expect((figures["statsink_queue_file_bytes"] ?? 0) > 0)

        // A permanent error: one dead letter, the other rows flow.
        cluster.pushProduceErrors([.messageSizeTooLarge])
        let thirdSnapshotRows = try write()
        written += thirdSnapshotRows
        try await drained()
        figures = try metrics()
        #expect(figures["statsink_dead_lettered_total\(stream)"] == 1)
        #expect(figures["statsink_dead_letters\(stream)"] == 1)
        #expect(figures["statsink_producer_errors_total{stream=\"\(writer.stream.name)\",error=\"MSG_SIZE_TOO_LARGE\"}"] == 1)
        #expect(figures["statsink_delivered_total\(stream)"] == Double(written - 1))
        #expect(try HTTP.request(port: port, path: "/healthz").status == 200, "a refusal is an answer from the broker")

        // An outage: retries, the backlog ages, /healthz says 503 and why.
        try cluster.setBrokerDown(1)
        let waiting = try write()
        written += waiting
        try await Self.eventually { try HTTP.request(port: port, path: "/healthz").status == 503 }
        let unhealthy = try HTTP.request(port: port, path: "/healthz")
        #expect(unhealthy.body.contains("\"status\":\"unavailable\""))
        #expect(unhealthy.body.contains("broker unreachable"))
        figures = try metrics()
        #expect(figures["statsink_broker_reachable\(stream)"] == 0)
        #expect(figures["statsink_queue_rows\(stream)"] == Double(waiting))
        #expect((figures["statsink_queue_oldest_age_seconds\(stream)"] ?? 0) > 1)
        #expect((figures["statsink_retried_total\(stream)"] ?? 0) >= 1)
        try cluster.setBrokerUp(1)
        try await drained()
        try await Self.eventually { try HTTP.request(port: port, path: "/healthz").status == 200 }

        // Exact totals against the drainer's own account.
        figures = try metrics()
        let totals = drainer.totals
        #expect(figures["statsink_delivered_total\(stream)"] == Double(written - 1))
        #expect(totals.delivered == written - 1)
        #expect(figures["statsink_retried_total\(stream)"] == Double(totals.retried))
        let producerErrors = figures.filter { $0.key.hasPrefix("statsink_producer_errors_total{") }.values.reduce(0, +)
        #expect(producerErrors == Double(totals.retried + totals.deadLettered))
        #expect(figures["statsink_enqueued_total\(stream)"] == Double(written))
        #expect(figures["statsink_snapshots_total\(stream)"] == 4)

        // The same figures travel in the snapshots: the fourth was written after the first two
        // were delivered and the third dead-lettered.
        let consumed = try await KafkaTopicReader(bootstrapServers: cluster.bootstrapServers, topic: topic).read(count: nil, timeout: .seconds(20))
        let fourth = consumed.filter { $0.headers.contains { $0.name == "statsink.snapshot_seq" && $0.value == "4" } }
        let own = try Self.jsonMetrics(fourth.map(\.value))
        #expect(own["app.requests"] == 4)
        #expect(own["statsink.delivered"] == Double(written - thirdSnapshotRows - waiting))
        #expect(own["statsink.dead_lettered"] == 1)
        #expect(own["statsink.queue.dead_letters"] == 1)
        #expect(own["statsink.producer_errors"] == 1)
        #expect(own["statsink.snapshots"] == 3)
        #expect(own["statsink.enqueued"] == Double(written - waiting))
        #expect(own["statsink.queue.rows"] == 0)
        #expect(own["statsink.broker_reachable"] == 1)
        #expect(own["statsink.dropped.purge"] == 0)

        // Stopped: the drainer no longer runs; a purge is counted as a drop.
        await group.triggerGracefulShutdown()
        try await task.value
        let purged = try write()
        try pipeline.queue.purge(matching: RowFilter(timeMs: 0...Int64.max))
        let routes = pipeline.selfStats.adminRoutes(logger: Logger(label: "test"))
        let metricsRoute = try #require(routes["/metrics"])
        figures = Self.parse(metricsRoute().body)
        #expect(figures["statsink_dropped_total{stream=\"\(writer.stream.name)\",reason=\"purge\"}"] == Double(purged))
        #expect(figures["statsink_dropped_total{stream=\"\(writer.stream.name)\",reason=\"cap_drop_oldest\"}"] == 0)
        #expect(figures["statsink_drainer_running\(stream)"] == 0)
        let healthRoute = try #require(routes["/healthz"])
        #expect(healthRoute().status == 503)
    }

    // MARK: Helpers

    static func waitForPort(_ server: AdminServer) async throws -> Int {
        var port: Int?
        try await eventually {
            port = server.boundPort
            return port != nil
        }
        return try #require(port)
    }

    static func eventually(timeout: Duration = .seconds(30), _ condition: () throws -> Bool) async throws {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while ContinuousClock.now < deadline {
            if try condition() { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("condition not met within \(timeout)")
    }

    /// Sample lines of a Prometheus text body, `name{labels}` → value; also checks that every
    /// family has its HELP and TYPE lines before its samples.
    static func parse(_ body: String) -> [String: Double] {
        var samples: [String: Double] = [:]
        var typed = Set<String>()
        for line in body.split(separator: "\n") {
            if line.hasPrefix("# TYPE ") { typed.insert(String(line.split(separator: " ")[2])) }
            if line.hasPrefix("#") { continue }
            guard let space = line.lastIndex(of: " ") else { continue }
            let series = String(line[..<space])
            let family = String(series.prefix { $0 != "{" })
            let known = typed.contains(family) || ["_bucket", "_sum", "_count"].contains { family.hasSuffix($0) && typed.contains(String(family.dropLast($0.count))) }
            #expect(known, "\(family) has no TYPE line")
            samples[series] = line[line.index(after: space)...] == "+Inf" ? .infinity : Double(line[line.index(after: space)...])
        }
        return samples
    }

    /// Counter and gauge values by name in Envoy JSON message values.
    static func jsonMetrics(_ values: [[UInt8]]) throws -> [String: Double] {
        var metrics: [String: Double] = [:]
        for value in values {
            let object = try JSONSerialization.jsonObject(with: Data(value)) as? [String: Any]
            for entry in object?["metrics"] as? [[String: Any]] ?? [] {
                if let name = entry["name"] as? String, let number = entry["value"] as? NSNumber { metrics[name] = number.doubleValue }
            }
        }
        return metrics
    }
}

/// A minimal HTTP/1.1 client over a blocking socket: one request, read to the server's close.
enum HTTP {
    struct Response: Equatable {
        var status: Int
        var body: String
    }

    struct Failure: Error {
        var reason: String
    }

    /// A TCP port nobody listens on now (the kernel's pick for port 0).
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(reason: "socket") }
        defer { close(fd) }
        var address = loopback(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw Failure(reason: "bind: errno \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }

    static func request(port: Int, method: String = "GET", path: String) throws -> Response {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(reason: "socket") }
        defer { close(fd) }
        var address = loopback(port: port)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw Failure(reason: "connect: errno \(errno)") }
        let request = Array("\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n".utf8)
        guard send(fd, request, request.count, 0) == request.count else { throw Failure(reason: "send") }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = recv(fd, &buffer, buffer.count, 0)
            guard count > 0 else { break }
            received += buffer[..<count]
        }
        let text = String(decoding: received, as: UTF8.self)
        guard let split = text.range(of: "\r\n\r\n"), let status = Int(text.split(separator: " ").dropFirst().first ?? "") else {
            throw Failure(reason: "no HTTP response: \(text.prefix(200))")
        }
        return Response(status: status, body: String(text[split.upperBound...]))
    }
}
