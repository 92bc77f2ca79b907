import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// One event loop's connections to proxy upstreams: idle keep-alive connections are reused, at most
/// `limit` are open per upstream (more requests wait for one, within the connect timeout), and an
/// idle one the upstream closes is forgotten. Every connection lives on this loop, as do the client
/// connections whose requests it carries: nothing here is shared between threads, nothing blocks.
final class ProxyPool {
    private struct Slot {
        var idle: [any Channel] = []
        var open = 0
        var waiters: [ProxyExchange] = []
    }

    let eventLoop: any EventLoop
    let limit: Int
    let connectTimeout: TimeAmount
    let tls: @Sendable () throws -> NIOSSLContext
    private var slots: [ProxyUpstream: Slot] = [:]
    /// Connections opened, for tests and metrics.
    private(set) var opened = 0

    init(
        eventLoop: any EventLoop, limit: Int, connectTimeout: TimeAmount,
        tls: @escaping @Sendable () throws -> NIOSSLContext
    ) {
        self.eventLoop = eventLoop
        self.limit = max(1, limit)
        self.connectTimeout = connectTimeout
        self.tls = tls
    }

    /// Gives `exchange` a connection: an idle one, a new one, or the next one released.
    func acquire(_ exchange: ProxyExchange) {
        let upstream = exchange.target.upstream
        var slot = slots[upstream] ?? Slot()
        var reuse: (any Channel)?
        while reuse == nil, let channel = slot.idle.popLast() {
            if channel.isActive { reuse = channel }
        }
        let connectNew = reuse == nil && slot.open < limit
        if connectNew { slot.open += 1 }
        if reuse == nil && !connectNew { slot.waiters.append(exchange) }
        slots[upstream] = slot
        if let reuse {
            exchange.connected(reuse, reused: true)
        } else if connectNew {
            connect(upstream, for: exchange)
        }
    }

    /// A waiting exchange gave up (its connect timeout passed, or its client left).
    func withdraw(_ exchange: ProxyExchange) {
        slots[exchange.target.upstream]?.waiters.removeAll { $0 === exchange }
    }

    /// An exchange is done with `channel`: kept for the next request when `reusable`, else closed.
    func release(_ channel: any Channel, upstream: ProxyUpstream, reusable: Bool) {
        guard reusable, channel.isActive else {
            channel.close(promise: nil)  // (its close future updates the count)
            return
        }
        if let waiter = slots[upstream]?.waiters.first {
            slots[upstream]!.waiters.removeFirst()
            waiter.connected(channel, reused: true)
        } else {
            slots[upstream, default: Slot()].idle.append(channel)
        }
    }

    private func connect(_ upstream: ProxyUpstream, for exchange: ProxyExchange) {
        opened += 1
        let tls: NIOSSLContext?
        do {
            tls = upstream.secure ? try self.tls() : nil
        } catch {
            closed(upstream, nil)
            exchange.connectFailed(error)
            return
        }
        let sni =
            upstream.host.contains(":") || upstream.host.allSatisfy({ $0.isNumber || $0 == "." })
            ? nil : upstream.host
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    if let tls { try pipeline.addHandler(NIOSSLClientHandler(context: tls, serverHostname: sni)) }
                    try pipeline.addHandler(HTTPRequestEncoder())
                    try pipeline.addHandler(
                        ByteToMessageHandler(HTTPResponseDecoder(leftOverBytesStrategy: .fireError)))
                    try pipeline.addHandler(UpstreamHandler())
                }
            }
        bootstrap.connect(host: upstream.host, port: upstream.port).assumeIsolated().whenComplete { result in
            switch result {
            case .success(let channel):
                channel.closeFuture.assumeIsolated().whenComplete { _ in self.closed(upstream, channel) }
                exchange.connected(channel, reused: false)
            case .failure(let error):
                self.closed(upstream, nil)
                exchange.connectFailed(error)
            }
        }
    }

    /// A connection (or an attempt) ended: it no longer counts, and a waiter may connect.
    private func closed(_ upstream: ProxyUpstream, _ channel: (any Channel)?) {
        guard var slot = slots[upstream] else { return }
        slot.open -= 1
        if let channel { slot.idle.removeAll { $0 === channel } }
        if slot.open < limit, !slot.waiters.isEmpty {
            let waiter = slot.waiters.removeFirst()
            slot.open += 1
            slots[upstream] = slot
            connect(upstream, for: waiter)
            return
        }
        slots[upstream] = slot.open == 0 && slot.waiters.isEmpty ? nil : slot
    }

    /// Closes every idle connection (the edge is shutting down).
    func closeIdle() {
        for slot in slots.values { for channel in slot.idle { channel.close(promise: nil) } }
    }
}

/// The last handler of an upstream connection: hands response parts to the exchange using it.
/// An idle connection that receives anything is closed (nothing was asked of it).
final class UpstreamHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart

    var exchange: ProxyExchange?

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let exchange else {
            context.close(promise: nil)
            return
        }
        exchange.received(unwrapInboundIn(data))
    }

    func channelInactive(context: ChannelHandlerContext) {
        exchange?.upstreamClosed(nil)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        exchange?.upstreamClosed(error)
        context.close(promise: nil)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { exchange?.upstreamWritable() }
        context.fireChannelWritabilityChanged()
    }
}
