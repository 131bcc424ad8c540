import Foundation

/// A fresh directory under the system's temporary directory, deleted with everything in it when
/// the last reference goes: tests that write queues use one, since every queue keeps a 16 MiB
/// disk reserve beside it and a test run would otherwise leave gigabytes behind.
public final class TemporaryDirectory: Sendable {
    /// The directory.
    public let url: URL

    /// Creates `<temporary directory>/<prefix>-<UUID>`.
    public init(prefix: String = "statsink-test") {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(at: url)
    }

    /// The path of `name` inside the directory.
    public func path(_ name: String) -> String { url.appendingPathComponent(name).path }
}
