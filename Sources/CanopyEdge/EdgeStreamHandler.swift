import NIOCore
import NIOHPACK
import NIOHTTP2

/// Answers one HTTP/2 stream (h2c with prior knowledge, or h2 over TLS) straight from its frames:
/// the request's header block becomes an `EdgeRequest` (`:authority` wins over Host, RFC 9113
/// §8.3.1), the Responder writes the same response as for HTTP/1.1, and its head is turned into
/// the response's header block (minus the connection-specific fields HTTP/2 forbids). Bodies go out
/// as DATA frames: memory, or a file region (sendfile on cleartext, chunked reads over TLS).
final class EdgeStreamHandler: ChannelInboundHandler {
    typealias InboundIn = HTTP2Frame.FramePayload
    typealias OutboundOut = HTTP2Frame.FramePayload

    private let server: EdgeServer
    private let lane: Int
    /// The request, once its header block arrived, until its stream ends.
    private var request: EdgeRequest?
    private var answered = false
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
        let endStream: Bool
        switch unwrapInboundIn(data) {
        case .headers(let headers):
            if request == nil && !answered {
                guard let parsed = Self.request(headers.headers) else {
                    context.close(promise: nil)  // no :method or :path: the stream is reset
                    return
                }
                request = parsed
            }
            endStream = headers.endStream  // (a second header block is the trailers)
        case .data(let data):
            endStream = data.endStream  // request bodies are not read
        default:
            return
        }
        guard endStream, var request else { return }
        deadline?.cancel()
        deadline = nil
        self.request = nil
        answered = true
        request.isSecure = secure
        answer(request, context: context)
    }

    private func answer(_ request: EdgeRequest, context: ChannelHandlerContext) {
        let start = DispatchTimeNanos.now()
        var out = context.channel.allocator.buffer(capacity: 1024)
        let snapshot = server.snapshot.load(ordering: .acquiring)
        let response = Responder.respond(request, snapshot: snapshot, date: dates.current(), out: &out)
        guard let (headers, inline) = Self.split(out) else {
            context.close(promise: nil)
            return
        }
        let parts = response.body.count
        let hasBody = inline.readableBytes > 0 || parts > 0
        context.write(wrapOutboundOut(.headers(.init(headers: headers, endStream: !hasBody))), promise: nil)
        if inline.readableBytes > 0 {
            context.write(wrapOutboundOut(.data(.init(data: .byteBuffer(inline), endStream: parts == 0))), promise: nil)
        }
        for (index, part) in response.body.enumerated() {
            let last = index == parts - 1
            switch part {
            case .buffer(let buffer):
                context.write(wrapOutboundOut(.data(.init(data: .byteBuffer(buffer), endStream: last))), promise: nil)
            case .file(let blob, let offset, let length):
                let region = FileRegion(
                    fileHandle: blob.handle(lane: lane), readerIndex: Int(offset), endIndex: Int(offset + length))
                context.write(wrapOutboundOut(.data(.init(data: .fileRegion(region), endStream: last)))).whenComplete {
                    _ in withExtendedLifetime(blob) {}
                }
            }
        }
        context.flush()
        server.record(request, response, lane: lane, started: start, remote: context.channel.parent?.remoteAddress)
    }

    /// The request fields the edge reads, from an HTTP/2 header block; nil without `:method` or
    /// `:path`. `:authority` arrives as Host and wins over a Host field; HTTP/2 may split Cookie
    /// into several fields (joined with `; `, RFC 9113 §8.2.3).
    static func request(_ headers: HPACKHeaders) -> EdgeRequest? {
        var methodName: String?
        var path: String?
        var authority: String?
        var request = EdgeRequest(method: .other, methodName: "", uri: "")
        var acceptEncoding: [String] = []
        var ifMatch: [String] = []
        var ifNoneMatch: [String] = []
        var cookies: [String] = []
        for (name, value, _) in headers {
            switch name {
            case ":method": methodName = value
            case ":path": path = value
            case ":authority": authority = value
            case "host": if request.host == nil { request.host = value }
            case "accept-encoding": acceptEncoding.append(value)
            case "range": request.range = request.range ?? value
            case "if-range": request.ifRange = request.ifRange ?? value
            case "if-match": ifMatch.append(value)
            case "if-none-match": ifNoneMatch.append(value)
            case "if-modified-since": request.ifModifiedSince = request.ifModifiedSince ?? value
            case "if-unmodified-since": request.ifUnmodifiedSince = request.ifUnmodifiedSince ?? value
            case "authorization": request.authorization = request.authorization ?? value
            case "cookie": cookies.append(value)
            case "x-canopy-target": request.canopyTarget = request.canopyTarget ?? value
            case "referer": request.referer = request.referer ?? value
            case "user-agent": request.userAgent = request.userAgent ?? value
            default: break
            }
        }
        guard let methodName, let path else { return nil }
        switch methodName {
        case "GET": request.method = .get
        case "HEAD": request.method = .head
        case "OPTIONS": request.method = .options
        default: request.method = .other
        }
        request.methodName = methodName
        request.uri = path
        request.isHTTP2 = true
        if let authority { request.host = authority }
        if !acceptEncoding.isEmpty { request.acceptEncoding = acceptEncoding.joined(separator: ", ") }
        if !ifMatch.isEmpty { request.ifMatch = ifMatch.joined(separator: ", ") }
        if !ifNoneMatch.isEmpty { request.ifNoneMatch = ifNoneMatch.joined(separator: ", ") }
        if !cookies.isEmpty { request.cookie = cookies.joined(separator: "; ") }
        return request
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}
