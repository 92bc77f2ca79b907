import NIOCore
import NIOHPACK

extension H2Connection {
    /// Above this many bytes of frames, `out` is handed to the channel before more are made, so
    /// that the channel's writability (and the guard's back-pressure) sees them.
    static let outputBatch = 256 << 10

    /// Has the Responder answer `request` and sends the answer on `stream`: HEADERS, then the body
    /// as DATA frames as far as the windows allow; the rest waits in the stream's queue.
    func answer(_ request: EdgeRequest, stream: UInt32, fields: HPACKHeaders? = nil, context: ChannelHandlerContext) {
        var request = request
        request.isSecure = secure
        let start = DispatchTimeNanos.now()
        head.clear()
        block.clear()
        let snapshot = server.snapshot.load(ordering: .acquiring)
        let response = Responder.respond(
            request, snapshot: snapshot, date: dates.current(), visitor: visitor, out: &head)
        if let target = response.proxy {
            return startProxy(
                request, target: target, headers: fields ?? [:], stream: stream, endStream: true, context: context)
        }
        guard let headLength = H2ResponseHead.encode(head, into: &block) else {
            return reset(stream, .internalError)
        }
        let inline = head.readableBytes - headLength
        let hasBody = inline > 0 || !response.body.isEmpty
        writeHeaders(stream, endStream: !hasBody)
        server.record(request, response, lane: lane, started: start, remote: context.channel.remoteAddress)
        guard hasBody else { return }
        var state = H2Stream(request: nil, started: start, sendWindow: peerInitialWindow)
        // The common case, a small body inline after the head, goes without a queue.
        if response.body.isEmpty && inline <= min(sendWindow, state.sendWindow, H2.defaultMaxFrameSize) {
            H2.writeHeader(&out, length: inline, type: .data, flags: H2.Flag.endStream, stream: stream)
            out.writeImmutableBuffer(head.getSlice(at: head.readerIndex + headLength, length: inline)!)
            sendWindow -= inline
            return
        }
        state.queue.reserveCapacity(response.body.count + 1)
        if inline > 0 { state.queue.append(.bytes(head.getSlice(at: head.readerIndex + headLength, length: inline)!)) }
        for part in response.body {
            switch part {
            case .buffer(let buffer): state.queue.append(.bytes(buffer))
            case .file(let blob, let offset, let length):
                state.queue.append(.file(blob, offset: offset, length: length))
            }
        }
        if !pump(stream, &state, context: context) {
            streams[stream] = state
            blocked.append(stream)
        }
    }

    /// HEADERS, and CONTINUATION frames when the block is larger than a frame.
    func writeHeaders(_ stream: UInt32, endStream: Bool) {
        let end = endStream ? H2.Flag.endStream : 0
        let length = block.readableBytes
        if length <= H2.defaultMaxFrameSize {
            H2.writeHeader(&out, length: length, type: .headers, flags: H2.Flag.endHeaders | end, stream: stream)
            out.writeBuffer(&block)
            return
        }
        var type = H2.FrameType.headers
        var flags = end
        while block.readableBytes > 0 {
            let size = min(block.readableBytes, H2.defaultMaxFrameSize)
            if size == block.readableBytes { flags |= H2.Flag.endHeaders }
            H2.writeHeader(&out, length: size, type: type, flags: flags, stream: stream)
            var piece = block.readSlice(length: size)!
            out.writeBuffer(&piece)
            type = .continuation
            flags = 0
        }
    }

    /// Sends as much of the stream's queue as the windows and the channel allow; true when all
    /// of it (with END_STREAM) is sent.
    func pump(_ stream: UInt32, _ state: inout H2Stream, context: ChannelHandlerContext) -> Bool {
        while !state.queue.isEmpty {
            if out.readableBytes >= Self.outputBatch {
                writeOut(context: context, flush: false)
                guard context.channel.isWritable else { return false }
            }
            let room = min(sendWindow, state.sendWindow, H2.defaultMaxFrameSize)
            guard room > 0 else { return false }
            let last = state.queue.count == 1 && !state.streaming
            switch state.queue[0] {
            case .bytes(var bytes):
                let size = min(room, bytes.readableBytes)
                let done = size == bytes.readableBytes
                H2.writeHeader(
                    &out, length: size, type: .data, flags: done && last ? H2.Flag.endStream : 0, stream: stream)
                var piece = bytes.readSlice(length: size)!
                out.writeBuffer(&piece)
                if done { state.queue.removeFirst() } else { state.queue[0] = .bytes(bytes) }
                consume(size, &state)
            case .file(let blob, let offset, let length):
                let size = Int(min(Int64(room), length))
                let done = Int64(size) == length
                H2.writeHeader(
                    &out, length: size, type: .data, flags: done && last ? H2.Flag.endStream : 0, stream: stream)
                writeOut(context: context, flush: false)
                let region = FileRegion(
                    fileHandle: blob.handle(lane: lane), readerIndex: Int(offset), endIndex: Int(offset) + size)
                context.write(wrapOutboundOut(.fileRegion(region))).whenComplete { _ in withExtendedLifetime(blob) {} }
                unflushedFiles = true
                if done {
                    state.queue.removeFirst()
                } else {
                    state.queue[0] = .file(blob, offset: offset + Int64(size), length: length - Int64(size))
                }
                consume(size, &state)
            }
        }
        return true
    }

    @inline(__always)
    private func consume(_ size: Int, _ state: inout H2Stream) {
        sendWindow -= size
        state.sendWindow -= size
    }

    /// Sends what the blocked streams can now, in the order they blocked.
    func resumeBlocked(context: ChannelHandlerContext) {
        guard !blocked.isEmpty else { return }
        var still: [UInt32] = []
        for id in blocked {
            guard var state = streams[id] else { continue }  // reset meanwhile
            if sendWindow > 0 && context.channel.isWritable && pump(id, &state, context: context) {
                streams[id] = state.streaming ? state : nil
                proxyDrained(state)
            } else {
                streams[id] = state
                still.append(id)
            }
        }
        blocked = still
    }
}
