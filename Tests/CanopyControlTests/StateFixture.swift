import CanopySpec
import CanopyStore
import Foundation

@testable import CanopyControl

/// An in-memory SQLite state with branches and their deployments, and the Sites file of site `s`.
struct StateFixture {
    let state: SQLiteStateStore
    let site: SiteConfig
    private let clock = Date(timeIntervalSince1970: 3_000_000)

    static let sitesFile = """
        repository: ../s.git
        branches:
          main: { domains: [a.test] }
          staging: { domains: [b.test] }
          release: { domains: [r.test] }
        """

    init() throws {
        state = try SQLiteStateStore()
        site = try SitesSpec.parse(Self.sitesFile, file: "s.yml", siteName: "s", baseDirectory: "/tmp")
    }

    var sites: [String: SiteConfig] { ["s": site] }

    /// Records deployment `id` of `branch` (its `index`-th, for ordering) and activates it.
    func deploy(_ id: String, branch: String, index: Int, activate: Bool = true) async throws {
        try await state.upsertEnvironment(site: "s", branch: branch, kind: "branch", headCommit: "c-\(id)")
        let record = DeploymentRecord(
            id: id, site: "s", branch: branch, commit: "c-\(id)", commitMessage: "", commitTime: clock,
            createdAt: clock.addingTimeInterval(Double(index)), buildID: "b-\(id)", fileCount: 1, totalBytes: 1)
        _ = try await state.recordDeployment(record, activate: activate, reason: "test")
    }

    /// The route plan from the state as it is.
    func plan() async throws -> RoutePlan {
        RoutePlan(
            sites: sites, environments: try await state.environments(),
            rollouts: try await state.rollouts(activeOnly: true), policies: try await state.hostPolicies(),
            liveDeployments: try await state.liveDeployments())
    }

    /// What a hostname serves in the plan: `label=deployment@weight`.
    func serves(_ hostname: String) async throws -> [String] {
        try await plan().entry(forHostname: hostname)?.targets.map { "\($0.label)=\($0.deployment)@\($0.weight)" }
            ?? []
    }
}
