import CanopyTLS
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import NIOTLS

/// A tiny HTTP/1.1 server standing in for the edge's `/.well-known/acme-challenge/<token>` hook:
/// it answers the tokens in ``tokens`` and 404 for anything else, and records the paths asked.
final class ACMEHTTP01TestServer: Sendable {
    let tokens = NIOLockedValueBox<[String: String]>([:])
    let requests = NIOLockedValueBox<[String]>([])
    let channel: any Channel

    init(port: Int) async throws {
        let tokens = self.tokens
        let requests = self.requests
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Handler(tokens: tokens, requests: requests))
                }
            }
            .bind(host: "127.0.0.1", port: port).get()
    }

    /// The solver publishing into this server.
    var solver: HTTP01Solver {
        let tokens = self.tokens
        return HTTP01Solver { token, keyAuthorization in
            tokens.withLockedValue { $0[token] = keyAuthorization }
        }
    }

    func stop() async { try? await channel.close() }

    final class Handler: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let tokens: NIOLockedValueBox<[String: String]>
        let requests: NIOLockedValueBox<[String]>

        init(tokens: NIOLockedValueBox<[String: String]>, requests: NIOLockedValueBox<[String]>) {
            self.tokens = tokens
            self.requests = requests
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard case .head(let head) = unwrapInboundIn(data) else { return }
            requests.withLockedValue { $0.append(head.uri) }
            let prefix = "/.well-known/acme-challenge/"
            let token = head.uri.hasPrefix(prefix) ? String(head.uri.dropFirst(prefix.count)) : ""
            let answer = tokens.withLockedValue { $0[token] }
            var headers = HTTPHeaders()
            let body = ByteBuffer(string: answer ?? "not found")
            headers.add(name: "Content-Length", value: String(body.readableBytes))
            headers.add(name: "Connection", value: "close")
            let status: HTTPResponseStatus = answer == nil ? .notFound : .ok
            context.write(
                wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))),
                promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in context.close(promise: nil) }
        }
    }
}

/// A TLS server standing in for the TLS listener's `acme-tls/1` hook: while a challenge
/// certificate is installed it listens on `port` and presents it to handshakes offering ALPN
/// `acme-tls/1`.
final class ACMETLSALPNTestServer: Sendable {
    let port: Int
    let channel = NIOLockedValueBox<(any Channel)?>(nil)
    let handshakes = NIOLockedValueBox<[String]>([])

    init(port: Int) { self.port = port }

    /// The solver installing into this server.
    var solver: TLSALPN01Solver {
        TLSALPN01Solver { [self] _, certificate in
            if let certificate {
                try await self.start(certificate)
            } else {
                await self.stop()
            }
        }
    }

    func start(_ challenge: ACMETLSALPNChallengeCertificate) async throws {
        await stop()
        let certificate = try NIOSSLCertificate(bytes: Array(try challenge.certificatePEM.utf8), format: .pem)
        let key = try NIOSSLPrivateKey(bytes: Array(try challenge.privateKeyPEM.utf8), format: .pem)
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: [.certificate(certificate)], privateKey: .privateKey(key))
        configuration.applicationProtocols = [ACMETLSALPNChallengeCertificate.alpnProtocol]
        let context = try NIOSSLContext(configuration: configuration)
        let handshakes = self.handshakes
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
                    try channel.pipeline.syncOperations.addHandler(ALPNRecorder(handshakes: handshakes))
                }
            }
            .bind(host: "127.0.0.1", port: port).get()
        channel.withLockedValue { $0 = server }
    }

    func stop() async {
        let old = channel.withLockedValue { value -> (any Channel)? in
            defer { value = nil }
            return value
        }
        try? await old?.close()
    }

    /// Records the negotiated ALPN protocol of each handshake.
    final class ALPNRecorder: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        let handshakes: NIOLockedValueBox<[String]>

        init(handshakes: NIOLockedValueBox<[String]>) { self.handshakes = handshakes }

        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if let tls = event as? TLSUserEvent, case .handshakeCompleted(let negotiated) = tls {
                handshakes.withLockedValue { $0.append(negotiated ?? "none") }
            }
            context.fireUserInboundEventTriggered(event)
        }
    }
}
