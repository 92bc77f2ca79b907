import NIOCore

#if canImport(Glibc)
    import Glibc
#endif

/// Between the TLS handler and the HTTP handlers: BoringSSL encrypts byte buffers only, so a file
/// region (what cleartext connections send with sendfile) is read here into buffers, one chunk at a
/// time: the next chunk is read only when the last one has gone to the socket, so a large file
/// costs one chunk of memory however slowly the client reads (the send timeout closes one that
/// reads nothing). Writes that arrive meanwhile wait their turn, in order. The read is a plain
/// `pread` from the blob file, usually from the page cache (as nginx does without thread pools).
final class TLSPlaintextWriter: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = IOData
    typealias OutboundOut = ByteBuffer

    static let chunk = 256 << 10

    /// Writes held back while a region streams.
    private var queue = CircularBuffer<(IOData, EventLoopPromise<Void>?)>()
    /// True while a region is being sent chunk by chunk.
    private var streaming = false
    /// A flush asked for while streaming: done once the queue drains.
    private var flushPending = false

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let item = unwrapOutboundIn(data)
        if !streaming, queue.isEmpty, case .byteBuffer(let buffer) = item {
            context.write(wrapOutboundOut(buffer), promise: promise)
            return
        }
        queue.append((item, promise))
        if !streaming { drain(context: context) }
    }

    func flush(context: ChannelHandlerContext) {
        if streaming {
            flushPending = true
        } else {
            context.flush()
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        failQueued(ChannelError.ioOnClosedChannel)
    }

    /// Writes what is queued until a region starts streaming.
    private func drain(context: ChannelHandlerContext) {
        while let (item, promise) = queue.popFirst() {
            switch item {
            case .byteBuffer(let buffer):
                context.write(wrapOutboundOut(buffer), promise: promise)
            case .fileRegion(let region):
                streaming = true
                sendChunk(region, from: region.readerIndex, context: context, promise: promise)
                return
            }
        }
        if flushPending {
            flushPending = false
            context.flush()
        }
    }

    private func sendChunk(
        _ region: FileRegion, from offset: Int, context: ChannelHandlerContext, promise: EventLoopPromise<Void>?
    ) {
        let end = region.endIndex
        guard offset < end else {
            streaming = false
            if region.readerIndex >= end {
                context.write(wrapOutboundOut(context.channel.allocator.buffer(capacity: 0)), promise: promise)
            } else {
                promise?.succeed()
            }
            drain(context: context)
            return
        }
        let buffer: ByteBuffer
        do {
            buffer = try read(region, from: offset, count: min(Self.chunk, end - offset), context: context)
        } catch {
            fail(error, promise: promise, context: context)
            return
        }
        let next = offset + buffer.readableBytes
        let loop = context.eventLoop.assumeIsolated()
        context.writeAndFlush(wrapOutboundOut(buffer)).assumeIsolated().whenComplete { result in
            switch result {
            case .success:
                // A hop, so that writes completing at once do not recurse once per chunk.
                loop.execute { self.sendChunk(region, from: next, context: context, promise: promise) }
            case .failure(let error):
                self.fail(error, promise: promise, context: context)
            }
        }
    }

    private func read(
        _ region: FileRegion, from offset: Int, count: Int, context: ChannelHandlerContext
    ) throws
        -> ByteBuffer
    {
        var buffer = context.channel.allocator.buffer(capacity: count)
        try region.fileHandle.withUnsafeFileDescriptor { fd in
            let read = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { pointer in
                max(0, pread(fd, pointer.baseAddress, count, off_t(offset)))
            }
            guard read > 0 else { throw IOError(errnoCode: errno == 0 ? EIO : errno, reason: "pread") }
        }
        return buffer
    }

    private func fail(_ error: any Error, promise: EventLoopPromise<Void>?, context: ChannelHandlerContext) {
        streaming = false
        promise?.fail(error)
        failQueued(error)
        context.close(promise: nil)
    }

    private func failQueued(_ error: any Error) {
        while let (_, promise) = queue.popFirst() { promise?.fail(error) }
    }
}
