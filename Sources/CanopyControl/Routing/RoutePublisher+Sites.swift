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
    var routes: [String: PlannedRoute]
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
        var routes: [String: PlannedRoute] = [:]
        for entry in plan.entries {
            let routed = await route(for: entry, sites: sites)
            routes[entry.hostname] = PlannedRoute(entry: entry, route: routed?.0, status: routed?.1)
        }
        return SiteRoutes(
            config: config, environments: input.environments, live: input.live, rollouts: rollouts, routes: routes)
    }

    /// Replaces a site's part (nil: the site is gone) and its claims; returns the hostnames it made
    /// before or makes now, which are the ones whose route may have changed.
    func setRoutes(_ new: SiteRoutes?, of name: String) -> Set<String> {
        let before = Set(perSite[name]?.routes.keys ?? [String: PlannedRoute]().keys)
        let after = Set(new?.routes.keys ?? [String: PlannedRoute]().keys)
        for host in before.subtracting(after) {
            claimants[host]?.removeAll { $0 == name }
            if claimants[host]?.isEmpty == true { claimants[host] = nil }
        }
        for host in after.subtracting(before) {
            claimants[host, default: []].append(name)
            claimants[host]!.sort()
        }
        perSite[name] = new
        return before.union(after)
    }

    /// The claim that wins a hostname two sites' plans make, as `RoutePlan` decides: the stronger
    /// claim (a branch's own hostname, then a preview's, then a per-commit one), then the site whose
    /// name sorts first. The others are logged.
    func winner(_ host: String) -> PlannedRoute? {
        var best: PlannedRoute?
        for site in claimants[host] ?? [] {
            guard let planned = perSite[site]?.routes[host] else { continue }
            if let holder = best {
                let (kept, ignored) = holder.rank <= planned.rank ? (holder, planned) : (planned, holder)
                logger.warning(
                    "hostname \(host) of \(ignored.entry.site)/\(ignored.entry.branch) is already served by \(kept.entry.site)/\(kept.entry.branch); ignored"
                )
                best = kept
            } else {
                best = planned
            }
        }
        return best
    }

    /// Routes again the hostnames whose claims changed and every hostname a host policy covers (now
    /// or at the last publish): the winning claim's route, its targets replaced by the policy's.
    /// Returns the hostnames routed again and whether any hostname's certificate source changed.
    func apply(
        affected: Set<String>, policies: [HostPolicy], sites: [String: SiteConfig]
    ) async -> (hosts: Set<String>, certificatesChanged: Bool) {
        let byHost = Dictionary(policies.map { ($0.hostname, $0) }, uniquingKeysWith: { a, _ in a })
        let hosts = affected.union(policyHosts).union(byHost.keys)
        policyHosts = Set(byHost.keys)
        let targets = byHost.isEmpty ? [:] : environmentTargets()
        var certificatesChanged = false
        for host in hosts {
            let planned = winner(host)
            var route = planned?.route
            var status = planned?.status
            var published = planned?.entry
            if let policy = byHost[host], var entry = planned?.entry {
                entry.hasPolicy = true
                entry.targets = policy.targets.flatMap { RoutePlan.resolve($0, envTargets: targets) }
                let routed = await self.route(for: entry, sites: sites)
                route = routed?.0
                status = routed?.1
                published = entry
            }
            setEntry(published, of: host)
            for target in table[host]?.targets ?? [] { release(target.deployment.id, from: &routedRefs) }
            for target in route?.targets ?? [] { routedRefs[target.deployment.id, default: 0] += 1 }
            table[host] = route
            statusByHost[host] = status
            let source = route.map { CertificateSource(hostname: $0.hostname, site: $0.site, tls: $0.tls.tls) }
            if certificateSourceByHost[host] != source {
                certificateSourceByHost[host] = source
                certificatesChanged = true
            }
        }
        return (hosts, certificatesChanged)
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
