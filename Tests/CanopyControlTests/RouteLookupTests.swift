import CanopySpec
import CanopyStore
import Foundation
import Logging
import Testing

@testable import CanopyControl

/// Operator actions (split, swap, rollback, pin) resolve their names against what the route
/// publisher last published, not a route plan built from the whole state store on each action:
/// the published entries must be the plan's, a host policy applied, and follow each publish.
struct RouteLookupTests {
    func described(_ entry: RouteEntry?) -> String? {
        entry.map { e in
            "\(e.hostname) \(e.site)/\(e.branch) \(e.kind) policy=\(e.hasPolicy) "
                + e.targets.map { "\($0.label)=\($0.deployment)@\($0.weight)" }.joined(separator: ",")
        }
    }

    @Test func thePublishedEntriesAreThePlansAndFollowEachPublish() async throws {
        let root = NSTemporaryDirectory() + "canopy-lookup-store-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: root) }
        let store = try DeploymentStore(root: root)
        let f = try StateFixture()
        for (index, (id, branch)) in [("d1", "main"), ("d2", "release")].enumerated() {
            try RoutePublisherTests().ingest(id, branch: branch, into: store)
            try await f.deploy(id, branch: branch, index: index)
        }
        try await f.state.upsertEnvironment(site: "s", branch: "staging", kind: "branch", headCommit: "c-x")
        let blocking = BlockingExecutor(threads: 1)
        let publisher = RoutePublisher(
            state: f.state, store: store, edge: RecordingEdge(), blocking: blocking, logger: Logger(label: "test"))
        func agrees() async throws {
            let plan = try await f.plan()
            let lookup = await publisher.lookup
            for host in ["a.test", "b.test", "r.test", "A.Test", "none.test"] {
                #expect(
                    described(lookup.entry(forHostname: host)) == described(plan.entry(forHostname: host)), "\(host)")
            }
            for branch in ["main", "staging", "release", "gone"] {
                #expect(
                    lookup.entries(site: "s", branch: branch).map(described)
                        == plan.entries(site: "s", branch: branch).map(described), "\(branch)")
            }
        }

        try await publisher.publish(sites: f.sites)
        try await agrees()
        #expect(await publisher.lookup.entry(forHostname: "a.test")?.targets.map(\.deployment) == ["d1"])
        // A split on a.test: its entry carries the policy's targets.
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
        try await publisher.publish(sites: f.sites, changed: [])
        try await agrees()
        #expect(await publisher.lookup.entry(forHostname: "a.test")?.hasPolicy == true)
        // A deleted branch's hostnames go from the lookup at the next publish.
        try await f.state.markEnvironmentDeleted(site: "s", branch: "release")
        try await publisher.publish(sites: f.sites, changed: ["s"])
        try await agrees()
        #expect(await publisher.lookup.entries(site: "s", branch: "release").isEmpty)
        try await blocking.shutdown()
    }
}
