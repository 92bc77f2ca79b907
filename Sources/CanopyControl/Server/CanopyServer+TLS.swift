import CanopyEdge
import Foundation
import Logging

extension CanopyServer {
    /// Starts the TLS listener when `--listen-tls` asks for one, and writes its address to the data folder.
    static func startTLS(
        _ edge: EdgeServer, _ config: CanopyConfiguration, data: DataFolder, blocking: BlockingExecutor, logger: Logger
    )
        async throws
    {
        guard let host = config.tlsListenHost, config.tlsListenPort != nil else { return }
        let port = try await edge.startTLS()
        let shown = host == "0.0.0.0" || host == "::" ? "127.0.0.1" : host
        _ = try? await blocking.run {
            try? "https://\(shown):\(port)\n".write(toFile: data.edgeTLSAddress, atomically: true, encoding: .utf8)
        }
        logger.info("TLS listening on \(host):\(port)")
    }

    /// The ACME manager when the server has an account configured (`--acme-…`), attached to the
    /// orchestrator's certificate controller before the first routes are published.
    static func startACME(
        _ config: CanopyConfiguration, edge: EdgeServer, orchestrator: Orchestrator, blocking: BlockingExecutor,
        logger: Logger
    ) async -> CertificateManager? {
        guard let settings = config.acme else { return nil }
        if config.tlsListenPort == nil {
            logger.warning(
                "ACME is configured but there is no TLS listener (--listen-tls HOST:PORT): certificates would serve nobody; none is ordered"
            )
            return nil
        }
        let manager = CertificateManager(
            settings: settings, controller: orchestrator.certificates, challenges: edge.challenges,
            dataDirectory: config.dataDirectory, hasTLSListener: true, blocking: blocking, logger: logger)
        await orchestrator.certificates.attach(manager)
        return manager
    }
}
