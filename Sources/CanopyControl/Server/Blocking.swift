import NIOPosix

/// Runs blocking work (libgit2, file I/O, zlib) on a small dedicated thread pool, off the event loops
/// and off Swift's cooperative pool, and awaits its result.
public final class BlockingExecutor: Sendable {
    let pool: NIOThreadPool

    public init(threads: Int) {
        pool = NIOThreadPool(numberOfThreads: max(1, threads))
        pool.start()
    }

    public func run<T: Sendable>(_ body: @Sendable @escaping () throws -> T) async throws -> T {
        try await pool.runIfActive(body)
    }

    public func shutdown() async throws {
        try await pool.shutdownGracefully()
    }
}
