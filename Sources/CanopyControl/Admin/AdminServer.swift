import Logging
import NIOCore
import NIOHTTP1
import NIOPosix

/// The admin listener's HTTP server: HTTP/1.1 with keep-alive, one async handler per request.
/// Routing and authentication are the handler's business (see `AdminAPI`); `headCheck` sees each
/// request's head before its body is read, and an answer from it is sent at once, the body left
/// unread and the connection closed (an unauthenticated client cannot make the server hold bodies).
/// Slow heads and bodies time out and connections are limited (`AdminLimits`).
public final class AdminServer: Sendable {
    public typealias Handler = @Sendable (AdminRequest) async -> AdminResponse
    /// An answer for a request that must not go on (its body unread), or nil to read it.
    public typealias HeadCheck = @Sendable (AdminRequest) async -> AdminResponse?

    let group: any EventLoopGroup
    let logger: Logger
    let handler: Handler
    let headCheck: HeadCheck?
    let limits: AdminLimits
    let connections = AdminConnectionCount()
    /// Largest request body accepted.
    let maxBody = 4 << 20
    /// The most of a refused request's body read (and dropped) before the connection closes.
    static let maxDrain = 1 << 20

    public init(
        group: any EventLoopGroup, logger: Logger, limits: AdminLimits = AdminLimits(), headCheck: HeadCheck? = nil,
        handler: @escaping Handler
    ) {
        self.group = group
        self.logger = logger
        self.limits = limits
        self.headCheck = headCheck
        self.handler = handler
    }

    typealias Connection = NIOAsyncChannel<HTTPServerRequestPart, HTTPPart<HTTPResponseHead, IOData>>

    /// Binds; returns the channel to serve with `serve(_:)` and the bound port.
    func bind(host: String, port: Int) async throws -> (NIOAsyncChannel<Connection, Never>, Int) {
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: host, port: port) { [connections, limits, logger] channel in
                // Over the limit: closed at once (the connection still has to be wrapped to be accepted).
                if !connections.enter(channel, limit: limits.maxConnections) {
                    logger.debug("admin: \(limits.maxConnections) connections are open; closing a new one")
                    channel.close(promise: nil)
                }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(
                        AdminDeadlines(head: limits.headTimeout, body: limits.bodyTimeout))
                    return try Connection(wrappingChannelSynchronously: channel)
                }
            }
        return (channel, channel.channel.localAddress?.port ?? port)
    }

    /// Accepts connections until the listener closes or the task is cancelled.
    func serve(_ listener: NIOAsyncChannel<Connection, Never>) async throws {
        try await withThrowingDiscardingTaskGroup { group in
            try await listener.executeThenClose { inbound in
                for try await connection in inbound {
                    group.addTask { await self.handle(connection) }
                }
            }
        }
    }

    private func handle(_ connection: Connection) async {
        do {
            try await connection.executeThenClose { inbound, outbound in
                var head: HTTPRequestHead?
                var body = ByteBuffer()
                // Set when the body passes `maxBody`: the rest is read and dropped, then answered 413.
                var tooLarge = false
                // Set when the head check answered: the body is dropped as it comes (up to
                // `maxDrain`, never kept), so that closing does not turn into a reset that loses the
                // answer; the head timeout bounds the wait.
                var refused = false
                var drained = 0
                for try await part in inbound {
                    switch part {
                    case .head(let h):
                        if let headCheck, let refusal = await headCheck(AdminRequest(head: h, body: ByteBuffer())) {
                            _ = try await write(refusal, for: h, keepAlive: false, to: outbound)
                            try? await connection.channel.close(mode: .output)
                            refused = true
                            continue
                        }
                        head = h
                        body.clear()
                        tooLarge = (h.headers.first(name: "Content-Length").flatMap { Int($0) } ?? 0) > maxBody
                    case .body(var chunk):
                        if refused {
                            drained += chunk.readableBytes
                            if drained > Self.maxDrain { return }
                        } else if tooLarge || body.readableBytes + chunk.readableBytes > maxBody {
                            tooLarge = true
                            body.clear()
                        } else {
                            body.writeBuffer(&chunk)
                        }
                    case .end:
                        if refused { return }
                        guard let h = head else { continue }
                        if tooLarge {
                            // Closed after the answer: what the client sent is not a request to act on.
                            _ = try await write(Self.tooLarge(maxBody), for: h, keepAlive: false, to: outbound)
                            return
                        }
                        let keepAlive = h.isKeepAlive
                        let response = await handler(AdminRequest(head: h, body: body))
                        let isStream = try await write(response, for: h, keepAlive: keepAlive, to: outbound)
                        if !keepAlive || isStream { return }
                        head = nil
                    }
                }
            }
        } catch {
            logger.debug("admin connection ended: \(error)")
        }
    }

    /// The answer to a request whose body is over the limit.
    static func tooLarge(_ limit: Int, unit: String = "MiB") -> AdminResponse {
        let size = unit == "KiB" ? limit >> 10 : limit >> 20
        return .error(
            .payloadTooLarge, "the request body is over \(size) \(unit), the admin API's limit; send a smaller one")
    }

    /// Writes one response; returns true when it was a stream (the connection then closes after it).
    private func write(
        _ response: AdminResponse, for request: HTTPRequestHead, keepAlive: Bool,
        to outbound: NIOAsyncChannelOutboundWriter<HTTPPart<HTTPResponseHead, IOData>>
    ) async throws -> Bool {
        var headers = response.headers
        headers.replaceOrAdd(name: "Server", value: "canopy-admin")
        headers.replaceOrAdd(name: "Cache-Control", value: headers.first(name: "Cache-Control") ?? "no-store")
        switch response.body {
        case .bytes(let bytes):
            headers.replaceOrAdd(name: "Content-Length", value: String(bytes.readableBytes))
            headers.replaceOrAdd(name: "Connection", value: keepAlive ? "keep-alive" : "close")
            try await outbound.write(
                .head(HTTPResponseHead(version: request.version, status: response.status, headers: headers)))
            if request.method != .HEAD { try await outbound.write(.body(.byteBuffer(bytes))) }
            try await outbound.write(.end(nil))
            return false
        case .stream(let chunks):
            headers.replaceOrAdd(name: "Connection", value: "close")
            headers.remove(name: "Content-Length")
            try await outbound.write(
                .head(HTTPResponseHead(version: request.version, status: response.status, headers: headers)))
            for await chunk in chunks {
                try await outbound.write(.body(.byteBuffer(ByteBuffer(string: chunk))))
            }
            try await outbound.write(.end(nil))
            return true
        }
    }
}
