import CanopyEdge
import CanopySpec
import CanopyStore
import Foundation
import Logging

/// The cost of a big deployment (issue #13: "activation, swap and rollback stay under 10 ms for a
/// 100,000-file deployment"): writing and reading its manifest, loading it for serving (the manifest,
/// not its files: the blobs are not even in the store), and then the edge's part, which is what a
/// visitor waits for: activating it, swapping to a second one and rolling back. A real `EdgeServer`
/// (not listening: `update` is the same call either way). Medians of `rounds`.
func activationLines(files: Int, root: String, rounds: Int = 3) async throws -> [String] {
    let store = try DeploymentStore(root: root + "/big-store")
    func manifest(_ id: String) -> DeploymentManifest {
        var entries: [String: FileEntry] = [:]
        entries.reserveCapacity(files)
        for i in 0..<files {
            let hex = String(repeating: String(format: "%08x", i), count: 8)
            entries["section-\(i / 1000)/page-\(i).html"] = FileEntry(
                sha256: hex, size: 10_000, contentType: "text/html; charset=utf-8",
                gzip: BlobRef(sha256: String(hex.reversed()), size: 3_000))
        }
        return DeploymentManifest(
            id: id, site: "big", branch: "main", commit: String(repeating: "b", count: 40),
            commitTime: Date(timeIntervalSince1970: 1_700_000_000), createdAt: Date(), files: entries)
    }
    var write: [Double] = []
    var read: [Double] = []
    var load: [Double] = []
    var served: [ServedDeployment] = []
    let edge = EdgeServer(
        configuration: EdgeConfiguration(host: "127.0.0.1", port: 0, eventLoopThreads: 2, storeRoot: store.root),
        logger: Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() }))
    for round in 0..<rounds {
        let made = manifest("big\(round)")
        write.append(try await milliseconds { try store.writeManifest(made) })
        var decoded: DeploymentManifest?
        read.append(try await milliseconds { decoded = try store.manifest(id: made.id) })
        load.append(
            try await milliseconds {
                served.append(
                    try ServedDeployment.load(
                        manifest: decoded!, storeRoot: store.root, siteRules: SiteRules(), cache: edge.bodyCache))
            })
    }
    func route(_ deployment: ServedDeployment) -> RoutingTable {
        RoutingTable(routes: [
            HostRoute(
                hostname: "big.test", site: "big", environment: "main",
                targets: [RouteTarget(label: "main", weight: 1, deployment: deployment)])
        ])
    }
    var activate: [Double] = []
    var swap: [Double] = []
    var rollback: [Double] = []
    for _ in 0..<rounds {
        edge.update(RoutingTable(routes: []))
        activate.append(await milliseconds { edge.update(route(served[0])) })
        swap.append(await milliseconds { edge.update(route(served[1])) })
        rollback.append(await milliseconds { edge.update(route(served[0])) })
    }
    let size =
        (try? FileManager.default.attributesOfItem(atPath: root + "/big-store/manifests/big0.json")[.size])
        as? Int ?? 0
    return [
        "\(files)-file deployment (manifest \(size / 1_000_000) MB of JSON), medians of \(rounds):",
        String(format: "  manifest written (encode, fsync): %8.1f ms", median(write)),
        String(format: "  manifest read (decode):           %8.1f ms", median(read)),
        String(format: "  loaded for serving (heads):       %8.1f ms", median(load)),
        String(format: "  activation (edge update):         %8.3f ms", median(activate)),
        String(format: "  swap to a second deployment:      %8.3f ms", median(swap)),
        String(format: "  rollback to the first:            %8.3f ms", median(rollback)),
    ]
}
