import CanopyEdge
import CanopySpec
import CanopyStore
import Foundation
import Logging

/// One hostname as operators see it: what it serves and why.
public struct HostnameStatus: Sendable, Codable, Hashable {
    public var hostname: String
    public var site: String
    /// The branch environment whose hostname this is (from the Sites file).
    public var branch: String
    public var kind: String
    /// True when a split or swap (not the Sites file alone) decides its traffic.
    public var hasPolicy: Bool
    public var targets: [Target]

    public struct Target: Sendable, Codable, Hashable {
        /// What `X-Canopy-Target` names to force this target: a branch name or a deployment id.
        public var label: String
        /// Share of traffic, 0…1.
        public var weight: Double
        public var deployment: String
        public var commit: String
    }
}

/// A target resolved down to a deployment.
struct ResolvedTarget: Hashable {
    var label: String
    var weight: Double
    var deployment: String
}

extension Orchestrator {
    // MARK: Routing

    /// A deployment ready to serve, loaded once and kept while anything routes to it.
    /// The Sites file's own redirects and headers are part of how a deployment is served, so a change
    /// to them reloads the deployments of that site.
    func servedDeployment(_ id: String) async throws -> ServedDeployment {
        let storeRoot = store.root
        let manifest: DeploymentManifest
        if let loaded = served[id] {
            manifest = loaded.deployment.manifest
            let rules = siteRules(manifest.site)
            if loaded.rules == rules { return loaded.deployment }
        } else {
            manifest = try await blocking.run { [store] in try store.manifest(id: id) }
        }
        let rules = siteRules(manifest.site)
        let lanes = edge.lanes
        let deployment = try await blocking.run {
            try ServedDeployment.load(
                manifest: manifest, storeRoot: storeRoot,
                siteRules: SiteRules(redirects: rules.redirects, headers: rules.headers), lanes: lanes)
        }
        served[id] = LoadedDeployment(deployment: deployment, rules: rules)
        return deployment
    }

    func siteRules(_ site: String) -> SiteRuleSet {
        SiteRuleSet(redirects: catalog.sites[site]?.redirects ?? [], headers: catalog.sites[site]?.headers ?? [])
    }

    /// Builds the routing table from the state in force and hands it to the edge in one atomic swap.
    func publishRoutes() async throws {
        let plan = try await routePlan()
        var routes: [HostRoute] = []
        var statuses: [HostnameStatus] = []
        for entry in plan {
            var targets: [RouteTarget] = []
            var statusTargets: [HostnameStatus.Target] = []
            for target in entry.targets where target.weight > 0 {
                do {
                    let deployment = try await servedDeployment(target.deployment)
                    targets.append(RouteTarget(label: target.label, weight: target.weight, deployment: deployment))
                    statusTargets.append(
                        .init(
                            label: target.label, weight: target.weight, deployment: target.deployment,
                            commit: deployment.manifest.commit))
                } catch {
                    logger.error("cannot load deployment \(target.deployment) for \(entry.hostname): \(error)")
                }
            }
            guard !targets.isEmpty else { continue }
            let total = targets.reduce(0) { $0 + $1.weight }
            targets = targets.map { RouteTarget(label: $0.label, weight: $0.weight / total, deployment: $0.deployment) }
            statusTargets = statusTargets.map {
                .init(label: $0.label, weight: $0.weight / total, deployment: $0.deployment, commit: $0.commit)
            }
            routes.append(
                HostRoute(
                    hostname: entry.hostname, site: entry.site, environment: entry.branch, targets: targets,
                    password: entry.settings.password, noindex: entry.settings.noindex, tls: entry.settings.tls))
            statuses.append(
                HostnameStatus(
                    hostname: entry.hostname, site: entry.site, branch: entry.branch, kind: entry.kind,
                    hasPolicy: entry.hasPolicy, targets: statusTargets))
        }
        edge.update(RoutingTable(routes: routes))
        await certificates.update(hostnames: routes.map { ($0.hostname, $0.tls.tls) })
        hostnames = statuses
        // Keep loaded what is routed and each branch's rollback target, so that a rollback (or an
        // unpin after one) is a pointer move that never waits for a deployment to load.
        var keep = Set(routes.flatMap { $0.targets.map(\.deployment.manifest.id) })
        var warm: [String] = []
        for env in try await state.environments() where env.activeDeployment != nil {
            let history = try await state.activationHistory(site: env.site, branch: env.branch)
            if let previous = history.first(where: { $0 != env.activeDeployment }) {
                keep.insert(previous)
                if served[previous] == nil { warm.append(previous) }
            }
        }
        served = served.filter { keep.contains($0.key) }
        emit(.routesPublished(hostnames: routes.count))
        for id in warm {
            guard (try? await state.deployment(id: id))?.removedAt == nil else { continue }
            _ = try? await servedDeployment(id)
        }
    }

    struct RouteEntry {
        var hostname: String
        var site: String
        var branch: String
        var kind: String
        var settings: EnvironmentSettings
        var hasPolicy: Bool
        var targets: [ResolvedTarget]
    }

    /// Every hostname with the deployments it serves and their weights: the Sites file decides which
    /// hostnames exist and whose they are; rollouts, splits and swaps decide where their traffic goes.
    func routePlan() async throws -> [RouteEntry] {
        let environments = try await state.environments()
        let rollouts = Dictionary(
            try await state.rollouts(activeOnly: true).map { (EnvironmentKey(site: $0.site, branch: $0.branch), $0) },
            uniquingKeysWith: { a, _ in a })
        let policies = Dictionary(
            try await state.hostPolicies().map { ($0.hostname, $0) }, uniquingKeysWith: { a, _ in a })

        // What each live environment serves now (a rollout splits it between old and new).
        var envTargets: [EnvironmentKey: [ResolvedTarget]] = [:]
        for env in environments {
            let key = EnvironmentKey(site: env.site, branch: env.branch)
            envTargets[key] = Self.targets(of: env, rollout: rollouts[key])
        }

        var entries: [String: RouteEntry] = [:]
        // Explicit branches first, so that a preview can never take an explicit hostname.
        let ordered = environments.sorted {
            ($0.kind == "branch" ? 0 : 1, $0.site, $0.branch) < ($1.kind == "branch" ? 0 : 1, $1.site, $1.branch)
        }
        for env in ordered {
            guard let site = catalog.sites[env.site] else { continue }
            let head = BranchHead(branch: env.branch, commit: env.headCommit ?? "", message: "", time: Date())
            guard
                let config = environmentConfig(site: site, head: env.kind == "pullRequest" ? head.asPullRequest : head)
            else { continue }
            let key = EnvironmentKey(site: env.site, branch: env.branch)
            for hostname in config.domains {
                if let holder = entries[hostname] {
                    logger.warning(
                        "hostname \(hostname) of \(env.site)/\(env.branch) is already served by \(holder.site)/\(holder.branch); ignored"
                    )
                    continue
                }
                var entry = RouteEntry(
                    hostname: hostname, site: env.site, branch: env.branch, kind: env.kind, settings: config.settings,
                    hasPolicy: false, targets: envTargets[key] ?? [])
                if let policy = policies[hostname] {
                    entry.hasPolicy = true
                    entry.targets = policy.targets.flatMap { target -> [ResolvedTarget] in
                        switch target.kind {
                        case .deployment:
                            return [ResolvedTarget(label: target.ref, weight: target.weight, deployment: target.ref)]
                        case .branch:
                            let inner = envTargets[EnvironmentKey(site: target.site, branch: target.ref)] ?? []
                            let total = inner.reduce(0) { $0 + $1.weight }
                            return inner.map {
                                ResolvedTarget(
                                    label: inner.count == 1 ? target.ref : $0.label,
                                    weight: total > 0 ? target.weight * $0.weight / total : 0, deployment: $0.deployment
                                )
                            }
                        }
                    }
                }
                entries[hostname] = entry
            }
        }
        // Every live deployment's immutable per-commit hostname (newest build of a commit wins).
        for deployment in try await state.liveDeployments().sorted(by: { $0.createdAt > $1.createdAt }) {
            guard let site = catalog.sites[deployment.site],
                let hostname = SitesSpec.commitHostname(commit: deployment.commit, in: site), entries[hostname] == nil
            else { continue }
            let owner = SitesSpec.environment(for: deployment.branch, commit: deployment.commit, in: site)
            var settings = owner?.settings ?? EnvironmentSettings()
            settings.noindex = true
            entries[hostname] = RouteEntry(
                hostname: hostname, site: deployment.site, branch: deployment.branch, kind: "commit",
                settings: settings,
                hasPolicy: false, targets: [ResolvedTarget(label: deployment.id, weight: 1, deployment: deployment.id)])
        }
        return entries.keys.sorted().compactMap { entries[$0] }
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

extension BranchHead {
    /// `pr-12` → the pull-request form the Sites spec resolves.
    var asPullRequest: BranchHead {
        var copy = self
        if branch.hasPrefix("pr-"), let number = Int(branch.dropFirst(3)) { copy.pullRequest = number }
        return copy
    }
}
