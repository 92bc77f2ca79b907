import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// One HTTP response, fully read.
public struct ACMEHTTPResponse: Sendable {
    /// The status code.
    public var status: Int
    /// The header fields in order.
    public var headers: [(name: String, value: String)]
    /// The body.
    public var body: [UInt8]

    /// The first value of a header field, case-insensitively.
    public func header(_ name: String) -> String? {
        headers.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
    }

    /// Every value of a header field (Link comes several times).
    public func headers(named name: String) -> [String] {
        headers.filter { $0.name.caseInsensitiveCompare(name) == .orderedSame }.map(\.value)
    }
}

/// A small HTTP/1.1 client over SwiftNIO and NIOSSL: one connection per request, which is all ACME's
/// handful of requests per order needs. It trusts the system roots plus any extra roots given
/// (`--acme-trust`), verifies the server's name, and holds each request to a deadline.
public struct ACMEHTTPClient: Sendable {
    let sslContext: NIOSSLContext
    let group: any EventLoopGroup
    /// The deadline for one request, connect to last byte.
    public var timeout: TimeAmount

    /// Creates a client trusting the system's roots and `additionalTrustRoots` (PEM files).
    public init(
        additionalTrustRoots: [String] = [], timeout: TimeAmount = .seconds(30),
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) throws {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        configuration.applicationProtocols = ["http/1.1"]
        var extra: [NIOSSLCertificate] = []
        for file in additionalTrustRoots {
            do {
                extra += try NIOSSLCertificate.fromPEMFile(file)
            } catch {
                throw ACMEError.configuration("cannot read the ACME trust roots in \(file): \(error)")
            }
        }
        if !extra.isEmpty { configuration.additionalTrustRoots = [.certificates(extra)] }
        self.sslContext = try NIOSSLContext(configuration: configuration)
        self.group = group
        self.timeout = timeout
    }

    /// Sends one request and reads the whole response.
    public func send(
        _ method: String, _ urlString: String, headers: [(String, String)] = [], body: [UInt8]? = nil
    ) async throws -> ACMEHTTPResponse {
        guard let url = URL(string: urlString), let scheme = url.scheme?.lowercased(),
            scheme == "https" || scheme == "http", let host = url.host, !host.isEmpty
        else { throw ACMEError.configuration("not an http(s) URL: \(urlString)") }
        let port = url.port ?? (scheme == "https" ? 443 : 80)
        var target = url.path.isEmpty ? "/" : url.path
        if let query = url.query { target += "?" + query }
        var head = HTTPRequestHead(version: .http1_1, method: HTTPMethod(rawValue: method), uri: target)
        let defaultPort = (scheme == "https" && port == 443) || (scheme == "http" && port == 80)
        let hostField = host.contains(":") ? "[\(host)]" : host
        head.headers.add(name: "Host", value: defaultPort ? hostField : "\(hostField):\(port)")
        head.headers.add(name: "User-Agent", value: "canopy-acme/1")
        head.headers.add(name: "Connection", value: "close")
        for (name, value) in headers { head.headers.add(name: name, value: value) }
        if let body { head.headers.add(name: "Content-Length", value: String(body.count)) }
        let request = ACMEHTTPRequest(head: head, body: body)
        let tls = scheme == "https" ? sslContext : nil
        let serverName = Self.isIPAddress(host) ? nil : host
        let promise = group.next().makePromise(of: ACMEHTTPResponse.self)
        let deadline = timeout
        let bootstrap = ClientBootstrap(group: group)
            .connectTimeout(.seconds(10))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        let handler = try NIOSSLClientHandler(context: tls, serverHostname: serverName)
                        try channel.pipeline.syncOperations.addHandler(handler)
                    }
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    let collector = ACMEResponseCollector(request: request, promise: promise, timeout: deadline)
                    try channel.pipeline.syncOperations.addHandler(collector)
                }
            }
        do {
            let channel = try await bootstrap.connect(host: host, port: port).get()
            do {
                return try await promise.futureResult.get()
            } catch {
                channel.close(promise: nil)
                throw error
            }
        } catch let error as ACMEError {
            throw error
        } catch {
            promise.fail(error)
            throw ACMEError.connection(url: urlString, reason: String(describing: error))
        }
    }

    static func isIPAddress(_ host: String) -> Bool {
        (try? SocketAddress(ipAddress: host, port: 0)) != nil
    }
}

/// The request a collector writes once the channel is active.
struct ACMEHTTPRequest: Sendable {
    var head: HTTPRequestHead
    var body: [UInt8]?
}

/// Writes one request and gathers its response into a promise; fails it on error, close or deadline.
final class ACMEResponseCollector: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    let request: ACMEHTTPRequest
    let promise: EventLoopPromise<ACMEHTTPResponse>
    let timeout: TimeAmount
    var head: HTTPResponseHead?
    var body: [UInt8] = []
    var finished = false
    var deadline: Scheduled<Void>?
    /// The largest body read; ACME documents and certificate chains are a few KiB.
    static let maximumBodySize = 4 << 20

    init(request: ACMEHTTPRequest, promise: EventLoopPromise<ACMEHTTPResponse>, timeout: TimeAmount) {
        self.request = request
        self.promise = promise
        self.timeout = timeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        deadline = context.eventLoop.scheduleTask(in: timeout) {
            let (handler, context) = loopBound.value
            handler.finish(.failure(ChannelError.connectTimeout(handler.timeout)))
            context.close(promise: nil)
        }
        if context.channel.isActive { sendRequest(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        sendRequest(context: context)
        context.fireChannelActive()
    }

    func sendRequest(context: ChannelHandlerContext) {
        context.write(wrapOutboundOut(.head(request.head)), promise: nil)
        if let bytes = request.body {
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: bytes)))), promise: nil)
        }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): self.head = head
        case .body(var buffer):
            body += buffer.readBytes(length: buffer.readableBytes) ?? []
            if body.count > Self.maximumBodySize {
                finish(
                    .failure(
                        ACMEError.unexpectedResponse(
                            url: request.head.uri, status: Int(head?.status.code ?? 0),
                            reason: "response larger than 4 MiB")))
                context.close(promise: nil)
            }
        case .end:
            if let head {
                let fields = head.headers.map { (name: $0.name, value: $0.value) }
                finish(.success(ACMEHTTPResponse(status: Int(head.status.code), headers: fields, body: body)))
            }
            context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        finish(.failure(error))
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish(.failure(ChannelError.eof))
        context.fireChannelInactive()
    }

    func finish(_ result: Result<ACMEHTTPResponse, any Error>) {
        guard !finished else { return }
        finished = true
        deadline?.cancel()
        promise.completeWith(result)
    }
}
