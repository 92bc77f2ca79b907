import NIOCore
import ServiceLifecycle

/// The admin listener in the service group: accepts connections until graceful shutdown or
/// cancellation closes the listening socket; requests under way finish (the group's shutdown
/// deadline cancels those that do not).
struct AdminService: Service {
    let server: AdminServer
    let listener: NIOAsyncChannel<AdminServer.Connection, Never>

    func run() async throws {
        try await withTaskCancellationOrGracefulShutdownHandler {
            try await server.serve(listener)
        } onCancelOrGracefulShutdown: {
            listener.channel.close(promise: nil)
        }
    }
}
