/// The command line of `statsink-mock-broker`.
struct MockBrokerOptions: Equatable {
    /// One topic to create: `--topic NAME[:PARTITIONS]`.
    struct Topic: Equatable {
        var name: String
        var partitions: Int
    }

    /// `--brokers N`; default 1.
    var brokers = 1
    /// `--topic NAME[:PARTITIONS]`, repeatable; partitions default to 1.
    var topics: [Topic] = []

    static let usage = """
        usage: statsink-mock-broker [--brokers N] [--topic NAME[:PARTITIONS]]...

        Runs librdkafka's mock Kafka cluster on loopback, prints its bootstrap address as the first
        line of stdout, and serves until SIGTERM/SIGINT or until stdin closes.
        """

    /// What went wrong with the arguments.
    struct Problem: Error, CustomStringConvertible {
        var description: String
    }

    /// Parses the arguments after the program name. `nil` means `--help`.
    static func parse(_ arguments: [String]) throws(Problem) -> MockBrokerOptions? {
        var options = MockBrokerOptions()
        var remaining = arguments[...]
        while let argument = remaining.popFirst() {
            switch argument {
            case "-h", "--help":
                return nil
            case "--brokers":
                guard let value = remaining.popFirst(), let count = Int(value), count >= 1 else {
                    throw Problem(description: "--brokers needs a number of brokers, at least 1")
                }
                options.brokers = count
            case "--topic":
                guard let value = remaining.popFirst() else { throw Problem(description: "--topic needs NAME[:PARTITIONS]") }
                options.topics.append(try topic(value))
            default:
                throw Problem(description: "unknown argument \(argument)")
            }
        }
        return options
    }

    /// `NAME` or `NAME:PARTITIONS` (Kafka topic names cannot contain `:`).
    private static func topic(_ text: String) throws(Problem) -> Topic {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard let name = parts.first, !name.isEmpty, parts.count <= 2 else {
            throw Problem(description: "--topic \(text): expected NAME[:PARTITIONS]")
        }
        guard parts.count == 2 else { return Topic(name: String(name), partitions: 1) }
        guard let partitions = Int(parts[1]), partitions >= 1 else {
            throw Problem(description: "--topic \(text): PARTITIONS must be a number, at least 1")
        }
        return Topic(name: String(name), partitions: partitions)
    }
}
