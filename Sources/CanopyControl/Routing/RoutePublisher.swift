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
    private(set) var served: [String: LoadedDeployment] = [:]
    /// Each branch's rollback target, with the deployment it was looked up for.
    var rollbackTargets: [EnvironmentKey: RollbackTarget] = [:]
    struct RollbackTarget {
        var active: String
        var previous: String?
    }

    // The table as last published, kept between publishes so that a change is applied to the
    // hostnames it touches (see `publish`).
    /// Each site's part of the table with the state it was computed from.
    var perSite: [String: SiteRoutes] = [:]
    /// The sites whose plans make each hostname, by site name.
    var claimants: [String: [String]] = [:]
    /// What the edge serves and what `canopy status` shows, by hostname.
    var table: [String: HostRoute] = [:]
    var statusByHost: [String: HostnameStatus] = [:]
    /// Where each routed hostname's certificate comes from (its `tls:`).
    var certificateSourceByHost: [String: CertificateSource] = [:]
    /// The hostnames a host policy covered at the last publish.
    var policyHosts: Set<String> = []
    /// Each routed hostname's entry as last published (the winning claim, a host policy applied),
    /// and the hostnames of each branch: what operator actions resolve names against.
    var entryByHost: [String: RouteEntry] = [:]
    var hostsByEnvironment: [EnvironmentKey: Set<String>] = [:]
    /// How many routed targets name each deployment, and how many branches keep it as their
    /// rollback target: a deployment stays loaded while either counts it.
    var routedRefs: [String: Int] = [:]
    var rollbackRefs: [String: Int] = [:]
    /// Deployments whose count fell to zero since the last prune.
    var released: Set<String> = []

    /// What every hostname serves, as last published, by hostname.
    package var hostnames: [HostnameStatus] { statusByHost.keys.sorted().map { statusByHost[$0]! } }
    /// Where each routed hostname's certificate comes from, by hostname.
    var certificateSources: [CertificateSource] {
        certificateSourceByHost.keys.sorted().map { certificateSourceByHost[$0]! }
    }

    /// A deployment loaded for the edge, and the site rules it was loaded with.
    struct LoadedDeployment {
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

    /// A deployment ready to serve, loaded once and kept while anything routes to it. The Sites
    /// file's own redirects and headers are part of how a deployment is served, so a change to them
    /// reloads that site's deployments.
    /// `manifest`: the deployment's manifest when the caller has it (a build that just ingested it),
    /// so that it is not read and decoded again.
    func deployment(
        _ id: String, sites: [String: SiteConfig], manifest known: DeploymentManifest? = nil
    ) async throws -> ServedDeployment {
        if let loaded = served[id], loaded.rules == Self.rules(of: sites[loaded.deployment.site]) {
            return loaded.deployment
        }
        // (a served deployment keeps no manifest: a change of its site's rules reads it again)
        let manifest: DeploymentManifest
        if let known, known.id == id {
            manifest = known
        } else {
            manifest = try await blocking.run { [store] in try store.manifest(id: id) }
        }
        let rules = Self.rules(of: sites[manifest.site])
        let cache = edge.bodyCache
        let storeRoot = store.root
        // A deployment's rules were checked by its build, on a server with its capabilities. One
        // served by a server without them (restarted without --geoip) keeps serving: a rule whose
        // condition cannot be evaluated applies to no visitor, and the log says so.
        let deployment = try await blocking.run {
            try ServedDeployment.load(
                manifest: manifest, storeRoot: storeRoot, siteRules: rules, cache: cache,
                capabilities: RuleCapabilities(geoIP: true))
        }
        if deployment.hasCountryRules && !edge.ruleCapabilities.geoIP {
            logger.warning(
                "deployment \(id) of \(manifest.site) has rules with a Country condition, and this server has no GeoIP database (canopy serve --geoip FILE): they apply to no visitor"
            )
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

    /// What a publish changed, for the caller.
    package struct Published: Sendable {
        /// What every hostname serves now, by hostname.
        package var statuses: [String: HostnameStatus]
        /// Whether any hostname's certificate source (hostname, site, `tls:`) came, went or changed.
        package var certificateSourcesChanged: Bool
    }

    /// Builds the routing table from the state in force and hands it to the edge in one atomic swap.
    ///
    /// `changed` names the sites whose state changed since the last publish (a build went live, a
    /// rollout stepped, a branch was rolled back or unpinned): only their state is read again, and
    /// only the hostnames they make (and those with host policies) are planned, loaded and compiled
    /// again, so one push costs what it changed, not a pass over every hostname. nil reads and plans
    /// everything (at start and when the Sites files change). Host policies (splits, swaps) and
    /// rollouts are read at every publish; a site whose rollouts or Sites file changed is planned again.
    @discardableResult
    package func publish(sites: [String: SiteConfig], changed: Set<String>? = nil) async throws -> Published {
        let inputs = try await siteInputs(sites: sites, changed: changed)
        var affected: Set<String> = []
        var replanned: [String] = []
        for name in perSite.keys.sorted() where sites[name] == nil {
            affected.formUnion(setRoutes(nil, of: name))
            replanned.append(name)
        }
        for (name, config) in sites.sorted(by: { $0.key < $1.key }) {
            let input = inputs.fresh[name]
            if let cached = perSite[name], cached.config == config, cached.rollouts == (inputs.rollouts[name] ?? []),
                input == nil || (cached.environments == input!.environments && cached.live == input!.live)
            {
                continue
            }
            guard let input = input ?? perSite[name].map({ SiteInput(environments: $0.environments, live: $0.live) })
            else { continue }
            let routes = await siteRoutes(config, input: input, rollouts: inputs.rollouts[name] ?? [], sites: sites)
            affected.formUnion(setRoutes(routes, of: name))
            replanned.append(name)
        }
        let (routed, certificatesChanged) = await apply(affected: affected, policies: inputs.policies, sites: sites)
        // The edge compiles again only what was routed again (all of it for a first or full publish).
        edge.update(RoutingTable(byHostname: table, changed: changed == nil ? nil : routed))
        try await keepLoaded(replanned: replanned, everything: changed == nil, sites: sites)
        return Published(statuses: statusByHost, certificateSourcesChanged: certificatesChanged)
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
                        commit: deployment.commit))
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
    /// unpin after one) is a pointer move that never waits for a deployment to load. The rollback
    /// targets of the replanned sites' branches are looked up again only where what a branch serves
    /// changed (one query per changed branch); deployments nothing counts any more are unloaded.
    private func keepLoaded(replanned: [String], everything: Bool, sites: [String: SiteConfig]) async throws {
        let sitesNow = Set(replanned)
        let dropped = rollbackTargets.filter { everything || sitesNow.contains($0.key.site) }
        for (key, target) in dropped {
            rollbackTargets[key] = nil
            if let previous = target.previous { release(previous, from: &rollbackRefs) }
        }
        var warm: [String] = []
        let environments =
            everything ? perSite.values.flatMap(\.environments) : replanned.flatMap { perSite[$0]?.environments ?? [] }
        for env in environments {
            guard let active = env.activeDeployment else { continue }
            let key = EnvironmentKey(site: env.site, branch: env.branch)
            var target = dropped[key]
            if target?.active != active {
                let history = try await state.activationHistory(site: env.site, branch: env.branch)
                target = RollbackTarget(active: active, previous: history.first { $0 != active })
            }
            rollbackTargets[key] = target
            if let previous = target?.previous {
                rollbackRefs[previous, default: 0] += 1
                if served[previous] == nil { warm.append(previous) }
            }
        }
        if everything {
            served = served.filter { routedRefs[$0.key] != nil || rollbackRefs[$0.key] != nil }
        } else {
            for id in released where routedRefs[id] == nil && rollbackRefs[id] == nil { served[id] = nil }
        }
        released = []
        for id in warm {
            guard (try? await state.deployment(id: id))?.removedAt == nil else { continue }
            _ = try? await deployment(id, sites: sites)
        }
    }

    /// One count of `id` less; at zero it is a candidate for unloading.
    func release(_ id: String, from refs: inout [String: Int]) {
        guard let count = refs[id] else { return }
        if count <= 1 {
            refs[id] = nil
            released.insert(id)
        } else {
            refs[id] = count - 1
        }
    }
}
