import CanopySpec
import CanopyStore
import Foundation
import Logging

extension Orchestrator {
    // MARK: Retention

    /// Removes deployments no longer wanted: beyond each branch's retention count (default 10), and
    /// every deployment of a branch deleted longer ago than the site's `deletedBranchRetention`.
    /// Never one that serves, rolls out, or a split or swap points at. Blobs still used by a kept
    /// deployment stay. Returns the ids removed.
    @discardableResult
    func applyRetention(now: Date = Date()) async throws -> [String] {
        // Before reading what is live: a deployment recorded after this is kept by the collection.
        let mark = store.garbageCollectionMark()
        let environments = try await state.environments(includeDeleted: true)
        let live = try await state.liveDeployments()
        var protected = Set<String>()
        for env in environments { if let active = env.activeDeployment { protected.insert(active) } }
        for rollout in try await state.rollouts(activeOnly: true) {
            protected.insert(rollout.toDeployment)
            if let from = rollout.fromDeployment { protected.insert(from) }
        }
        for policy in try await state.hostPolicies() {
            for target in policy.targets where target.kind == .deployment { protected.insert(target.ref) }
        }
        var remove: [String] = []
        let byBranch = Dictionary(grouping: live) { EnvironmentKey(site: $0.site, branch: $0.branch) }
        for (key, deployments) in byBranch {
            let env = environments.first { $0.site == key.site && $0.branch == key.branch }
            let site = catalog.sites[key.site]
            let newestFirst = deployments.sorted { $0.createdAt > $1.createdAt }
            if let deletedAt = env?.deletedAt, let site,
                now.timeIntervalSince(deletedAt) >= Double(site.deletedBranchRetentionSeconds)
            {
                remove += newestFirst.map(\.id).filter { !protected.contains($0) }
                continue
            }
            let keep: Int
            if let site, let config = SitesSpec.environment(for: key.branch, commit: nil, in: site) {
                keep = config.settings.retention ?? site.retention
            } else {
                keep = site?.retention ?? 10
            }
            remove += newestFirst.dropFirst(max(1, keep)).map(\.id).filter { !protected.contains($0) }
        }
        let pruned = try await pruneBuildFolders(environments: environments, live: live)
        if pruned > 0 { logger.info("retention removed the folders of \(pruned) old builds") }
        guard !remove.isEmpty else { return [] }
        try await state.markDeploymentsRemoved(remove, at: now)
        let keepIDs = Set(live.map(\.id)).subtracting(remove)
        let freed = try await blocking.run { [store] in try store.collectGarbage(keeping: keepIDs, since: mark) }
        await routes.forget(remove)
        logger.info(
            "retention removed \(remove.count) deployments; freed \(freed.freedBytes) bytes in \(freed.removedBlobs) blobs"
        )
        try await publishRoutes()
        return remove
    }
}
