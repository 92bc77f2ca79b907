import NIOCore

#if canImport(Glibc)
    import Glibc
#endif

/// Between the TLS handler and the HTTP handlers: BoringSSL encrypts byte buffers only, so a file
/// region (what cleartext connections send with sendfile) is read here into buffers, in chunks.
/// The read is a plain `pread` from the blob file, usually from the page cache (as nginx does
/// without thread pools).
final class TLSPlaintextWriter: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = IOData
    typealias OutboundOut = ByteBuffer

    static let chunk = 256 << 10

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .byteBuffer(let buffer):
            context.write(wrapOutboundOut(buffer), promise: promise)
        case .fileRegion(let region):
            do {
                try send(region, context: context, promise: promise)
            } catch {
                promise?.fail(error)
                context.close(promise: nil)
            }
        }
    }

    private func send(_ region: FileRegion, context: ChannelHandlerContext, promise: EventLoopPromise<Void>?) throws {
        var offset = region.readerIndex
        let end = region.endIndex
        if offset >= end {
            context.write(wrapOutboundOut(context.channel.allocator.buffer(capacity: 0)), promise: promise)
            return
        }
        try region.fileHandle.withUnsafeFileDescriptor { fd in
            while offset < end {
                let count = min(Self.chunk, end - offset)
                var buffer = context.channel.allocator.buffer(capacity: count)
                let read = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { pointer in
                    let n = pread(fd, pointer.baseAddress, count, off_t(offset))
                    return max(0, n)
                }
                guard read > 0 else { throw IOError(errnoCode: errno == 0 ? EIO : errno, reason: "pread") }
                offset += read
                context.write(wrapOutboundOut(buffer), promise: offset >= end ? promise : nil)
            }
        }
    }
}
