import Foundation
import Testing

@testable import CanopyControl
@testable import CanopyStore

struct RoutePlanTests {
    let env = EnvironmentRecord(
        site: "s", branch: "main", kind: "branch", headCommit: "c", activeDeployment: "d1", updatedAt: Date())

    @Test func anEnvironmentServesItsActiveDeployment() {
        #expect(
            RoutePlan.targets(of: env, rollout: nil) == [ResolvedTarget(label: "main", weight: 1, deployment: "d1")])
    }

    @Test func aRolloutPutsTheNewDeploymentsShareFirst() {
        let rollout = RolloutRecord(
            site: "s", branch: "main", fromDeployment: "d1", toDeployment: "d2", strategy: "linear", percent: 30,
            status: .running, startedAt: Date(), nextStepAt: nil)
        // New first: a growing share only ever moves visitors from old to new.
        #expect(
            RoutePlan.targets(of: env, rollout: rollout) == [
                ResolvedTarget(label: "d2", weight: 30, deployment: "d2"),
                ResolvedTarget(label: "d1", weight: 70, deployment: "d1"),
            ])
        var checking = rollout
        checking.status = .checking
        checking.percent = 0
        #expect(
            RoutePlan.targets(of: env, rollout: checking) == [
                ResolvedTarget(label: "main", weight: 1, deployment: "d1")
            ])
    }

    @Test func aDeletedBranchServesNothing() {
        var deleted = env
        deleted.deletedAt = Date()
        #expect(RoutePlan.targets(of: deleted, rollout: nil).isEmpty)
    }
}

struct StateStoreTests {
    @Test func activationIsRecordedAndHistoryGoesNewestFirst() async throws {
        let state = try SQLiteStateStore()
        try await state.upsertEnvironment(site: "s", branch: "main", kind: "branch", headCommit: "c1")
        for (i, id) in ["d1", "d2", "d3"].enumerated() {
            let record = DeploymentRecord(
                id: id, site: "s", branch: "main", commit: "c\(i)", commitMessage: "", commitTime: Date(),
                createdAt: Date().addingTimeInterval(Double(i)), buildID: "b\(i)", fileCount: 1, totalBytes: 1)
            #expect(try await state.recordDeployment(record, activate: true, reason: "test"))
        }
        #expect(try await state.environment(site: "s", branch: "main")?.activeDeployment == "d3")
        try await state.activate(site: "s", branch: "main", deployment: "d1", reason: "rollback")
        #expect(try await state.activationHistory(site: "s", branch: "main") == ["d1", "d3", "d2"])
        // Pinned: a new deployment is recorded but not activated.
        try await state.setPinned(site: "s", branch: "main", pinned: true)
        let d4 = DeploymentRecord(
            id: "d4", site: "s", branch: "main", commit: "c4", commitMessage: "", commitTime: Date(), createdAt: Date(),
            buildID: "b4", fileCount: 1, totalBytes: 1)
        #expect(try await state.recordDeployment(d4, activate: true, reason: "test") == false)
        #expect(try await state.environment(site: "s", branch: "main")?.activeDeployment == "d1")
    }

    @Test func policiesAndTheAuditEntryAreWrittenTogether() async throws {
        let state = try SQLiteStateStore()
        try await state.setHostPolicies(
            [("a.test", "s", [PolicyTarget(kind: .branch, site: "s", ref: "main", weight: 90)]), ("b.test", "s", nil)],
            audit: AuditEntry(actor: "me", action: "split", target: "a.test", before: "x", after: "y"))
        #expect(try await state.hostPolicies().map(\.hostname) == ["a.test"])
        #expect(try await state.auditLog().first?.action == "split")
    }

    @Test func unfinishedBuildsAreAbandonedOnRestart() async throws {
        let state = try SQLiteStateStore()
        try await state.insertBuild(
            BuildRecord(
                id: "b1", site: "s", branch: "main", commit: "c", commitMessage: "", status: .running, queuedAt: Date(),
                logPath: "/dev/null"))
        try await state.insertBuild(
            BuildRecord(
                id: "b2", site: "s", branch: "main", commit: "d", commitMessage: "", status: .queued, queuedAt: Date(),
                logPath: "/dev/null"))
        #expect(try await state.unfinishedBuilds().map(\.id).sorted() == ["b1", "b2"])
        let abandoned = try await state.abandonUnfinishedBuilds()
        #expect(abandoned.map(\.id).sorted() == ["b1", "b2"])
        // The running one was interrupted (and counts against its commit's retries); the queued one never ran.
        #expect(try await state.build(id: "b1")?.status == .interrupted)
        #expect(try await state.build(id: "b2")?.status == .cancelled)
        #expect(try await state.interruptedBuilds(site: "s", branch: "main", commit: "c") == 1)
        #expect(try await state.interruptedBuilds(site: "s", branch: "main", commit: "d") == 0)
    }
}
