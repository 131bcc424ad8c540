#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Saves and names the input in flight when it kills the process (a trap, a stack overflow)
/// or hangs it, so that a crash found in CI or a long run can be replayed.
///
/// A signal handler cannot allocate, so everything it writes is prepared by ``install``: the
/// input is copied into a fixed buffer before each call, and the handler only formats a number
/// and calls `open`, `write` and `close`. The state is global: one fuzz run at a time per
/// process (``Fuzzer`` takes care of that).
enum CrashGuard {
    private nonisolated(unsafe) static var input: UnsafeMutablePointer<UInt8>?
    private nonisolated(unsafe) static var inputCapacity = 0
    private nonisolated(unsafe) static var inputCount = 0
    private nonisolated(unsafe) static var iteration = 0
    /// Whether the input is running (rather than being made: a crash then is the fuzzer's).
    private nonisolated(unsafe) static var running = false
    /// `statsink-fuzz: TARGET seed SEED iteration `, NUL-free.
    private nonisolated(unsafe) static var header = Text()
    /// `DIRECTORY/TARGET-seedSEED-iteration`.
    private nonisolated(unsafe) static var pathPrefix = Text()
    /// Where the handler composes the path and the message.
    private nonisolated(unsafe) static var scratch: UnsafeMutablePointer<UInt8>?
    private static let scratchSize = 8192
    private nonisolated(unsafe) static var alternateStack: UnsafeMutableRawPointer?
    private nonisolated(unsafe) static var previousActions: [(Int32, sigaction)] = []
    private static let signals = [SIGILL, SIGTRAP, SIGSEGV, SIGBUS, SIGFPE, SIGABRT]

    /// Bytes prepared ahead, readable from a signal handler.
    struct Text {
        var start: UnsafeMutablePointer<UInt8>?
        var count = 0

        init() {}

        init(_ string: String) {
            let bytes = Array(string.utf8)
            start = UnsafeMutablePointer<UInt8>.allocate(capacity: max(1, bytes.count))
            start!.initialize(from: bytes, count: bytes.count)
            count = bytes.count
        }

        func free() { start?.deallocate() }
    }

    /// Installs the signal handlers on the calling thread (with an alternate stack, for stack
    /// overflows) for inputs of up to `capacity` bytes.
    static func install(target: String, seed: UInt64, directory: String, capacity: Int) {
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        input = .allocate(capacity: max(1, capacity))
        inputCapacity = capacity
        inputCount = 0
        header = Text("statsink-fuzz: \(target) seed \(seed) iteration ")
        pathPrefix = Text("\(directory)/\(target)-seed\(seed)-iteration")
        scratch = .allocate(capacity: scratchSize)

        let stackSize = 256 << 10
        alternateStack = malloc(stackSize)
        var stack = stack_t()
        stack.ss_sp = alternateStack
        stack.ss_size = stackSize
        stack.ss_flags = 0
        sigaltstack(&stack, nil)

        previousActions = []
        for signal in signals {
            var action = sigaction()
            #if canImport(Darwin)
            action.__sigaction_u.__sa_handler = { signal in CrashGuard.crashed(signal) }
            #else
            action.__sigaction_handler.sa_handler = { signal in CrashGuard.crashed(signal) }
            #endif
            sigemptyset(&action.sa_mask)
            action.sa_flags = Int32(SA_ONSTACK)
            var previous = sigaction()
            sigaction(signal, &action, &previous)
            previousActions.append((signal, previous))
        }
    }

    /// Puts the previous signal handlers back and frees what ``install`` prepared.
    static func uninstall() {
        for (signal, previous) in previousActions {
            var action = previous
            sigaction(signal, &action, nil)
        }
        previousActions = []
        var disable = stack_t()
        disable.ss_flags = Int32(SS_DISABLE)
        sigaltstack(&disable, nil)
        free(alternateStack)
        alternateStack = nil
        input?.deallocate()
        input = nil
        scratch?.deallocate()
        scratch = nil
        header.free()
        header = Text()
        pathPrefix.free()
        pathPrefix = Text()
    }

    /// Records the input about to run.
    static func setInput(_ bytes: [UInt8], iteration number: Int) {
        let count = min(bytes.count, inputCapacity)
        bytes.withUnsafeBufferPointer { source in
            if let base = source.baseAddress, count > 0 { input?.update(from: base, count: count) }
        }
        inputCount = count
        iteration = number
        running = true
    }

    /// Records that the input in flight returned.
    static func finished() {
        running = false
    }

    private static func crashed(_ signal: Int32) {
        report("crashed with signal ", number: UInt64(signal))
        // Die of the same signal, with its default action (a core dump, the exit status).
        var action = sigaction()
        sigemptyset(&action.sa_mask)
        sigaction(signal, &action, nil)
        raise(signal)
    }

    /// Saves the input in flight and writes a line to stderr naming the seed, the iteration,
    /// `reason` (followed by `number`) and the file; safe in a signal handler.
    static func report(_ reason: StaticString, number: UInt64) {
        guard let scratch, let input else { return }
        var length = 0
        func append(_ bytes: UnsafePointer<UInt8>?, _ count: Int) {
            guard let bytes, count > 0 else { return }
            let taken = min(count, scratchSize - 1 - length)
            guard taken > 0 else { return }
            (scratch + length).update(from: bytes, count: taken)
            length += taken
        }
        func append(_ text: StaticString) { append(text.utf8Start, text.utf8CodeUnitCount) }
        func append(_ value: UInt64) {
            var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                         UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
                (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
            withUnsafeMutableBytes(of: &digits) { buffer in
                var value = value
                var index = buffer.count
                repeat {
                    index -= 1
                    buffer[index] = UInt8(ascii: "0") + UInt8(value % 10)
                    value /= 10
                } while value > 0
                append(buffer.baseAddress!.assumingMemoryBound(to: UInt8.self) + index, buffer.count - index)
            }
        }

        // The file: PREFIX ITERATION .bin
        append(UnsafePointer(pathPrefix.start), pathPrefix.count)
        append(UInt64(iteration))
        append(".bin")
        scratch[length] = 0
        let descriptor = open(UnsafeRawPointer(scratch).assumingMemoryBound(to: CChar.self), O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        var saved = false
        if descriptor >= 0 {
            saved = write(descriptor, input, inputCount) == inputCount
            close(descriptor)
        }
        let pathLength = length

        // The message, after the path in the scratch buffer.
        length = pathLength + 1
        let messageStart = length
        append("\n")
        append(UnsafePointer(header.start), header.count)
        append(UInt64(iteration))
        append(running ? ": " : ": while making the next input (a bug of the fuzzer) from this one: ")
        append(reason)
        append(number)
        append(saved ? "; input saved to " : "; the input could not be saved to ")
        append(scratch, pathLength)
        append("\n")
        _ = write(2, scratch + messageStart, length - messageStart)
    }
}
