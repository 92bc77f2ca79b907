import CanopyEdge
import CanopyStore
import Foundation
import Logging
import NIOCore
import NIOPosix
import Prometheus
import ServiceLifecycle

/// `canopy serve`: the notifier, the access log, the edge, the admin listener, the repository follower (with the
/// Sites watcher), the rollout ticker and the ACME manager, run as services in one ServiceGroup with
/// graceful shutdown on SIGTERM and SIGINT.
public enum CanopyServer {
    /// Runs until SIGTERM/SIGINT. `ready` is called once both listeners are bound, with their ports.
    public static func run(
        _ config: CanopyConfiguration, logger: Logger, bootstrapMetrics: Bool = true,
        ready: (@Sendable (_ edgePort: Int, _ adminPort: Int) -> Void)? = nil
    ) async throws {
        // First: a bad --geoip file is a startup error, before anything is opened or bound.
        let geoIP = try config.geoIPDatabase.map(GeoIPDatabase.init(path:))
        if let geoIP { logger.info("GeoIP database for Country conditions: \(geoIP.summary)") }
        let data = DataFolder(config.dataDirectory)
        try data.create()
        let buildIdentities = try BuildIsolation.prepare(config, data: data, logger: logger)
        let token = try config.adminToken ?? data.loadOrCreateAdminToken()
        // A full disk must not keep the server from starting: hooks then fall back to polling.
        let hookToken = try? data.loadOrCreateToken(at: data.hookToken)
        let state = try SQLiteStateStore(path: data.stateDatabase)
        let store = try DeploymentStore(root: data.store)
        let blocking = BlockingExecutor(threads: max(2, config.buildConcurrency))

        let edgeConfiguration = Self.edgeConfiguration(config, data: data)
        let edge = EdgeServer(configuration: edgeConfiguration, geoIP: geoIP, logger: logger)
        logger.info(
            "body cache: \(ByteCount.format(edgeConfiguration.cacheSize)) for file bodies (--cache-size), \(edgeConfiguration.maxOpenBlobs) open blob files at most (--max-open-blobs)"
        )
        let orchestrator = Orchestrator(
            config: config, buildIdentities: buildIdentities, data: data, state: state, store: store, edge: edge,
            blocking: blocking, logger: logger)
        let certificateManager = await startACME(
            config, edge: edge, orchestrator: orchestrator, blocking: blocking, logger: logger)
        try await orchestrator.start()

        let follower = RepositoryFollower(
            orchestrator: orchestrator, data: data, blocking: blocking, pollInterval: config.pollInterval,
            sitesPollInterval: config.sitesPollInterval, logger: logger)
        let registry = PrometheusCollectorRegistry()
        if bootstrapMetrics { CanopyMetrics.bootstrap(registry) }
        let metrics = CanopyMetrics(registry: registry, edge: edge)

        let edgePort = try await edge.start()
        try await startTLS(edge, config, data: data, blocking: blocking, logger: logger)
        let adminGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let api = AdminAPI(
            orchestrator: orchestrator, token: token, hookToken: hookToken, watcher: follower, edgePort: edgePort,
            metrics: metrics)
        let admin = AdminServer(group: adminGroup, logger: logger, headCheck: { await api.headRefusal($0) }) {
            await api.handle($0)
        }

        let (adminListener, adminPort) = try await admin.bind(host: config.adminHost, port: config.adminPort)
        let adminURL = await publishAddresses(
            config, data: data, edgePort: edgePort, adminPort: adminPort, blocking: blocking)
        logger.info("edge listening on \(config.listenHost):\(edgePort); admin on \(adminURL)")
        ready?(edgePort, adminPort)

        // Shut down in reverse order: the notifier last, so that what the others announce on their
        // way out is still delivered.
        var services: [any Service] = [orchestrator.notifier] + edgeServices(edge)
        services += [
            AdminService(server: admin, listener: adminListener), follower,
            RolloutTicker(orchestrator: orchestrator, logger: logger),
        ]
        if let certificateManager { services.append(certificateManager) }
        try await runGroup(services, logger: logger)
        buildIdentities?.cgroups?.removeFolders()
        logger.info("stopped")
        _ = try? await blocking.run {
            for file in [data.adminAddress, data.edgeAddress, data.edgeTLSAddress] {
                try? FileManager.default.removeItem(atPath: file)
            }
        }
        try await adminGroup.shutdownGracefully()
        try await blocking.shutdown()
    }

    /// The edge's settings from the server's.
    static func edgeConfiguration(_ config: CanopyConfiguration, data: DataFolder) -> EdgeConfiguration {
        var edgeConfiguration = EdgeConfiguration(
            host: config.listenHost, port: config.listenPort, eventLoopThreads: config.edgeThreads,
            storeRoot: data.store, accessLog: config.accessLog, tlsHost: config.tlsListenHost,
            tlsPort: config.tlsListenPort)
        if let limit = config.maxConnections { edgeConfiguration.maxConnections = limit }
        if let size = config.cacheSize { edgeConfiguration.cacheSize = size }
        if let count = config.maxOpenBlobs { edgeConfiguration.maxOpenBlobs = count }
        if let timeout = config.proxyConnectTimeout { edgeConfiguration.proxyConnectTimeout = timeout }
        if let timeout = config.proxyReadTimeout { edgeConfiguration.proxyReadTimeout = timeout }
        if let count = config.proxyMaxConnections { edgeConfiguration.proxyMaxConnections = count }
        return edgeConfiguration
    }

    /// Writes the edge's and the admin listener's addresses into the data folder (for the CLI and
    /// scripts); returns the admin URL.
    static func publishAddresses(
        _ config: CanopyConfiguration, data: DataFolder, edgePort: Int, adminPort: Int, blocking: BlockingExecutor
    ) async -> String {
        let adminURL = "http://\(config.adminHost == "0.0.0.0" ? "127.0.0.1" : config.adminHost):\(adminPort)"
        let edgeHost = config.listenHost == "0.0.0.0" || config.listenHost == "::" ? "127.0.0.1" : config.listenHost
        _ = try? await blocking.run {
            try? "http://\(edgeHost):\(edgePort)\n".write(toFile: data.edgeAddress, atomically: true, encoding: .utf8)
            try? (adminURL + "\n").write(toFile: data.adminAddress, atomically: true, encoding: .utf8)
        }
        return adminURL
    }

    /// Runs the services in one group until SIGTERM or SIGINT; they shut down in reverse order.
    static func runGroup(_ services: [any Service], logger: Logger) async throws {
        var configuration = ServiceGroupConfiguration(
            services: services.map { .init(service: $0) }, gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger)
        // A service that does not finish in time is cancelled rather than holding the process.
        configuration.maximumGracefulShutdownDuration = .seconds(10)
        let group = ServiceGroup(configuration: configuration)
        try await group.run()
    }
}
