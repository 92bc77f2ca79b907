import Atomics
import NIOCore
import NIOHTTP1

/// The per-connection handler: each complete request is answered at once, on the event loop, from
/// one atomic load of the routing snapshot; the response is written as one pre-built head (with the
/// body inline for small files) plus, for larger bodies, the shared body buffer or a sendfile region.
/// Pipelined requests are answered in order; writes are flushed when the read batch ends.
final class EdgeHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = IOData

    private let server: EdgeServer
    private var head: HTTPRequestHead?
    private var dates = DateHeaderCache()
    private var responder: Responder?
    private var pendingFlush = false
    private var closing = false

    init(server: EdgeServer) {
        self.server = server
    }

    func handlerAdded(context: ChannelHandlerContext) {
        responder = Responder(allocator: context.channel.allocator)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            head = h
        case .body:
            break  // GET and HEAD carry no body worth reading; it is discarded
        case .end:
            guard let h = head, !closing else { return }
            head = nil
            let start = DispatchTimeNanos.now()
            let snapshot = server.snapshot.load(ordering: .acquiring)
            let response = responder!.respond(h, snapshot: snapshot, date: dates.current())
            write(response, context: context)
            if let target = response.target {
                target.counters.record(status: response.status, bytes: response.head.readableBytes + response.bodyBytes)
            }
            server.latency.record(nanoseconds: DispatchTimeNanos.now() - start)
            if let log = server.accessLog {
                log.record(
                    host: h.headers.first(name: "host") ?? "-", remote: context.remoteAddress?.ipAddress ?? "-",
                    method: h.method.rawValue, uri: h.uri, version: "\(h.version)", status: response.status,
                    bytes: response.bodyBytes, referer: h.headers.first(name: "referer"),
                    agent: h.headers.first(name: "user-agent"))
            }
        }
    }

    private func write(_ response: EdgeResponse, context: ChannelHandlerContext) {
        context.write(wrapOutboundOut(.byteBuffer(response.head)), promise: nil)
        for part in response.body {
            switch part {
            case .buffer(let buffer):
                context.write(wrapOutboundOut(.byteBuffer(buffer)), promise: nil)
            case .file(let handle, let offset, let length):
                let region = FileRegion(fileHandle: handle, readerIndex: Int(offset), endIndex: Int(offset + length))
                context.write(wrapOutboundOut(.fileRegion(region)), promise: nil)
            }
        }
        pendingFlush = true
        if response.close {
            closing = true
            pendingFlush = false
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(.byteBuffer(channel.allocator.buffer(capacity: 0)))).whenComplete {
                _ in
                channel.close(promise: nil)
            }
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if pendingFlush {
            pendingFlush = false
            context.flush()
        }
        context.fireChannelReadComplete()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // A malformed request: answer 400 once and close.
        if error is HTTPParserError, !closing {
            closing = true
            var buffer = context.channel.allocator.buffer(capacity: 128)
            buffer.writeString("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(.byteBuffer(buffer))).whenComplete { _ in channel.close(promise: nil)
            }
            return
        }
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
