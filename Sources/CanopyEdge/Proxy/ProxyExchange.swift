import NIOCore
import NIOHTTP1

/// What receives a proxied response: the HTTP/1.1 connection or the HTTP/2 stream that asked.
protocol ProxySink: AnyObject {
    /// The upstream's response head, hop-by-hop fields already removed.
    func proxyHead(_ head: HTTPResponseHead, fields: [(String, String)])
    func proxyBody(_ buffer: ByteBuffer)
    func proxyEnd()
    /// Before any head: answer `status` with `message` as a plain-text body.
    func proxyFailed(status: Int, message: String)
    /// After the head: the response cannot be completed (the upstream broke off, or went silent).
    func proxyAborted()
    /// The upstream takes request body bytes again.
    func proxyBodyWritable()
}

/// One proxied request, on its client connection's event loop: a connection from the pool, the
/// request head and body written to it as they come, the response handed to the sink part by
/// part. Back-pressure both ways: the sink pauses the upstream's reads while its client is slow,
/// and asks `isWritable` before reading more of its client's body. The connect timeout covers
/// waiting for a pooled connection too; the read timeout is the longest silence of the upstream
/// while it owes an answer. A connection goes back to the pool only after a complete exchange
/// that both sides wanted kept alive.
final class ProxyExchange {
    let target: ProxyTarget
    private var head: HTTPRequestHead
    private let pool: ProxyPool
    private let readTimeout: TimeAmount
    private weak var sink: (any ProxySink)?
    private var channel: (any Channel)?
    private var reused = false
    private var retried = false
    /// Body parts that came before the connection.
    private var early: [ByteBuffer] = []
    private var requestEnded = false
    private var sentAnyBody = false
    private var responseStarted = false
    private var responseKeepAlive = true
    private var done = false
    private var timer: Scheduled<Void>?
    private var paused = false

    init(target: ProxyTarget, head: HTTPRequestHead, pool: ProxyPool, readTimeout: TimeAmount, sink: any ProxySink) {
        self.target = target
        self.head = head
        self.pool = pool
        self.readTimeout = readTimeout
        self.sink = sink
    }

    var upstreamName: String { target.upstream.name }

    func start() {
        let timeout = pool.connectTimeout
        timer = pool.eventLoop.assumeIsolated().scheduleTask(in: timeout) { [self] in
            guard channel == nil, !done else { return }
            pool.withdraw(self)
            fail(504, "The upstream \(upstreamName) did not accept a connection within \(Self.seconds(timeout)).")
        }
        pool.acquire(self)
    }

    // MARK: From the pool

    func connected(_ channel: any Channel, reused: Bool) {
        guard !done else {
            pool.release(channel, upstream: target.upstream, reusable: reused)
            return
        }
        self.channel = channel
        self.reused = reused
        guard let handler = try? channel.pipeline.syncOperations.handler(type: UpstreamHandler.self) else {
            channel.close(promise: nil)
            return fail(502, "The connection to the upstream \(upstreamName) could not be set up.")
        }
        handler.exchange = self
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        for part in early {
            channel.write(HTTPClientRequestPart.body(.byteBuffer(part)), promise: nil)
            sentAnyBody = true
        }
        early = []
        if requestEnded { channel.write(HTTPClientRequestPart.end(nil), promise: nil) }
        channel.flush()
        touch()
        if channel.isWritable { sink?.proxyBodyWritable() }
    }

    func connectFailed(_ error: any Error) {
        if case ChannelError.connectTimeout = error {
            fail(
                504,
                "The upstream \(upstreamName) did not accept a connection within \(Self.seconds(pool.connectTimeout)).")
        } else {
            fail(502, "The upstream \(upstreamName) cannot be reached: \(Self.describe(error)).")
        }
    }

    // MARK: The request body, from the client

    /// Whether more of the client's body may be read now.
    var isWritable: Bool { channel?.isWritable ?? (early.count < 4) }

    func sendBody(_ buffer: ByteBuffer) {
        guard !done, buffer.readableBytes > 0 else { return }
        guard let channel else { return early.append(buffer) }
        sentAnyBody = true
        channel.writeAndFlush(HTTPClientRequestPart.body(.byteBuffer(buffer)), promise: nil)
        touch()
    }

    func endBody() {
        guard !done, !requestEnded else { return }
        requestEnded = true
        channel?.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
    }

    func upstreamWritable() { sink?.proxyBodyWritable() }

    // MARK: The response, from the upstream

    func received(_ part: HTTPClientResponsePart) {
        guard !done else { return }
        touch()
        switch part {
        case .head(let response):
            if response.status.code / 100 == 1 { return }  // 100 Continue and other interim answers
            responseStarted = true
            responseKeepAlive = response.isKeepAlive
            let fields = ProxyHeaders.endToEnd(response.headers.map { ($0.name, $0.value) })
            sink?.proxyHead(response, fields: fields)
        case .body(let buffer):
            sink?.proxyBody(buffer)
        case .end:
            let reusable = responseKeepAlive && requestEnded
            finish()
            if let channel { pool.release(channel, upstream: target.upstream, reusable: reusable) }
            channel = nil
            sink?.proxyEnd()
        }
    }

    func upstreamClosed(_ error: (any Error)?) {
        guard !done, let closed = channel else { return }
        if responseStarted {
            finish()
            sink?.proxyAborted()
            return
        }
        // A kept-alive connection the upstream closed just as it was reused: once more on a new one,
        // when nothing of a body has gone (RFC 9112 §9.3.1).
        if reused && !retried && !sentAnyBody {
            retried = true
            detach(closed)
            pool.acquire(self)
            return
        }
        let reason = error.map { ": \(Self.describe($0))" } ?? ""
        fail(502, "The upstream \(upstreamName) closed the connection without a valid answer\(reason).")
    }

    /// Stops reading the upstream's response (the client takes its bytes too slowly), and resumes.
    func pauseReading() {
        guard !paused, let channel else { return }
        paused = true
        timer?.cancel()
        channel.setOption(.autoRead, value: false).whenFailure { _ in }
    }

    func resumeReading() {
        guard paused, let channel else { return }
        paused = false
        touch()
        channel.setOption(.autoRead, value: true).whenFailure { _ in }
    }

    /// The client went away: the upstream connection goes too (its answer is no longer wanted).
    func cancel() {
        guard !done else { return }
        finish()
        if let channel { detach(channel).close(promise: nil) } else { pool.withdraw(self) }
    }

    // MARK: Ending

    private func fail(_ status: Int, _ message: String) {
        guard !done else { return }
        finish()
        if let channel { detach(channel).close(promise: nil) }
        if responseStarted { sink?.proxyAborted() } else { sink?.proxyFailed(status: status, message: message) }
    }

    private func finish() {
        done = true
        timer?.cancel()
        timer = nil
    }

    @discardableResult
    private func detach(_ channel: any Channel) -> any Channel {
        (try? channel.pipeline.syncOperations.handler(type: UpstreamHandler.self))?.exchange = nil
        self.channel = nil
        if paused { channel.setOption(.autoRead, value: true).whenFailure { _ in } }
        paused = false
        return channel
    }

    /// Restarts the read timeout: the upstream has that long to send its next bytes.
    private func touch() {
        timer?.cancel()
        let timeout = readTimeout
        timer = pool.eventLoop.assumeIsolated().scheduleTask(in: timeout) { [self] in
            guard !done else { return }
            fail(504, "The upstream \(upstreamName) sent nothing for \(Self.seconds(timeout)) (the read timeout).")
        }
    }

    static func seconds(_ amount: TimeAmount) -> String {
        let ms = amount.nanoseconds / 1_000_000
        return ms % 1000 == 0 ? "\(ms / 1000) s" : "\(Double(ms) / 1000) s"
    }

    static func describe(_ error: any Error) -> String {
        if let io = error as? IOError { return io.description }
        if case ChannelError.connectTimeout = error { return "connect timeout" }
        return "\(error)"
    }
}
