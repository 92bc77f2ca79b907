import NIOCore
import NIOHPACK
import NIOHTTP2

/// Answers an HTTP/2 connection's streams (h2c with prior knowledge, or h2 over TLS) from their
/// frames, at the connection: no channel per stream. NIOHTTP2's handler in front keeps the
/// connection's and streams' state and flow control; this one turns each request's header block
/// into an `EdgeRequest` (`:authority` wins over Host, RFC 9113 §8.3.1), has the Responder write the
/// same response as for HTTP/1.1, and sends its head as a header block (minus the connection-specific
/// fields HTTP/2 forbids) and its body as DATA frames: memory, or a file region (sendfile on
/// cleartext, chunked reads over TLS). The responses of one read batch go out in one flush.
///
/// A stream whose request does not end within the head timeout is reset (RST_STREAM CANCEL), as an
/// HTTP/1.1 request head is held to it; one timer per connection checks.
final class EdgeHTTP2Handler: ChannelInboundHandler {
    typealias InboundIn = HTTP2Frame
    typealias OutboundOut = HTTP2Frame

    private let server: EdgeServer
    private let lane: Int
    private let secure: Bool
    /// Requests whose header block arrived and whose stream has not ended yet, with when they began.
    private var pending: [HTTP2StreamID: (request: EdgeRequest?, started: Int)] = [:]
    private var dates = DateHeaderCache()
    private var timer: RepeatedTask?
    /// Responses written since the last flush.
    private var unflushed = false

    init(server: EdgeServer, lane: Int, secure: Bool = false) {
        self.server = server
        self.lane = lane
        self.secure = secure
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let check = TimeAmount.nanoseconds(Int64(max(1_000_000, server.headTimeout / 4)))
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleRepeatedTask(initialDelay: check, delay: check) { _ in
            let (handler, context) = loopBound.value
            handler.resetLateStreams(context: context)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        let stream = frame.streamID
        let endStream: Bool
        switch frame.payload {
        case .headers(let headers):
            if pending[stream] == nil {
                guard let request = Self.request(headers.headers) else {
                    reset(stream, .protocolError, context: context)  // no :method or :path
                    return
                }
                pending[stream] = (request, DispatchTimeNanos.now())
            }
            endStream = headers.endStream  // (a second header block is the trailers)
        case .data(let data):
            endStream = data.endStream  // request bodies are not read
        default:
            return
        }
        guard endStream, let entry = pending.removeValue(forKey: stream), var request = entry.request else { return }
        request.isSecure = secure
        answer(request, stream: stream, context: context)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if unflushed {
            unflushed = false
            context.flush()
        }
        context.fireChannelReadComplete()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let closed = event as? StreamClosedEvent { pending[closed.streamID] = nil }
        context.fireUserInboundEventTriggered(event)
    }

    private func answer(_ request: EdgeRequest, stream: HTTP2StreamID, context: ChannelHandlerContext) {
        let start = DispatchTimeNanos.now()
        var out = context.channel.allocator.buffer(capacity: 1024)
        let snapshot = server.snapshot.load(ordering: .acquiring)
        let response = Responder.respond(request, snapshot: snapshot, date: dates.current(), out: &out)
        guard let (headers, inline) = Self.split(out) else {
            reset(stream, .internalError, context: context)
            return
        }
        let parts = response.body.count
        let hasBody = inline.readableBytes > 0 || parts > 0
        write(stream, .headers(.init(headers: headers, endStream: !hasBody)), context: context)
        if inline.readableBytes > 0 {
            write(stream, .data(.init(data: .byteBuffer(inline), endStream: parts == 0)), context: context)
        }
        for (index, part) in response.body.enumerated() {
            let last = index == parts - 1
            switch part {
            case .buffer(let buffer):
                write(stream, .data(.init(data: .byteBuffer(buffer), endStream: last)), context: context)
            case .file(let blob, let offset, let length):
                let region = FileRegion(
                    fileHandle: blob.handle(lane: lane), readerIndex: Int(offset), endIndex: Int(offset + length))
                let frame = HTTP2Frame(
                    streamID: stream, payload: .data(.init(data: .fileRegion(region), endStream: last)))
                context.write(wrapOutboundOut(frame)).whenComplete { _ in withExtendedLifetime(blob) {} }
            }
        }
        unflushed = true
        server.record(request, response, lane: lane, started: start, remote: context.channel.remoteAddress)
    }

    private func write(_ stream: HTTP2StreamID, _ payload: HTTP2Frame.FramePayload, context: ChannelHandlerContext) {
        context.write(wrapOutboundOut(HTTP2Frame(streamID: stream, payload: payload)), promise: nil)
    }

    private func reset(_ stream: HTTP2StreamID, _ code: HTTP2ErrorCode, context: ChannelHandlerContext) {
        pending[stream] = nil
        context.writeAndFlush(wrapOutboundOut(HTTP2Frame(streamID: stream, payload: .rstStream(code))), promise: nil)
    }

    /// Resets the streams whose request has not ended within the head timeout.
    private func resetLateStreams(context: ChannelHandlerContext) {
        guard !pending.isEmpty else { return }
        let now = DispatchTimeNanos.now()
        for (stream, entry) in pending where now - entry.started > server.headTimeout {
            reset(stream, .cancel, context: context)
        }
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
        var acceptLanguage: [String] = []
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
            case "accept-language": acceptLanguage.append(value)
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
        if !acceptLanguage.isEmpty { request.acceptLanguage = acceptLanguage.joined(separator: ", ") }
        if !ifMatch.isEmpty { request.ifMatch = ifMatch.joined(separator: ", ") }
        if !ifNoneMatch.isEmpty { request.ifNoneMatch = ifNoneMatch.joined(separator: ", ") }
        if !cookies.isEmpty { request.cookie = cookies.joined(separator: "; ") }
        return request
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}
