import CanopyEdge
import Foundation
import Logging

extension CanopyServer {
    /// Starts the TLS listener when `--listen-tls` asks for one, and writes its address to the data folder.
    static func startTLS(
        _ edge: EdgeServer, _ config: CanopyConfiguration, data: DataFolder, logger: Logger
    )
        async throws
    {
        guard let host = config.tlsListenHost, config.tlsListenPort != nil else { return }
        let port = try await edge.startTLS()
        let shown = host == "0.0.0.0" || host == "::" ? "127.0.0.1" : host
        try? "https://\(shown):\(port)\n".write(toFile: data.edgeTLSAddress, atomically: true, encoding: .utf8)
        logger.info("TLS listening on \(host):\(port)")
    }
}
