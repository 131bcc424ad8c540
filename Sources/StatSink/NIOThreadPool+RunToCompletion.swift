import NIOPosix

extension NIOThreadPool {
    /// Runs blocking `body` on the pool and returns its result, to completion even if the
    /// calling task is cancelled meanwhile: a queue commit (a snapshot's write, a batch of
    /// deletions) is either done or not started, never abandoned because a task was cancelled.
    /// Throws `CancellationError` only when the pool is shut down before `body` starts.
    func runToCompletion<Value: Sendable>(_ body: @escaping @Sendable () throws -> Value) async throws -> Value {
        try await withCheckedThrowingContinuation { continuation in
            submit { state in
                guard case .active = state else {
                    continuation.resume(throwing: CancellationError())
                    return
                }
                continuation.resume(with: Result { try body() })
            }
        }
    }
}
