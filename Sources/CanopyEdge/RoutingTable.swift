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

/// Every hostname the edge serves: an immutable snapshot, swapped into the edge atomically.
public final class RoutingTable: Sendable {
    public let routes: [String: HostRoute]

    public init(routes: [HostRoute]) {
        var map: [String: HostRoute] = [:]
        for route in routes where !route.targets.isEmpty {
            map[route.hostname.lowercased()] = route
        }
        self.routes = map
    }

    public static let empty = RoutingTable(routes: [])
}
