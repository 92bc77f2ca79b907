import NIOCore

extension EdgeServer {
    /// Turns `channel` (whose pipeline so far only frames bytes: nothing, or TLS) into an HTTP/2
    /// server connection (`H2Connection`) answered through the same Responder as HTTP/1.1. Used for
    /// h2c with prior knowledge and for h2 over TLS alike, so both get the same guard: idle and send
    /// timeouts and back-pressure. `secure`: the connection came through the TLS listener. Must run
    /// on the channel's event loop.
    func configureHTTP2(_ channel: any Channel, lane: Int, secure: Bool) throws {
        let pipeline = channel.pipeline.syncOperations
        try pipeline.addHandler(
            HTTP2ConnectionGuard(idleTimeout: idleTimeout, sendTimeout: Self.nanoseconds(configuration.sendTimeout)))
        try pipeline.addHandler(H2Connection(server: self, lane: lane, secure: secure))
    }
}
