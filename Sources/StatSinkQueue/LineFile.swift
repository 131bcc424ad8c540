#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Line-by-line file I/O with C stdio, so an export of any size streams through a fixed buffer.
enum LineFile {
    /// Calls `body` with each line (1-based number, bytes without the newline).
    static func forEachLine(_ path: String, _ body: (Int, [UInt8]) throws(QueueError) -> Void) throws(QueueError) {
        guard let file = fopen(path, "r") else {
            throw QueueError.fileFailed(path: path, operation: "read it", reason: String(cString: strerror(errno)))
        }
        defer { fclose(file) }
        var buffer: UnsafeMutablePointer<CChar>?
        var capacity = 0
        defer { free(buffer) }
        var number = 0
        while true {
            let length = getline(&buffer, &capacity, file)
            guard length >= 0, let buffer else { break }
            number += 1
            var bytes = Array(UnsafeRawBufferPointer(start: buffer, count: length))
            while let last = bytes.last, last == 0x0A || last == 0x0D { bytes.removeLast() }
            try body(number, bytes)
        }
        if ferror(file) != 0 {
            throw QueueError.fileFailed(path: path, operation: "read it", reason: String(cString: strerror(errno)))
        }
    }

    /// A file written in full or not at all: lines go to `PATH.partial` (mode 0600), renamed to
    /// `PATH` by ``commit()``.
    final class Writer {
        let path: String
        private var file: UnsafeMutablePointer<FILE>?

        init(path: String) throws(QueueError) {
            self.path = path
            let descriptor = open(path + ".partial", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
            guard descriptor >= 0, let file = fdopen(descriptor, "w") else {
                throw QueueError.fileFailed(path: path, operation: "create it", reason: String(cString: strerror(errno)))
            }
            self.file = file
        }

        deinit {
            if let file {
                fclose(file)
                unlink(path + ".partial")
            }
        }

        func write(line: [UInt8]) throws(QueueError) {
            let written = line.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
            guard written == line.count, fputc(0x0A, file) != EOF else {
                throw QueueError.fileFailed(path: path, operation: "write it", reason: String(cString: strerror(errno)))
            }
        }

        /// Flushes, syncs and renames the file into place; returns its size.
        func commit() throws(QueueError) -> Int64 {
            guard let file else { return 0 }
            self.file = nil
            let flushed = fflush(file) == 0 && fsync(fileno(file)) == 0
            let size = Int64(ftell(file))
            let closed = fclose(file) == 0
            guard flushed, closed, rename(path + ".partial", path) == 0 else {
                let reason = String(cString: strerror(errno))
                unlink(path + ".partial")
                throw QueueError.fileFailed(path: path, operation: "write it", reason: reason)
            }
            return size
        }
    }
}
