import NIOCore
import NIOHTTP2

extension EdgeServer {
    /// NIOHTTP2's limits for visitors' connections. The defaults already bound concurrent streams,
    /// header lists, CONTINUATION runs, resets and control-frame rates; they only helped once a
    /// connection error really closes the connection (`HTTP2ErrorCloser`).
    static let http2Configuration: NIOHTTP2Handler.Configuration = {
        var configuration = NIOHTTP2Handler.Configuration()
        configuration.connection.initialSettings = [
            HTTP2Setting(parameter: .maxConcurrentStreams, value: 100),
            // The same bound as an HTTP/1.1 request head (RequestParser: 16 KiB → 431).
            HTTP2Setting(parameter: .maxHeaderListSize, value: 16 << 10),
        ]
        // PING and SETTINGS answers waiting for a client that does not read.
        configuration.connection.maximumBufferedControlFrames = 1000
        return configuration
    }()

    /// Turns `channel` (whose pipeline so far only frames bytes: nothing, or TLS) into an HTTP/2
    /// server connection whose streams are answered by `EdgeHTTP2Handler` through the same
    /// Responder as HTTP/1.1. Used for h2c with prior knowledge and for h2 over TLS alike, so both
    /// get the same guard: idle and send timeouts, back-pressure, and closing on protocol errors.
    /// `secure`: the connection came through the TLS listener. Must run on the channel's event loop.
    func configureHTTP2(_ channel: any Channel, lane: Int, secure: Bool) throws {
        let pipeline = channel.pipeline.syncOperations
        try pipeline.addHandler(
            HTTP2ConnectionGuard(idleTimeout: idleTimeout, sendTimeout: Self.nanoseconds(configuration.sendTimeout)))
        try pipeline.addHandler(
            NIOHTTP2Handler(
                mode: .server, connectionConfiguration: Self.http2Configuration.connection,
                streamConfiguration: Self.http2Configuration.stream))
        try pipeline.addHandler(EdgeHTTP2Handler(server: self, lane: lane, secure: secure))
        try pipeline.addHandler(HTTP2ErrorCloser(server: self))
    }
}
