import StatSinkModel

/// The settings of a ``MetricsServiceServer``. The defaults users see are those of
/// `sources.metrics_service` (`MetricsServiceSourceConfiguration` in StatSinkConfig).
public struct MetricsServiceServerConfiguration: Sendable, Hashable {
    /// The host (name, IPv4 or IPv6 address) to listen on.
    public var host: String
    /// The TCP port; 0 lets the system choose (see ``MetricsServiceServer/listeningPort()``).
    public var port: Int
    /// The largest serialized `StreamMetricsMessage` accepted; the transport resets the stream of
    /// a larger one.
    public var maxMessageBytes: Int
    /// How long after a stream's last message its open snapshot is written when no message with a
    /// new timestamp arrives to close it. Envoy sends the messages of one flush back to back, so
    /// this only needs to exceed the time one message takes to arrive.
    public var snapshotIdleTimeout: Duration
    /// The node used when a stream's `identifier.node.id` is empty (statsink's own `node`).
    public var fallbackNode: NodeIdentity

    /// Creates a configuration.
    public init(host: String, port: Int, maxMessageBytes: Int, snapshotIdleTimeout: Duration, fallbackNode: NodeIdentity) {
        self.host = host
        self.port = port
        self.maxMessageBytes = maxMessageBytes
        self.snapshotIdleTimeout = snapshotIdleTimeout
        self.fallbackNode = fallbackNode
    }
}
