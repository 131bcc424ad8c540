import StatSinkKafka

/// One stdin command of `statsink-mock-broker`:
/// - `down ID` / `up ID`: take broker ID (from 1) down or bring it back;
/// - `errors CODE[,CODE…]`: the next produce requests fail with these codes, one each (librdkafka
///   names such as `NOT_ENOUGH_REPLICAS`, or numbers);
/// - `clear-errors`: forget the injected errors not yet used.
enum MockBrokerCommand: Equatable {
    case down(Int32)
    case up(Int32)
    case errors([KafkaErrorCode])
    case clearErrors

    /// What was wrong with a command line.
    struct Problem: Error, CustomStringConvertible {
        var description: String
    }

    init(parsing line: String) throws(Problem) {
        let words = line.split(separator: " ", omittingEmptySubsequences: true)
        switch (words.first, words.count) {
        case ("down", 2), ("up", 2):
            guard let id = Int32(words[1]), id >= 1 else { throw Problem(description: "'\(words[1])' is not a broker id") }
            self = words[0] == "down" ? .down(id) : .up(id)
        case ("errors", 2):
            var codes: [KafkaErrorCode] = []
            for word in words[1].split(separator: ",") {
                guard let code = Self.code(String(word)) else { throw Problem(description: "unknown error code '\(word)'") }
                codes.append(code)
            }
            self = .errors(codes)
        case ("clear-errors", 1):
            self = .clearErrors
        default:
            throw Problem(description: "unknown command '\(line)' (down ID, up ID, errors CODE[,CODE...], clear-errors)")
        }
    }

    /// A code by number or by librdkafka's name (`RD_KAFKA_RESP_ERR_` and a leading `_` kept).
    static func code(_ text: String) -> KafkaErrorCode? {
        if let number = Int32(text) { return KafkaErrorCode(rawValue: number) }
        let name = text.hasPrefix("RD_KAFKA_RESP_ERR_") ? String(text.dropFirst(18)) : text
        // Protocol codes run 0...~120 and librdkafka's own from -200 to -100.
        return (-200...200).lazy.map { KafkaErrorCode(rawValue: Int32($0)) }.first { $0.name == name }
    }

    func apply(to cluster: KafkaMockCluster) throws(KafkaError) {
        switch self {
        case .down(let id): try cluster.setBrokerDown(id)
        case .up(let id): try cluster.setBrokerUp(id)
        case .errors(let codes): cluster.pushProduceErrors(codes)
        case .clearErrors: cluster.clearProduceErrors()
        }
    }
}
