import CanopyStore
import Foundation
import Testing

@testable import CanopyControl

/// Splits, swaps, rollbacks and pins against the real SQLite store (in memory), without an edge.
struct TrafficControllerTests {
    @Test func aSplitSendsWeightsToBranchesAndDeployments() async throws {
        let f = try StateFixture()
        try await f.deploy("d1", branch: "main", index: 1)
        try await f.deploy("d2", branch: "release", index: 2)
        let traffic = TrafficController(state: f.state)
        let entry = try TrafficController.entry(forHostname: "A.test", in: try await f.plan())
        try await traffic.split(entry, weights: [("main", 90), ("release", 10)], actor: "ops")
        #expect(try await f.serves("a.test") == ["main=d1@90.0", "release=d2@10.0"])
        // A deployment id is pinned: it keeps serving after its branch moves on.
        try await traffic.split(entry, weights: [("main", 1), ("d2", 1)], actor: "ops")
        try await f.deploy("d3", branch: "release", index: 3)
        #expect(try await f.serves("a.test") == ["main=d1@1.0", "d2=d2@1.0"])
        await #expect(throws: TrafficError.self) {
            try await traffic.split(entry, weights: [("main", 0)], actor: "ops")
        }
        await #expect(throws: TrafficError.self) {
            try await traffic.split(entry, weights: [("nothing", 1)], actor: "ops")
        }
        try await traffic.clearPolicy(entry, actor: "ops")
        #expect(try await f.serves("a.test") == ["main=d1@1.0"])
        #expect(try await f.state.auditLog().map(\.action) == ["split-clear", "split", "split"])
    }

    @Test func aSwapExchangesTargetsAndASecondSwapUndoesIt() async throws {
        let f = try StateFixture()
        try await f.deploy("d1", branch: "main", index: 1)
        try await f.deploy("d2", branch: "staging", index: 2)
        let traffic = TrafficController(state: f.state)
        let changed = try await traffic.swap(
            "a.test", "s/staging", plan: try await f.plan(), sites: ["s"], actor: "ops")
        #expect(changed == ["a.test", "b.test"])
        // Each side follows the other's branch (not a frozen deployment).
        #expect(try await f.serves("a.test") == ["staging=d2@1.0"])
        #expect(try await f.serves("b.test") == ["main=d1@1.0"])
        try await f.deploy("d3", branch: "staging", index: 3)
        #expect(try await f.serves("a.test") == ["staging=d3@1.0"])
        // Swapping back leaves no policy at all.
        _ = try await traffic.swap("a.test", "b.test", plan: try await f.plan(), sites: ["s"], actor: "ops")
        #expect(try await f.state.hostPolicies().isEmpty)
        #expect(try await f.serves("a.test") == ["main=d1@1.0"])
        await #expect(throws: TrafficError.self) {
            _ = try await traffic.swap("a.test", "s/main", plan: try await f.plan(), sites: ["s"], actor: "ops")
        }
    }

    @Test func swapChangesArePure() throws {
        func entry(_ host: String, _ branch: String, _ targets: [ResolvedTarget]) -> RouteEntry {
            RouteEntry(
                hostname: host, site: "s", branch: branch, kind: "branch", settings: .init(), hasPolicy: false,
                targets: targets)
        }
        let a = entry("a.test", "main", [ResolvedTarget(label: "main", weight: 1, deployment: "d1")])
        // b serves a deployment that is no live branch: a gets that deployment, pinned.
        let b = entry("b.test", "staging", [ResolvedTarget(label: "d9", weight: 1, deployment: "d9")])
        let changes = try TrafficController.swapChanges(left: [a], right: [b]) { _, label in label == "main" }
        #expect(changes.map(\.hostname) == ["a.test", "b.test"])
        #expect(changes[0].targets == [PolicyTarget(kind: .deployment, site: "s", ref: "d9", weight: 1)])
        #expect(changes[1].targets == [PolicyTarget(kind: .branch, site: "s", ref: "main", weight: 1)])
    }

    /// Issue #15: a cross-site swap could not be undone by swapping again (the second swap gave
    /// each hostname the other site's branch a second time).
    @Test func aCrossSiteSwapIsUndoneBySwappingAgain() throws {
        func entry(_ host: String, _ site: String, _ targets: [ResolvedTarget]) -> RouteEntry {
            RouteEntry(
                hostname: host, site: site, branch: "main", kind: "branch", settings: .init(), hasPolicy: false,
                targets: targets)
        }
        let live: (String, String) -> Bool = { _, label in label == "main" }
        let a = entry("a.test", "alpha", [ResolvedTarget(label: "main", weight: 1, deployment: "dA")])
        let b = entry("b.test", "beta", [ResolvedTarget(label: "main", weight: 1, deployment: "dB")])
        let first = try TrafficController.swapChanges(left: [a], right: [b], isLiveBranch: live)
        #expect(first[0].targets == [PolicyTarget(kind: .branch, site: "beta", ref: "main", weight: 1)])
        #expect(first[1].targets == [PolicyTarget(kind: .branch, site: "alpha", ref: "main", weight: 1)])
        // What the plan resolves after the first swap: each hostname serves the other site's main.
        let resolvedA = RoutePlan.resolve(
            first[0].targets![0],
            envTargets: [
                EnvironmentKey(site: "beta", branch: "main"): [
                    ResolvedTarget(label: "main", weight: 1, deployment: "dB")
                ]
            ])
        let resolvedB = RoutePlan.resolve(
            first[1].targets![0],
            envTargets: [
                EnvironmentKey(site: "alpha", branch: "main"): [
                    ResolvedTarget(label: "main", weight: 1, deployment: "dA")
                ]
            ])
        #expect(resolvedA.first?.site == "beta" && resolvedA.first?.deployment == "dB")
        let second = try TrafficController.swapChanges(
            left: [entry("a.test", "alpha", resolvedA)], right: [entry("b.test", "beta", resolvedB)], isLiveBranch: live
        )
        #expect(second.map(\.targets) == [nil, nil], "each hostname is back on its own branch, with no policy")
        #expect(TrafficController.describe(resolvedA) == "beta/main=100%→dB")
    }

    @Test func aRollbackGoesToThePreviousDeploymentAndPins() async throws {
        let f = try StateFixture()
        for (index, id) in ["d1", "d2", "d3"].enumerated() { try await f.deploy(id, branch: "main", index: index) }
        let traffic = TrafficController(state: f.state)
        let key = EnvironmentKey(site: "s", branch: "main")
        // A rollout in progress is abandoned by the rollback.
        try await f.state.saveRollout(
            RolloutRecord(
                site: "s", branch: "main", fromDeployment: "d2", toDeployment: "d3", strategy: "", percent: 10,
                status: .running, startedAt: Date(), nextStepAt: nil))
        #expect(try await traffic.rollback(key, to: nil, actor: "ops") == "d2")
        #expect(try await f.serves("a.test") == ["main=d2@1.0"])
        #expect(try await f.state.rollout(site: "s", branch: "main")?.status == .aborted)
        let env = try #require(try await f.state.environment(site: "s", branch: "main"))
        #expect(env.pinned)
        // Pinned: a new build is kept, not activated.
        try await f.deploy("d4", branch: "main", index: 4)
        #expect(try await f.serves("a.test") == ["main=d2@1.0"])
        // Rolling back again goes to what served before (d3), not further down.
        #expect(try await traffic.rollback(key, to: nil, actor: "ops") == "d3")
        #expect(try await traffic.rollback(key, to: "d1", actor: "ops") == "d1")
        // Unpinning serves the newest deployment.
        let (unpinned, activated) = try await traffic.setPinned(key, pinned: false, actor: "ops")
        #expect(!unpinned.pinned)
        #expect(activated == "d4")
        #expect(try await f.serves("a.test") == ["main=d4@1.0"])
    }

    @Test func aRollbackToAnotherBranchsDeploymentIsRefused() async throws {
        let f = try StateFixture()
        try await f.deploy("d1", branch: "main", index: 1)
        try await f.deploy("d2", branch: "main", index: 2)
        try await f.deploy("p1", branch: "release", index: 3)
        let traffic = TrafficController(state: f.state)
        let key = EnvironmentKey(site: "s", branch: "main")
        let error = await #expect(throws: TrafficError.self) {
            try await traffic.rollback(key, to: "p1", actor: "ops")
        }
        #expect(
            error?.description.contains("built from branch release, not main") == true, "\(String(describing: error))")
        #expect(try await f.serves("a.test") == ["main=d2@1.0"], "production keeps serving its own build")
        #expect(try await f.state.environment(site: "s", branch: "main")?.pinned == false)
        #expect(try await traffic.rollback(key, to: "d1", actor: "ops") == "d1")
    }

    @Test func theRollbackTargetIsTheLatestOtherLiveDeployment() {
        #expect(
            TrafficController.rollbackTarget(active: "d3", history: ["d3", "d2", "d1"], live: ["d1", "d2"]) == "d2")
        #expect(
            TrafficController.rollbackTarget(active: "d3", history: ["d3", "d2", "d1"], live: ["d1", "d3"]) == "d1")
        #expect(TrafficController.rollbackTarget(active: "d1", history: ["d1"], live: ["d1"]) == nil)
    }
}
