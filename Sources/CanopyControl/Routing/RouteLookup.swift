/// Hostnames as routed, for resolving the names of operator actions (a hostname, or `site/branch`
/// for all of a branch's hostnames).
protocol RouteLookup: Sendable {
    /// The entry of `hostname` (any case), or nil.
    func entry(forHostname hostname: String) -> RouteEntry?
    /// A branch's hostnames' entries, by hostname.
    func entries(site: String, branch: String) -> [RouteEntry]
}

extension RoutePlan: RouteLookup {
    func entries(site: String, branch: String) -> [RouteEntry] {
        entries.filter { $0.site == site && $0.branch == branch }
    }
}

/// What the route publisher last published, by hostname and by branch: a lookup costs the
/// hostnames it names (the dictionaries are the publisher's own, shared until it changes them).
struct PublishedRoutes: RouteLookup {
    var byHost: [String: RouteEntry]
    var hostsByEnvironment: [EnvironmentKey: Set<String>]

    func entry(forHostname hostname: String) -> RouteEntry? {
        byHost[hostname.lowercased()]
    }

    func entries(site: String, branch: String) -> [RouteEntry] {
        (hostsByEnvironment[EnvironmentKey(site: site, branch: branch)] ?? []).sorted().compactMap { byHost[$0] }
    }
}

extension RoutePublisher {
    /// The entries as last published.
    var lookup: PublishedRoutes {
        PublishedRoutes(byHost: entryByHost, hostsByEnvironment: hostsByEnvironment)
    }

    /// Records what `host` routes to now (nil: nothing), keeping the per-branch index in step.
    func setEntry(_ entry: RouteEntry?, of host: String) {
        if let old = entryByHost[host] {
            let key = EnvironmentKey(site: old.site, branch: old.branch)
            hostsByEnvironment[key]?.remove(host)
            if hostsByEnvironment[key]?.isEmpty == true { hostsByEnvironment[key] = nil }
        }
        entryByHost[host] = entry
        if let entry {
            hostsByEnvironment[EnvironmentKey(site: entry.site, branch: entry.branch), default: []].insert(host)
        }
    }
}
