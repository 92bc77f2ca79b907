import CanopyTLS
import CanopyTestSupport
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Testing

/// A CA that rate-limits (Pebble cannot be made to): a loopback HTTP server answering the
/// directory and nonces, and `429 rateLimited` with `Retry-After` to new accounts. The client
/// surfaces the problem's type, detail and the date to come back.
@Suite struct ACMERateLimitTests {
    @Test func rateLimitedIsSurfacedWithDetailAndRetryAfter() async throws {
        let port = ACMETestPorts.free()
        let base = "http://127.0.0.1:\(port)"
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(RateLimitingCA(base: base))
                }
            }
            .bind(host: "127.0.0.1", port: port).get()
        defer { server.close(promise: nil) }
        let client = ACMEClient(
            directoryURL: base + "/dir", accountKey: .generate(), http: try ACMEHTTPClient(),
            logger: Logger(label: "acme-test"))
        let before = Date()
        let error = await #expect(throws: ACMEError.self) {
            try await client.register(contact: ["ops@example.test"], agreeToTermsOfService: true)
        }
        #expect(error?.problem?.kind == "rateLimited")
        #expect(error?.problem?.status == 429)
        #expect(error?.problem?.detail == "too many new accounts from 127.0.0.1")
        let retryAfter = try #require(error?.retryAfter)
        // Retry-After: 120 counts from the answer, which came between `before` and now.
        #expect(retryAfter >= before.addingTimeInterval(115) && retryAfter <= Date().addingTimeInterval(125))
        #expect(error?.description.contains("rateLimited: too many new accounts") == true)
        #expect(error?.description.contains("retry after") == true)
    }

    /// Directory, nonces, and a rate limit for everything else.
    final class RateLimitingCA: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let base: String

        init(base: String) { self.base = base }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard case .head(let head) = unwrapInboundIn(data) else { return }
            var headers = HTTPHeaders([("Replay-Nonce", "nonce-\(UUID().uuidString)"), ("Connection", "close")])
            let status: HTTPResponseStatus
            let body: String
            switch head.uri {
            case "/dir":
                status = .ok
                body = #"{"newNonce":"\#(base)/nonce","newAccount":"\#(base)/account","newOrder":"\#(base)/order"}"#
            case "/nonce":
                status = .ok
                body = ""
            default:
                status = .tooManyRequests
                headers.add(name: "Retry-After", value: "120")
                headers.add(name: "Content-Type", value: "application/problem+json")
                body =
                    #"{"type":"urn:ietf:params:acme:error:rateLimited","detail":"too many new accounts from 127.0.0.1"}"#
            }
            headers.add(name: "Content-Length", value: String(body.utf8.count))
            context.write(
                wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))),
                promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: body)))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in context.close(promise: nil) }
        }
    }
}
