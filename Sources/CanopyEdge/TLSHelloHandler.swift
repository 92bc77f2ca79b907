import CanopyTLS
import NIOCore
import NIOSSL
import NIOTLS

/// The first handler of a TLS connection. It reads the ClientHello's server name and protocols,
/// picks the certificate from the current snapshot (one atomic load per handshake), and hands the
/// connection to BoringSSL with that certificate's context, followed by the same EdgeHandler as
/// cleartext connections (which turns to HTTP/2 on the preface, as for h2c). A name Canopy does not
/// serve gets a fatal `unrecognized_name` alert, never another site's certificate. An `acme-tls/1`
/// hello for a domain with a challenge certificate gets that certificate and nothing else.
/// The whole handshake is held to the head timeout.
final class TLSHelloHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    /// A fatal `unrecognized_name` (112) alert record (RFC 8446 §6, RFC 6066 §3).
    static let unrecognizedName: [UInt8] = [0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x70]

    private let server: EdgeServer
    private let lane: Int
    private var buffered: ByteBuffer?
    private var deadline: Scheduled<Void>?

    init(server: EdgeServer, lane: Int) {
        self.server = server
        self.lane = lane
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let channel = context.channel
        deadline = context.eventLoop.scheduleTask(in: .nanoseconds(Int64(server.headTimeout))) {
            channel.close(promise: nil)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var input = unwrapInboundIn(data)
        if var head = buffered {
            head.writeBuffer(&input)
            input = head
        }
        switch ClientHello.parse(input) {
        case .incomplete:
            buffered = input
        case .notTLS:
            buffered = nil
            deadline?.cancel()
            context.close(promise: nil)
        case .hello(let hello):
            buffered = nil
            choose(hello, input, context: context)
        }
    }

    private func choose(_ hello: ClientHello, _ input: ByteBuffer, context: ChannelHandlerContext) {
        guard let name = hello.serverName else { return refuse(context: context) }
        if hello.protocols.contains(TLSContexts.acmeProtocol) {
            guard let challenge = server.challenges.tlsContext(for: name) else { return refuse(context: context) }
            return proceed(challenge, acme: true, input, context: context)
        }
        guard let entry = server.snapshot.load(ordering: .acquiring).certificates.entry(forServerName: name) else {
            return refuse(context: context)
        }
        proceed(entry.context, acme: false, input, context: context)
    }

    private func proceed(_ tls: NIOSSLContext, acme: Bool, _ input: ByteBuffer, context: ChannelHandlerContext) {
        do {
            let pipeline = context.pipeline.syncOperations
            let ssl = NIOSSLServerHandler(context: tls)
            let watch = HandshakeWatch(deadline: deadline, closeWhenDone: acme)
            try pipeline.addHandler(ssl, position: .after(self))
            try pipeline.addHandler(TLSPlaintextWriter(), position: .after(ssl))
            try pipeline.addHandler(watch, position: .last)
            if !acme { try pipeline.addHandler(EdgeHandler(server: server, lane: lane, secure: true), position: .last) }
            deadline = nil
            context.fireChannelRead(wrapInboundOut(input))
            pipeline.removeHandler(context: context, promise: nil)
        } catch {
            server.logger.debug("cannot start TLS on a connection: \(error)")
            context.close(promise: nil)
        }
    }

    private func refuse(context: ChannelHandlerContext) {
        deadline?.cancel()
        var alert = context.channel.allocator.buffer(capacity: Self.unrecognizedName.count)
        alert.writeBytes(Self.unrecognizedName)
        let channel = context.channel
        context.writeAndFlush(NIOAny(alert)).whenComplete { _ in channel.close(promise: nil) }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}

/// Cancels the handshake deadline once the handshake completes (and, for an `acme-tls/1`
/// challenge, closes: RFC 8737 exchanges no data after it); closes on a failed handshake.
final class HandshakeWatch: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    private let deadline: Scheduled<Void>?
    private let closeWhenDone: Bool

    init(deadline: Scheduled<Void>?, closeWhenDone: Bool) {
        self.deadline = deadline
        self.closeWhenDone = closeWhenDone
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted = event as? TLSUserEvent ?? .shutdownCompleted {
            deadline?.cancel()
            if closeWhenDone {
                context.close(promise: nil)
            } else {
                context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
            }
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        deadline?.cancel()
        context.close(promise: nil)
    }
}
