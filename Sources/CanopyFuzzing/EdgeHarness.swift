import CanopyEdge
import CanopySpec
import CanopyStore
import Foundation
import Logging
import NIOCore
import NIOEmbedded

/// One edge with one small deployment (files, a 404 page, Netlify redirect and header rules), whose
/// connection handler is fed bytes through an in-memory channel: the same pipeline a visitor's
/// connection gets (HTTP/1.1 parsing, the HTTP/2 hand-over, NIOHTTP2, the Responder), without sockets.
final class EdgeHarness: Sendable {
    static let shared = EdgeHarness()

    /// What an HTTP/2 client sends first: the preface and an empty SETTINGS frame.
    static let http2Start: [UInt8] = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8) + [0, 0, 0, 4, 0, 0, 0, 0, 0]

    let server: EdgeServer
    static let peer = try! SocketAddress(ipAddress: "192.0.2.1", port: 40000)  // a literal that always parses

    private init() {
        let root = NSTemporaryDirectory() + "canopy-fuzz-\(getpid())"
        let files = [
            "index.html": "<h1>home</h1>", "404.html": "missing", "docs/index.html": "docs",
            "app.3f2a9c1b.js": String(repeating: "console.log(1);", count: 200),
            "_redirects": "/old/* /new/:splat 301\n/api/* https://api.example.com/:splat 200\n/spa/* /index.html 200\n",
            "_headers": "/*\n  X-Frame-Options: DENY\n/docs/*\n  Cache-Control: no-store\n",
        ]
        let server = EdgeServer(
            configuration: EdgeConfiguration(
                host: "127.0.0.1", port: 0, eventLoopThreads: 1, storeRoot: root + "/store"),
            logger: Logger(label: "canopy-fuzz", factory: { _ in SwiftLogNoOpLogHandler() }))
        do {
            for (path, content) in files {
                let full = root + "/site/" + path
                try FileManager.default.createDirectory(
                    atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                try content.write(toFile: full, atomically: true, encoding: .utf8)
            }
            let store = try DeploymentStore(root: root + "/store")
            let manifest = try store.ingest(
                directory: root + "/site", id: "fuzz-\(getpid())", site: "site", branch: "main",
                commit: String(repeating: "a", count: 40), commitTime: Date(timeIntervalSince1970: 1_700_000_000))
            let deployment = try ServedDeployment.load(
                manifest: manifest, storeRoot: root + "/store", siteRules: SiteRules(), cache: server.bodyCache)
            server.update(
                RoutingTable(routes: [
                    HostRoute(
                        hostname: "site.test", site: "site", environment: "main",
                        targets: [RouteTarget(label: "main", weight: 1, deployment: deployment)])
                ]))
        } catch {
            fatalError("cannot set up the fuzzing edge in \(root): \(error)")
        }
        self.server = server
    }

    /// Feeds `bytes` to a new connection (after the HTTP/2 preface when `http2`), lets every answer
    /// be written, and closes it. Returns the bytes written (file regions read from their files: a
    /// body not yet in the body cache is sent from the blob file).
    @discardableResult
    func feed(_ bytes: UnsafeRawBufferPointer, http2: Bool) -> [UInt8] {
        let channel = EmbeddedChannel(handler: server.makeConnectionHandler())
        try? channel.pipeline.syncOperations.addHandler(FileRegionReader(), position: .first)
        // Active, as an accepted connection is (HTTP/2 starts only on an active channel).
        _ = channel.connect(to: Self.peer)
        var input = channel.allocator.buffer(capacity: bytes.count + Self.http2Start.count)
        if http2 { input.writeBytes(Self.http2Start) }
        input.writeBytes(bytes)
        _ = try? channel.writeInbound(input)
        channel.embeddedEventLoop.run()
        channel.pipeline.fireChannelReadComplete()  // a socket's read batch ends: output is flushed
        channel.embeddedEventLoop.run()
        var written: [UInt8] = []
        while case .some(let data) = try? channel.readOutbound(as: IOData.self) {
            switch data {
            case .byteBuffer(let buffer): written += buffer.readableBytesView
            case .fileRegion(let region): written += [UInt8](repeating: 0, count: region.readableBytes)
            }
        }
        // Let every timer fire (idle and head timeouts, the grace period before a close), as a
        // minute and a half on a real connection would: they are part of the pipeline; a task that never
        // runs would keep the channel alive. 90 s passes every timeout (idle 75 s).
        channel.embeddedEventLoop.advanceTime(by: .seconds(90))
        _ = try? channel.finish()
        channel.embeddedEventLoop.advanceTime(by: .seconds(90))
        return written
    }
}

/// Turns each file region into its bytes while its write is still pending, as the socket would read
/// it: the descriptor is the body cache's and is guaranteed only until the write completes, which on
/// an in-memory channel is before the harness reads the output (reading it afterwards raced the
/// cache closing it, and crashed a test run).
final class FileRegionReader: ChannelOutboundHandler {
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .fileRegion(let region) = unwrapOutboundIn(data) else {
            return context.write(data, promise: promise)
        }
        var buffer = context.channel.allocator.buffer(capacity: region.readableBytes)
        _ = try? region.fileHandle.withUnsafeFileDescriptor { fd in
            buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: region.readableBytes) {
                max(0, pread(fd, $0.baseAddress, region.readableBytes, off_t(region.readerIndex)))
            }
        }
        context.write(wrapOutboundOut(.byteBuffer(buffer)), promise: promise)
    }
}
