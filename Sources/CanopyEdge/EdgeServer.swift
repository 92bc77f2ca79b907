import Atomics
import CanopySpec
import CanopyTLS
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// The virtual-host HTTP server visitors meet. It never touches git, builds or the database: it
/// serves whatever the current RoutingTable points at, and `update` swaps that table atomically
/// (requests in flight finish on the snapshot they started with).
public final class EdgeServer: Sendable {
    public let configuration: EdgeConfiguration
    let logger: Logger
    let group: MultiThreadedEventLoopGroup
    let snapshot: ManagedAtomic<EdgeSnapshot>
    let latency: LatencyHistogram
    /// Each event loop's lane in the counters, by the loop's identity.
    private let laneOfLoop: [ObjectIdentifier: Int]
    /// The access log, when configured: the control plane runs its `AccessLogService`.
    public let accessLog: AccessLog?
    private let channel = NIOLockedValueBox<(any Channel)?>(nil)
    /// Open connections, for the connection limit.
    let connections = ConnectionLimiter.Count()
    /// Each lane's HTTP/1 connections, which the limit may close when idle (see `LaneConnections`).
    private let laneConnections: [NIOLoopBoundBox<LaneConnections?>]
    /// Each lane's connections to proxy upstreams (see `ProxyPool`), made on first use.
    private let proxyPools: [NIOLoopBoundBox<ProxyPool?>]
    /// The TLS client context for https upstreams, made on first use.
    private let proxyTLS = NIOLockedValueBox<NIOSSLContext?>(nil)
    private let loops: [any EventLoop]
    /// Counters per (hostname, deployment); the map is only touched when a table is installed and when
    /// counters are read, never per request. Per-deployment totals are sums over it.
    private let counters = NIOLockedValueBox<[HostDeployment: TrafficCounters]>([:])
    /// ACME challenge answers (HTTP-01 tokens, TLS-ALPN-01 certificates); see `ACMEChallenges`.
    public let challenges = ACMEChallenges()
    /// What the current snapshot was made from, so that a new table or certificate set can be
    /// combined with the other (both are swapped in as one snapshot).
    let published = NIOLockedValueBox(PublishedState())
    /// Requests by protocol: HTTP/1.x, HTTP/2, each in cleartext and over TLS.
    let protocolCounters: [TrafficCounters]
    let tlsChannel = NIOLockedValueBox<(any Channel)?>(nil)
    /// The bytes of every deployment this edge serves, and their open blob files (see `BodyCache`).
    public let bodyCache: BodyCache
    /// The GeoIP database rules with a Country condition are evaluated with (`--geoip`); nil for none.
    public let geoIP: GeoIPDatabase?

    /// `geoIP`: the database opened at start, when the server has one (`canopy serve --geoip FILE`).
    public init(configuration: EdgeConfiguration, geoIP: GeoIPDatabase? = nil, logger: Logger) {
        self.configuration = configuration
        self.geoIP = geoIP
        do {
            accessLog = try configuration.accessLog.map(AccessLog.init(path:))
        } catch {
            logger.error("cannot open the access log \(configuration.accessLog ?? ""): \(error)")
            accessLog = nil
        }
        self.logger = logger
        self.group = MultiThreadedEventLoopGroup(numberOfThreads: configuration.eventLoopThreads)
        var lanes: [ObjectIdentifier: Int] = [:]
        for loop in group.makeIterator() { lanes[ObjectIdentifier(loop)] = lanes.count }
        self.laneOfLoop = lanes
        self.loops = Array(group.makeIterator())
        self.laneConnections = group.makeIterator().map {
            NIOLoopBoundBox.makeEmptyBox(valueType: LaneConnections.self, eventLoop: $0)
        }
        self.proxyPools = group.makeIterator().map {
            NIOLoopBoundBox.makeEmptyBox(valueType: ProxyPool.self, eventLoop: $0)
        }
        self.bodyCache = BodyCache(
            budget: configuration.cacheSize, maxOpenBlobs: configuration.maxOpenBlobs, lanes: lanes.count)
        self.latency = LatencyHistogram(lanes: lanes.count)
        self.protocolCounters = (0..<4).map { [count = lanes.count] _ in TrafficCounters(lanes: count) }
        self.snapshot = ManagedAtomic(
            EdgeSnapshot(
                table: .empty, challenges: challenges,
                counters: { [count = lanes.count] _, _ in TrafficCounters(lanes: count) }))
    }

    /// The connection timeouts, in nanoseconds (for the request path's clock).
    var idleTimeout: Int { Self.nanoseconds(configuration.idleTimeout) }
    var headTimeout: Int { Self.nanoseconds(configuration.headTimeout) }
    var sendTimeout: Int { Self.nanoseconds(configuration.sendTimeout) }
    /// Bytes of responses a connection gathers before handing them to the channel (back-pressure).
    var outputLimit: Int { configuration.outputLimit }

    static func nanoseconds(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        return Int(seconds) * 1_000_000_000 + Int(attoseconds / 1_000_000_000)
    }

    /// What this edge evaluates of rules: deployments and Sites files are read (and builds checked)
    /// with it, so that a rule it cannot evaluate is refused at its line rather than served without
    /// its condition.
    public var ruleCapabilities: RuleCapabilities { RuleCapabilities(geoIP: geoIP != nil) }

    /// How many event loops serve requests: load deployments with this many lanes.
    public var lanes: Int { laneOfLoop.count }

    func lane(of loop: any EventLoop) -> Int { laneOfLoop[ObjectIdentifier(loop)] ?? 0 }

    /// The first handler of an accepted connection (on its event loop): the global limit, which
    /// closes idle connections of the loop to make room before it refuses one.
    func makeConnectionLimiter(_ channel: any Channel) -> ConnectionLimiter {
        ConnectionLimiter(
            count: connections, limit: configuration.maxConnections,
            idle: idleConnections(lane: lane(of: channel.eventLoop)), logger: logger)
    }

    /// The connections of lane `lane`, on that lane's event loop; nil elsewhere (a connection fed
    /// through an in-memory channel, as the fuzz targets do, is not counted).
    func idleConnections(lane: Int) -> LaneConnections? {
        guard lane < loops.count, loops[lane].inEventLoop else { return nil }
        if let existing = laneConnections[lane].value { return existing }
        let made = LaneConnections()
        laneConnections[lane].value = made
        return made
    }

    /// The proxy pool of `loop` (an edge event loop); nil for a channel outside them (the fuzz targets').
    func proxyPool(for loop: any EventLoop) -> ProxyPool? {
        guard let lane = laneOfLoop[ObjectIdentifier(loop)], loops[lane].inEventLoop else { return nil }
        if let existing = proxyPools[lane].value { return existing }
        let perLoop = (configuration.proxyMaxConnections + lanes - 1) / lanes
        let made = ProxyPool(
            eventLoop: loop, limit: perLoop,
            connectTimeout: .nanoseconds(Int64(Self.nanoseconds(configuration.proxyConnectTimeout)))
        ) { [proxyTLS] in
            try proxyTLS.withLockedValue { context in
                if let context { return context }
                let made = try NIOSSLContext(configuration: .makeClientConfiguration())
                context = made
                return made
            }
        }
        proxyPools[lane].value = made
        return made
    }

    var proxyReadTimeout: TimeAmount { .nanoseconds(Int64(Self.nanoseconds(configuration.proxyReadTimeout))) }

    /// Binds the listener; returns the bound port (useful with port 0).
    public func start() async throws -> Int {
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
            .childChannelOption(
                .writeBufferWaterMark,
                value: .init(low: configuration.outputLimit / 4, high: configuration.outputLimit)
            )
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers(
                        makeConnectionLimiter(channel),
                        EdgeHandler(server: self, lane: self.lane(of: channel.eventLoop)))
                }
            }
        let bound = try await bootstrap.bind(host: configuration.host, port: configuration.port).get()
        channel.withLockedValue { $0 = bound }
        return bound.localAddress?.port ?? configuration.port
    }

    /// Connections open now.
    public var openConnections: Int { connections.open.load(ordering: .relaxed) }

    /// Out of descriptors (EMFILE, ENFILE) or kernel memory, accept fails until connections end:
    /// the listener stops accepting for a moment instead of spinning, and says so once a minute.
    static func acceptBackoff(logger: Logger) -> AcceptBackoffHandler {
        var lastWarning = -1_000_000  // (seconds of the monotonic clock)
        return AcceptBackoffHandler(shouldForwardIOErrorCaught: false) { error in
            switch error.errnoCode {
            case EMFILE, ENFILE, ENOBUFS, ENOMEM:
                let now = DispatchTimeNanos.now() / 1_000_000_000
                if now - lastWarning >= 60 {
                    lastWarning = now
                    logger.warning(
                        "edge: cannot accept connections: \(error); accepting again every 250 ms (raise the descriptor limit, ulimit -n, or lower --max-connections)"
                    )
                }
                return .milliseconds(250)
            default:
                return nil
            }
        }
    }

    /// Installs a new routing table; the next request uses it.
    public func update(_ table: RoutingTable) {
        publish { $0.table = table }
    }

    /// Changes what the snapshot is made of and swaps the new snapshot in.
    func publish(_ change: (inout PublishedState) -> Void) {
        published.withLockedValue { inputs in
            change(&inputs)
            let next = counters.withLockedValue { state in
                EdgeSnapshot(
                    table: inputs.table, certificates: inputs.certificates, tlsPort: inputs.tlsPort,
                    challenges: challenges, previous: snapshot.load(ordering: .relaxed)
                ) { host, deployment in
                    let key = HostDeployment(host: host, deployment: deployment)
                    let counters = state[key] ?? TrafficCounters(lanes: laneOfLoop.count)
                    state[key] = counters
                    return counters
                }
            }
            snapshot.store(next, ordering: .releasing)
        }
    }

    /// Counts an answered request (per lane) and writes its access log line.
    /// `remote` is only read when there is an access log (it is not free).
    func record(
        _ request: EdgeRequest, _ response: EdgeResponse, lane: Int, started: Int,
        remote: @autoclosure () -> SocketAddress?
    ) {
        if let target = response.target {
            target.counters.record(status: response.status, bytes: response.bodyBytes, lane: lane)
        }
        if let hit = response.cacheHit { bodyCache.record(hit: hit, lane: lane) }
        latency.record(nanoseconds: DispatchTimeNanos.now() - started, lane: lane)
        protocolCounters[(request.isHTTP2 ? 1 : 0) + (request.isSecure ? 2 : 0)].record(
            status: response.status, bytes: response.bodyBytes, lane: lane)
        if let log = accessLog {
            log.record(
                host: request.host ?? "-", remote: remote()?.ipAddress ?? "-", method: request.methodName,
                uri: request.uri, version: request.version, status: response.status, bytes: response.bodyBytes,
                referer: request.referer, agent: request.userAgent, scheme: request.isSecure ? "https" : "http")
        }
    }

    public var currentTable: RoutingTable { snapshot.load(ordering: .acquiring).table }

    /// Stops accepting, closes connections, and stops the event loops.
    public func shutdown() async throws {
        let bound = channel.withLockedValue { value in
            defer { value = nil }
            return value
        }
        try? await bound?.close()
        let tls = tlsChannel.withLockedValue { value in
            defer { value = nil }
            return value
        }
        try? await tls?.close()
        try await group.shutdownGracefully()
        accessLog?.close()
        bodyCache.removeAll()
    }

    // MARK: Observing

    /// A deployment's traffic since the edge started (for rollout error rates).
    public func stats(deployment: String) -> DeploymentTrafficStats {
        let matching = counters.withLockedValue { $0.filter { $0.key.deployment == deployment }.map(\.value) }
        var stats = DeploymentTrafficStats()
        for c in matching {
            stats.requests += c.total(\.requests)
            stats.serverErrors += c.total(\.serverErrors)
            stats.notFound += c.total(\.notFound)
        }
        return stats
    }

    /// Totals per hostname, deployment and status class, for `/metrics`.
    public func counterSnapshot() -> [EdgeCounterKey: EdgeCounterValues] {
        let hosts = counters.withLockedValue { $0 }
        var out: [EdgeCounterKey: EdgeCounterValues] = [:]
        for (key, c) in hosts {
            let total = c.total(\.requests)
            guard total > 0 else { continue }
            let bytes = c.total(\.bytes)
            let classes = [
                ("2xx", c.total(\.success)), ("3xx", c.total(\.redirects)),
                ("4xx", c.total(\.clientErrors)), ("5xx", c.total(\.serverErrors)),
            ]
            for (name, count) in classes where count > 0 {
                // Bytes are attributed to classes in proportion to their requests.
                out[EdgeCounterKey(host: key.host, deployment: key.deployment, statusClass: name)] = EdgeCounterValues(
                    requests: count, bytes: bytes * count / total)
            }
        }
        return out
    }

    public func latencySnapshot() -> LatencyHistogram.Snapshot { latency.snapshot() }
}

/// The inputs of the current snapshot.
struct PublishedState {
    var table: RoutingTable = .empty
    var certificates: CertificateSet = .empty
    /// The TLS listener's bound port, once it listens (HTTPS redirects name it).
    var tlsPort: Int?
}

/// Which hostname and deployment a set of counters belongs to.
struct HostDeployment: Hashable {
    var host: String
    var deployment: String
}

#if canImport(Glibc)
    import Glibc
#endif
