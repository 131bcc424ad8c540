#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A thread with a stack large enough for the deepest document the loader can meet.
///
/// Composing (Yams) and decoding recurse once per nesting level, and libyaml stops at 1000
/// levels: over 1 MiB of stack in a release build and 2 MiB in a debug one, more than a
/// secondary thread may have (512 KiB on Darwin). `statsink-fuzz config` crashed the loader
/// with a 1 KiB file of nested brackets on such a stack. So the loader runs on a thread of its
/// own, whatever thread calls it; the stack is only reserved, pages are used as touched.
enum ParsingThread {
    static let stackSize = 16 << 20

    /// Runs `work` on a new thread and waits for it; on the calling thread if none can be made.
    static func run(_ work: () -> Void) {
        withoutActuallyEscaping(work) { work in
            let job = Unmanaged.passRetained(Job(work))
            var attributes = pthread_attr_t()
            pthread_attr_init(&attributes)
            defer { pthread_attr_destroy(&attributes) }
            pthread_attr_setstacksize(&attributes, stackSize)
            #if canImport(Darwin)
            var thread: pthread_t?
            #else
            var thread = pthread_t()
            #endif
            let created = pthread_create(&thread, &attributes, { pointer in
                #if canImport(Darwin)
                Unmanaged<Job>.fromOpaque(pointer).takeRetainedValue().work()
                #else
                Unmanaged<Job>.fromOpaque(pointer!).takeRetainedValue().work()
                #endif
                return nil
            }, job.toOpaque())
            guard created == 0 else {
                job.release()
                work()
                return
            }
            #if canImport(Darwin)
            pthread_join(thread!, nil)
            #else
            pthread_join(thread, nil)
            #endif
        }
    }

    private final class Job {
        let work: () -> Void

        init(_ work: @escaping () -> Void) {
            self.work = work
        }
    }
}
