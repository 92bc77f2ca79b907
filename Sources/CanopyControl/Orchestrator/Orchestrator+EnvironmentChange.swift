import CanopySpec
import CanopyStore
import Foundation
import Logging

extension Orchestrator {
    // MARK: Rebuilds when the Sites file changes what a build sees

    /// What a branch's build reads from the Sites file: its environment (the site's `env` with the
    /// branch's own over it), the appRoot and skipBackend. A change to any rebuilds the branch.
    struct BuildInputs: Equatable {
        var environment: [String: String]
        var appRoot: String?
        var skipBackend: Bool

        init(site: SiteConfig, config: BranchEnvironmentConfig) {
            environment = site.env.merging(config.settings.env) { _, branch in branch }
            appRoot = site.appRoot
            skipBackend = site.skipBackend
        }
    }

    /// Builds again, from the commit each serves, every connected branch whose build inputs the
    /// reloaded Sites files changed (as Amplify rebuilds when an environment variable changes).
    /// Branches that are new to a Sites file are left to the next scan, which builds them.
    func rebuildBranchesWhoseBuildInputsChanged(before: [String: SiteConfig]) async {
        for (name, site) in catalog.sites.sorted(by: { $0.key < $1.key }) {
            guard let old = before[name], old != site else { continue }
            let environments = (try? await state.environments(site: name)) ?? []
            for env in environments where env.deletedAt == nil {
                guard let commit = env.headCommit else { continue }
                var head = BranchHead(branch: env.branch, commit: commit, message: "", time: Date())
                if env.kind == "pullRequest" { head = head.asPullRequest }
                guard let was = environmentConfig(site: old, head: head),
                    let now = environmentConfig(site: site, head: head),
                    BuildInputs(site: old, config: was) != BuildInputs(site: site, config: now)
                else { continue }
                logger.info(
                    "the Sites file changed what this branch's build sees (env, appRoot or skipBackend): building \(commit.prefix(7)) again",
                    metadata: ["site": "\(name)", "branch": "\(env.branch)"])
                do {
                    _ = try await triggerBuild(site: name, branch: env.branch, actor: "Sites file \(site.file)")
                } catch {
                    logger.error(
                        "cannot rebuild after the Sites file changed: \(error)",
                        metadata: ["site": "\(name)", "branch": "\(env.branch)"])
                }
            }
        }
    }
}
