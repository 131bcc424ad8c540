import Logging
import StatSinkModel
import StatSinkQueue

extension Array where Element == SinkWriter {
    /// Writes `snapshot` through every writer, as Envoy hands one flush to every sink: drops at
    /// the byte cap are logged as warnings, failures as errors, and neither stops the others.
    /// Returns the outcomes of the writers that succeeded.
    func write(_ snapshot: MetricSnapshot, logger: Logger) -> [EnqueueOutcome] {
        var outcomes: [EnqueueOutcome] = []
        for writer in self {
            do {
                let outcome = try writer.write(snapshot)
                outcomes.append(outcome)
                if !outcome.drops.isEmpty {
                    logger.warning("queue at its byte cap: rows dropped", metadata: ["stream": "\(writer.stream)", "drops": "\(outcome.drops)"])
                }
            } catch {
                logger.error("cannot write a snapshot to the queue", metadata: ["stream": "\(writer.stream)", "error": "\(error)"])
            }
        }
        return outcomes
    }
}
