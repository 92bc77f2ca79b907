import CanopySpec
import CanopyStore
import Foundation

/// One hostname of the route plan: whose it is and where its traffic goes.
struct RouteEntry: Sendable {
    var hostname: String
    var site: String
    var branch: String
    var kind: String
    var settings: EnvironmentSettings
    var hasPolicy: Bool
    var targets: [ResolvedTarget]
}

/// Every hostname with the deployments it serves and their weights, computed from state alone
/// (pure): the Sites files decide which hostnames exist and whose they are; rollouts, splits and
/// swaps decide where their traffic goes.
struct RoutePlan: Sendable {
    /// By hostname, sorted.
    var entries: [RouteEntry]
    /// Hostnames claimed by a second environment (the first keeps them), described.
    var conflicts: [String]

    init(
        sites: [String: SiteConfig], environments: [EnvironmentRecord], rollouts: [RolloutRecord],
        policies: [HostPolicy], liveDeployments: [DeploymentRecord]
    ) {
        let activeRollouts = Dictionary(
            rollouts.filter(\.status.isActive).map { (EnvironmentKey(site: $0.site, branch: $0.branch), $0) },
            uniquingKeysWith: { a, _ in a })
        let policies = Dictionary(policies.map { ($0.hostname, $0) }, uniquingKeysWith: { a, _ in a })
        // What each live environment serves now (a rollout splits it between old and new).
        var envTargets: [EnvironmentKey: [ResolvedTarget]] = [:]
        for env in environments {
            let key = EnvironmentKey(site: env.site, branch: env.branch)
            envTargets[key] = Self.targets(of: env, rollout: activeRollouts[key])
        }
        var entries: [String: RouteEntry] = [:]
        var conflicts: [String] = []
        // Explicit branches first, so that a preview can never take an explicit hostname.
        let ordered = environments.sorted {
            ($0.kind == "branch" ? 0 : 1, $0.site, $0.branch) < ($1.kind == "branch" ? 0 : 1, $1.site, $1.branch)
        }
        for env in ordered {
            guard let site = sites[env.site], let config = Self.configuration(of: env, in: site) else { continue }
            for hostname in config.domains {
                if let holder = entries[hostname] {
                    conflicts.append(
                        "hostname \(hostname) of \(env.site)/\(env.branch) is already served by \(holder.site)/\(holder.branch); ignored"
                    )
                    continue
                }
                var entry = RouteEntry(
                    hostname: hostname, site: env.site, branch: env.branch, kind: env.kind, settings: config.settings,
                    hasPolicy: false, targets: envTargets[EnvironmentKey(site: env.site, branch: env.branch)] ?? [])
                if let policy = policies[hostname] {
                    entry.hasPolicy = true
                    entry.targets = policy.targets.flatMap { Self.resolve($0, envTargets: envTargets) }
                }
                entries[hostname] = entry
            }
        }
        // Every live deployment's immutable per-commit hostname (newest build of a commit wins).
        // The template is filled once per site and each branch's settings looked up once.
        var makers: [String: SitesSpec.CommitHostnames] = [:]
        var branchSettings: [EnvironmentKey: EnvironmentSettings] = [:]
        for deployment in liveDeployments.sorted(by: { $0.createdAt > $1.createdAt }) {
            guard let site = sites[deployment.site], site.commitDomain != nil else { continue }
            let maker = makers[site.name] ?? SitesSpec.CommitHostnames(site)
            makers[site.name] = maker
            guard let hostname = maker.hostname(commit: deployment.commit), entries[hostname] == nil else { continue }
            let key = EnvironmentKey(site: deployment.site, branch: deployment.branch)
            var settings =
                branchSettings[key]
                ?? SitesSpec.environment(for: deployment.branch, commit: deployment.commit, in: site)?.settings
                ?? EnvironmentSettings()
            branchSettings[key] = settings
            settings.noindex = true
            entries[hostname] = RouteEntry(
                hostname: hostname, site: deployment.site, branch: deployment.branch, kind: "commit",
                settings: settings, hasPolicy: false,
                targets: [ResolvedTarget(label: deployment.id, weight: 1, deployment: deployment.id)])
        }
        self.entries = entries.keys.sorted().compactMap { entries[$0] }
        self.conflicts = conflicts
    }

    /// The entry of `hostname` (any case), or nil.
    func entry(forHostname hostname: String) -> RouteEntry? {
        let name = hostname.lowercased()
        return entries.first { $0.hostname == name }
    }

    /// The Sites-file configuration of a recorded environment (nil: no longer connected).
    static func configuration(of env: EnvironmentRecord, in site: SiteConfig) -> BranchEnvironmentConfig? {
        if env.kind == "pullRequest", env.branch.hasPrefix("pr-"), let number = Int(env.branch.dropFirst(3)) {
            return SitesSpec.pullRequestEnvironment(number: number, in: site)
        }
        return SitesSpec.environment(for: env.branch, commit: env.headCommit ?? "", in: site)
    }

    /// A policy target down to deployments: a pinned deployment as it is, a branch as what that
    /// branch serves now (its share divided the way the branch divides it during a rollout).
    static func resolve(_ target: PolicyTarget, envTargets: [EnvironmentKey: [ResolvedTarget]]) -> [ResolvedTarget] {
        switch target.kind {
        case .deployment:
            return [ResolvedTarget(label: target.ref, weight: target.weight, deployment: target.ref, site: target.site)]
        case .branch:
            let inner = envTargets[EnvironmentKey(site: target.site, branch: target.ref)] ?? []
            let total = inner.reduce(0) { $0 + $1.weight }
            return inner.map {
                ResolvedTarget(
                    label: inner.count == 1 ? target.ref : $0.label,
                    weight: total > 0 ? target.weight * $0.weight / total : 0, deployment: $0.deployment,
                    site: target.site)
            }
        }
    }

    /// An environment's own targets: its active deployment, or during a rollout the new deployment's
    /// share first (so that a growing share only ever moves visitors from old to new) and the old one's.
    static func targets(of env: EnvironmentRecord, rollout: RolloutRecord?) -> [ResolvedTarget] {
        guard env.deletedAt == nil else { return [] }
        if let rollout, rollout.status == .running || rollout.status == .paused, rollout.percent > 0 {
            var targets = [
                ResolvedTarget(
                    label: rollout.toDeployment, weight: Double(rollout.percent), deployment: rollout.toDeployment)
            ]
            if let from = rollout.fromDeployment, rollout.percent < 100 {
                targets.append(ResolvedTarget(label: from, weight: Double(100 - rollout.percent), deployment: from))
            }
            return targets
        }
        guard let active = env.activeDeployment else { return [] }
        return [ResolvedTarget(label: env.branch, weight: 1, deployment: active)]
    }
}
