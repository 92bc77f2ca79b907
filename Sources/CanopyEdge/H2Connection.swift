import NIOCore
import NIOHPACK

/// One HTTP/2 connection (h2c with prior knowledge, or h2 over TLS), spoken by the edge itself: it
/// reads frames from the bytes, keeps the connection's and streams' state and flow control (RFC
/// 9113), decodes request header blocks with NIOHPACK's decoder, has the Responder answer each
/// request exactly as for HTTP/1.1, and writes the answer's head as an HPACK block
/// (`H2ResponseHead`) and its body as DATA frames — memory, or file regions (sendfile on cleartext,
/// chunked reads over TLS). Every frame of one read batch goes out in one write and one flush.
///
/// A static host needs no stream channels, priorities, server push or request bodies, and the
/// general codec cost more than the rest of a response put together (HTTP/2 served 0.66× nginx's
/// requests per second through it). What the codec's defaults guarded is kept, as limits of its
/// own: a connection error sends GOAWAY and closes (nothing after it is read); at most 100
/// concurrent streams (more are refused); header blocks bounded (16 KiB decoded, 32 KiB
/// compressed, CONTINUATION runs with them); more than 1,000 control answers (PING, SETTINGS)
/// pending, or 200 streams reset in 30 s (by the peer, or for its malformed or refused requests),
/// end the connection (ENHANCE_YOUR_CALM). A stream whose request
/// does not end within the head timeout is reset (CANCEL); `HTTP2ConnectionGuard` in front holds
/// the connection to the idle and send timeouts and stops reading while output is unsent.
final class H2Connection: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = IOData

    static let maxConcurrentStreams = 100
    /// The same bound as an HTTP/1.1 request head (RequestParser: 16 KiB → 431).
    static let maxHeaderListSize = 16 << 10
    static let maxHeaderBlock = 32 << 10
    static let maxPendingControlAnswers = 1_000
    static let maxResets = (count: 200, seconds: 30)

    let server: EdgeServer
    let lane: Int
    let secure: Bool

    /// Bytes read and not yet taken as frames.
    var input: ByteBuffer?
    var prefaceSeen = false
    var settingsSeen = false
    var decoder = HPACKDecoder(
        allocator: ByteBufferAllocator(), maxDynamicTableSize: 4096,  // SETTINGS_HEADER_TABLE_SIZE's default
        maxHeaderListSize: H2Connection.maxHeaderListSize)
    /// Frames waiting for the next write.
    var out = ByteBuffer()
    /// The Responder's HTTP/1.1 head (and inline body), and the header block made from it.
    var head = ByteBuffer()
    var block = ByteBuffer()

    /// Streams whose request has not ended yet, or whose answer waits for flow control.
    var streams: [UInt32: H2Stream] = [:]
    /// Streams with body bytes waiting for a window, in the order they blocked.
    var blocked: [UInt32] = []
    var highestStream: UInt32 = 0
    /// A header block continued in CONTINUATION frames.
    var headerBlock: (stream: UInt32, endStream: Bool, bytes: ByteBuffer, started: Int)?

    /// The connection's send window, and what the peer's SETTINGS set for new streams.
    var sendWindow = H2.defaultWindow
    var peerInitialWindow = H2.defaultWindow
    /// DATA bytes received on the connection that no WINDOW_UPDATE has given back yet.
    var receivedUnreturned = 0

    var controlAnswers = 0
    var resets = (windowStart: 0, count: 0)
    /// The peer sent GOAWAY: the connection closes once its streams are done.
    var goingAway = false
    var closed = false
    var dates = DateHeaderCache()
    var timer: RepeatedTask?
    /// The visitor's country for Country conditions; nil when the edge has no GeoIP database.
    var visitor: VisitorCountry?

    init(server: EdgeServer, lane: Int, secure: Bool) {
        self.server = server
        self.lane = lane
        self.secure = secure
    }

    // MARK: Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        out = context.channel.allocator.buffer(capacity: 16 << 10)
        head = context.channel.allocator.buffer(capacity: 1024)
        block = context.channel.allocator.buffer(capacity: 512)
        visitor = server.geoIP.map { VisitorCountry(database: $0, address: context.channel.remoteAddress) }
        H2.writeSettings(
            &out,
            [
                (.maxConcurrentStreams, UInt32(Self.maxConcurrentStreams)),
                (.maxHeaderListSize, UInt32(Self.maxHeaderListSize)),
            ])
        writeOut(context: context, flush: true)
        let check = TimeAmount.nanoseconds(Int64(max(1_000_000, server.headTimeout / 4)))
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleRepeatedTask(initialDelay: check, delay: check) { _ in
            let (connection, context) = loopBound.value
            connection.resetLateStreams(context: context)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed = true
        timer?.cancel()
        timer = nil
        for id in streams.keys { cancelProxy(id) }
        streams = [:]
        blocked = []
        input = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closed else { return }
        var bytes = unwrapInboundIn(data)
        if input == nil || input!.readableBytes == 0 {
            input = bytes
        } else {
            input!.writeBuffer(&bytes)
        }
        do {
            try readFrames(context: context)
        } catch {
            fail(error, context: context)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        guard !closed else { return }
        writeOut(context: context, flush: true)
        if context.channel.isWritable { controlAnswers = 0 }
        if goingAway && streams.isEmpty { close(context: context) }
        context.fireChannelReadComplete()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable && !closed {
            controlAnswers = 0
            resumeBlocked(context: context)
            writeOut(context: context, flush: true)
        }
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        closed = true
        context.close(promise: nil)
    }

    // MARK: Frames

    /// Takes every complete frame from `input` and handles it.
    private func readFrames(context: ChannelHandlerContext) throws {
        guard var buffer = input else { return }
        input = nil
        defer {
            if buffer.readableBytes > 0 && !closed {
                buffer.discardReadBytes()
                input = buffer
            }
        }
        if !prefaceSeen {
            let available = min(buffer.readableBytes, H2.preface.count)
            guard buffer.readableBytesView.prefix(available).elementsEqual(H2.preface.prefix(available)) else {
                throw H2.ConnectionError(.protocolError, "no HTTP/2 connection preface")
            }
            guard available == H2.preface.count else { return }
            buffer.moveReaderIndex(forwardBy: available)
            prefaceSeen = true
        }
        while !closed, buffer.readableBytes >= 9 {
            let start = buffer.readerIndex
            let word = buffer.getInteger(at: start, as: UInt32.self)!
            let length = Int(word >> 8)
            guard length <= H2.defaultMaxFrameSize else {
                throw H2.ConnectionError(.frameSizeError, "a frame of \(length) bytes")
            }
            guard buffer.readableBytes >= 9 + length else { return }
            let rawType = UInt8(word & 0xFF)
            let flags = buffer.getInteger(at: start + 4, as: UInt8.self)!
            let stream = buffer.getInteger(at: start + 5, as: UInt32.self)! & 0x7FFF_FFFF
            buffer.moveReaderIndex(forwardBy: 9)
            let payload = buffer.readSlice(length: length)!
            try handle(rawType, flags: flags, stream: stream, payload: payload, context: context)
            try checkResets()
        }
    }

    private func handle(
        _ rawType: UInt8, flags: UInt8, stream: UInt32, payload: ByteBuffer, context: ChannelHandlerContext
    ) throws {
        let type = H2.FrameType(rawValue: rawType)
        if let pending = headerBlock, type != .continuation || stream != pending.stream {
            throw H2.ConnectionError(.protocolError, "a frame inside a header block")
        }
        if !settingsSeen {
            guard type == .settings, flags & H2.Flag.ack == 0 else {
                throw H2.ConnectionError(.protocolError, "the preface is not followed by SETTINGS")
            }
            settingsSeen = true
        }
        switch type {
        case .data: try receiveData(flags: flags, stream: stream, payload: payload, context: context)
        case .headers: try receiveHeaders(flags: flags, stream: stream, payload: payload, context: context)
        case .continuation: try receiveContinuation(flags: flags, stream: stream, payload: payload, context: context)
        case .priority:
            guard stream != 0 else { throw H2.ConnectionError(.protocolError, "PRIORITY on stream 0") }
            if payload.readableBytes != 5 { reset(stream, .frameSizeError) }
        case .rstStream: try receiveReset(stream: stream, payload: payload)
        case .settings: try receiveSettings(flags: flags, stream: stream, payload: payload, context: context)
        case .pushPromise: throw H2.ConnectionError(.protocolError, "PUSH_PROMISE from a client")
        case .ping:
            guard stream == 0 else { throw H2.ConnectionError(.protocolError, "PING on a stream") }
            guard payload.readableBytes == 8 else { throw H2.ConnectionError(.frameSizeError, "PING size") }
            guard flags & H2.Flag.ack == 0 else { return }
            H2.writeHeader(&out, length: 8, type: .ping, flags: H2.Flag.ack, stream: 0)
            out.writeImmutableBuffer(payload)
            try countControlAnswer()
        case .goAway:
            guard stream == 0 else { throw H2.ConnectionError(.protocolError, "GOAWAY on a stream") }
            guard payload.readableBytes >= 8 else { throw H2.ConnectionError(.frameSizeError, "GOAWAY size") }
            goingAway = true
        case .windowUpdate: try receiveWindowUpdate(stream: stream, payload: payload, context: context)
        case nil: break  // unknown frame types are ignored (RFC 9113 §4.1)
        }
    }

    private func countControlAnswer() throws {
        controlAnswers += 1
        if controlAnswers > Self.maxPendingControlAnswers {
            throw H2.ConnectionError(.enhanceYourCalm, "more than \(Self.maxPendingControlAnswers) PING/SETTINGS")
        }
    }

    private func receiveSettings(
        flags: UInt8, stream: UInt32, payload: ByteBuffer, context: ChannelHandlerContext
    )
        throws
    {
        guard stream == 0 else { throw H2.ConnectionError(.protocolError, "SETTINGS on a stream") }
        if flags & H2.Flag.ack != 0 {
            guard payload.readableBytes == 0 else { throw H2.ConnectionError(.frameSizeError, "SETTINGS ACK size") }
            return
        }
        guard payload.readableBytes % 6 == 0 else { throw H2.ConnectionError(.frameSizeError, "SETTINGS size") }
        var payload = payload
        var grew = false
        while let identifier = payload.readInteger(as: UInt16.self), let value = payload.readInteger(as: UInt32.self) {
            switch H2.Setting(rawValue: identifier) {
            case .enablePush:
                guard value <= 1 else { throw H2.ConnectionError(.protocolError, "ENABLE_PUSH \(value)") }
            case .initialWindowSize:
                guard value <= H2.maxWindow else { throw H2.ConnectionError(.flowControlError, "window \(value)") }
                let delta = Int(value) - peerInitialWindow
                peerInitialWindow = Int(value)
                for id in streams.keys {
                    streams[id]!.sendWindow += delta
                    if streams[id]!.sendWindow > H2.maxWindow {
                        throw H2.ConnectionError(.flowControlError, "a stream window over 2^31-1")
                    }
                }
                grew = grew || delta > 0
            case .maxFrameSize:
                guard value >= H2.defaultMaxFrameSize && value <= 16_777_215 else {
                    throw H2.ConnectionError(.protocolError, "MAX_FRAME_SIZE \(value)")
                }
            default: break
            }
        }
        H2.writeHeader(&out, length: 0, type: .settings, flags: H2.Flag.ack, stream: 0)
        try countControlAnswer()
        if grew { resumeBlocked(context: context) }
    }

    // MARK: Ending

    /// A connection error: GOAWAY with its code, then the connection closes; nothing more is read.
    func fail(_ error: Error, context: ChannelHandlerContext) {
        guard !closed else { return }
        let failure = error as? H2.ConnectionError ?? H2.ConnectionError(.internalError, "\(error)")
        server.logger.debug("HTTP/2 connection closed after a protocol error: \(failure.reason)")
        H2.writeGoAway(&out, lastStream: highestStream, failure.code)
        close(context: context)
    }

    func close(context: ChannelHandlerContext) {
        guard !closed else { return }
        writeOut(context: context, flush: true)
        closed = true
        input = nil
        context.close(promise: nil)
    }

    /// Resets a stream (RST_STREAM with `code`) and forgets it.
    func reset(_ stream: UInt32, _ code: H2.ErrorCode) {
        H2.writeRSTStream(&out, stream: stream, code)
        cancelProxy(stream)
        streams[stream] = nil
        if code != .cancel && code != .internalError { countReset() }  // the peer's doing: bounded
    }

    /// Writes what `out` holds; with `flush`, flushes too.
    func writeOut(context: ChannelHandlerContext, flush: Bool) {
        if out.readableBytes > 0 {
            context.write(wrapOutboundOut(.byteBuffer(out)), promise: nil)
            out.clear()
            if flush { context.flush() }
        } else if flush && unflushedFiles {
            context.flush()
        }
        if flush { unflushedFiles = false }
    }

    /// File regions written since the last flush.
    var unflushedFiles = false

    /// Resets the streams whose request has not ended within the head timeout; a header block
    /// left unfinished that long ends the connection (its decoder state cannot be recovered).
    private func resetLateStreams(context: ChannelHandlerContext) {
        guard !closed else { return }
        let now = DispatchTimeNanos.now()
        if let pending = headerBlock, now - pending.started > server.headTimeout {
            fail(H2.ConnectionError(.enhanceYourCalm, "a header block unfinished"), context: context)
            return
        }
        var any = false
        for (id, stream) in streams where stream.request != nil && now - stream.started > server.headTimeout {
            reset(id, .cancel)
            any = true
        }
        if any { writeOut(context: context, flush: true) }
    }
}

/// A stream the connection still tracks: its request has not ended, or its answer waits for a
/// flow-control window.
struct H2Stream {
    /// The request until its END_STREAM; nil once answered.
    var request: EdgeRequest?
    var started: Int
    var sendWindow: Int
    /// DATA bytes received on the stream that no WINDOW_UPDATE has given back yet.
    var receivedUnreturned = 0
    /// Body bytes not yet sent; the last carries END_STREAM (unless `streaming`).
    var queue: [H2Chunk] = []
    /// A proxied request's exchange, while it runs.
    var proxy: H2Proxy?
    /// More body is still to come from the upstream: the queue's last part does not end the stream.
    var streaming = false
}

enum H2Chunk {
    case bytes(ByteBuffer)
    case file(SharedBlob, offset: Int64, length: Int64)
}
