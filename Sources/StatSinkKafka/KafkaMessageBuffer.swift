#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A message value in memory of its own, which
/// ``KafkaProducer/produce(id:topic:key:value:headers:)-(_,_,_,KafkaMessageBuffer,_)`` hands to
/// librdkafka without copying it again.
///
/// Made by ``KafkaProducer/makeMessageBuffer(count:)``, the memory comes from the producer's pool
/// and goes back there once the record is reported; made by ``init(count:)``, it is `malloc`ed
/// and librdkafka frees it.
public struct KafkaMessageBuffer: ~Copyable {
    private var pointer: UnsafeMutableRawPointer?
    /// The size in bytes.
    public let count: Int
    /// The pool the memory is a chunk of, and the chunk's size; `nil` when `malloc`ed.
    private let chunk: (pool: KafkaPayloadPool, size: Int)?

    /// Allocates `count` uninitialized bytes (`malloc`); fill them through ``bytes`` before producing.
    public init(count: Int) {
        precondition(count >= 0)
        let pointer = count > 0 ? malloc(count) : nil
        precondition(count == 0 || pointer != nil, "out of memory allocating \(count) bytes")
        self.init(pointer: pointer, count: count, chunk: nil)
    }

    /// `count` uninitialized bytes from `pool`, or `malloc`ed when the pool does not serve the size.
    init(count: Int, from pool: KafkaPayloadPool) {
        if let (memory, size) = pool.take(count: count) {
            self.init(pointer: memory, count: count, chunk: (pool, size))
        } else {
            self.init(count: count)
        }
    }

    private init(pointer: UnsafeMutableRawPointer?, count: Int, chunk: (pool: KafkaPayloadPool, size: Int)?) {
        self.pointer = pointer
        self.count = count
        self.chunk = chunk
    }

    /// The buffer's bytes.
    public var bytes: UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(start: pointer, count: count)
    }

    /// Gives up ownership: the caller now returns the memory to its pool (or frees it when there
    /// is none), or hands it to librdkafka.
    consuming func release() -> (pointer: UnsafeMutableRawPointer?, chunk: (pool: KafkaPayloadPool, size: Int)?) {
        let taken = (pointer, chunk)
        pointer = nil  // `discard self` would need trivially destroyed properties; the pool is a reference
        return taken
    }

    deinit {
        if let chunk, let pointer {
            chunk.pool.giveBack(pointer, size: chunk.size)
        } else {
            free(pointer)
        }
    }
}
