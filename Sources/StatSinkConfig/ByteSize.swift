/// Byte sizes written as the configuration writes them (`512MiB`, `1GiB`, `1073741824`), for
/// command-line options that take one.
public enum ByteSize {
    /// A text that is not a byte size; the message says what is accepted.
    public struct ParseError: Error, Sendable, CustomStringConvertible {
        /// What was wrong, and an example of what is accepted.
        public let description: String
    }

    /// Parses `1073741824`, `512MiB`, `512 MiB` or `1.5GiB` (units B, KiB, MiB, GiB, TiB).
    public static func parse(_ text: String) throws(ParseError) -> UInt64 {
        switch ByteSizeSyntax.parse(text) {
        case .success(let bytes): return bytes
        case .failure(let invalid): throw ParseError(description: invalid.message)
        }
    }

    /// `bytes` in the largest unit that writes it exactly: `1GiB`, `1536MiB`, `1000` (bytes).
    public static func format(_ bytes: UInt64) -> String {
        ByteSizeSyntax.format(bytes)
    }
}
