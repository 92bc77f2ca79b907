import CanopyAdminAPI
import CanopyEdge
import CanopySpec
import CanopyStore
import Foundation

/// One site's part of the routing table, with the state it was computed from: a publish computes a
/// site again only when its Sites file, its environments, its live deployments or its rollouts
/// changed, so one push costs the planning and loading of one site's hostnames.
struct SiteRoutes: Sendable {
    var config: SiteConfig
    var environments: [EnvironmentRecord]
    var live: [DeploymentRecord]
    var rollouts: [RolloutRecord]
    /// The site's hostnames as planned without host policies, with their routes (targets loaded).
    var routes: [PlannedRoute]
}

/// A hostname of one site's plan and what it routes to (nil when none of its targets loads, or it
/// has none yet: a host policy may still give it some).
struct PlannedRoute: Sendable {
    var entry: RouteEntry
    var route: HostRoute?
    var status: HostnameStatus?
    /// Which claim wins when two sites' plans make one hostname (as in `RoutePlan`): a branch's
    /// own hostnames first, then previews and pull requests, then per-commit hostnames.
    var rank: Int {
        switch entry.kind {
        case "branch": return 0
        case "commit": return 2
        default: return 1
        }
    }
}

/// A site's environments and live deployments as read from the state store.
struct SiteInput: Sendable, Equatable {
    var environments: [EnvironmentRecord]
    var live: [DeploymentRecord]
}

extension RoutePublisher {
    /// What a publish reads: host policies and active rollouts every time (a handful of rows), and
    /// the environments and live deployments of the changed sites (of all of them when `changed` is
    /// nil or nothing is cached yet, in one query each).
    func siteInputs(
        sites: [String: SiteConfig], changed: Set<String>?
    ) async throws -> (fresh: [String: SiteInput], rollouts: [String: [RolloutRecord]], policies: [HostPolicy]) {
        let rollouts = Dictionary(grouping: try await state.rollouts(activeOnly: true), by: \.site)
        let policies = try await state.hostPolicies()
        var fresh: [String: SiteInput] = [:]
        if let changed, !perSite.isEmpty {
            for name in sites.keys.sorted() where changed.contains(name) || perSite[name] == nil {
                fresh[name] = SiteInput(
                    environments: try await state.environments(site: name),
                    live: try await state.deployments(site: name, branch: nil, includeRemoved: false))
            }
        } else {
            let environments = Dictionary(grouping: try await state.environments(), by: \.site)
            let live = Dictionary(grouping: try await state.liveDeployments(), by: \.site)
            for name in sites.keys {
                fresh[name] = SiteInput(environments: environments[name] ?? [], live: live[name] ?? [])
            }
        }
        return (fresh, rollouts, policies)
    }

    /// One site planned alone and its routes loaded; its internal conflicts are logged.
    func siteRoutes(
        _ config: SiteConfig, input: SiteInput, rollouts: [RolloutRecord], sites: [String: SiteConfig]
    ) async -> SiteRoutes {
        let plan = RoutePlan(
            sites: [config.name: config], environments: input.environments, rollouts: rollouts, policies: [],
            liveDeployments: input.live)
        for conflict in plan.conflicts { logger.warning("\(conflict)") }
        var routes: [PlannedRoute] = []
        for entry in plan.entries {
            let routed = await route(for: entry, sites: sites)
            routes.append(PlannedRoute(entry: entry, route: routed?.0, status: routed?.1))
        }
        return SiteRoutes(
            config: config, environments: input.environments, live: input.live, rollouts: rollouts, routes: routes)
    }

    /// Every site's routes in one table: a hostname two sites make goes to the stronger claim (then
    /// the site whose name sorts first), as `RoutePlan` decides; host policies (splits, swaps) then
    /// replace the targets of their hostnames. Statuses are sorted by hostname.
    func merge(
        policies: [HostPolicy], sites: [String: SiteConfig]
    ) async -> (routes: [String: HostRoute], statuses: [HostnameStatus]) {
        var winners: [String: PlannedRoute] = [:]
        for name in perSite.keys.sorted() {
            for planned in perSite[name]!.routes {
                let host = planned.entry.hostname
                if let holder = winners[host] {
                    if holder.rank <= planned.rank {
                        logger.warning(
                            "hostname \(host) of \(planned.entry.site)/\(planned.entry.branch) is already served by \(holder.entry.site)/\(holder.entry.branch); ignored"
                        )
                        continue
                    }
                }
                winners[host] = planned
            }
        }
        var routes = winners.compactMapValues(\.route)
        var statuses = winners.compactMapValues(\.status)
        if !policies.isEmpty {
            let targets = environmentTargets()
            for policy in policies {
                guard var entry = winners[policy.hostname]?.entry else { continue }
                entry.hasPolicy = true
                entry.targets = policy.targets.flatMap { RoutePlan.resolve($0, envTargets: targets) }
                if let (route, status) = await route(for: entry, sites: sites) {
                    routes[policy.hostname] = route
                    statuses[policy.hostname] = status
                } else {
                    routes[policy.hostname] = nil
                    statuses[policy.hostname] = nil
                }
            }
        }
        return (routes, statuses.keys.sorted().map { statuses[$0]! })
    }

    /// What each environment serves now (a rollout splits it), for resolving policy targets.
    func environmentTargets() -> [EnvironmentKey: [ResolvedTarget]] {
        var targets: [EnvironmentKey: [ResolvedTarget]] = [:]
        for site in perSite.values {
            let rollouts = Dictionary(
                site.rollouts.map { (EnvironmentKey(site: $0.site, branch: $0.branch), $0) },
                uniquingKeysWith: { a, _ in a })
            for env in site.environments {
                let key = EnvironmentKey(site: env.site, branch: env.branch)
                targets[key] = RoutePlan.targets(of: env, rollout: rollouts[key])
            }
        }
        return targets
    }
}
