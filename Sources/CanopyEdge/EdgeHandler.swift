import Atomics
import NIOCore

#if canImport(Glibc)
    import Glibc
#endif

/// The per-connection handler, reading HTTP/1.1 straight from the receive buffer. Each complete
/// request head is parsed in place (RequestParser), answered at once on the event loop from one
/// atomic load of the routing snapshot, and its response head (with the body inline for small files)
/// appended to one output buffer; larger bodies follow as the shared body buffer or a sendfile
/// region. Pipelined requests are answered in order, and everything a read batch produced goes out
/// in one write when the batch ends.
///
/// Back-pressure: while the channel is not writable (its unsent output is over the write buffer's
/// high water mark) the handler neither asks for more input nor answers the pipelined requests it
/// already holds; both resume when the output drains. A client that takes nothing of its unsent
/// output for the send timeout is disconnected (nginx's `send_timeout`).
final class EdgeHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    /// What an HTTP/2 client with prior knowledge (h2c) sends first (RFC 9113 §3.4).
    static let http2Preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    static let corkOption = ChannelOptions.Types.SocketOption(level: .tcp, name: .init(rawValue: TCP_CORK))

    // The state below is internal, not private, for this type's extensions in
    // EdgeHandler+Output.swift and EdgeHandler+Timers.swift; nothing else touches it.
    let server: EdgeServer
    /// This connection's event loop's lane in the counters.
    let lane: Int
    /// The request being proxied; while there is one, nothing else is answered (see `H1Proxy`).
    var proxy: H1Proxy?
    var dates = DateHeaderCache()
    /// The start of a request head still incomplete, and where the search for its end resumes.
    var pending: ByteBuffer?
    var scanned = 0
    /// Body bytes of the last request still to be read and dropped.
    var bodyToSkip = 0
    /// The last request's chunked body, being read and dropped (see `skipChunked`).
    var chunkedToSkip: ChunkedBody?
    /// Responses not yet handed to the channel.
    var out = ByteBuffer()
    var closing = false
    var lastRead = 0
    var headStarted = 0
    var reaper: RepeatedTask?
    /// The connection's first bytes have been checked for the HTTP/2 preface.
    var sniffed = false
    /// The connection came through the TLS listener (behind a TLSHelloHandler).
    let secure: Bool
    /// The output is over its bound: requests already read wait in `pending`, unanswered, until the
    /// channel is writable again.
    var paused = false
    /// A read was held back while the channel was not writable; it is issued once it is.
    var readHeld = false
    /// This handler's context while it is in the pipeline, for `drain()`.
    var context: ChannelHandlerContext?
    /// For the send timeout: the unsent output at the last check, and when it last shrank.
    var unsent = 0
    var unsentSince = 0
    /// The visitor's country for Country conditions; nil when the edge has no GeoIP database.
    var visitor: VisitorCountry?

    init(server: EdgeServer, lane: Int, secure: Bool = false) {
        self.server = server
        self.lane = lane
        self.secure = secure
    }

    func handlerAdded(context: ChannelHandlerContext) {
        out = context.channel.allocator.buffer(capacity: 2048)
        lastRead = DispatchTimeNanos.now()
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let check = TimeAmount.nanoseconds(Int64(min(server.idleTimeout, server.headTimeout, server.sendTimeout) / 3))
        reaper = context.eventLoop.scheduleRepeatedTask(initialDelay: check, delay: check) { _ in
            let (handler, context) = loopBound.value
            handler.reap(context: context)
        }
        self.context = context
        visitor = server.geoIP.map { VisitorCountry(database: $0, address: context.channel.remoteAddress) }
        server.idleConnections(lane: lane)?.add(self)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        proxy?.exchange?.cancel()
        reaper?.cancel()
        reaper = nil
        server.idleConnections(lane: lane)?.remove(self)
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closing else { return }  // after the last response, input is read and dropped
        var input = unwrapInboundIn(data)
        lastRead = DispatchTimeNanos.now()
        if let proxy {
            proxy.take(&input)
            if input.readableBytes > 0 { keep(input) }  // a pipelined request: after the proxied one
            return
        }
        if bodyToSkip > 0 {
            let n = min(bodyToSkip, input.readableBytes)
            input.moveReaderIndex(forwardBy: n)
            bodyToSkip -= n
        }
        if chunkedToSkip != nil {
            skipChunked(&input, context: context)
            if chunkedToSkip != nil || closing { return }
        }
        if var head = pending {
            pending = nil
            head.writeBuffer(&input)
            input = head
        }
        if paused {
            pending = input  // (the rest of a read batch that was under way when output hit its bound)
            return
        }
        if !sniffed {
            let n = min(input.readableBytes, Self.http2Preface.count)
            if input.readableBytesView.prefix(n).elementsEqual(Self.http2Preface.prefix(n)) {
                if n < Self.http2Preface.count {
                    pending = input  // the preface so far: wait for the rest (under the head timeout)
                    if headStarted == 0 { headStarted = lastRead }
                    return
                }
                speakHTTP2(input, context: context)
                return
            }
            sniffed = true
        }
        process(input, context: context)
    }

    /// Answers the complete requests in `input`, in order; keeps an incomplete head in `pending`.
    /// Stops while the output is over its bound and the channel is not writable (the rest waits in
    /// `pending` until `channelWritabilityChanged`).
    func process(_ input: ByteBuffer, context: ChannelHandlerContext) {
        var input = input
        while input.readableBytes > 0 && !closing {
            if out.readableBytes >= server.outputLimit || !context.channel.isWritable {
                // (Flushed in any case: the writes that made the channel unwritable may not be yet.)
                if out.readableBytes > 0 { writeOut(context: context) } else { context.flush() }
                if !context.channel.isWritable {
                    paused = true
                    pending = input
                    scanned = 0
                    headStarted = 0
                    return
                }
            }
            let outcome = input.withUnsafeReadableBytes { RequestParser.parse($0, scanFrom: scanned) }
            switch outcome {
            case .incomplete(let scanned):
                if headStarted == 0 { headStarted = lastRead }
                self.scanned = scanned
                pending = input
                return
            case .request(let request, let length, let bodyLength):
                scanned = 0
                headStarted = 0
                let headStart = input.readerIndex
                input.moveReaderIndex(forwardBy: length)
                if let target = answer(request, context: context) {
                    if out.readableBytes > 0 { writeOut(context: context) }
                    input.moveReaderIndex(to: headStart)
                    let head = input.readSlice(length: length)!
                    startProxy(
                        request, target: target, head: head, input: &input, context: context,
                        started: DispatchTimeNanos.now())
                    if input.readableBytes > 0 && proxy != nil { keep(input) }
                    return
                }
                if bodyLength > 0 {
                    let n = min(bodyLength, input.readableBytes)
                    input.moveReaderIndex(forwardBy: n)
                    bodyToSkip = bodyLength - n
                }
                if !request.keepAlive {
                    finish(context: context)
                } else if request.chunked {
                    chunkedToSkip = ChunkedBody()
                    skipChunked(&input, context: context)
                    if chunkedToSkip != nil { return }  // the rest of the body comes in later reads
                }
            case .failure(let status, let reason, let method):
                refuse(status, reason: reason, isHead: method == .head, context: context)
            }
        }
        headStarted = 0
    }

    /// Reads and drops a chunked body after its answer has been made, keeping the connection for
    /// the next request, as nginx 1.22 does for a chunked POST to a static file (405, then the body
    /// is discarded and a pipelined request answered). A malformed body, or one over
    /// `RequestParser.maxSkippedBody`, closes the connection after the answer instead: nothing
    /// after it is read as a request.
    func skipChunked(_ input: inout ByteBuffer, context: ChannelHandlerContext) {
        guard var body = chunkedToSkip else { return }
        chunkedToSkip = nil
        do {
            try body.consume(&input) { _ in }
        } catch {
            return finish(context: context)
        }
        if body.isFinished { return }
        if body.decoded > RequestParser.maxSkippedBody { return finish(context: context) }
        chunkedToSkip = body
    }

    /// Keeps bytes read while a proxied request runs, for when it is done.
    func keep(_ input: ByteBuffer) {
        var input = input
        if var held = pending {
            held.writeBuffer(&input)
            pending = held
        } else {
            pending = input
        }
    }

    /// The proxied request is answered: the connection closes, or goes on with what waited.
    func proxyFinished(_ finished: H1Proxy, context: ChannelHandlerContext) {
        guard proxy === finished else { return }
        proxy = nil
        guard !closing else { return }
        if !finished.keepAlive { return finish(context: context) }
        lastRead = DispatchTimeNanos.now()
        if let input = pending {
            pending = nil
            process(input, context: context)
            if out.readableBytes > 0 { writeOut(context: context) }
        }
        resumeReading(context: context)
    }

    /// Issues a read held back, if one may be issued now.
    func resumeReading(context: ChannelHandlerContext) {
        guard readHeld, mayRead(context) else { return }
        readHeld = false
        context.read()
    }

    func mayRead(_ context: ChannelHandlerContext) -> Bool {
        guard !paused && context.channel.isWritable else { return false }
        return proxy.map(\.wantsInput) ?? true
    }

    func channelInactive(context: ChannelHandlerContext) {
        proxy?.exchange?.cancel()
        context.fireChannelInactive()
    }

}
