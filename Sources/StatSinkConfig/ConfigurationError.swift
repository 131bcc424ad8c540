/// One thing wrong with a configuration file, located as precisely as the file allows.
///
/// Its ``description`` is the one-line form operators see on stderr:
/// `sink.yaml:12: stats_sinks[0].typed_config.batch_size: expected an unsigned 32-bit integer, got "-1"`.
public struct ConfigurationProblem: Sendable, Hashable, CustomStringConvertible {
    /// The file name as given to the loader (a path, or a label such as `<stdin>`).
    public var file: String
    /// The 1-based line the problem is on, when it is known.
    public var line: Int?
    /// Where in the configuration the problem is, e.g. `stats_sinks[0].typed_config.topic`;
    /// empty for problems with the file as a whole.
    public var keyPath: String
    /// What is wrong and, when it helps, what was expected.
    public var message: String

    /// Creates a problem.
    public init(file: String, line: Int?, keyPath: String, message: String) {
        self.file = file
        self.line = line
        self.keyPath = keyPath
        self.message = message
    }

    /// `FILE:LINE: KEYPATH: MESSAGE`, leaving out the line and key path when they are unknown.
    public var description: String {
        var text = file
        if let line { text += ":\(line)" }
        text += ": "
        if !keyPath.isEmpty { text += keyPath + ": " }
        return text + message
    }
}

/// The reason a configuration file was rejected: every problem found in it, in file order.
public struct ConfigurationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The problems; never empty.
    public var problems: [ConfigurationProblem]

    /// Creates an error from its problems.
    public init(problems: [ConfigurationProblem]) {
        self.problems = problems
    }

    /// One line per problem.
    public var description: String {
        problems.map(\.description).joined(separator: "\n")
    }
}
