import NIOCore

/// What an EdgeHandler writes: the answers it makes, a refusal, the end of a connection, and the
/// batching of a read's responses into one write; and the back-pressure that holds reads and
/// answers while the channel is not writable.
extension EdgeHandler {
    /// Answers `request` into `out`; returns the proxy target instead when a proxy rule takes it.
    func answer(_ request: EdgeRequest, context: ChannelHandlerContext) -> ProxyTarget? {
        var request = request
        request.isSecure = secure
        let start = DispatchTimeNanos.now()
        let snapshot = server.snapshot.load(ordering: .acquiring)
        let response = Responder.respond(
            request, snapshot: snapshot, date: dates.current(), visitor: visitor, out: &out)
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
    func refuse(_ status: Int, reason: String, isHead: Bool, context: ChannelHandlerContext) {
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
    func finish(context: ChannelHandlerContext) {
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
    func writeOut(context: ChannelHandlerContext) {
        context.write(wrapOutboundOut(.byteBuffer(out)), promise: nil)
        context.flush()
        // Usually written by now, so the storage is ours again and is reused; a big one goes.
        if out.capacity > 32 << 10 {
            out = context.channel.allocator.buffer(capacity: 2048)
        } else {
            out.clear()
        }
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
    func speakHTTP2(_ input: ByteBuffer, context: ChannelHandlerContext) {
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
}
