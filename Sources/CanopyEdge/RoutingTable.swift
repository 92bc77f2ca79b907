import CanopySpec

/// A site's own redirect and header rules, from its Sites file.
public struct SiteRules: Sendable, Equatable {
    public var redirects: [RedirectRule]
    public var headers: [HeaderRule]

    public init(redirects: [RedirectRule] = [], headers: [HeaderRule] = []) {
        self.redirects = redirects
        self.headers = headers
    }
}

/// One target of a hostname: a deployment and its share of visitors.
public struct RouteTarget: Sendable {
    /// What `X-Canopy-Target` / `?canopy-target=` names to force it: a branch name or a deployment id.
    public var label: String
    /// Share of visitors (> 0); shares are normalised over the route's targets.
    public var weight: Double
    public var deployment: ServedDeployment

    public init(label: String, weight: Double, deployment: ServedDeployment) {
        self.label = label
        self.weight = weight
        self.deployment = deployment
    }
}

/// A hostname and where its traffic goes.
public struct HostRoute: Sendable {
    /// Lowercase, without port or trailing dot.
    public var hostname: String
    public var site: String
    /// The branch environment (for logs and metrics).
    public var environment: String
    /// One target, or several weighted (blue/green, rollout).
    public var targets: [RouteTarget]
    /// HTTP basic auth for every request to this hostname.
    public var password: BasicCredential?
    /// `X-Robots-Tag: noindex` on every response.
    public var noindex: Bool
    /// Certificate source, HTTPS redirect and HSTS (from the Sites file).
    public var tls: TLSSettings

    public init(
        hostname: String, site: String, environment: String, targets: [RouteTarget], password: BasicCredential? = nil,
        noindex: Bool = false, tls: TLSSettings = TLSSettings()
    ) {
        self.tls = tls
        self.hostname = hostname
        self.site = site
        self.environment = environment
        self.targets = targets
        self.password = password
        self.noindex = noindex
    }
}

extension HostRoute {
    /// The same hostname, settings and targets (the same loaded deployments, by identity, with the
    /// same labels and weights): what it compiles to for the edge is the same too.
    func isSame(as other: HostRoute) -> Bool {
        hostname == other.hostname && site == other.site && environment == other.environment
            && noindex == other.noindex && password == other.password && tls == other.tls
            && targets.count == other.targets.count
            && zip(targets, other.targets).allSatisfy {
                $0.deployment === $1.deployment && $0.weight == $1.weight && $0.label == $1.label
            }
    }
}

/// Every hostname the edge serves: an immutable snapshot, swapped into the edge atomically.
public final class RoutingTable: Sendable {
    public let routes: [String: HostRoute]

    public init(routes: [HostRoute]) {
        var map: [String: HostRoute] = [:]
        for route in routes where !route.targets.isEmpty {
            map[route.hostname.lowercased()] = route
        }
        self.routes = map
        self.changed = nil
    }

    /// The hostnames whose routes may differ from the table published before this one; nil when
    /// any may. The edge compiles only these again.
    public let changed: Set<String>?

    /// A table from routes already keyed by their lowercase hostname, each with a target (a
    /// publisher that keeps its table between publishes passes it as it is, without rehashing), and
    /// the hostnames whose routes changed since the table before, when the publisher knows them.
    public init(byHostname routes: [String: HostRoute], changed: Set<String>? = nil) {
        self.routes = routes
        self.changed = changed
    }

    public static let empty = RoutingTable(routes: [])
}
