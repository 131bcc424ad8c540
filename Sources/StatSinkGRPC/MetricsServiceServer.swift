import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import NIOCore
import ServiceLifecycle
import StatSinkModel
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Envoy's gRPC `MetricsService` (`sources.metrics_service`): Envoys stream their stats here
/// through their `envoy.stat_sinks.metrics_service` sink, and every snapshot assembled goes to a
/// ``MetricSnapshotSink``.
///
/// Plaintext HTTP/2 (grpc-swift-2 over SwiftNIO), any number of Envoys and streams at once, each
/// stream independent (see ``SnapshotAssembler`` for how messages become snapshots). Messages up
/// to ``MetricsServiceServerConfiguration/maxMessageBytes`` are accepted. On graceful shutdown
/// the server stops accepting connections and ends every stream with `UNAVAILABLE` after writing
/// its open snapshot; Envoy retries on its next flush.
public final class MetricsServiceServer: Service, Sendable {
    /// The settings the server runs with.
    public let configuration: MetricsServiceServerConfiguration
    private let sink: any MetricSnapshotSink
    private let logger: Logger
    private let state = Mutex(State.notStarted)

    private enum State {
        case notStarted
        case running(HTTP2ServerTransport.Posix)
        case stopped
    }

    /// Creates the server; it listens once ``run()`` is called.
    public init(configuration: MetricsServiceServerConfiguration, sink: some MetricSnapshotSink, logger: Logger) {
        self.configuration = configuration
        self.sink = sink
        self.logger = logger
    }

    /// Listens and serves until graceful shutdown or cancellation.
    ///
    /// - Throws: when the address cannot be resolved or bound, or the transport fails.
    public func run() async throws {
        let address = try Self.socketAddress(host: configuration.host, port: configuration.port)
        let transport = HTTP2ServerTransport.Posix(
            address: address,
            transportSecurity: .plaintext,
            config: .defaults { config in
                config.rpc.maxRequestPayloadSize = configuration.maxMessageBytes
                // Room for a whole batch in flight on the stream and the connection, so that a
                // large message does not wait on window updates every 64 KiB.
                config.http2.targetWindowSize = 8 << 20
                config.http2.maxFrameSize = 1 << 20
                config.compression.enabledAlgorithms = .all
            }
        )
        let handler = MetricsStreamHandler(configuration: configuration, sink: sink, logger: logger)
        let server = GRPCServer(transport: transport, services: [handler])
        state.withLock { $0 = .running(transport) }
        defer { state.withLock { $0 = .stopped } }
        logger.info("metrics_service listening", metadata: ["address": "\(configuration.host):\(configuration.port)"])
        try await withGracefulShutdownHandler {
            try await server.serve()
        } onGracefulShutdown: {
            server.beginGracefulShutdown()
        }
    }

    /// The port the server listens on, once it does: the one the system chose when configured
    /// with port 0. Waits for ``run()`` to bind.
    ///
    /// - Throws: when the server stopped or could not listen.
    public func listeningPort() async throws -> Int {
        while true {
            switch state.withLock({ $0 }) {
            case .notStarted:
                try await Task.sleep(for: .milliseconds(5))
            case .running(let transport):
                let address = try await transport.listeningAddress
                if let ipv4 = address.ipv4 { return ipv4.port }
                if let ipv6 = address.ipv6 { return ipv6.port }
                throw RuntimeError(code: .serverIsStopped, message: "not listening on a TCP address: \(address)")
            case .stopped:
                throw RuntimeError(code: .serverIsStopped, message: "the metrics_service server is not running")
            }
        }
    }

    /// The transport address of `host`: IP addresses as they are, names resolved (the first
    /// address wins, as for any listener).
    private static func socketAddress(host: String, port: Int) throws -> GRPCNIOTransportCore.SocketAddress {
        let resolved: NIOCore.SocketAddress
        do {
            resolved = try NIOCore.SocketAddress.makeAddressResolvingHost(host, port: port)
        } catch {
            throw RuntimeError(code: .transportError, message: "cannot resolve \(host) to listen on: \(error)", cause: error)
        }
        switch resolved {
        case .v6: return .ipv6(host: resolved.ipAddress ?? host, port: port)
        default: return .ipv4(host: resolved.ipAddress ?? host, port: port)
        }
    }
}

/// Milliseconds since the Unix epoch: the timestamp of a metric that came without one.
func wallClockMs() -> Int64 {
    var spec = timespec()
    clock_gettime(CLOCK_REALTIME, &spec)
    return Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000
}
