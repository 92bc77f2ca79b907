// canopy-bench-serve: serves one folder with CanopyEdge, for Scripts/bench.sh and Scripts/redbot.sh.
//
//   canopy-bench-serve <site-folder> <port> <event-loops> [host[,host…]]
//
// Ingests the folder into a fresh DeploymentStore under a temporary directory (removed on exit
// only by the caller: the path is printed), loads it as a ServedDeployment, serves it for one
// hostname (default `bench.test`) on 127.0.0.1:<port>, prints `pid=<pid> port=<port> store=<dir>`
// on one line once it is listening, and runs until it is killed. With CANOPY_BENCH_TLS_PORT,
// CANOPY_BENCH_CERT and CANOPY_BENCH_KEY (PEM files) it also listens with TLS, for
// Scripts/bench-tls.sh, and adds `tls=<port>` to that line. With CANOPY_BENCH_SYNTHETIC_FILES=N it
// first prints how long loading, activating and rolling back an N-file deployment take (a
// synthetic manifest whose blobs are not in the store: loading reads no file).
import CanopyEdge
import CanopyStore
import CanopyTLS
import Foundation
import Logging

#if canImport(Glibc)
    import Glibc
#endif

let arguments = CommandLine.arguments
guard arguments.count >= 4, let port = Int(arguments[2]), let loops = Int(arguments[3]) else {
    FileHandle.standardError.write(Data("usage: canopy-bench-serve <site-folder> <port> <event-loops> [host]\n".utf8))
    exit(64)
}
let folder = arguments[1]
/// One hostname, or several separated by commas.
let hostnames = (arguments.count > 4 ? arguments[4] : "bench.test").split(separator: ",").map(String.init)

var logger = Logger(label: "canopy-bench-serve")
logger.logLevel = ProcessInfo.processInfo.environment["CANOPY_BENCH_DEBUG"] == nil ? .warning : .debug

do {
    let storeRoot = NSTemporaryDirectory() + "canopy-bench-store-\(getpid())"
    let store = try DeploymentStore(root: storeRoot)
    let id = DeploymentStore.newDeploymentID(date: Date())
    let manifest = try store.ingest(
        directory: folder, id: id, site: "bench", branch: "main", commit: String(repeating: "0", count: 40),
        commitTime: Date(timeIntervalSince1970: 1_750_000_000))
    let server = EdgeServer(
        configuration: EdgeConfiguration(
            host: "127.0.0.1", port: port, eventLoopThreads: loops, storeRoot: storeRoot,
            tlsPort: ProcessInfo.processInfo.environment["CANOPY_BENCH_TLS_PORT"].flatMap(Int.init)),
        logger: logger)
    let deployment = try ServedDeployment.load(
        manifest: manifest, storeRoot: storeRoot, siteRules: SiteRules(), cache: server.bodyCache)
    let routes = hostnames.map { hostname in
        HostRoute(
            hostname: hostname, site: "bench", environment: "main",
            targets: [RouteTarget(label: "main", weight: 1, deployment: deployment)])
    }
    server.update(RoutingTable(routes: routes))
    let bound = try await server.start()
    var tls = ""
    let environment = ProcessInfo.processInfo.environment
    if environment["CANOPY_BENCH_TLS_PORT"] != nil, let certificate = environment["CANOPY_BENCH_CERT"],
        let key = environment["CANOPY_BENCH_KEY"]
    {
        let bundle = try CertificateFiles(certificate: certificate, key: key).load()
        server.update(
            certificates: TLSContexts.makeSet(Dictionary(uniqueKeysWithValues: hostnames.map { ($0, bundle) })).0)
        tls = " tls=\(try await server.startTLS())"
    }
    if let count = environment["CANOPY_BENCH_SYNTHETIC_FILES"].flatMap(Int.init) {
        print(
            try measureActivation(
                files: count, server: server, storeRoot: storeRoot, current: deployment, routes: routes))
    }
    print("pid=\(getpid()) port=\(bound) store=\(storeRoot) files=\(manifest.files.count)\(tls)")
    fflush(nil)  // flushes every output stream, stdout included
    while true { try await Task.sleep(for: .seconds(3600)) }
} catch {
    FileHandle.standardError.write(Data("canopy-bench-serve: \(error)\n".utf8))
    exit(1)
}

/// Load, activation and rollback times of a synthetic `files`-file deployment.
/// The hostname `synthetic.test` is switched to it (activation) and back to `current` (rollback).
func measureActivation(
    files: Int, server: EdgeServer, storeRoot: String, current: ServedDeployment, routes: [HostRoute]
) throws -> String {
    var entries: [String: FileEntry] = [:]
    for i in 0..<files {
        let hex = String(repeating: String(format: "%08x", i), count: 8)
        entries["section-\(i / 1000)/page-\(i).html"] = FileEntry(
            sha256: hex, size: 10_000, contentType: "text/html; charset=utf-8",
            gzip: BlobRef(sha256: String(hex.reversed()), size: 3_000))
    }
    let manifest = DeploymentManifest(
        id: "synthetic", site: "bench", branch: "main", commit: String(repeating: "1", count: 40),
        commitTime: Date(), createdAt: Date(), files: entries)
    let clock = ContinuousClock()
    let json = try JSONEncoder().encode(manifest)
    var decoded: DeploymentManifest?
    let decode = try clock.measure { decoded = try JSONDecoder().decode(DeploymentManifest.self, from: json) }
    var loaded: ServedDeployment?
    let load = try clock.measure {
        loaded = try ServedDeployment.load(
            manifest: decoded!, storeRoot: storeRoot, siteRules: SiteRules(), cache: server.bodyCache)
    }
    func table(_ deployment: ServedDeployment) -> RoutingTable {
        RoutingTable(
            routes: routes + [
                HostRoute(
                    hostname: "synthetic.test", site: "bench", environment: "main",
                    targets: [RouteTarget(label: "main", weight: 1, deployment: deployment)])
            ])
    }
    let activate = clock.measure { server.update(table(loaded!)) }
    let rollback = clock.measure { server.update(table(current)) }
    return "synthetic files=\(files) manifest-decode=\(decode) load=\(load) activate=\(activate) rollback=\(rollback)"
}
