import StatSinkKafka
import Testing

@Suite("Delivery error classification")
struct KafkaDeliveryErrorTests {
    static let permanent: [KafkaErrorCode] = [
        .messageSizeTooLarge, .topicAuthorizationFailed, .clusterAuthorizationFailed, .invalidMessage,
        .invalidRecord, .invalidTopic, .recordListTooLarge, .invalidArgument, .badMessage,
    ]

    static let retriable: [KafkaErrorCode] = [
        .messageTimedOut, .transport, .allBrokersDown, .purgeQueue, .purgeInflight, .timedOut, .queueFull,
        .fatal, .destroy, .notEnoughReplicas, .notEnoughReplicasAfterAppend, .leaderNotAvailable,
        .notLeaderForPartition, .requestTimedOut, .networkException, .unknownTopicOrPartition, .unknownTopic,
        .unknownPartition, KafkaErrorCode(rawValue: 12345), KafkaErrorCode(rawValue: -1),
    ]

    @Test(arguments: permanent)
    func permanentCodes(code: KafkaErrorCode) {
        let error = KafkaDeliveryError(code: code)
        #expect(error.disposition == .permanent)
        #expect(!error.name.isEmpty && !error.message.isEmpty)
    }

    @Test(arguments: retriable)
    func retriableCodesAndUnknownOnes(code: KafkaErrorCode) {
        #expect(KafkaDeliveryError(code: code).disposition == .retriable)
    }

    @Test func namesAndMessagesComeFromLibrdkafka() {
        let error = KafkaDeliveryError(code: .messageSizeTooLarge)
        #expect(error.code.rawValue == 10)
        #expect(error.name == "MSG_SIZE_TOO_LARGE")
        #expect(error.message.contains("too large"))
        #expect(KafkaDeliveryError(code: .messageTimedOut).name == "_MSG_TIMED_OUT")
        #expect(KafkaDeliveryError(code: .fatal, message: "why").message == "why")
    }
}
