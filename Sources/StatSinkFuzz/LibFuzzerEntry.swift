#if STATSINK_LIBFUZZER
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import StatSinkFuzzing

// Built by `tools/fuzz-libfuzzer` (with `-DSTATSINK_LIBFUZZER` and coverage instrumentation):
// the same targets and oracles, driven by libFuzzer's coverage-guided mutations instead of
// the seeded loop. SwiftPM links an executable's entry point as `<module>_main`, so that is
// what is defined here; libFuzzer's own `main` is left out (`libclang_rt.fuzzer_no_main`).

@_silgen_name("LLVMFuzzerRunDriver")
private func runDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

/// The target libFuzzer drives, set once before it starts.
private nonisolated(unsafe) var libFuzzerTarget: (any FuzzTarget)?

/// `statsink-fuzz TARGET [libFuzzer options] [CORPUS_DIR…]`: an empty first corpus directory
/// gets the target's built-in seeds.
@_cdecl("StatSinkFuzz_main")
func libFuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    var arguments = (0..<Int(argc)).map { String(cString: argv[$0]!) }
    let targets: [String: any FuzzTarget] = ["config": ConfigFuzzTarget(), "grpc": MetricsMessageFuzzTarget()]
    guard arguments.count > 1, let target = targets[arguments[1]] else {
        FileHandle.standardError.write(Data("usage: statsink-fuzz config|grpc [libFuzzer options] [CORPUS_DIR...]\n".utf8))
        return 2
    }
    libFuzzerTarget = target
    arguments.remove(at: 1)
    if let corpus = arguments.dropFirst().first(where: { !$0.hasPrefix("-") }),
        (try? FileManager.default.contentsOfDirectory(atPath: corpus))?.isEmpty ?? false
    {
        for (index, seed) in target.seeds().enumerated() {
            FileManager.default.createFile(atPath: "\(corpus)/seed-\(index)", contents: Data(seed))
        }
    }
    var count = CInt(arguments.count)
    var pointers = arguments.map { strdup($0) } + [nil]
    return pointers.withUnsafeMutableBufferPointer { buffer in
        var base = buffer.baseAddress
        return runDriver(&count, &base) { data, size in
            let input = size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size))
            if let message = libFuzzerTarget!.run(input).failureMessage {
                FileHandle.standardError.write(Data("statsink-fuzz: oracle failure: \(message)\n".utf8))
                abort()
            }
            return 0
        }
    }
}
#endif
