/// Why a `StreamMetricsMessage` cannot be taken: its stream ends with `INVALID_ARGUMENT` and
/// this message.
public struct MalformedMetricsError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What is wrong, in one line, naming the metric family at fault.
    public var message: String

    /// Creates an error with a message.
    public init(_ message: String) {
        self.message = message
    }

    /// The message.
    public var description: String { message }
}
