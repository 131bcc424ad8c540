/// One step of the queue schema: a numbered SQL file of `migrations/`, applied once, in order,
/// and recorded in `schema_migrations`. Shipped migrations are never edited.
struct Migration: Sendable, Hashable {
    /// The number the file name starts with.
    var version: Int
    /// The file name without `.sql`.
    var name: String
    /// The file's SQL.
    var sql: String

    /// The newest schema version this build knows.
    static var latestVersion: Int { embedded.last?.version ?? 0 }
}
