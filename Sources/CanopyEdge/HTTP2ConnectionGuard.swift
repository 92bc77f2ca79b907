import NIOCore

/// Holds an HTTP/2 connection to the same limits as an HTTP/1.1 one. It sits between the socket
/// and `H2Connection`, where it sees every byte in and out:
///
/// - **Idle**: a connection that reads and writes nothing for the idle timeout is closed (an h2c
///   connection used to live forever).
/// - **Back-pressure**: while the socket's unsent output is over its high watermark, no more input
///   is read, so a client that sends requests (or PINGs, or SETTINGS) without reading the answers
///   cannot make the server buffer without bound.
/// - **Send timeout**: a client that does not drain its output for the send timeout is closed.
///
/// Protocol errors are `H2Connection`'s: GOAWAY, then the connection closes.
final class HTTP2ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    private let idleTimeout: Int
    private let sendTimeout: Int
    private var lastActivity = DispatchTimeNanos.now()
    /// When the socket last became unwritable (0 while writable).
    private var unwritableSince = 0
    /// A read the channel asked for while unwritable, issued once it drains.
    private var readHeld = false
    private var timer: RepeatedTask?

    /// Timeouts in nanoseconds.
    init(idleTimeout: Int, sendTimeout: Int) {
        self.idleTimeout = idleTimeout
        self.sendTimeout = sendTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        lastActivity = DispatchTimeNanos.now()
        if !context.channel.isWritable { unwritableSince = lastActivity }
        let check = TimeAmount.nanoseconds(Int64(max(1_000_000, min(idleTimeout, sendTimeout) / 4)))
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleRepeatedTask(initialDelay: check, delay: check) { _ in
            let (handler, context) = loopBound.value
            handler.check(context: context)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        lastActivity = DispatchTimeNanos.now()
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        lastActivity = DispatchTimeNanos.now()
        context.write(data, promise: promise)
    }

    func read(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            context.read()
        } else {
            readHeld = true
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            unwritableSince = 0
            lastActivity = DispatchTimeNanos.now()
            if readHeld {
                readHeld = false
                context.read()
            }
        } else if unwritableSince == 0 {
            unwritableSince = DispatchTimeNanos.now()
        }
        context.fireChannelWritabilityChanged()
    }

    private func check(context: ChannelHandlerContext) {
        let now = DispatchTimeNanos.now()
        if unwritableSince > 0 {
            if now - unwritableSince > sendTimeout { context.close(promise: nil) }
        } else if now - lastActivity > idleTimeout {
            context.close(promise: nil)
        }
    }
}
