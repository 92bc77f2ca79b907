import NIOCore

#if canImport(Glibc)
    import Glibc
#endif

/// The per-connection timers: the reaper's idle, head and send timeouts, and errors.
extension EdgeHandler {
    /// Closes a connection idle too long, one whose request head is taking too long, and one whose
    /// client has taken none of its unsent output for the send timeout (even after its last response).
    func reap(context: ChannelHandlerContext) {
        let now = DispatchTimeNanos.now()
        let buffered = (try? context.channel.syncOptions?.getOption(.bufferedWritableBytes)) ?? 0
        if buffered == 0 || buffered < unsent || unsent == 0 { unsentSince = now }
        unsent = buffered
        if buffered > 0, now - unsentSince > server.sendTimeout {
            server.logger.debug("edge: closing a connection whose client read nothing for the send timeout")
            closing = true
            // A reset, not a close: the kernel drops the unsent output at once instead of keeping it
            // for a client that does not read (nginx's reset_timedout_connection).
            _ = (context.channel as? SocketOptionProvider)?.setSoLinger(linger(l_onoff: 1, l_linger: 0))
            context.close(promise: nil)
            return
        }
        guard !closing else { return }
        if pending != nil, headStarted > 0, now - headStarted > server.headTimeout {
            refuse(408, reason: "The request took too long to arrive.", isHead: false, context: context)
        } else if proxy == nil, pending == nil, now - lastRead > server.idleTimeout, context.channel.isWritable {
            // (A connection still sending a large response is not idle.)
            closing = true
            context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        server.logger.debug("edge connection error: \(error)")
        context.close(promise: nil)
    }
}

/// Monotonic nanoseconds, cheap (vDSO).
enum DispatchTimeNanos {
    @inline(__always)
    static func now() -> Int {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int(ts.tv_sec) * 1_000_000_000 + Int(ts.tv_nsec)
    }
}

extension EdgeHandler: DrainableConnection {
    func idleTime(now: Int) -> Int? {
        guard let context, !closing, !paused, proxy == nil, pending == nil, bodyToSkip == 0, chunkedToSkip == nil,
            out.readableBytes == 0,
            context.channel.isWritable
        else { return nil }
        return now - lastRead
    }

    func drain() {
        guard let context, !closing else { return }
        closing = true
        context.close(promise: nil)
    }
}
