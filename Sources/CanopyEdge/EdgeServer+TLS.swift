import CanopyTLS
import NIOCore
import NIOPosix

extension EdgeServer {
    /// Binds the TLS listener (`configuration.tlsHost`/`tlsPort`); returns the bound port. Each
    /// connection starts with a `TLSHelloHandler`, which picks the certificate by SNI.
    public func startTLS() async throws -> Int {
        guard let port = configuration.tlsPort else { throw TLSListenerError.notConfigured }
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(Self.acceptBackoff(logger: logger))
                }
            }
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    // One connection limit for both listeners.
                    try channel.pipeline.syncOperations.addHandlers(
                        makeConnectionLimiter(channel),
                        TLSHelloHandler(server: self, lane: self.lane(of: channel.eventLoop)))
                }
            }
        let bound = try await bootstrap.bind(host: configuration.tlsHost ?? configuration.host, port: port).get()
        tlsChannel.withLockedValue { $0 = bound }
        let boundPort = bound.localAddress?.port ?? port
        publish { $0.tlsPort = boundPort }
        return boundPort
    }

    /// Installs a new certificate set; the next handshake uses it, and HTTPS redirects and HSTS
    /// follow which hostnames it covers.
    public func update(certificates: CertificateSet) {
        publish { $0.certificates = certificates }
    }

    public var currentCertificates: CertificateSet { snapshot.load(ordering: .acquiring).certificates }

    /// Requests answered since start, by protocol (`http/1.1`, `h2`) and whether TLS carried them.
    public func protocolSnapshot() -> [(protocol: String, tls: Bool, requests: Int)] {
        [("http/1.1", false), ("h2", false), ("http/1.1", true), ("h2", true)].enumerated().map { index, kind in
            (kind.0, kind.1, protocolCounters[index].total(\.requests))
        }
    }
}

enum TLSListenerError: Error, CustomStringConvertible {
    case notConfigured

    var description: String { "no TLS listener is configured (--listen-tls HOST:PORT)" }
}
