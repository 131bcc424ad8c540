import Foundation
import StatSinkKafka

// statsink-mock-broker: librdkafka's mock Kafka cluster in a process of its own, for benchmarks
// and crash/outage harnesses that need the broker outside the process under test.
// The first line of stdout is the bootstrap address; it runs until SIGTERM/SIGINT or stdin closes
// (so a harness that dies takes its broker with it), then closes the cluster. Lines on stdin are
// commands (brokers down/up, produce errors), answered on stdout.

let options: MockBrokerOptions
do {
    guard let parsed = try MockBrokerOptions.parse(Array(CommandLine.arguments.dropFirst())) else {
        print(MockBrokerOptions.usage)
        exit(0)
    }
    options = parsed
} catch {
    FileHandle.standardError.write(Data("statsink-mock-broker: \(error)\n\(MockBrokerOptions.usage)\n".utf8))
    exit(2)
}

// Blocked before librdkafka starts its threads, so they inherit the mask and only `sigwait` below
// ever sees these signals.
var stopSignals = sigset_t()
sigemptyset(&stopSignals)
sigaddset(&stopSignals, SIGTERM)
sigaddset(&stopSignals, SIGINT)
pthread_sigmask(SIG_BLOCK, &stopSignals, nil)

let cluster: KafkaMockCluster
do {
    cluster = try KafkaMockCluster(brokerCount: options.brokers)
    for topic in options.topics {
        try cluster.createTopic(name: topic.name, partitions: topic.partitions)
    }
} catch {
    FileHandle.standardError.write(Data("statsink-mock-broker: \(error)\n".utf8))
    exit(1)
}
// Unbuffered: a harness reads this line while we keep running.
FileHandle.standardOutput.write(Data("\(cluster.bootstrapServers)\n".utf8))

// stdin carries commands, one per line, each answered by one line on stdout (see
// MockBrokerCommand); stdin closing is a stop request: it becomes a SIGTERM to ourselves, so
// there is one way out.
Thread.detachNewThread {
    while let line = readLine() {
        let reply: String
        do {
            try MockBrokerCommand(parsing: line).apply(to: cluster)
            reply = "ok"
        } catch {
            reply = "error: \(error)"
        }
        FileHandle.standardOutput.write(Data("\(reply)\n".utf8))
    }
    kill(getpid(), SIGTERM)
}
var received: Int32 = 0
sigwait(&stopSignals, &received)
cluster.close()
