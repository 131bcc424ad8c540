import StatSinkSynthetic

/// Code under test with its oracles, its seeds and its structure-aware mutations.
///
/// ``run(_:)`` must be deterministic: the same bytes give the same outcome, so that a run is
/// reproducible from its seed and a saved input replays.
public protocol FuzzTarget: Sendable {
    /// The name on the command line and in reports (`config`, `grpc`).
    var name: String { get }
    /// Inputs are cut to this many bytes after mutation.
    var maximumInputSize: Int { get }
    /// The built-in seed inputs: valid inputs of every shape the target knows.
    func seeds() -> [[UInt8]]
    /// Changes `input` in one step: a structure-aware change or a byte-level one; `donor` is
    /// another corpus input to splice from.
    func mutate(_ input: inout [UInt8], donor: [UInt8], using random: inout SplitMix64)
    /// Runs the code under test on `input` and checks every oracle.
    func run(_ input: [UInt8]) -> FuzzOutcome
}
