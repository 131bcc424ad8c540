import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Memory for message values that a ``KafkaProducer`` lends to librdkafka (produced with neither
/// `RD_KAFKA_MSG_F_COPY` nor `RD_KAFKA_MSG_F_FREE`) and takes back when the record's delivery
/// report comes, to be reused for the next value of its size.
///
/// Why not `malloc`: a drainer reads values on more than one thread (its own task and the poll
/// thread), and glibc serves each thread from an arena of its own and keeps what is freed there.
/// Measured draining 30 KiB rows with a 4 MiB window: at most 6 MB of the heap was in use, yet the
/// arenas grew by 11 MB. Chunks here are mapped (`mmap`) apart from the heap, recycled by size
/// whatever the thread, and unmapped once nothing has been lent for ``idleTrimDelay``, so the
/// memory a drain holds is about its window, and the memory comes back when it is over.
///
/// Values smaller than a page are not pooled (a page each would waste more than the heap does).
/// Once the producer has closed, the pool maps nothing more and unmaps what it is given back.
final class KafkaPayloadPool: Sendable {
    static let pageSize = max(4096, Int(sysconf(Int32(_SC_PAGESIZE))))
    /// The smallest value given a chunk of the pool; smaller ones are `malloc`ed.
    static let smallestPooledBytes = pageSize
    /// Free chunks kept for reuse, at least; the pool keeps as much as it has lent at once since
    /// it was last idle, if that is more (a larger in-flight window), and unmaps the rest.
    static let defaultRetainedBytes = 8 << 20
    /// How long nothing must have been lent before the free chunks are unmapped.
    static let idleTrimDelay = Duration.seconds(1)

    /// Chunks by address (`UInt`, not a pointer: the state is shared between threads).
    private struct State {
        /// Free chunks by size.
        var free: [Int: [UInt]] = [:]
        var freeBytes = 0
        /// Chunks lent to librdkafka, with their sizes, until their records are reported.
        var lent: [UInt: Int] = [:]
        var lentBytes = 0
        /// The most bytes lent at once since the pool was last idle.
        var mostLentBytes = 0
        /// The producer has closed: nothing is lent any more.
        var closed = false
        /// Bytes mapped: free, lent, and held by buffers not produced yet.
        var mappedBytes = 0
        var lastLent = ContinuousClock.now
    }

    private let state = Mutex(State())
    private let retainedBytes: Int

    init(retainedBytes: Int = defaultRetainedBytes) {
        self.retainedBytes = retainedBytes
    }

    deinit {
        // Only once librdkafka is gone (the producer core holds the pool) and no buffer holds a chunk.
        state.withLock { state in
            for (size, chunks) in state.free {
                for chunk in chunks { Self.unmap(chunk, size: size) }
            }
            for (chunk, size) in state.lent { Self.unmap(chunk, size: size) }
        }
    }

    /// The chunk size serving a value of `count` bytes: rounded up to a multiple of an eighth of
    /// the largest power of two not above it (at least a page), so values of about one size share
    /// chunks and less than an eighth of a chunk (or a page) goes unused.
    static func chunkSize(for count: Int) -> Int {
        precondition(count > 0)
        let powerOfTwo = 1 << (Int.bitWidth - 1 - count.leadingZeroBitCount)
        let step = max(pageSize, powerOfTwo / 8)
        return (count + step - 1) / step * step
    }

    /// A chunk for `count` bytes and its size, reused when one of its size is free; `nil` when the
    /// value is too small to pool or no memory could be mapped (the caller `malloc`s instead).
    func take(count: Int) -> (chunk: UnsafeMutableRawPointer, size: Int)? {
        guard count >= Self.smallestPooledBytes else { return nil }
        let size = Self.chunkSize(for: count)
        enum Found { case reused(UInt, size: Int), map, closed }
        let found = state.withLock { state -> Found in
            // The smallest free chunk that fits, up to twice the size: values of a snapshot vary
            // in size, and a chunk that would mostly go unused is better left for a larger value.
            if state.closed { return .closed }
            var fit: Int?
            for candidate in state.free.keys where candidate >= size && candidate <= 2 * size && candidate < (fit ?? .max) {
                fit = candidate
            }
            if let fit, let chunk = state.free[fit]?.popLast() {
                if state.free[fit]?.isEmpty == true { state.free[fit] = nil }
                state.freeBytes -= fit
                return .reused(chunk, size: fit)
            }
            state.mappedBytes += size  // counted now; taken back if mmap fails
            return .map
        }
        switch found {
        case .reused(let address, let size):
            return UnsafeMutableRawPointer(bitPattern: address).map { ($0, size) }
        case .map:
            break
        case .closed:
            return nil
        }
        #if canImport(Darwin)
        let flags = MAP_PRIVATE | MAP_ANON
        #else
        let flags = MAP_PRIVATE | MAP_ANONYMOUS
        #endif
        guard let chunk = mmap(nil, size, PROT_READ | PROT_WRITE, flags, -1, 0),
              chunk != UnsafeMutableRawPointer(bitPattern: -1)
        else {
            state.withLock { $0.mappedBytes -= size }
            return nil
        }
        return (chunk, size)
    }

    /// Marks `chunk` as lent to librdkafka: before the record is produced, since its report may
    /// come before `rd_kafka_produceva` returns, and under the producer's lock, after it has
    /// checked that it is open (so that ``close()`` cannot take back a chunk about to be refused).
    func lend(_ chunk: UnsafeMutableRawPointer, size: Int) {
        state.withLock { state in
            state.lent[UInt(bitPattern: chunk)] = size
            state.lentBytes += size
            state.mostLentBytes = max(state.mostLentBytes, state.lentBytes)
            state.lastLent = .now
        }
    }

    /// Undoes ``lend(_:size:)`` for a record librdkafka refused; the caller still holds the chunk.
    func withdraw(_ chunk: UnsafeMutableRawPointer) {
        state.withLock { state in
            if let size = state.lent.removeValue(forKey: UInt(bitPattern: chunk)) { state.lentBytes -= size }
        }
    }

    /// Takes back the chunks among `payloads` (the values of reported records) that were lent;
    /// other pointers (values librdkafka copied or was given) are left alone. Called while the
    /// reports' event is alive, so none of those other values is freed yet and none of their
    /// addresses can belong to a chunk lent since.
    func reclaim(_ payloads: [UnsafeMutableRawPointer]) {
        guard !payloads.isEmpty else { return }
        let addresses = payloads.map { UInt(bitPattern: $0) }
        let unmapped = state.withLock { state -> [(UInt, Int)] in
            var unmapped: [(UInt, Int)] = []
            for address in addresses {
                guard let size = state.lent.removeValue(forKey: address) else { continue }
                state.lentBytes -= size
                if !Self.keep(address, size: size, in: &state, retaining: retainedBytes) { unmapped.append((address, size)) }
            }
            return unmapped
        }
        for (chunk, size) in unmapped { Self.unmap(chunk, size: size) }
    }

    /// For a closed producer, once librdkafka's handle is destroyed (it holds no chunk then):
    /// unmaps every chunk lent or free; from now on nothing is mapped, and chunks given back by
    /// buffers still alive are unmapped.
    func close() {
        let released = state.withLock { state -> [(UInt, Int)] in
            state.closed = true
            var released = state.lent.map { ($0.key, $0.value) }
            for (size, chunks) in state.free {
                released += chunks.map { ($0, size) }
            }
            state.mappedBytes -= state.lentBytes + state.freeBytes
            state.lent = [:]
            state.lentBytes = 0
            state.free = [:]
            state.freeBytes = 0
            return released
        }
        for (chunk, size) in released { Self.unmap(chunk, size: size) }
    }

    /// Takes back a chunk that was never lent, or was withdrawn (its buffer was dropped, or
    /// librdkafka refused the record).
    func giveBack(_ chunk: UnsafeMutableRawPointer, size: Int) {
        let address = UInt(bitPattern: chunk)
        let kept = state.withLock { state in
            assert(state.lent[address] == nil, "a chunk given back while lent")
            return Self.keep(address, size: size, in: &state, retaining: retainedBytes)
        }
        if !kept { Self.unmap(address, size: size) }
    }

    /// Files `chunk` as free and returns `true`, or `false` (to be unmapped) when the free
    /// chunks hold enough or the pool is closed.
    private static func keep(_ chunk: UInt, size: Int, in state: inout State, retaining retainedBytes: Int) -> Bool {
        assert(state.free[size]?.contains(chunk) != true, "a chunk given back twice")
        if state.closed || state.freeBytes + size > max(retainedBytes, state.mostLentBytes) {
            state.mappedBytes -= size
            return false
        }
        state.free[size, default: []].append(chunk)
        state.freeBytes += size
        return true
    }

    private static func unmap(_ chunk: UInt, size: Int) {
        munmap(UnsafeMutableRawPointer(bitPattern: chunk), size)
    }

    /// Unmaps the free chunks when nothing is lent and nothing has been for ``idleTrimDelay``:
    /// the memory of a drain goes back once the drain is over.
    func trimIfIdle(now: ContinuousClock.Instant = .now) {
        let released = state.withLock { state -> [Int: [UInt]] in
            guard state.lent.isEmpty, now - state.lastLent >= Self.idleTrimDelay else { return [:] }
            state.mostLentBytes = 0
            guard state.freeBytes > 0 else { return [:] }
            let released = state.free
            state.mappedBytes -= state.freeBytes
            state.free = [:]
            state.freeBytes = 0
            return released
        }
        for (size, chunks) in released {
            for chunk in chunks { Self.unmap(chunk, size: size) }
        }
    }

    /// Bytes mapped now, and the parts of it that are free and lent.
    var usage: (mapped: Int, free: Int, lent: Int) {
        state.withLock { state in (state.mappedBytes, state.freeBytes, state.lentBytes) }
    }
}
