import Atomics
import CanopySpec
import CanopyTLS
import Foundation

/// What the request path reads: the routing table compiled for serving (cumulative weights,
/// expected Authorization header, counters), swapped atomically as a whole.
/// The certificate set travels in the same snapshot: a TLS handshake reads it with the same one
/// atomic load, and each route's HTTPS redirect and HSTS line are precomputed against it.
final class EdgeSnapshot: AtomicReference, Sendable {
    let table: RoutingTable
    let routes: [String: CompiledRoute]
    let certificates: CertificateSet
    /// HTTP-01 tokens (the same object in every snapshot).
    let challenges: ACMEChallenges
    /// Some route has a proxy rule: methods other than GET and HEAD are routed before answering 405.
    let mayProxy: Bool

    let tlsPort: Int?

    /// Compiles `table`. A route that is the same as in `previous` (same targets, settings and
    /// certificates) keeps its compiled form, so that one branch's change costs the compiling of
    /// its own hostnames, not of all of them.
    init(
        table: RoutingTable, certificates: CertificateSet = .empty, tlsPort: Int? = nil,
        challenges: ACMEChallenges = ACMEChallenges(), previous: EdgeSnapshot? = nil,
        counters: (String, String) -> TrafficCounters
    ) {
        self.table = table
        self.certificates = certificates
        self.challenges = challenges
        self.tlsPort = tlsPort
        let reusable = previous.flatMap { $0.certificates === certificates && $0.tlsPort == tlsPort ? $0.routes : nil }
        func compiled(_ host: String, _ route: HostRoute) -> CompiledRoute {
            if let old = reusable?[host], old.route.isSame(as: route) { return old }
            let https = HTTPSRoute(route: route, certificates: certificates, tlsPort: tlsPort)
            return CompiledRoute(route: route, https: https, counters: counters)
        }
        if var routes = reusable, let changed = table.changed {
            // The table says which hostnames changed: the rest are the previous snapshot's as they are.
            for host in changed { routes[host] = table.routes[host].map { compiled(host, $0) } }
            self.routes = routes
        } else {
            var routes: [String: CompiledRoute] = [:]
            routes.reserveCapacity(table.routes.count)
            for (host, route) in table.routes { routes[host] = compiled(host, route) }
            self.routes = routes
        }
        self.mayProxy = self.routes.values.contains { $0.mayProxy }
    }
}

final class CompiledRoute: Sendable {
    let route: HostRoute
    let targets: [CompiledTarget]
    /// `Basic <base64>` when the route is protected.
    let expectedAuthorization: [UInt8]?
    let authenticateHeader: String
    /// `https://host[:port]` when cleartext requests are redirected to HTTPS (308), else nil.
    let httpsRedirect: String?
    /// The `Strict-Transport-Security` line for HTTPS responses, when configured and served.
    let hstsLine: [UInt8]?

    var isSplit: Bool { targets.count > 1 }
    /// A target deployment has a proxy rule.
    let mayProxy: Bool

    init(route: HostRoute, https: HTTPSRoute = HTTPSRoute(), counters: (String, String) -> TrafficCounters) {
        self.route = route
        self.httpsRedirect = https.redirect
        self.hstsLine = https.hstsLine
        let total = route.targets.reduce(0) { $0 + max(0, $1.weight) }
        var cumulative = 0.0
        targets = route.targets.map { target in
            cumulative += total > 0 ? max(0, target.weight) / total : 0
            return CompiledTarget(
                label: target.label, upper: cumulative, deployment: target.deployment,
                counters: counters(route.hostname, target.deployment.id))
        }
        if let password = route.password {
            expectedAuthorization = Array(
                ("Basic " + Data("\(password.user):\(password.password)".utf8).base64EncodedString()).utf8)
        } else {
            expectedAuthorization = nil
        }
        mayProxy = targets.contains { $0.deployment.rules.hasProxy }
        authenticateHeader = "WWW-Authenticate: Basic realm=\"\(route.hostname)\", charset=\"UTF-8\"\r\n"
    }

    /// The visitor's target: forced by header or query for testing, else by the `canopy-split`
    /// cookie's number in [0,1) against the cumulative weights; a new visitor draws a number.
    func select(forced: String?, cookie: Double?, newVisitor: inout Double?) -> CompiledTarget {
        if targets.count == 1 { return targets[0] }
        if let forced, let match = targets.first(where: { $0.label == forced || $0.deployment.id == forced }) {
            return match
        }
        let r: Double
        if let cookie, cookie >= 0, cookie < 1 {
            r = cookie
        } else {
            r = Double.random(in: 0..<1)
            newVisitor = r
        }
        return targets.first { r < $0.upper } ?? targets[targets.count - 1]
    }
}

final class CompiledTarget: Sendable {
    let label: String
    /// Upper end of this target's slice of [0,1).
    let upper: Double
    let deployment: ServedDeployment
    /// Requests this hostname sent to this deployment.
    let counters: TrafficCounters

    init(
        label: String, upper: Double, deployment: ServedDeployment, counters: TrafficCounters
    ) {
        self.label = label
        self.upper = upper
        self.deployment = deployment
        self.counters = counters
    }
}
