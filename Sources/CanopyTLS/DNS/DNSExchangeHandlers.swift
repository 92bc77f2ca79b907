import Foundation
import NIOCore

/// The answer one exchange waits for: completed once (answer, error, end of stream or timeout),
/// whichever comes first; the connection closes with it. Shared by the TCP and UDP exchanges.
final class DNSReply {
    let promise: EventLoopPromise<[UInt8]>
    let timeout: TimeAmount
    private var deadline: Scheduled<Void>?
    private var finished = false

    init(promise: EventLoopPromise<[UInt8]>, timeout: TimeAmount) {
        self.promise = promise
        self.timeout = timeout
    }

    /// Starts the timeout; `server` names the server in its error.
    func arm(context: ChannelHandlerContext, server: @escaping () -> String) {
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        deadline = context.eventLoop.scheduleTask(in: timeout) {
            let (reply, context) = bound.value
            reply.finish(
                .failure(DNSError.timeout(server: server(), seconds: Double(reply.timeout.nanoseconds) / 1e9)),
                closing: context)
        }
    }

    func finish(_ result: Result<[UInt8], any Error>, closing context: ChannelHandlerContext? = nil) {
        if !finished {
            finished = true
            deadline?.cancel()
            promise.completeWith(result)
        }
        // After completing: closing fires channelInactive, which must find the reply finished.
        context?.close(promise: nil)
    }
}

/// Writes one length-prefixed query on a TCP connection and completes with the first answer.
final class DNSTCPExchangeHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let query: [UInt8]
    let reply: DNSReply
    var received = ByteBuffer()

    init(query: [UInt8], promise: EventLoopPromise<[UInt8]>, timeout: TimeAmount) {
        self.query = query
        self.reply = DNSReply(promise: promise, timeout: timeout)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        reply.arm(context: context) { loopBound.value.remoteAddress.map { "\($0)" } ?? "?" }
    }

    func channelActive(context: ChannelHandlerContext) {
        var buffer = context.channel.allocator.buffer(capacity: query.count + 2)
        buffer.writeInteger(UInt16(query.count))
        buffer.writeBytes(query)
        context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var chunk = unwrapInboundIn(data)
        received.writeBuffer(&chunk)
        guard let length = received.getInteger(at: received.readerIndex, as: UInt16.self),
            received.readableBytes >= Int(length) + 2,
            let bytes = received.getBytes(at: received.readerIndex + 2, length: Int(length))
        else { return }
        reply.finish(.success(bytes), closing: context)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        reply.finish(.failure(error), closing: context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        reply.finish(.failure(ChannelError.eof))
    }
}

/// Sends one query datagram and completes with the first answer from the server with the same id.
final class DNSUDPExchangeHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>

    let query: [UInt8]
    let remote: SocketAddress
    let reply: DNSReply

    init(query: [UInt8], remote: SocketAddress, promise: EventLoopPromise<[UInt8]>, timeout: TimeAmount) {
        self.query = query
        self.remote = remote
        self.reply = DNSReply(promise: promise, timeout: timeout)
    }

    func channelActive(context: ChannelHandlerContext) {
        let remote = self.remote
        reply.arm(context: context) { "\(remote)" }
        let envelope = AddressedEnvelope(remoteAddress: remote, data: ByteBuffer(bytes: query))
        context.writeAndFlush(wrapOutboundOut(envelope), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        guard let bytes = envelope.data.getBytes(at: envelope.data.readerIndex, length: envelope.data.readableBytes),
            bytes.count >= 12, bytes[0] == query[0], bytes[1] == query[1]
        else { return }
        reply.finish(.success(bytes), closing: context)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        reply.finish(.failure(error), closing: context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        reply.finish(.failure(ChannelError.eof))
    }
}
