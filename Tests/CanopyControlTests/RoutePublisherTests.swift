import CanopyEdge
import CanopySpec
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
    let ruleCapabilities = RuleCapabilities.basic
    var last: RoutingTable? { tables.withLock { $0.last } }

    func update(_ table: RoutingTable) { tables.withLock { $0.append(table) } }
    func stats(deployment: String) -> DeploymentTrafficStats { DeploymentTrafficStats() }
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
        (table?.routes[hostname]?.targets ?? []).map { "\($0.label)=\($0.deployment.id)@\($0.weight)" }
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

        try await publisher.publish(sites: f.sites)
        #expect(served(edge.last, "a.test") == ["main=d1@1.0"])
        #expect(served(edge.last, "r.test") == ["release=d2@1.0"])
        // staging has no deployment: no route at all.
        #expect(edge.last?.routes["b.test"] == nil)
        #expect(await publisher.hostnames.map(\.hostname) == ["a.test", "r.test"])

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

/// Publishing costs what changed (#13): only the named sites' state is read again, other sites keep
/// their routes as computed, and hostnames two sites make still go to the stronger claim.
struct IncrementalPublishTests {
    static let second = """
        repository: ../t.git
        branches:
          main: { domains: [t.test] }
        previews:
          - branches: "w*"
            domain: "{branch}.shared.test"
        """

    /// A deployment with a Country rule, built on a server with --geoip, is still served by one
    /// restarted without it (the rule then applies to no visitor): a restart never takes a site down.
    @Test func aDeploymentWithACountryRuleIsServedWithoutAGeoIPDatabase() async throws {
        let root = NSTemporaryDirectory() + "canopy-publish-store-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: root) }
        let store = try DeploymentStore(root: root)
        let folder = root + "/src"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try "<p>home</p>".write(toFile: folder + "/index.html", atomically: true, encoding: .utf8)
        try "/  /anz  302  Country=au,nz\n".write(toFile: folder + "/_redirects", atomically: true, encoding: .utf8)
        _ = try store.ingest(directory: folder, id: "d1", site: "s", branch: "main", commit: "c-d1", commitTime: Date())
        let f = try StateFixture()
        try await f.deploy("d1", branch: "main", index: 0)
        let blocking = BlockingExecutor(threads: 1)
        let edge = RecordingEdge()
        #expect(!edge.ruleCapabilities.geoIP)
        let publisher = RoutePublisher(
            state: f.state, store: store, edge: edge, blocking: blocking, logger: Logger(label: "test"))
        try await publisher.publish(sites: f.sites)
        let target = try #require(edge.last?.routes["a.test"]?.targets.first)
        #expect(target.deployment.id == "d1")
        #expect(target.deployment.hasCountryRules)
        try await blocking.shutdown()
    }

    @Test func onlyTheChangedSitesStateIsReadAgain() async throws {
        let root = NSTemporaryDirectory() + "canopy-publish-store-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: root) }
        let store = try DeploymentStore(root: root)
        let f = try StateFixture()
        var sites = f.sites
        sites["t"] = try SitesSpec.parse(Self.second, file: "t.yml", siteName: "t", baseDirectory: "/tmp")
        // Site s: an explicit hostname that site t's preview template also makes (`www.shared.test`).
        sites["s"]!.branches[0].domains.append("www.shared.test")
        let edge = RecordingEdge()
        let blocking = BlockingExecutor(threads: 1)
        defer { Task { try? await blocking.shutdown() } }
        let publisher = RoutePublisher(
            state: f.state, store: store, edge: edge, blocking: blocking, logger: Logger(label: "test"))
        func deploy(_ id: String, site: String, branch: String, index: Int) async throws {
            try RoutePublisherTests().ingest(id, branch: branch, into: store)
            try await f.state.upsertEnvironment(
                site: site, branch: branch, kind: branch.hasPrefix("w") ? "preview" : "branch", headCommit: "c-\(id)")
            _ = try await f.state.recordDeployment(
                DeploymentRecord(
                    id: id, site: site, branch: branch, commit: "c-\(id)", commitMessage: "",
                    commitTime: Date(timeIntervalSince1970: 3_000_000),
                    createdAt: Date(timeIntervalSince1970: 3_000_000 + Double(index)), buildID: "b-\(id)", fileCount: 1,
                    totalBytes: 1), activate: true, reason: "test")
        }
        func serves(_ host: String) -> String? { edge.last?.routes[host]?.targets.first?.deployment.id }

        try await deploy("s1", site: "s", branch: "main", index: 1)
        try await deploy("t1", site: "t", branch: "main", index: 2)
        try await deploy("w1", site: "t", branch: "www", index: 3)
        try await deploy("w2", site: "t", branch: "wiki", index: 4)
        try await publisher.publish(sites: sites)
        #expect(serves("a.test") == "s1" && serves("t.test") == "t1")
        #expect(serves("www.shared.test") == "s1", "an explicit hostname beats another site's preview")
        #expect(serves("wiki.shared.test") == "w2")

        // Both sites get a new deployment, but only t is named: s is not read again.
        try await deploy("s2", site: "s", branch: "main", index: 4)
        try await deploy("t2", site: "t", branch: "main", index: 5)
        try await publisher.publish(sites: sites, changed: ["t"])
        #expect(serves("t.test") == "t2")
        #expect(serves("a.test") == "s1", "s's state was not read: its routes are as computed before")
        // A publish of everything reads it (and staging, connected without a deployment yet).
        try await f.state.upsertEnvironment(site: "s", branch: "staging", kind: "branch", headCommit: "c-x")
        try await publisher.publish(sites: sites)
        #expect(serves("a.test") == "s2")
        #expect(serves("www.shared.test") == "s2")

        // What nothing routes and no branch keeps as its rollback target is unloaded by a publish
        // of its site: s1 after s3 (s2 is main's rollback target).
        #expect(await publisher.served["s1"] != nil, "s1 is main's rollback target")
        try await deploy("s3", site: "s", branch: "main", index: 6)
        try await publisher.publish(sites: sites, changed: ["s"])
        #expect(serves("a.test") == "s3")
        #expect(await publisher.served["s1"] == nil)
        #expect(await publisher.served["s2"] != nil)

        // A split lives in host policies, read at every publish, even when no site is named; it
        // reaches a hostname whose own branch has no deployment yet (staging's b.test).
        try await f.state.setHostPolicies(
            [("b.test", "s", [PolicyTarget(kind: .branch, site: "t", ref: "main", weight: 1)])],
            audit: AuditEntry(actor: "t", action: "split", target: "b.test", before: nil, after: nil))
        try await publisher.publish(sites: sites, changed: [])
        #expect(serves("b.test") == "t2")
        #expect(serves("www.shared.test") == "s3")
        #expect(await publisher.hostnames.first { $0.hostname == "b.test" }?.hasPolicy == true)
        // A site whose Sites file changed is planned again without being named.
        sites["t"]!.branches[0].domains = ["t2.test"]
        try await publisher.publish(sites: sites, changed: [])
        #expect(serves("t.test") == nil && serves("t2.test") == "t2")
    }
}
