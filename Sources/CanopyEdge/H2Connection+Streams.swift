import NIOCore
import NIOHPACK

extension H2Connection {
    // MARK: Requests

    func receiveHeaders(flags: UInt8, stream: UInt32, payload: ByteBuffer, context: ChannelHandlerContext) throws {
        guard stream != 0, stream & 1 == 1 else {
            throw H2.ConnectionError(.protocolError, "HEADERS on stream \(stream)")
        }
        var payload = payload
        var padding = 0
        if flags & H2.Flag.padded != 0 {
            guard let length = payload.readInteger(as: UInt8.self) else {
                throw H2.ConnectionError(.frameSizeError, "HEADERS without its pad length")
            }
            padding = Int(length)
        }
        var selfDependent = false
        if flags & H2.Flag.priority != 0 {
            guard let dependency = payload.readInteger(as: UInt32.self), payload.readInteger(as: UInt8.self) != nil
            else { throw H2.ConnectionError(.frameSizeError, "HEADERS without its priority") }
            selfDependent = dependency & 0x7FFF_FFFF == stream
        }
        guard padding <= payload.readableBytes else {
            throw H2.ConnectionError(.protocolError, "HEADERS padding longer than the frame")
        }
        let fragment = payload.readSlice(length: payload.readableBytes - padding)!
        let endStream = flags & H2.Flag.endStream != 0
        if flags & H2.Flag.endHeaders != 0 {
            try completeHeaders(stream, endStream: endStream, fragment, selfDependent: selfDependent, context: context)
        } else {
            var bytes = context.channel.allocator.buffer(capacity: fragment.readableBytes * 2)
            bytes.writeImmutableBuffer(fragment)
            headerBlock = (stream, endStream, bytes, DispatchTimeNanos.now())
        }
    }

    func receiveContinuation(flags: UInt8, stream: UInt32, payload: ByteBuffer, context: ChannelHandlerContext) throws {
        guard var pending = headerBlock, pending.stream == stream else {
            throw H2.ConnectionError(.protocolError, "CONTINUATION without HEADERS")
        }
        headerBlock = nil  // (while `pending` is changed, so that its buffer is not shared)
        pending.bytes.writeImmutableBuffer(payload)
        guard pending.bytes.readableBytes <= Self.maxHeaderBlock else {
            throw H2.ConnectionError(.enhanceYourCalm, "a header block over \(Self.maxHeaderBlock) bytes")
        }
        if flags & H2.Flag.endHeaders != 0 {
            try completeHeaders(
                stream, endStream: pending.endStream, pending.bytes, selfDependent: false, context: context)
        } else {
            headerBlock = pending
        }
    }

    /// A whole header block: decoded always (the decoder's table must follow every block), then a
    /// new request, or the trailers that end one.
    private func completeHeaders(
        _ stream: UInt32, endStream: Bool, _ block: ByteBuffer, selfDependent: Bool, context: ChannelHandlerContext
    ) throws {
        var block = block
        let headers: HPACKHeaders
        do {
            headers = try decoder.decodeHeaders(from: &block)
        } catch {
            throw H2.ConnectionError(.compressionError, "a header block that does not decode: \(error)")
        }
        if let proxy = streams[stream]?.proxy {
            // Trailers of a proxied request: its body ends (the trailers are not passed on).
            guard proxy.uploading, endStream else { return reset(stream, .protocolError) }
            proxy.uploading = false
            proxy.exchange?.endBody()
            return
        }
        if streams[stream] != nil {
            // Trailers: they must end the request.
            guard streams[stream]!.request != nil, endStream else { return reset(stream, .protocolError) }
            return finishRequest(stream, context: context)
        }
        guard stream > highestStream else {
            throw H2.ConnectionError(.streamClosed, "HEADERS on closed stream \(stream)")
        }
        highestStream = stream
        guard !selfDependent else { return reset(stream, .protocolError) }
        guard streams.count < Self.maxConcurrentStreams else { return reset(stream, .refusedStream) }
        let request: EdgeRequest
        do {
            request = try H2Request.parse(headers)
        } catch {
            server.logger.debug("HTTP/2 stream \(stream) refused: \(error)")
            return reset(stream, .protocolError)
        }
        if endStream {
            answer(request, stream: stream, fields: headers, context: context)
        } else if let target = proxyTarget(request) {
            startProxy(request, target: target, headers: headers, stream: stream, endStream: false, context: context)
        } else {
            streams[stream] = H2Stream(
                request: request, started: DispatchTimeNanos.now(), sendWindow: peerInitialWindow)
        }
    }

    /// Where a request with a body goes, when a proxy rule takes it (asked before its body is read).
    private func proxyTarget(_ request: EdgeRequest) -> ProxyTarget? {
        let snapshot = server.snapshot.load(ordering: .acquiring)
        guard snapshot.mayProxy else { return nil }
        var request = request
        request.isSecure = secure
        var scratch = ByteBuffer()
        return Responder.respond(request, snapshot: snapshot, date: [], visitor: visitor, out: &scratch).proxy
    }

    private func finishRequest(_ stream: UInt32, context: ChannelHandlerContext) {
        guard let request = streams.removeValue(forKey: stream)?.request else { return }
        answer(request, stream: stream, context: context)
    }

    // MARK: DATA, resets and windows

    /// Request bodies are not read, only counted against the windows, which are given back.
    func receiveData(flags: UInt8, stream: UInt32, payload: ByteBuffer, context: ChannelHandlerContext) throws {
        guard stream != 0 else { throw H2.ConnectionError(.protocolError, "DATA on stream 0") }
        let length = payload.readableBytes
        if flags & H2.Flag.padded != 0 {
            guard let padding = payload.getInteger(at: payload.readerIndex, as: UInt8.self), Int(padding) < length
            else { throw H2.ConnectionError(.protocolError, "DATA padding longer than the frame") }
        }
        guard stream <= highestStream else { throw H2.ConnectionError(.protocolError, "DATA on idle stream") }
        receivedUnreturned += length
        guard receivedUnreturned <= H2.defaultWindow else {
            throw H2.ConnectionError(.flowControlError, "DATA beyond the connection window")
        }
        if receivedUnreturned >= H2.defaultWindow / 2 {
            H2.writeWindowUpdate(&out, stream: 0, increment: receivedUnreturned)
            receivedUnreturned = 0
        }
        guard var state = streams[stream] else { return }  // closed: in flight when it was reset
        if state.proxy != nil { return proxyRequestData(stream, flags: flags, payload: payload, context: context) }
        guard state.request != nil else { return reset(stream, .streamClosed) }
        if flags & H2.Flag.endStream != 0 { return finishRequest(stream, context: context) }
        state.receivedUnreturned += length
        if state.receivedUnreturned > H2.defaultWindow { return reset(stream, .flowControlError) }
        if state.receivedUnreturned >= H2.defaultWindow / 2 {
            H2.writeWindowUpdate(&out, stream: stream, increment: state.receivedUnreturned)
            state.receivedUnreturned = 0
        }
        streams[stream] = state
    }

    func receiveReset(stream: UInt32, payload: ByteBuffer) throws {
        guard payload.readableBytes == 4 else { throw H2.ConnectionError(.frameSizeError, "RST_STREAM size") }
        guard stream != 0, stream <= highestStream else {
            throw H2.ConnectionError(.protocolError, "RST_STREAM on idle stream \(stream)")
        }
        countReset()
        try checkResets()
        cancelProxy(stream)
        streams[stream] = nil
    }

    func receiveWindowUpdate(stream: UInt32, payload: ByteBuffer, context: ChannelHandlerContext) throws {
        guard payload.readableBytes == 4 else { throw H2.ConnectionError(.frameSizeError, "WINDOW_UPDATE size") }
        let increment = Int(payload.getInteger(at: payload.readerIndex, as: UInt32.self)! & 0x7FFF_FFFF)
        if stream == 0 {
            guard increment > 0 else { throw H2.ConnectionError(.protocolError, "WINDOW_UPDATE of 0") }
            sendWindow += increment
            guard sendWindow <= H2.maxWindow else {
                throw H2.ConnectionError(.flowControlError, "the connection window over 2^31-1")
            }
            resumeBlocked(context: context)
            return
        }
        guard stream <= highestStream else {
            throw H2.ConnectionError(.protocolError, "WINDOW_UPDATE on idle stream \(stream)")
        }
        guard streams[stream] != nil else { return }
        guard increment > 0 else { return reset(stream, .protocolError) }
        streams[stream]!.sendWindow += increment
        guard streams[stream]!.sendWindow <= H2.maxWindow else { return reset(stream, .flowControlError) }
        resumeBlocked(context: context)
    }

    /// Counts a reset, the peer's or one its request caused (malformed, refused, on a closed
    /// stream), in the current 30-second window.
    func countReset() {
        let now = DispatchTimeNanos.now()
        if now - resets.windowStart > Self.maxResets.seconds * 1_000_000_000 { resets = (now, 0) }
        resets.count += 1
    }

    func checkResets() throws {
        if resets.count > Self.maxResets.count {
            throw H2.ConnectionError(.enhanceYourCalm, "more than \(Self.maxResets.count) streams reset in 30 s")
        }
    }
}
