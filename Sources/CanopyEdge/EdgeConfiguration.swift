/// Where and how the edge listens.
public struct EdgeConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// Event loops (one per core by default).
    public var eventLoopThreads: Int
    /// The deployment store's root (blobs live under it).
    public var storeRoot: String
    /// Where the access log goes (a file, or `-` for standard output); nil for none.
    public var accessLog: String?
    /// A keep-alive connection with no request for this long is closed (nginx: 75 s).
    public var idleTimeout: Duration = .seconds(75)
    /// A request head still incomplete after this long gets 408 and the connection closes
    /// (slow-header clients hold no connection for long).
    public var headTimeout: Duration = .seconds(30)
    /// A client that takes none of its connection's unsent output for this long is disconnected
    /// (nginx's `send_timeout`: 60 s).
    public var sendTimeout: Duration = .seconds(60)
    /// Unsent output a connection may hold before the edge stops reading and answering its
    /// pipelined requests (the write buffer's high water mark; reading resumes below a quarter).
    public var outputLimit = 256 << 10
    /// Connections the edge holds at once; more are closed as soon as they are accepted.
    public var maxConnections = 10_000
    /// Bytes of file bodies the edge keeps in memory, for all deployments together (`--cache-size`).
    public var cacheSize = BodyCache.defaultBudget
    /// Blob files the edge keeps open for sendfile, for all deployments together (`--max-open-blobs`).
    public var maxOpenBlobs = BodyCache.defaultMaxOpenBlobs()
    /// Proxy rules (a 200 rewrite to an `http(s)://` URL): how long a connection to an upstream may
    /// take (`--proxy-connect-timeout`; waiting for a pooled connection included), how long an
    /// upstream may stay silent while it owes an answer (`--proxy-read-timeout`; Netlify gives up
    /// after 26 s), and how many connections the edge opens to one upstream (`--proxy-max-connections`,
    /// shared out between the event loops; idle ones are kept for reuse).
    public var proxyConnectTimeout: Duration = .seconds(5)
    public var proxyReadTimeout: Duration = .seconds(30)
    public var proxyMaxConnections = 64
    /// The TLS listener (`--listen-tls`), when there is one. Its handshakes are held to the head timeout.
    public var tlsHost: String?
    public var tlsPort: Int?

    public init(
        host: String, port: Int, eventLoopThreads: Int, storeRoot: String, accessLog: String? = nil,
        tlsHost: String? = nil, tlsPort: Int? = nil
    ) {
        self.tlsHost = tlsHost
        self.tlsPort = tlsPort
        self.accessLog = accessLog
        self.host = host
        self.port = port
        self.eventLoopThreads = max(1, eventLoopThreads)
        self.storeRoot = storeRoot
    }
}
