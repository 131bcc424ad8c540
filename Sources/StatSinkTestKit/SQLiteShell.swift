import Foundation

/// The `sqlite3` command-line shell, as operators use it on a queue file.
public enum SQLiteShell {
    /// Runs `sql` on the database at `path` and returns the output lines (`a|b` per row).
    /// `readOnly` opens the file read-only, as a reader beside a running sink would.
    @discardableResult
    public static func run(_ path: String, _ sql: String, readOnly: Bool = true) throws -> [String] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        process.arguments = (readOnly ? ["-readonly"] : []) + [path, sql]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
    }
}
