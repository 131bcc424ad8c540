/// How long and how a fuzz run goes.
public struct FuzzOptions: Sendable {
    /// The random seed: a seed and an iteration number identify an input.
    public var seed: UInt64
    /// Stop after this many inputs (with ``seconds``, whichever comes first).
    public var iterations: Int?
    /// Stop after this long; without either limit a run takes 60 s.
    public var seconds: Double?
    /// One input taking longer than this is a failure.
    public var timeout: Duration
    /// An input still running after this long is a hang: the process prints it, saves it and
    /// exits (status 3), as nothing can stop the call.
    public var hangTimeout: Duration
    /// Inputs added to the target's seeds (e.g. files of `--corpus`), in this order.
    public var extraSeeds: [[UInt8]]
    /// Where failing inputs are saved (created when needed).
    public var artifactsDirectory: String
    /// Stop after this many failures.
    public var maximumFailures: Int
    /// The corpus grows by inputs of unseen outcomes up to this many entries.
    public var maximumCorpus: Int
    /// Save the slowest input to the artifacts directory at the end.
    public var saveSlowest = false
    /// The stack of the thread the inputs run on. 512 KiB, the secondary threads' default
    /// on Darwin, so that deep recursion shows on the smallest stack the code may get.
    public var stackSize: Int

    /// Creates options; the defaults are the command's.
    public init(
        seed: UInt64 = 1, iterations: Int? = nil, seconds: Double? = nil, timeout: Duration = .seconds(2),
        hangTimeout: Duration = .seconds(60), extraSeeds: [[UInt8]] = [], artifactsDirectory: String = "fuzz-artifacts",
        maximumFailures: Int = 1, maximumCorpus: Int = 4096, stackSize: Int = 512 << 10
    ) {
        self.seed = seed
        self.iterations = iterations
        self.seconds = seconds
        self.timeout = timeout
        self.hangTimeout = hangTimeout
        self.extraSeeds = extraSeeds
        self.artifactsDirectory = artifactsDirectory
        self.maximumFailures = maximumFailures
        self.maximumCorpus = maximumCorpus
        self.stackSize = stackSize
    }
}
