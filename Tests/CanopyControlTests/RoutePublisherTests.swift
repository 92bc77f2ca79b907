import CanopyEdge
import CanopyStore
import CanopyTLS
import Foundation
import Logging
import Synchronization
import Testing

@testable import CanopyControl

/// An edge that records the tables it is given.
final class RecordingEdge: EdgeRouting {
    let tables = Mutex<[RoutingTable]>([])
    let bodyCache = BodyCache(budget: 1 << 20, lanes: 1)
    var last: RoutingTable? { tables.withLock { $0.last } }

    func update(_ table: RoutingTable) { tables.withLock { $0.append(table) } }
    func stats(deployment: String) -> DeploymentTrafficStats { DeploymentTrafficStats() }
    func probe(deployment: ServedDeployment, path: String) -> Int { 200 }
    func update(certificates: CertificateSet) {}
}

/// State in, routing tables out: real SQLite (in memory) and a real deployment store, a fake edge.
struct RoutePublisherTests {
    /// Ingests a one-file deployment `id` of `branch` into `store`.
    func ingest(_ id: String, branch: String, into store: DeploymentStore) throws {
        let folder = NSTemporaryDirectory() + "canopy-publish-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try "<p>\(id)</p>".write(toFile: folder + "/index.html", atomically: true, encoding: .utf8)
        _ = try store.ingest(
            directory: folder, id: id, site: "s", branch: branch, commit: "c-\(id)", commitTime: Date())
    }

    func served(_ table: RoutingTable?, _ hostname: String) -> [String] {
        (table?.routes[hostname]?.targets ?? []).map { "\($0.label)=\($0.deployment.manifest.id)@\($0.weight)" }
    }

    @Test func stateBecomesOneRoutingTable() async throws {
        let root = NSTemporaryDirectory() + "canopy-publish-store-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: root) }
        let store = try DeploymentStore(root: root)
        let f = try StateFixture()
        for (index, (id, branch)) in [("d1", "main"), ("d2", "release")].enumerated() {
            try ingest(id, branch: branch, into: store)
            try await f.deploy(id, branch: branch, index: index)
        }
        let blocking = BlockingExecutor(threads: 1)
        let edge = RecordingEdge()
        let publisher = RoutePublisher(
            state: f.state, store: store, edge: edge, blocking: blocking, logger: Logger(label: "test"))

        let statuses = try await publisher.publish(sites: f.sites)
        #expect(served(edge.last, "a.test") == ["main=d1@1.0"])
        #expect(served(edge.last, "r.test") == ["release=d2@1.0"])
        // staging has no deployment: no route at all.
        #expect(edge.last?.routes["b.test"] == nil)
        #expect(statuses.map(\.hostname) == ["a.test", "r.test"])

        // A split's weights arrive normalised, in the order given.
        try await f.state.setHostPolicies(
            [
                (
                    "a.test", "s",
                    [
                        PolicyTarget(kind: .branch, site: "s", ref: "main", weight: 90),
                        PolicyTarget(kind: .branch, site: "s", ref: "release", weight: 10),
                    ]
                )
            ], audit: AuditEntry(actor: "t", action: "split", target: "a.test", before: nil, after: nil))
        try await publisher.publish(sites: f.sites)
        #expect(served(edge.last, "a.test") == ["main=d1@0.9", "release=d2@0.1"])
        #expect(await publisher.hostnames.first?.hasPolicy == true)

        // A deleted branch stops serving at the next publish, and so does a split target that is gone.
        try await f.state.markEnvironmentDeleted(site: "s", branch: "release")
        try await publisher.publish(sites: f.sites)
        #expect(edge.last?.routes["r.test"] == nil)
        #expect(served(edge.last, "a.test") == ["main=d1@1.0"])
        #expect(edge.tables.withLock { $0.count } == 3)
        try await blocking.shutdown()
    }
}
