import NIOCore
import NIOHTTP1

/// A proxied request on an HTTP/1.1 connection: the client's body goes to the exchange as it is
/// read, the upstream's response comes back as it arrives — with its Content-Length, or chunked
/// (close-delimited for an HTTP/1.0 client) when it has none. While it runs the connection
/// answers nothing else; pipelined requests wait in the handler.
final class H1Proxy: ProxySink {
    private unowned let handler: EdgeHandler
    private let context: ChannelHandlerContext
    let request: EdgeRequest
    var exchange: ProxyExchange?
    /// Body bytes of the request still to come from the client.
    var bodyRemaining: Int
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
        self.keepAlive = request.persistent
        self.started = started
    }

    /// Takes the request's body bytes from the front of `input`.
    func take(_ input: inout ByteBuffer) {
        guard bodyRemaining > 0, input.readableBytes > 0 else { return }
        let n = min(bodyRemaining, input.readableBytes)
        let part = input.readSlice(length: n)!
        bodyRemaining -= n
        exchange?.sendBody(part)
        if bodyRemaining == 0 { exchange?.endBody() }
    }

    /// More may be read from the client: its body is still coming and the upstream takes it.
    var wantsInput: Bool { bodyRemaining > 0 && exchange?.isWritable == true }

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
        if bodyRemaining > 0 { keepAlive = false }  // the upstream answered before the whole body came
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
        keepAlive = keepAlive && bodyRemaining == 0
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
            bodyLength: request.bodyLength > 0 || request.method == .other ? request.bodyLength : nil, chunked: false)
        let exchange = ProxyExchange(
            target: target, head: upstreamHead, pool: pool, readTimeout: server.proxyReadTimeout, sink: proxy)
        proxy.exchange = exchange
        if request.expectsContinue && request.bodyLength > 0 {
            context.write(NIOAny(IOData.byteBuffer(ByteBuffer(string: "HTTP/1.1 100 Continue\r\n\r\n"))), promise: nil)
        }
        exchange.start()
        if request.bodyLength == 0 {
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
