import StatSinkConfig
import StatSinkSynthetic

/// The configuration loader (`config`): text through `ConfigurationLoader.parse`.
///
/// Oracles, besides ending without a trap in time:
/// - A rejected file gives a `ConfigurationError` (typed throws guarantee the type) with at
///   least one problem; each problem has a message, is one line (the documented
///   `FILE:LINE: key.path: message`), names the file, and is located: a line within the file, or
///   a key path (only a file without any document has neither).
/// - An accepted file's effective configuration (`check-config`'s output) parses back to the
///   same configuration, secrets redacted, and renders the same again.
public struct ConfigFuzzTarget: FuzzTarget {
    public let name = "config"
    public let maximumInputSize = 64 * 1024
    static let fileName = "fuzz.yaml"

    /// Creates the target.
    public init() {}

    public func seeds() -> [[UInt8]] {
        ConfigSeeds.all.map { Array($0.utf8) }
    }

    public func mutate(_ input: inout [UInt8], donor: [UInt8], using random: inout SplitMix64) {
        if Int.random(in: 0..<4, using: &random) > 0 {
            YAMLMutator.mutate(&input, donor: donor, maximumSize: maximumInputSize, using: &random)
        } else {
            ByteMutator.mutate(&input, donor: donor, maximumSize: maximumInputSize, using: &random)
        }
    }

    public func run(_ input: [UInt8]) -> FuzzOutcome {
        let text = String(decoding: input, as: UTF8.self)
        let configuration: StatSinkConfiguration
        do {
            configuration = try ConfigurationLoader.parse(yaml: text, fileName: Self.fileName)
        } catch {
            return Self.check(error, text: text)
        }
        if let failure = Self.checkRoundTrip(configuration) { return .failure(failure) }
        return .accepted(Self.signature(configuration))
    }

    /// The class of an accepted configuration: its sinks' formats and the sections it sets.
    static func signature(_ configuration: StatSinkConfiguration) -> String {
        var parts = configuration.kafkaSinks.map { "\($0.format.rawValue)\($0.producerConfig.isEmpty ? "" : "+properties")" }
        if configuration.sources.synthetic != nil { parts.append("synthetic") }
        if configuration.sources.metricsService != nil { parts.append("metrics_service") }
        if configuration.admin.listen != nil { parts.append("admin") }
        if !configuration.notes.isEmpty { parts.append("notes") }
        return parts.joined(separator: " ")
    }

    static func check(_ error: ConfigurationError, text: String) -> FuzzOutcome {
        guard let first = error.problems.first else { return .failure("a ConfigurationError without problems") }
        // libyaml breaks lines at LF, CRLF, CR, NEL and the Unicode separators.
        let breaks: Set<Character> = ["\n", "\r\n", "\r", "\u{85}", "\u{2028}", "\u{2029}"]
        let lineCount = text.reduce(1) { breaks.contains($1) ? $0 + 1 : $0 }
        for problem in error.problems {
            if problem.message.isEmpty { return .failure("a problem without a message: \(problem)") }
            if problem.file != fileName { return .failure("a problem naming the file \(problem.file)") }
            if problem.description.contains(where: \.isNewline) {
                return .failure("a problem that is not one line: \(problem.description)")
            }
            if let line = problem.line, !(1...lineCount).contains(line) {
                return .failure("a problem on line \(line) of a file of \(lineCount) lines: \(problem)")
            }
            if problem.line == nil, problem.keyPath.isEmpty, !problem.message.hasPrefix("the file is empty") {
                return .failure("a problem with neither a line nor a key path: \(problem)")
            }
        }
        // The first two keys of the path, indices and bracketed keys as `[…]`.
        var keyPath = ""
        var inBrackets = false
        for character in first.keyPath {
            if inBrackets {
                if character == "]" { inBrackets = false }
            } else if character == "[" {
                inBrackets = true
                keyPath += "[…]"
            } else {
                keyPath.append(character)
            }
        }
        keyPath = keyPath.split(separator: ".").prefix(2).joined(separator: ".")
        return .rejected("\(keyPath.isEmpty ? "(file)" : keyPath): \(FuzzOutcome.shape(of: first.message))")
    }

    /// `check-config`'s rendering read back, as `EffectiveConfigurationTests` does by hand.
    static func checkRoundTrip(_ configuration: StatSinkConfiguration) -> String? {
        let effective = configuration.effectiveConfigurationYAML()
        let reparsed: StatSinkConfiguration
        do {
            reparsed = try ConfigurationLoader.parse(yaml: effective, fileName: "effective.yaml")
        } catch {
            return "the effective configuration of an accepted file is refused: \(error)\n\(effective)"
        }
        var expected = configuration
        for index in expected.kafkaSinks.indices {
            expected.kafkaSinks[index].producerConfig = expected.kafkaSinks[index].producerConfig.map {
                ProducerProperty(name: $0.name, value: $0.displayValue)
            }
        }
        if reparsed != expected {
            return "the effective configuration parses back to another configuration:\n\(effective)\nread back: \(reparsed)\nexpected: \(expected)"
        }
        let again = reparsed.effectiveConfigurationYAML()
        if again != effective { return "the effective configuration is not a fixed point:\n\(effective)\nthen:\n\(again)" }
        return nil
    }
}
