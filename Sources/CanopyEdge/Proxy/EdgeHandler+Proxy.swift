import NIOCore
import NIOHTTP1

/// A proxied request on an HTTP/1.1 connection: the client's body goes to the exchange as it is
/// read (a chunked one decoded as it comes and sent on chunked, so memory stays bounded by the
/// reads in flight), the upstream's response comes back as it arrives — with its Content-Length, or chunked
/// (close-delimited for an HTTP/1.0 client) when it has none. While it runs the connection
/// answers nothing else; pipelined requests wait in the handler.
final class H1Proxy: ProxySink {
    private unowned let handler: EdgeHandler
    private let context: ChannelHandlerContext
    let request: EdgeRequest
    var exchange: ProxyExchange?
    /// Body bytes of the request still to come from the client.
    var bodyRemaining: Int
    /// The request's chunked body, while it is still coming.
    private var chunkedBody: ChunkedBody?
    /// The connection stays open after this exchange.
    var keepAlive: Bool
    private var chunked = false
    private var status = 0
    private var bytes = 0
    private let started: Int

    init(handler: EdgeHandler, context: ChannelHandlerContext, request: EdgeRequest, started: Int) {
        self.handler = handler
        self.context = context
        self.request = request
        self.bodyRemaining = request.bodyLength
        self.chunkedBody = request.chunked ? ChunkedBody() : nil
        self.keepAlive = request.persistent
        self.started = started
    }

    /// Some of the request's body is still to come from the client.
    var bodyComing: Bool { bodyRemaining > 0 || chunkedBody != nil }

    /// Takes the request's body bytes from the front of `input`.
    func take(_ input: inout ByteBuffer) {
        if chunkedBody != nil { return takeChunked(&input) }
        guard bodyRemaining > 0, input.readableBytes > 0 else { return }
        let n = min(bodyRemaining, input.readableBytes)
        let part = input.readSlice(length: n)!
        bodyRemaining -= n
        exchange?.sendBody(part)
        if bodyRemaining == 0 { exchange?.endBody() }
    }

    /// Decodes chunked body bytes from the front of `input` and sends their data on; a malformed
    /// body ends the exchange with 400 (or a closed connection, once the upstream has answered).
    private func takeChunked(_ input: inout ByteBuffer) {
        guard var body = chunkedBody, input.readableBytes > 0 else { return }
        do {
            try body.consume(&input) { exchange?.sendBody($0) }
        } catch {
            chunkedBody = nil
            return refuseBody(error.reason)
        }
        chunkedBody = body.isFinished ? nil : body
        if body.isFinished { exchange?.endBody() }
    }

    /// The client's body cannot be read on: the upstream's exchange stops, the client gets 400 if
    /// nothing of the answer went yet, and the connection closes either way.
    private func refuseBody(_ reason: String) {
        exchange?.cancel()
        keepAlive = false
        if status == 0 { return proxyFailed(status: 400, message: reason) }
        done()
    }

    /// More may be read from the client: its body is still coming and the upstream takes it.
    var wantsInput: Bool { bodyComing && exchange?.isWritable == true }

    func proxyBodyWritable() {
        if wantsInput { handler.resumeReading(context: context) }
    }

    func proxyHead(_ head: HTTPResponseHead, fields: [(String, String)]) {
        status = Int(head.status.code)
        let noBody = request.method == .head || status == 204 || status == 304
        let length = fields.contains { $0.0.lowercased() == "content-length" }
        var text = "HTTP/1.1 \(status) \(head.status.reasonPhrase)\r\n"
        for (name, value) in fields { text += "\(name): \(value)\r\n" }
        if !noBody && !length {
            if request.minorVersion >= 1 {
                chunked = true
                text += "Transfer-Encoding: chunked\r\n"
            } else {
                keepAlive = false
            }
        }
        if bodyComing { keepAlive = false }  // the upstream answered before the whole body came
        if !keepAlive {
            text += "Connection: close\r\n"
        } else if request.minorVersion == 0 {
            text += "Connection: keep-alive\r\n"
        }
        text += "\r\n"
        write(ByteBuffer(string: text))
    }

    func proxyBody(_ buffer: ByteBuffer) {
        bytes += buffer.readableBytes
        if chunked {
            write(ByteBuffer(string: String(buffer.readableBytes, radix: 16) + "\r\n"), flush: false)
            write(buffer, flush: false)
            write(ByteBuffer(string: "\r\n"))
        } else {
            write(buffer)
        }
        if !context.channel.isWritable { exchange?.pauseReading() }
    }

    func proxyEnd() {
        if chunked { write(ByteBuffer(string: "0\r\n\r\n")) }
        done()
    }

    func proxyFailed(status: Int, message: String) {
        self.status = status
        keepAlive = keepAlive && !bodyComing
        var text = "HTTP/1.1 \(status) \(HTTPResponseStatus(statusCode: status).reasonPhrase)\r\n"
        let body = message + "\n"
        text += "Server: canopy\r\nCache-Control: no-store\r\nContent-Type: text/plain; charset=utf-8\r\n"
        text += "Content-Length: \(body.utf8.count)\r\n"
        if !keepAlive { text += "Connection: close\r\n" }
        text += "\r\n" + (request.method == .head ? "" : body)
        bytes = request.method == .head ? 0 : body.utf8.count
        write(ByteBuffer(string: text))
        done()
    }

    func proxyAborted() {
        keepAlive = false
        done()
    }

    /// The client is writable again: the upstream may send more.
    func clientWritable() { exchange?.resumeReading() }

    private func write(_ buffer: ByteBuffer, flush: Bool = true) {
        context.write(NIOAny(IOData.byteBuffer(buffer)), promise: nil)
        if flush { context.flush() }
    }

    private func done() {
        exchange = nil
        var response = EdgeResponse(status: status)
        response.bodyBytes = bytes
        handler.server.record(request, response, lane: handler.lane, started: started, remote: context.remoteAddress)
        handler.proxyFinished(self, context: context)
    }
}

extension EdgeHandler {
    /// Starts proxying `request` (whose head is `head`); its body follows in `input`.
    func startProxy(
        _ request: EdgeRequest, target: ProxyTarget, head: ByteBuffer, input: inout ByteBuffer,
        context: ChannelHandlerContext, started: Int
    ) {
        var request = request
        request.isSecure = secure
        let proxy = H1Proxy(handler: self, context: context, request: request, started: started)
        self.proxy = proxy
        guard let pool = server.proxyPool(for: context.eventLoop) else {
            return proxy.proxyFailed(status: 502, message: "This connection cannot reach proxy upstreams.")
        }
        let fields = Self.headerFields(head)
        let upstreamHead = ProxyHeaders.requestHead(
            method: request.methodName, target: target, fields: fields,
            clientAddress: context.remoteAddress?.ipAddress, secure: request.isSecure,
            bodyLength: !request.chunked && (request.bodyLength > 0 || request.method == .other)
                ? request.bodyLength : nil,
            chunked: request.chunked)
        let exchange = ProxyExchange(
            target: target, head: upstreamHead, pool: pool, readTimeout: server.proxyReadTimeout, sink: proxy)
        proxy.exchange = exchange
        if request.expectsContinue && (request.bodyLength > 0 || request.chunked) {
            context.write(NIOAny(IOData.byteBuffer(ByteBuffer(string: "HTTP/1.1 100 Continue\r\n\r\n"))), promise: nil)
        }
        exchange.start()
        if request.bodyLength == 0 && !request.chunked {
            exchange.endBody()
        } else {
            proxy.take(&input)
        }
    }

    /// The header lines of a request head the parser accepted (so simply split).
    static func headerFields(_ head: ByteBuffer) -> [(String, String)] {
        let text = String(decoding: head.readableBytesView, as: UTF8.self)
        var fields: [(String, String)] = []
        for line in text.split(separator: "\r\n").dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = String(line[..<colon])
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            fields.append((name, value))
        }
        return fields
    }
}
