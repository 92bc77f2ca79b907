import Atomics
import Logging
import NIOCore

#if canImport(Glibc)
    import Glibc
#endif

/// The edge's global connection limit: the first handler of every accepted connection. It counts
/// the connection (for as long as it stays open); when the edge already holds `limit` connections
/// it closes up to 32 of the longest-idle ones of its event loop to make room (as nginx does), and
/// only when none is idle closes the new one at once. Then it leaves the pipeline, so it costs
/// nothing per request.
final class ConnectionLimiter: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    /// The count shared by every connection of one edge, on every event loop.
    final class Count: Sendable {
        let open = ManagedAtomic(0)
        /// When a refusal was last logged (seconds of the monotonic clock), to log one a minute.
        let lastWarning = ManagedAtomic(-1_000_000)
    }

    private let count: Count
    private let limit: Int
    private let idle: LaneConnections?
    private let logger: Logger

    init(count: Count, limit: Int, idle: LaneConnections?, logger: Logger) {
        self.count = count
        self.limit = limit
        self.idle = idle
        self.logger = logger
    }

    func channelActive(context: ChannelHandlerContext) {
        let count = self.count
        let open = count.open.wrappingIncrementThenLoad(ordering: .relaxed)
        context.channel.closeFuture.whenComplete { _ in count.open.wrappingDecrement(ordering: .relaxed) }
        guard open <= limit || (idle?.drain() ?? 0) > 0 else {
            warn(open: open)
            // A reset: no FIN handshake and no TIME_WAIT for a connection that is refused.
            _ = (context.channel as? SocketOptionProvider)?.setSoLinger(linger(l_onoff: 1, l_linger: 0))
            context.close(promise: nil)
            return
        }
        context.fireChannelActive()
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    private func warn(open: Int) {
        let now = DispatchTimeNanos.now() / 1_000_000_000
        let last = count.lastWarning.load(ordering: .relaxed)
        guard now - last >= 60,
            count.lastWarning.compareExchange(expected: last, desired: now, ordering: .relaxed).exchanged
        else { return }
        logger.warning(
            "edge: \(open - 1) connections are open, the limit (--max-connections \(limit)), and none is idle; new connections are closed at once until some end"
        )
    }
}
