import CanopyEdge
import ServiceLifecycle

/// The access log's writer in the service group. It writes from the log's own thread from the
/// edge's start on; this service ends it: at graceful shutdown (after the edge, which comes after
/// it in the group, has stopped and queued its last lines) it waits until every queued line is in
/// the file, so that a SIGTERM loses none.
struct AccessLogService: Service {
    let log: AccessLog

    func run() async throws {
        // Returns at graceful shutdown; throws CancellationError when cancelled: both finish the log.
        try? await gracefulShutdown()
        await log.finish()
    }
}

extension CanopyServer {
    /// The edge's services, in the group's order: the access log first, so that it shuts down after
    /// the edge (the group stops services in reverse order).
    static func edgeServices(_ edge: EdgeServer) -> [any Service] {
        (edge.accessLog.map { [AccessLogService(log: $0)] } ?? []) + [EdgeService(edge: edge)]
    }
}
