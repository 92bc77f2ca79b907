import NIOCore
import NIOHPACK
import NIOHTTP1

/// A proxied request on an HTTP/2 stream. The request body (DATA) goes upstream as it comes; the
/// stream's window is given back only while the upstream takes bytes, so a slow upstream slows
/// its client, and only that stream. The response goes out as HEADERS and DATA through the
/// stream's queue and flow control; while its queue is not empty, the upstream is not read.
final class H2Proxy: ProxySink {
    private unowned let connection: H2Connection
    private let context: ChannelHandlerContext
    let stream: UInt32
    let request: EdgeRequest
    var exchange: ProxyExchange?
    /// The request's body is still coming.
    var uploading: Bool
    private var status = 0
    private var bytes = 0
    private let started: Int

    init(
        connection: H2Connection, context: ChannelHandlerContext, stream: UInt32, request: EdgeRequest, uploading: Bool
    ) {
        self.connection = connection
        self.context = context
        self.stream = stream
        self.request = request
        self.uploading = uploading
        self.started = DispatchTimeNanos.now()
    }

    func proxyHead(_ head: HTTPResponseHead, fields: [(String, String)]) {
        status = Int(head.status.code)
        var text = "HTTP/1.1 \(status) \(head.status.reasonPhrase)\r\n"
        for (name, value) in fields { text += "\(name): \(value)\r\n" }
        let noBody = request.method == .head || status == 204 || status == 304
        connection.proxyHeaders(stream, head: text + "\r\n", endStream: noBody, context: context)
    }

    func proxyBody(_ buffer: ByteBuffer) {
        bytes += buffer.readableBytes
        if !connection.proxyData(stream, buffer, end: false, context: context) { exchange?.pauseReading() }
    }

    func proxyEnd() {
        _ = connection.proxyData(stream, nil, end: true, context: context)
        done()
    }

    func proxyFailed(status: Int, message: String) {
        self.status = status
        let body = message + "\n"
        let head =
            "HTTP/1.1 \(status) \(HTTPResponseStatus(statusCode: status).reasonPhrase)\r\nServer: canopy\r\nCache-Control: no-store\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: \(body.utf8.count)\r\n\r\n"
        let isHead = request.method == .head
        connection.proxyHeaders(stream, head: head, endStream: isHead, context: context)
        if !isHead {
            bytes = body.utf8.count
            _ = connection.proxyData(stream, ByteBuffer(string: body), end: true, context: context)
        }
        done()
    }

    func proxyAborted() {
        connection.reset(stream, .internalError)
        connection.writeOut(context: context, flush: true)
        done()
    }

    func proxyBodyWritable() { connection.returnWindow(stream, context: context) }

    private func done() {
        exchange = nil
        uploading = false
        var response = EdgeResponse(status: status)
        response.bodyBytes = bytes
        connection.server.record(
            request, response, lane: connection.lane, started: started, remote: context.channel.remoteAddress)
    }
}

extension H2Connection {
    /// Starts proxying `request` on `stream`; with `endStream` false its body follows in DATA frames.
    func startProxy(
        _ request: EdgeRequest, target: ProxyTarget, headers: HPACKHeaders, stream: UInt32, endStream: Bool,
        context: ChannelHandlerContext
    ) {
        var request = request
        request.isSecure = secure
        let proxy = H2Proxy(connection: self, context: context, stream: stream, request: request, uploading: !endStream)
        var state = H2Stream(request: nil, started: DispatchTimeNanos.now(), sendWindow: peerInitialWindow)
        state.proxy = proxy
        state.streaming = true
        streams[stream] = state
        guard let pool = server.proxyPool(for: context.eventLoop) else {
            return proxy.proxyFailed(status: 502, message: "This connection cannot reach proxy upstreams.")
        }
        var fields: [(String, String)] = []
        var length: Int?
        for (name, value, _) in headers where name.utf8.first != 0x3A {
            if name == "content-length" { length = Int(value) }
            fields.append((name, value))
        }
        if let host = request.host { fields.append(("host", host)) }
        if endStream && length == nil && request.method == .other { length = 0 }
        let upstreamHead = ProxyHeaders.requestHead(
            method: request.methodName, target: target, fields: fields,
            clientAddress: context.channel.remoteAddress?.ipAddress, secure: secure, bodyLength: length,
            chunked: !endStream && length == nil)
        let exchange = ProxyExchange(
            target: target, head: upstreamHead, pool: pool, readTimeout: server.proxyReadTimeout, sink: proxy)
        proxy.exchange = exchange
        exchange.start()
        if endStream { exchange.endBody() }
    }

    /// The upstream's head as HEADERS (its fields through the same encoder as every response).
    func proxyHeaders(_ stream: UInt32, head: String, endStream: Bool, context: ChannelHandlerContext) {
        guard streams[stream] != nil else { return }
        block.clear()
        guard H2ResponseHead.encode(ByteBuffer(string: head), into: &block) != nil else {
            return reset(stream, .internalError)
        }
        writeHeaders(stream, endStream: endStream)
        if endStream { streams[stream] = nil }
        writeOut(context: context, flush: true)
    }

    /// Queues response body bytes (or the end) on `stream` and sends what the windows allow;
    /// false when bytes wait (the upstream should pause).
    func proxyData(_ stream: UInt32, _ buffer: ByteBuffer?, end: Bool, context: ChannelHandlerContext) -> Bool {
        guard var state = streams[stream] else { return true }
        if let buffer, buffer.readableBytes > 0 { state.queue.append(.bytes(buffer)) }
        if end {
            state.streaming = false
            state.proxy = nil
            if state.queue.isEmpty {
                H2.writeHeader(&out, length: 0, type: .data, flags: H2.Flag.endStream, stream: stream)
                streams[stream] = nil
                writeOut(context: context, flush: true)
                return true
            }
        }
        let wasBlocked = blocked.contains(stream)
        let sent = pump(stream, &state, context: context)
        if sent && !state.streaming {
            streams[stream] = nil
        } else {
            streams[stream] = state
            if !sent && !wasBlocked { blocked.append(stream) }
        }
        writeOut(context: context, flush: true)
        return sent && context.channel.isWritable
    }

    /// A request body DATA frame of a proxied stream: to the upstream; the stream's window comes
    /// back while the upstream takes bytes (see `returnWindow`).
    func proxyRequestData(_ stream: UInt32, flags: UInt8, payload: ByteBuffer, context: ChannelHandlerContext) {
        guard var state = streams[stream], let proxy = state.proxy, proxy.uploading else {
            return reset(stream, .streamClosed)
        }
        var data = payload
        if flags & H2.Flag.padded != 0, let pad = data.readInteger(as: UInt8.self) {
            data = data.getSlice(at: data.readerIndex, length: max(0, data.readableBytes - Int(pad)))!
        }
        state.receivedUnreturned += payload.readableBytes
        streams[stream] = state
        proxy.exchange?.sendBody(data)
        if flags & H2.Flag.endStream != 0 {
            proxy.uploading = false
            proxy.exchange?.endBody()
        } else if state.receivedUnreturned >= H2.defaultWindow / 2 {
            returnWindow(stream, context: context)
        }
    }

    /// Gives a proxied stream's received bytes back to its window, if the upstream takes more.
    func returnWindow(_ stream: UInt32, context: ChannelHandlerContext) {
        guard var state = streams[stream], let proxy = state.proxy, proxy.uploading, state.receivedUnreturned > 0,
            proxy.exchange?.isWritable == true
        else { return }
        H2.writeWindowUpdate(&out, stream: stream, increment: state.receivedUnreturned)
        state.receivedUnreturned = 0
        streams[stream] = state
        writeOut(context: context, flush: true)
    }

    /// A proxied stream whose queue drained: its upstream may send more.
    func proxyDrained(_ state: H2Stream) {
        if state.queue.isEmpty { state.proxy?.exchange?.resumeReading() }
    }

    /// The stream is gone (reset by the peer, or the connection closed): so is its exchange.
    func cancelProxy(_ stream: UInt32) {
        streams[stream]?.proxy?.exchange?.cancel()
    }
}
