import Foundation
import NIOCore

/// Writes one length-prefixed query on a TCP connection and completes with the first answer.
final class DNSTCPExchangeHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let query: [UInt8]
    let promise: EventLoopPromise<[UInt8]>
    let timeout: TimeAmount
    var received = ByteBuffer()
    var deadline: Scheduled<Void>?
    var finished = false

    init(query: [UInt8], promise: EventLoopPromise<[UInt8]>, timeout: TimeAmount) {
        self.query = query
        self.promise = promise
        self.timeout = timeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        deadline = context.eventLoop.scheduleTask(in: timeout) {
            let (handler, context) = bound.value
            handler.finish(
                .failure(
                    DNSError.timeout(
                        server: "\(context.remoteAddress.map { "\($0)" } ?? "?")",
                        seconds: Double(handler.timeout.nanoseconds) / 1e9)))
            context.close(promise: nil)
        }
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
        finish(.success(bytes))
        context.close(promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        finish(.failure(error))
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish(.failure(ChannelError.eof))
    }

    func finish(_ result: Result<[UInt8], any Error>) {
        guard !finished else { return }
        finished = true
        deadline?.cancel()
        promise.completeWith(result)
    }
}

/// Sends one query datagram and completes with the first answer from the server with the same id.
final class DNSUDPExchangeHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>

    let query: [UInt8]
    let remote: SocketAddress
    let promise: EventLoopPromise<[UInt8]>
    let timeout: TimeAmount
    var deadline: Scheduled<Void>?
    var finished = false

    init(query: [UInt8], remote: SocketAddress, promise: EventLoopPromise<[UInt8]>, timeout: TimeAmount) {
        self.query = query
        self.remote = remote
        self.promise = promise
        self.timeout = timeout
    }

    func channelActive(context: ChannelHandlerContext) {
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        deadline = context.eventLoop.scheduleTask(in: timeout) {
            let (handler, context) = bound.value
            handler.finish(
                .failure(
                    DNSError.timeout(
                        server: "\(handler.remote)",
                        seconds: Double(handler.timeout.nanoseconds) / 1e9)))
            context.close(promise: nil)
        }
        let envelope = AddressedEnvelope(remoteAddress: remote, data: ByteBuffer(bytes: query))
        context.writeAndFlush(wrapOutboundOut(envelope), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        guard let bytes = envelope.data.getBytes(at: envelope.data.readerIndex, length: envelope.data.readableBytes),
            bytes.count >= 12, bytes[0] == query[0], bytes[1] == query[1]
        else { return }
        finish(.success(bytes))
        context.close(promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        finish(.failure(error))
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish(.failure(ChannelError.eof))
    }

    func finish(_ result: Result<[UInt8], any Error>) {
        guard !finished else { return }
        finished = true
        deadline?.cancel()
        promise.completeWith(result)
    }
}
