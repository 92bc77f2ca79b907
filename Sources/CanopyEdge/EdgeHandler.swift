import Atomics
import NIOCore

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

    let server: EdgeServer
    /// This connection's event loop's lane in the counters.
    let lane: Int
    /// The request being proxied; while there is one, nothing else is answered (see `H1Proxy`).
    var proxy: H1Proxy?
    private var dates = DateHeaderCache()
    /// The start of a request head still incomplete, and where the search for its end resumes.
    private var pending: ByteBuffer?
    private var scanned = 0
    /// Body bytes of the last request still to be read and dropped.
    private var bodyToSkip = 0
    /// The last request's chunked body, being read and dropped (see `skipChunked`).
    private var chunkedToSkip: ChunkedBody?
    /// Responses not yet handed to the channel.
    private var out = ByteBuffer()
    private var closing = false
    private var lastRead = 0
    private var headStarted = 0
    private var reaper: RepeatedTask?
    /// The connection's first bytes have been checked for the HTTP/2 preface.
    private var sniffed = false
    /// The connection came through the TLS listener (behind a TLSHelloHandler).
    let secure: Bool
    /// The output is over its bound: requests already read wait in `pending`, unanswered, until the
    /// channel is writable again.
    private var paused = false
    /// A read was held back while the channel was not writable; it is issued once it is.
    private var readHeld = false
    /// This handler's context while it is in the pipeline, for `drain()`.
    private var context: ChannelHandlerContext?
    /// For the send timeout: the unsent output at the last check, and when it last shrank.
    private var unsent = 0
    private var unsentSince = 0

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
    private func process(_ input: ByteBuffer, context: ChannelHandlerContext) {
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
    private func skipChunked(_ input: inout ByteBuffer, context: ChannelHandlerContext) {
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
    private func keep(_ input: ByteBuffer) {
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

    private func mayRead(_ context: ChannelHandlerContext) -> Bool {
        guard !paused && context.channel.isWritable else { return false }
        return proxy.map(\.wantsInput) ?? true
    }

    func channelInactive(context: ChannelHandlerContext) {
        proxy?.exchange?.cancel()
        context.fireChannelInactive()
    }

    // MARK: Back-pressure

    func read(context: ChannelHandlerContext) {
        guard mayRead(context) else {
            readHeld = true
            return
        }
        context.read()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable, let proxy {
            proxy.clientWritable()
        } else if context.channel.isWritable {
            if paused {
                paused = false
                if let input = pending {
                    pending = nil
                    process(input, context: context)
                    if out.readableBytes > 0 { writeOut(context: context) } else { context.flush() }
                }
            }
            if readHeld && !paused {
                readHeld = false
                context.read()
            }
        }
        context.fireChannelWritabilityChanged()
    }

    /// Hands the connection to `H2Connection` (h2c with prior knowledge), which answers its streams
    /// through the same Responder; this handler leaves the pipeline.
    private func speakHTTP2(_ input: ByteBuffer, context: ChannelHandlerContext) {
        closing = true
        reaper?.cancel()
        do {
            try server.configureHTTP2(context.channel, lane: lane, secure: secure)
            context.fireChannelRead(wrapInboundOut(input))
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        } catch {
            server.logger.debug("cannot start HTTP/2 on a connection: \(error)")
            context.close(promise: nil)
        }
    }

    /// Answers `request` into `out`; returns the proxy target instead when a proxy rule takes it.
    private func answer(_ request: EdgeRequest, context: ChannelHandlerContext) -> ProxyTarget? {
        var request = request
        request.isSecure = secure
        let start = DispatchTimeNanos.now()
        let snapshot = server.snapshot.load(ordering: .acquiring)
        let response = Responder.respond(request, snapshot: snapshot, date: dates.current(), out: &out)
        if let target = response.proxy { return target }
        if !response.body.isEmpty {
            // The head goes first, then each part as its own write. Around a sendfile the socket is
            // corked (as nginx's tcp_nopush does), so the head and the file leave in full-sized
            // segments instead of a small head packet first: worth ~20% on 1 MiB files.
            let cork = response.body.contains {
                if case .file = $0 { return true }
                return false
            }
            if cork { try? context.channel.syncOptions?.setOption(Self.corkOption, value: 1) }
            context.write(wrapOutboundOut(.byteBuffer(out)), promise: nil)
            out.clear()
            for part in response.body {
                switch part {
                case .buffer(let buffer):
                    context.write(wrapOutboundOut(.byteBuffer(buffer)), promise: nil)
                case .file(let blob, let offset, let length):
                    let region = FileRegion(
                        fileHandle: blob.handle(lane: lane), readerIndex: Int(offset), endIndex: Int(offset + length))
                    // The blob (and its open file) must outlive the write, even if its deployment goes.
                    let channel = context.channel
                    context.write(wrapOutboundOut(.fileRegion(region))).whenComplete { _ in
                        withExtendedLifetime(blob) {}
                        if cork { try? channel.syncOptions?.setOption(Self.corkOption, value: 0) }
                    }
                }
            }
        }
        server.record(request, response, lane: lane, started: start, remote: context.remoteAddress)
        return nil
    }

    /// Answers bytes that are not an acceptable request, then closes.
    private func refuse(_ status: Int, reason: String, isHead: Bool, context: ChannelHandlerContext) {
        let responseContext = Responder.ResponseContext(
            date: dates.current(), isHead: isHead, route: nil, newVisitor: nil, host: "",
            connection: "Connection: close\r\n")
        _ = Responder.simple(status, &out, responseContext, body: reason)
        if let log = server.accessLog {
            log.record(
                host: "-", remote: context.remoteAddress?.ipAddress ?? "-", method: "-", uri: "-", version: "-",
                status: status, bytes: 0, referer: nil, agent: nil, scheme: secure ? "https" : "http")
        }
        finish(context: context)
    }

    /// After the last response: send what is left, then close our side (the client sees every
    /// byte, then end of stream) and the whole connection once the client closes or after a grace
    /// period. Further input is dropped.
    private func finish(context: ChannelHandlerContext) {
        closing = true
        pending = nil
        let channel = context.channel
        let last = out
        out = ByteBuffer()
        context.writeAndFlush(wrapOutboundOut(.byteBuffer(last))).whenComplete { _ in
            channel.close(mode: .output, promise: nil)
            channel.eventLoop.scheduleTask(in: .seconds(2)) { channel.close(promise: nil) }
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if out.readableBytes > 0 {
            writeOut(context: context)
        } else if !closing {
            context.flush()  // parts written without a head in this batch
        }
        context.fireChannelReadComplete()
    }

    /// Hands the responses gathered so far to the channel in one write, and flushes.
    private func writeOut(context: ChannelHandlerContext) {
        context.write(wrapOutboundOut(.byteBuffer(out)), promise: nil)
        context.flush()
        // Usually written by now, so the storage is ours again and is reused; a big one goes.
        if out.capacity > 32 << 10 {
            out = context.channel.allocator.buffer(capacity: 2048)
        } else {
            out.clear()
        }
    }

    /// Closes a connection idle too long, one whose request head is taking too long, and one whose
    /// client has taken none of its unsent output for the send timeout (even after its last response).
    private func reap(context: ChannelHandlerContext) {
        let now = DispatchTimeNanos.now()
        let buffered = (try? context.channel.syncOptions?.getOption(.bufferedWritableBytes)) ?? 0
        if buffered == 0 || buffered < unsent || unsent == 0 { unsentSince = now }
        unsent = buffered
        if buffered > 0, now - unsentSince > server.sendTimeout {
            server.logger.debug("edge: closing a connection whose client read nothing for the send timeout")
            closing = true
            // A reset, not a close: the kernel drops the unsent output at once instead of keeping it
            // for a client that does not read (nginx's reset_timedout_connection).
            _ = (context.channel as? SocketOptionProvider)?.setSoLinger(linger(l_onoff: 1, l_linger: 0))
            context.close(promise: nil)
            return
        }
        guard !closing else { return }
        if pending != nil, headStarted > 0, now - headStarted > server.headTimeout {
            refuse(408, reason: "The request took too long to arrive.", isHead: false, context: context)
        } else if proxy == nil, pending == nil, now - lastRead > server.idleTimeout, context.channel.isWritable {
            // (A connection still sending a large response is not idle.)
            closing = true
            context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        server.logger.debug("edge connection error: \(error)")
        context.close(promise: nil)
    }
}

/// Monotonic nanoseconds, cheap (vDSO).
enum DispatchTimeNanos {
    @inline(__always)
    static func now() -> Int {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int(ts.tv_sec) * 1_000_000_000 + Int(ts.tv_nsec)
    }
}

#if canImport(Glibc)
    import Glibc
#endif

extension EdgeHandler: DrainableConnection {
    func idleTime(now: Int) -> Int? {
        guard let context, !closing, !paused, proxy == nil, pending == nil, bodyToSkip == 0, chunkedToSkip == nil,
            out.readableBytes == 0,
            context.channel.isWritable
        else { return nil }
        return now - lastRead
    }

    func drain() {
        guard let context, !closing else { return }
        closing = true
        context.close(promise: nil)
    }
}
