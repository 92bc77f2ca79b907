import CanopyEdge
import ServiceLifecycle

/// The edge in the service group. It serves on its own event loops from `EdgeServer.start()` on
/// (before the group runs, so that the ports are known); this service stops it: at graceful
/// shutdown, or when the group cancels it.
struct EdgeService: Service {
    let edge: EdgeServer

    func run() async throws {
        // Returns at graceful shutdown; throws CancellationError when cancelled: both end serving.
        try? await gracefulShutdown()
        try await edge.shutdown()
    }
}
