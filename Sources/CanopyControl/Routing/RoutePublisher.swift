import CanopyAdminAPI
import CanopyEdge
import CanopySpec
import CanopyStore
import Foundation
import Logging

/// Turns state into routing tables: computes the route plan, loads the deployments it names (once,
/// kept while anything routes to them), and hands the edge one immutable `RoutingTable`.
///
/// The edge is behind `EdgeRouting`, so that publishing can be tested with a fake edge.
package actor RoutePublisher {
    let state: any TrafficStateStore
    let store: DeploymentStore
    let edge: any EdgeRouting
    let blocking: BlockingExecutor
    let logger: Logger

    /// Deployments loaded for serving, by id, with the Sites-file rules they were loaded with.
    private var served: [String: LoadedDeployment] = [:]
    /// What every hostname serves, as last published.
    package private(set) var hostnames: [HostnameStatus] = []
    /// Each branch's rollback target, with the deployment it was looked up for.
    private var rollbackTargets: [EnvironmentKey: RollbackTarget] = [:]
    private struct RollbackTarget {
        var active: String
        var previous: String?
    }
    /// Where each routed hostname's certificate comes from (its `tls:`), as last published.
    private(set) var certificateSources: [CertificateSource] = []
    /// Each site's part of the table with the state it was computed from (see `publish`).
    var perSite: [String: SiteRoutes] = [:]

    /// A deployment loaded for the edge, and the site rules it was loaded with.
    private struct LoadedDeployment {
        var deployment: ServedDeployment
        var rules: SiteRules
    }

    package init(
        state: any TrafficStateStore, store: DeploymentStore, edge: any EdgeRouting, blocking: BlockingExecutor,
        logger: Logger
    ) {
        self.state = state
        self.store = store
        self.edge = edge
        self.blocking = blocking
        self.logger = logger
    }

    /// The route plan from the state in force and the Sites files.
    func plan(sites: [String: SiteConfig], environments: [EnvironmentRecord]? = nil) async throws -> RoutePlan {
        // (publish reads the environments once, for the plan and the rollback targets)
        let known: [EnvironmentRecord]
        if let environments { known = environments } else { known = try await state.environments() }
        return RoutePlan(
            sites: sites, environments: known, rollouts: try await state.rollouts(activeOnly: true),
            policies: try await state.hostPolicies(), liveDeployments: try await state.liveDeployments())
    }

    /// A deployment ready to serve, loaded once and kept while anything routes to it. The Sites
    /// file's own redirects and headers are part of how a deployment is served, so a change to them
    /// reloads that site's deployments.
    func deployment(_ id: String, sites: [String: SiteConfig]) async throws -> ServedDeployment {
        let manifest: DeploymentManifest
        if let loaded = served[id] {
            manifest = loaded.deployment.manifest
            if loaded.rules == Self.rules(of: sites[manifest.site]) { return loaded.deployment }
        } else {
            manifest = try await blocking.run { [store] in try store.manifest(id: id) }
        }
        let rules = Self.rules(of: sites[manifest.site])
        let cache = edge.bodyCache
        let storeRoot = store.root
        let deployment = try await blocking.run {
            try ServedDeployment.load(manifest: manifest, storeRoot: storeRoot, siteRules: rules, cache: cache)
        }
        served[id] = LoadedDeployment(deployment: deployment, rules: rules)
        return deployment
    }

    /// Unloads deployments retention removed.
    func forget(_ ids: [String]) {
        for id in ids { served[id] = nil }
    }

    static func rules(of site: SiteConfig?) -> SiteRules {
        SiteRules(redirects: site?.redirects ?? [], headers: site?.headers ?? [])
    }

    /// Builds the routing table from the state in force and hands it to the edge in one atomic swap.
    /// Returns what every hostname now serves.
    ///
    /// `changed` names the sites whose state changed since the last publish (a build went live, a
    /// rollout stepped, a branch was rolled back or pinned): only their state is read again and only
    /// their hostnames are planned and compiled again, so one push costs what it changed, not a pass
    /// over every hostname. nil reads and plans everything (at start and when the Sites files change).
    /// Splits and swaps live in host policies, which are read at every publish.
    @discardableResult
    package func publish(sites: [String: SiteConfig], changed: Set<String>? = nil) async throws -> [HostnameStatus] {
        let inputs = try await siteInputs(sites: sites, changed: changed)
        perSite = perSite.filter { sites[$0.key] != nil }
        for (name, config) in sites.sorted(by: { $0.key < $1.key }) {
            let input = inputs.fresh[name]
            if let cached = perSite[name], cached.config == config, cached.rollouts == (inputs.rollouts[name] ?? []),
                input == nil || (cached.environments == input!.environments && cached.live == input!.live)
            {
                continue
            }
            guard let input = input ?? perSite[name].map({ SiteInput(environments: $0.environments, live: $0.live) })
            else { continue }
            perSite[name] = await siteRoutes(
                config, input: input, rollouts: inputs.rollouts[name] ?? [], sites: sites)
        }
        let merged = await merge(policies: inputs.policies, sites: sites)
        edge.update(RoutingTable(byHostname: merged.routes))
        hostnames = merged.statuses
        certificateSources = merged.statuses.compactMap { status in
            merged.routes[status.hostname].map {
                CertificateSource(hostname: $0.hostname, site: $0.site, tls: $0.tls.tls)
            }
        }
        try await keepLoaded(
            routed: Set(merged.routes.values.flatMap { $0.targets.map(\.deployment.manifest.id) }),
            environments: perSite.values.flatMap(\.environments), sites: sites)
        return merged.statuses
    }

    /// One hostname's route with its targets loaded and weights normalised; nil when none loads.
    func route(for entry: RouteEntry, sites: [String: SiteConfig]) async -> (HostRoute, HostnameStatus)? {
        var targets: [RouteTarget] = []
        var statusTargets: [HostnameStatus.Target] = []
        for target in entry.targets where target.weight > 0 {
            do {
                let deployment = try await deployment(target.deployment, sites: sites)
                targets.append(RouteTarget(label: target.label, weight: target.weight, deployment: deployment))
                statusTargets.append(
                    .init(
                        label: target.label, weight: target.weight, deployment: target.deployment,
                        commit: deployment.manifest.commit))
            } catch {
                logger.error("cannot load deployment \(target.deployment) for \(entry.hostname): \(error)")
            }
        }
        guard !targets.isEmpty else { return nil }
        let total = targets.reduce(0) { $0 + $1.weight }
        for index in targets.indices {
            targets[index].weight /= total
            statusTargets[index].weight /= total
        }
        let route = HostRoute(
            hostname: entry.hostname, site: entry.site, environment: entry.branch, targets: targets,
            password: entry.settings.password, noindex: entry.settings.noindex, tls: entry.settings.tls)
        let status = HostnameStatus(
            hostname: entry.hostname, site: entry.site, branch: entry.branch, kind: entry.kind,
            hasPolicy: entry.hasPolicy, targets: statusTargets)
        return (route, status)
    }

    /// Keeps loaded what is routed and each branch's rollback target, so that a rollback (or an
    /// unpin after one) is a pointer move that never waits for a deployment to load. A branch's
    /// rollback target is looked up again only when what it serves changed (one query per changed
    /// branch, not one per branch at every publish).
    private func keepLoaded(
        routed: Set<String>, environments: [EnvironmentRecord], sites: [String: SiteConfig]
    ) async throws {
        var keep = routed
        var warm: [String] = []
        var targets: [EnvironmentKey: RollbackTarget] = [:]
        for env in environments {
            guard let active = env.activeDeployment else { continue }
            let key = EnvironmentKey(site: env.site, branch: env.branch)
            var target = rollbackTargets[key]
            if target?.active != active {
                let history = try await state.activationHistory(site: env.site, branch: env.branch)
                target = RollbackTarget(active: active, previous: history.first { $0 != active })
            }
            targets[key] = target
            if let previous = target?.previous {
                keep.insert(previous)
                if served[previous] == nil { warm.append(previous) }
            }
        }
        rollbackTargets = targets
        served = served.filter { keep.contains($0.key) }
        for id in warm {
            guard (try? await state.deployment(id: id))?.removedAt == nil else { continue }
            _ = try? await deployment(id, sites: sites)
        }
    }

}
