import NIOCore
import NIOHTTP1

/// Answers one HTTP/2 stream (h2c with prior knowledge). NIOHTTP2's codec turns the stream into
/// HTTP/1-style parts; the request is answered by the same Responder as HTTP/1.1, whose head
/// bytes are read back into header fields (minus the connection-specific ones HTTP/2 forbids).
/// Bodies go out as they would over HTTP/1.1: memory, or a file region sent with sendfile.
final class EdgeStreamHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let server: EdgeServer
    private let lane: Int
    private var head: HTTPRequestHead?
    private var dates = DateHeaderCache()
    /// Closes (resets) the stream if its request has not fully arrived within the head timeout,
    /// as an HTTP/1.1 request head is held to it.
    private var deadline: Scheduled<Void>?
    private let secure: Bool

    init(server: EdgeServer, lane: Int, secure: Bool = false) {
        self.server = server
        self.lane = lane
        self.secure = secure
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        deadline = context.eventLoop.scheduleTask(in: .nanoseconds(Int64(server.headTimeout))) {
            loopBound.value.close(promise: nil)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            head = h
        case .body:
            break  // request bodies are not read
        case .end:
            deadline?.cancel()
            deadline = nil
            guard let h = head else { return }
            head = nil
            var request = Self.request(h)
            request.isSecure = secure
            answer(request, context: context)
        }
    }

    private func answer(_ request: EdgeRequest, context: ChannelHandlerContext) {
        let start = DispatchTimeNanos.now()
        var out = context.channel.allocator.buffer(capacity: 1024)
        let snapshot = server.snapshot.load(ordering: .acquiring)
        let response = Responder.respond(request, snapshot: snapshot, date: dates.current(), out: &out)
        guard let (responseHead, inline) = Self.split(out) else {
            context.close(promise: nil)
            return
        }
        context.write(wrapOutboundOut(.head(responseHead)), promise: nil)
        if inline.readableBytes > 0 { context.write(wrapOutboundOut(.body(.byteBuffer(inline))), promise: nil) }
        for part in response.body {
            switch part {
            case .buffer(let buffer):
                context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
            case .file(let blob, let offset, let length):
                let region = FileRegion(
                    fileHandle: blob.handle(lane: lane), readerIndex: Int(offset), endIndex: Int(offset + length))
                context.write(wrapOutboundOut(.body(.fileRegion(region)))).whenComplete { _ in
                    withExtendedLifetime(blob) {}
                }
            }
        }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        server.record(request, response, lane: lane, started: start, remote: context.channel.parent?.remoteAddress)
    }

    /// The request fields the edge reads, from an HTTP/2 stream's header fields (`:authority`
    /// arrives as Host, and wins over a Host field: see HTTP2AuthorityHandler; HTTP/2 may split
    /// Cookie into several fields).
    static func request(_ head: HTTPRequestHead) -> EdgeRequest {
        let method: EdgeRequest.Method
        switch head.method {
        case .GET: method = .get
        case .HEAD: method = .head
        case .OPTIONS: method = .options
        default: method = .other
        }
        var request = EdgeRequest(method: method, methodName: head.method.rawValue, uri: head.uri)
        request.isHTTP2 = true
        let headers = head.headers
        func list(_ name: String, _ separator: String = ", ") -> String? {
            let values = headers[name]
            return values.isEmpty ? nil : values.joined(separator: separator)
        }
        request.host = headers.first(name: "host")
        request.acceptEncoding = list("accept-encoding")
        request.acceptLanguage = list("accept-language")
        request.range = headers.first(name: "range")
        request.ifRange = headers.first(name: "if-range")
        request.ifMatch = list("if-match")
        request.ifNoneMatch = list("if-none-match")
        request.ifModifiedSince = headers.first(name: "if-modified-since")
        request.ifUnmodifiedSince = headers.first(name: "if-unmodified-since")
        request.authorization = headers.first(name: "authorization")
        request.cookie = list("cookie", "; ")
        request.canopyTarget = headers.first(name: "x-canopy-target")
        request.referer = headers.first(name: "referer")
        request.userAgent = headers.first(name: "user-agent")
        return request
    }

    /// Reads an HTTP/1.1 response head written by the Responder back into a status and header
    /// fields; returns the bytes after the head (an inline body) as well.
    static func split(_ out: ByteBuffer) -> (HTTPResponseHead, ByteBuffer)? {
        let bytes = out.readableBytesView
        guard let end = bytes.firstRange(of: [0x0D, 0x0A, 0x0D, 0x0A]) else { return nil }
        let text = String(decoding: bytes[..<end.lowerBound], as: UTF8.self)
        var lines = text.split(separator: "\r\n", omittingEmptySubsequences: false)
        let statusLine = lines.removeFirst()
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, let code = Int(parts[1]) else { return nil }
        var headers = HTTPHeaders()
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon]
            let lower = name.lowercased()
            // Connection-specific fields are not allowed in HTTP/2 (RFC 9113 §8.2.2).
            if lower == "connection" || lower == "keep-alive" || lower == "transfer-encoding" { continue }
            headers.add(name: lower, value: String(line[line.index(after: colon)...].drop { $0 == " " }))
        }
        // The view's indices are the buffer's own.
        let body = out.getSlice(at: end.upperBound, length: bytes.endIndex - end.upperBound)!
        return (
            HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: code), headers: headers), body
        )
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}
