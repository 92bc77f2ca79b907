import Foundation
import NIOCore
import NIOHTTP1

/// Closes an admin connection that is slow where a client must not be: the next request's head
/// (from the connection's start or the end of the last answer; this is also the idle keep-alive
/// time) within `head`, and its whole body within `body`. No clock runs while a request is handled
/// or its answer (a log follow, the event stream) is being written. After the HTTP decoder.
final class AdminDeadlines: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let head: TimeAmount
    private let body: TimeAmount
    private var timer: Scheduled<Void>?

    init(head: TimeAmount, body: TimeAmount) {
        self.head = head
        self.body = body
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { arm(context, head) }
    }

    func channelActive(context: ChannelHandlerContext) {
        arm(context, head)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head: arm(context, body)
        case .end: disarm()
        case .body: break
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { arm(context, head) }
        context.write(data, promise: promise)
    }

    private func arm(_ context: ChannelHandlerContext, _ delay: TimeAmount) {
        timer?.cancel()
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(in: delay) { bound.value.close(promise: nil) }
    }

    private func disarm() {
        timer?.cancel()
        timer = nil
    }
}

/// The admin listener's limits.
public struct AdminLimits: Sendable {
    /// Connections held at once; more are closed when accepted.
    public var maxConnections = 64
    /// For a request's head to arrive (and for an idle keep-alive connection).
    public var headTimeout: TimeAmount = .seconds(15)
    /// For a request's whole body to arrive, once its head has.
    public var bodyTimeout: TimeAmount = .seconds(60)

    public init() {}
}

/// How many connections the admin listener holds, on every event loop.
///
/// `@unchecked Sendable`: `open` is only touched while holding `lock`.
final class AdminConnectionCount: @unchecked Sendable {
    private let lock = NSLock()
    private var open = 0

    /// Counts a new connection until it closes; false when `limit` are already open.
    func enter(_ channel: any Channel, limit: Int) -> Bool {
        let admitted = lock.withLock {
            guard open < limit else { return false }
            open += 1
            return true
        }
        if admitted { channel.closeFuture.whenComplete { _ in self.lock.withLock { self.open -= 1 } } }
        return admitted
    }
}
