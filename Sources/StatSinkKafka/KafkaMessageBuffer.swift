#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A message value in memory of its own (`malloc`), which
/// ``KafkaProducer/produce(id:topic:key:value:headers:)-(_,_,_,KafkaMessageBuffer,_)`` takes
/// over: librdkafka frees it once the message is done with, so the bytes are never copied again.
public struct KafkaMessageBuffer: ~Copyable {
    private let pointer: UnsafeMutableRawPointer?
    /// The size in bytes.
    public let count: Int

    /// Allocates `count` uninitialized bytes; fill them through ``bytes`` before producing.
    public init(count: Int) {
        precondition(count >= 0)
        pointer = count > 0 ? malloc(count) : nil
        precondition(count == 0 || pointer != nil, "out of memory allocating \(count) bytes")
        self.count = count
    }

    /// The buffer's bytes.
    public var bytes: UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(start: pointer, count: count)
    }

    /// Gives up ownership: the caller now frees the memory (or hands it to librdkafka).
    consuming func release() -> UnsafeMutableRawPointer? {
        let pointer = pointer
        discard self
        return pointer
    }

    deinit {
        free(pointer)
    }
}
