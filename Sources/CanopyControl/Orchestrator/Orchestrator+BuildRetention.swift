import CanopySpec
import CanopyStore
import Foundation

extension Orchestrator {
    // MARK: Build folders

    /// Removes the folders (log, test reports, anything a failed build left) of finished builds
    /// beyond each branch's retention count, newest kept, except builds whose deployment is still
    /// live. The builds' records stay; `canopy logs` then says the log was pruned. Returns how many
    /// folders were removed.
    @discardableResult
    func pruneBuildFolders(environments: [EnvironmentRecord], live: [DeploymentRecord]) async throws -> Int {
        let liveBuilds = Set(live.map(\.buildID))
        var prune: [String] = []
        for env in environments {
            let site = catalog.sites[env.site]
            var keep = site?.retention ?? 10
            if let site, let config = SitesSpec.environment(for: env.branch, commit: nil, in: site) {
                keep = config.settings.retention ?? site.retention
            }
            let builds = try await state.builds(site: env.site, branch: env.branch, limit: 10_000)
            prune += builds.filter(\.status.isFinished).dropFirst(max(1, keep)).map(\.id)
                .filter { !liveBuilds.contains($0) }
        }
        let folders = prune.map { data.buildDirectory($0) }
        return try await blocking.run {
            var removed = 0
            for folder in folders where FileManager.default.fileExists(atPath: folder) {
                if (try? FileManager.default.removeItem(atPath: folder)) != nil { removed += 1 }
            }
            return removed
        }
    }
}
