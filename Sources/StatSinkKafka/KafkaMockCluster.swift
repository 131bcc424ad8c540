import CRdKafka
import Synchronization

/// librdkafka's mock Kafka cluster (`rdkafka_mock.h`), in process, serving the Kafka protocol
/// over TCP on loopback: for `statsink demo` and tests, no broker to install.
///
/// The cluster lives on a producer handle of its own (its "host"), which it needs to run; the
/// cluster is always destroyed before its host, as librdkafka aborts otherwise.
public final class KafkaMockCluster: Sendable {
    struct State {
        /// `rd_kafka_mock_cluster_t`; `nil` once closed.
        var cluster: OpaquePointer?
        /// The `rd_kafka_t` the cluster runs on.
        var host: OpaquePointer?
    }

    // librdkafka's mock calls are thread-safe; the lock only orders them against `close`.
    private let state: Mutex<State>

    /// The brokers' addresses, for `bootstrap.servers` (e.g. `127.0.0.1:40123`).
    public let bootstrapServers: String

    /// How many brokers the cluster has; their ids are `1...brokerCount`.
    public let brokerCount: Int

    /// Starts a cluster of `brokerCount` brokers on loopback, each on a free port.
    public init(brokerCount: Int = 1) throws(KafkaError) {
        guard let configuration = rd_kafka_conf_new() else {
            throw .clientCreationFailed(message: "librdkafka could not allocate a configuration")
        }
        rd_kafka_conf_set_log_cb(configuration) { _, _, _, _ in }  // the host has nothing to say
        var error = [CChar](repeating: 0, count: 512)
        guard let host = rd_kafka_new(RD_KAFKA_PRODUCER, configuration, &error, error.count) else {
            rd_kafka_conf_destroy(configuration)
            throw .clientCreationFailed(message: KafkaProducerProperties.string(error))
        }
        guard let cluster = rd_kafka_mock_cluster_new(host, Int32(brokerCount)) else {
            rd_kafka_destroy(host)
            throw .clientCreationFailed(message: "librdkafka could not create a mock cluster")
        }
        bootstrapServers = String(cString: rd_kafka_mock_cluster_bootstraps(cluster))
        self.brokerCount = brokerCount
        state = Mutex(State(cluster: cluster, host: host))
    }

    deinit {
        close()
    }

    /// Creates a topic (the mock has no CreateTopics API).
    public func createTopic(name: String, partitions: Int, replicationFactor: Int = 1) throws(KafkaError) {
        try call("rd_kafka_mock_topic_create(\(name))") { cluster in
            rd_kafka_mock_topic_create(cluster, name, Int32(partitions), Int32(replicationFactor))
        }
    }

    /// Takes a broker down: it closes its connections and refuses new ones. `-1` means all brokers.
    public func setBrokerDown(_ brokerID: Int32) throws(KafkaError) {
        try call("rd_kafka_mock_broker_set_down(\(brokerID))") { rd_kafka_mock_broker_set_down($0, brokerID) }
    }

    /// Brings a broker back up. `-1` means all brokers.
    public func setBrokerUp(_ brokerID: Int32) throws(KafkaError) {
        try call("rd_kafka_mock_broker_set_up(\(brokerID))") { rd_kafka_mock_broker_set_up($0, brokerID) }
    }

    /// Delays every response of a broker by `milliseconds` (a slow link). `-1` means all brokers.
    public func setBrokerRoundTrip(_ brokerID: Int32, milliseconds: Int32) throws(KafkaError) {
        try call("rd_kafka_mock_broker_set_rtt(\(brokerID), \(milliseconds))") { rd_kafka_mock_broker_set_rtt($0, brokerID, milliseconds) }
    }

    /// Makes the next `codes.count` Produce requests fail, in order, with these codes (one per
    /// request, for every partition in it). `.transport` makes the broker drop the connection.
    public func pushProduceErrors(_ codes: [KafkaErrorCode]) {
        let errors = codes.map(\.rdKafkaValue)
        state.withLock { state in
            guard let cluster = state.cluster else { return }
            errors.withUnsafeBufferPointer { errors in
                rd_kafka_mock_push_request_errors_array(cluster, Self.produceAPIKey, errors.count, errors.baseAddress)
            }
        }
    }

    /// Forgets Produce errors pushed and not used yet.
    public func clearProduceErrors() {
        state.withLock { state in
            guard let cluster = state.cluster else { return }
            rd_kafka_mock_clear_request_errors(cluster, Self.produceAPIKey)
        }
    }

    /// Stops the cluster, then its host handle. Idempotent; also done on deinit.
    public func close() {
        state.withLock { state in
            if let cluster = state.cluster { rd_kafka_mock_cluster_destroy(cluster) }
            if let host = state.host { rd_kafka_destroy(host) }
            state.cluster = nil
            state.host = nil
        }
    }

    /// The Kafka protocol's ApiKey of ProduceRequest (librdkafka's `RD_KAFKAP_Produce`).
    static let produceAPIKey: Int16 = 0

    private func call(_ operation: String, _ body: @Sendable (OpaquePointer) -> rd_kafka_resp_err_t) throws(KafkaError) {
        let code = state.withLock { state in
            state.cluster.map { KafkaErrorCode(body($0)) } ?? .destroy
        }
        guard code == .noError else {
            throw .operationFailed(operation: operation, error: KafkaDeliveryError(code: code))
        }
    }
}
