// canopy-bench-serve: serves one folder with CanopyEdge, for Scripts/bench.sh and Scripts/redbot.sh.
//
//   canopy-bench-serve <site-folder> <port> <event-loops> [host]
//
// Ingests the folder into a fresh DeploymentStore under a temporary directory (removed on exit
// only by the caller: the path is printed), loads it as a ServedDeployment, serves it for one
// hostname (default `bench.test`) on 127.0.0.1:<port>, prints `pid=<pid> port=<port> store=<dir>`
// on one line once it is listening, and runs until it is killed.
import CanopyEdge
import CanopyStore
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
let hostname = arguments.count > 4 ? arguments[4] : "bench.test"

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
        configuration: EdgeConfiguration(host: "127.0.0.1", port: port, eventLoopThreads: loops, storeRoot: storeRoot),
        logger: logger)
    server.update(
        RoutingTable(routes: [
            HostRoute(
                hostname: hostname, site: "bench", environment: "main",
                targets: [RouteTarget(label: "main", weight: 1, deployment: deployment)])
        ]))
    let bound = try await server.start()
    print("pid=\(getpid()) port=\(bound) store=\(storeRoot) files=\(manifest.files.count)")
    fflush(nil)  // flushes every output stream, stdout included
    while true { try await Task.sleep(for: .seconds(3600)) }
} catch {
    FileHandle.standardError.write(Data("canopy-bench-serve: \(error)\n".utf8))
    exit(1)
}
