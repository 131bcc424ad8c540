#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An OS thread of its own for librdkafka calls that block (queue polls, metadata, consumer
/// polls), so they never occupy a thread of the Swift cooperative pool.
enum DedicatedThread {
    private final class Work {
        let body: @Sendable () -> Void

        init(_ body: @escaping @Sendable () -> Void) {
            self.body = body
        }
    }

    /// Starts `body` on a new detached thread.
    static func start(_ body: @escaping @Sendable () -> Void) {
        let context = Unmanaged.passRetained(Work(body)).toOpaque()
        #if canImport(Darwin)
        var thread: pthread_t?
        #else
        var thread = pthread_t()
        #endif
        let result = pthread_create(&thread, nil, { context in
            #if canImport(Darwin)
            Unmanaged<Work>.fromOpaque(context).takeRetainedValue().body()
            #else
            Unmanaged<Work>.fromOpaque(context!).takeRetainedValue().body()
            #endif
            return nil
        }, context)
        precondition(result == 0, "pthread_create failed: \(result)")
        #if canImport(Darwin)
        pthread_detach(thread!)
        #else
        pthread_detach(thread)
        #endif
    }

    /// Runs `body` on a new thread and returns its result without blocking the caller's thread.
    static func run<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            start { continuation.resume(returning: body()) }
        }
    }
}
