// canopy-bench-serve: serves one folder with CanopyEdge, for Scripts/bench.sh and Scripts/redbot.sh.
//
//   canopy-bench-serve <site-folder> <port> <event-loops> [host[,host…]]
//
// Ingests the folder into a fresh DeploymentStore under a temporary directory (removed on exit
// only by the caller: the path is printed), loads it as a ServedDeployment, serves it for one
// hostname (default `bench.test`) on 127.0.0.1:<port>, prints `pid=<pid> port=<port> store=<dir>`
// on one line once it is listening, and runs until it is killed. With CANOPY_BENCH_TLS_PORT,
// CANOPY_BENCH_CERT and CANOPY_BENCH_KEY (PEM files) it also listens with TLS, for
// Scripts/bench-tls.sh, and adds `tls=<port>` to that line.
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
    let deployment = try ServedDeployment.load(
        manifest: manifest, storeRoot: storeRoot, siteRules: SiteRules(), lanes: loops)
    let server = EdgeServer(
        configuration: EdgeConfiguration(
            host: "127.0.0.1", port: port, eventLoopThreads: loops, storeRoot: storeRoot,
            tlsPort: ProcessInfo.processInfo.environment["CANOPY_BENCH_TLS_PORT"].flatMap(Int.init)),
        logger: logger)
    server.update(
        RoutingTable(
            routes: hostnames.map { hostname in
                HostRoute(
                    hostname: hostname, site: "bench", environment: "main",
                    targets: [RouteTarget(label: "main", weight: 1, deployment: deployment)])
            }))
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
    print("pid=\(getpid()) port=\(bound) store=\(storeRoot) files=\(manifest.files.count)\(tls)")
    fflush(nil)  // flushes every output stream, stdout included
    while true { try await Task.sleep(for: .seconds(3600)) }
} catch {
    FileHandle.standardError.write(Data("canopy-bench-serve: \(error)\n".utf8))
    exit(1)
}
