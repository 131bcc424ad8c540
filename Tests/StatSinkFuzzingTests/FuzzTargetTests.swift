import Foundation
import StatSinkFuzzing
import StatSinkSynthetic
import StatSinkTestKit
import Testing

/// The fuzz targets in CI: a bounded run of each (`STATSINK_FUZZ_SECONDS`, default 15; a seed
/// of `STATSINK_FUZZ_SEED`, default 1, or `random`), which must end without a failure after
/// enough inputs, and the checks that keep such a run from passing vacuously.
@Suite("Fuzz targets", .serialized)
struct FuzzTargetTests {
    static let environment = ProcessInfo.processInfo.environment

    static var seconds: Double {
        environment["STATSINK_FUZZ_SECONDS"].flatMap(Double.init) ?? 15
    }

    static var seed: UInt64 {
        switch environment["STATSINK_FUZZ_SEED"] {
        case "random": UInt64.random(in: 1...1_000_000)
        case let text?: UInt64(text) ?? 1
        case nil: 1
        }
    }

    /// The shipped example configurations, as extra seeds of the `config` target.
    static var examples: [[UInt8]] {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("examples")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.sorted().compactMap { FileManager.default.contents(atPath: directory.appendingPathComponent($0).path).map(Array.init) }
    }

    static func target(_ name: String) -> any FuzzTarget {
        name == "config" ? ConfigFuzzTarget() : MetricsMessageFuzzTarget()
    }

    @Test("a bounded run finds no failure", arguments: ["config", "grpc"])
    func boundedRun(name: String) async throws {
        let target = Self.target(name)
        var options = FuzzOptions(seed: Self.seed, seconds: Self.seconds)
        // Debug builds are 5 to 10 times slower than the release build the 2 s limit is for.
        options.timeout = .seconds(5)
        let artifacts = TemporaryDirectory(prefix: "statsink-fuzz")
        defer { withExtendedLifetime(artifacts) {} }
        options.artifactsDirectory = artifacts.path("artifacts")
        if name == "config" {
            options.extraSeeds = Self.examples
            #expect(options.extraSeeds.count >= 2, "examples/ not found")
        }
        let report = await Fuzzer.run(target, options: options)
        print(FuzzReport.tableHeader + "\n" + report.tableRow)
        for failure in report.failures {
            Issue.record(Comment(rawValue: failure.description(target: name, seed: report.seed)))
        }
        // At least 10 inputs a second (a debug build does 100 to 400 alone on the machine), and
        // both verdicts many times over.
        #expect(report.iterations >= Int(Self.seconds * 10))
        #expect(report.accepted >= 10)
        #expect(report.rejected >= 10)
        #expect(report.outcomes.count >= 10)
    }

    @Test("known-bad inputs are rejected, a valid one accepted")
    func knownInputs() {
        let grpc = MetricsMessageFuzzTarget()
        // envoy_metrics (field 2) announcing 5 bytes where 2 follow.
        let pastTheEnd = grpc.run([0x12, 0x05, 0x0A, 0x01])
        #expect(pastTheEnd.verdict == .rejected)
        #expect(pastTheEnd.signature.contains("a length runs past the end"))
        #expect(grpc.run([0x12, 0x03, 0x0A, 0x01, 0xFF]).signature.contains("UTF-"))
        #expect(grpc.run(grpc.seeds()[1]).verdict == .accepted)

        let config = ConfigFuzzTarget()
        let negative = config.run(Array(String(decoding: config.seeds()[0], as: UTF8.self).replacingOccurrences(of: "topic: metrics", with: "topic: metrics\n      batch_size: -1").utf8))
        #expect(negative.verdict == .rejected)
        #expect(negative.signature.contains("stats_sinks[…].typed_config"))
        #expect(config.run(config.seeds()[0]).verdict == .accepted)
    }

    @Test("the mutators make varied inputs, the same for the same seed", arguments: ["config", "grpc"])
    func mutatorsVary(name: String) {
        let target = Self.target(name)
        let seeds = target.seeds()
        func mutations(seed: UInt64) -> [[UInt8]] {
            var random = SplitMix64(seed: seed)
            return (0..<500).map { index in
                var input = seeds[index % seeds.count]
                target.mutate(&input, donor: seeds[(index * 7) % seeds.count], using: &random)
                return input
            }
        }
        let inputs = mutations(seed: 3)
        #expect(Set(inputs).count >= 400, "distinct inputs")
        #expect(inputs.filter { !seeds.contains($0) }.count >= 450, "changed inputs")
        #expect(Set(inputs.map(\.count)).count >= 50, "distinct sizes")
        #expect(inputs == mutations(seed: 3))
        #expect(inputs != mutations(seed: 4))
    }

    @Test("a run is deterministic for its seed")
    func deterministicRuns() async {
        let options = FuzzOptions(seed: 9, iterations: 400, artifactsDirectory: FileManager.default.temporaryDirectory.path)
        let first = await Fuzzer.run(MetricsMessageFuzzTarget(), options: options)
        let second = await Fuzzer.run(MetricsMessageFuzzTarget(), options: options)
        #expect(first.iterations == 400)
        #expect(first.outcomes == second.outcomes)
        #expect(first.corpusSize == second.corpusSize)
    }

    /// A target whose oracle fails on inputs containing `0x42`.
    struct Planted: FuzzTarget {
        let name = "planted"
        let maximumInputSize = 64
        func seeds() -> [[UInt8]] { [[1, 2, 3]] }
        func mutate(_ input: inout [UInt8], donor: [UInt8], using random: inout SplitMix64) {
            input.append(UInt8.random(in: 0x40...0x44, using: &random))
        }
        func run(_ input: [UInt8]) -> FuzzOutcome {
            input.contains(0x42) ? .failure("planted") : .rejected("fine")
        }
    }

    @Test("a failure names its seed and iteration and saves its input for --replay")
    func failuresAreSaved() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("statsink-fuzz-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let report = await Fuzzer.run(Planted(), options: FuzzOptions(seed: 5, iterations: 1000, artifactsDirectory: directory))
        let failure = try #require(report.failures.first)
        #expect(report.failures.count == 1, "stops at the first")
        #expect(failure.input.contains(0x42))
        let file = try #require(failure.file)
        #expect(file == "\(directory)/planted-seed5-iteration\(failure.iteration).bin")
        #expect(FileManager.default.contents(atPath: file).map(Array.init) == failure.input)
        #expect(Fuzzer.replay(Planted(), input: failure.input).0.failureMessage == "planted")
        let text = failure.description(target: "planted", seed: 5)
        #expect(text.contains("seed 5 iteration \(failure.iteration)"))
        #expect(text.contains("base64: " + Data(failure.input).base64EncodedString()))
    }
}
