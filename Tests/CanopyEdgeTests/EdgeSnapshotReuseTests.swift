import CanopySpec
import Foundation
import Testing

@testable import CanopyEdge

/// A routing change compiles only the hostnames it changed (#13): a route that is the same as in
/// the previous table keeps its compiled form (and its counters); a changed one is compiled again.
struct EdgeSnapshotReuseTests {
    func route(
        _ host: String, _ deployment: ServedDeployment, weight: Double = 1, password: BasicCredential? = nil
    )
        -> HostRoute
    {
        HostRoute(
            hostname: host, site: "site", environment: "main",
            targets: [RouteTarget(label: "main", weight: weight, deployment: deployment)], password: password)
    }

    @Test func anUnchangedRouteKeepsItsCompiledFormAndAChangedOneIsCompiledAgain() throws {
        let f = try EdgeFixture()
        let one = try f.deploy("d1", ["index.html": "one"])
        let two = try f.deploy("d2", ["index.html": "two"])
        f.server.update(RoutingTable(routes: [route("a.test", one), route("b.test", one), route("c.test", one)]))
        let first = f.server.snapshot.load(ordering: .acquiring)
        f.server.update(
            RoutingTable(routes: [
                route("a.test", one), route("b.test", two),
                route("c.test", one, password: .init(user: "u", password: "p")),
            ]))
        let second = f.server.snapshot.load(ordering: .acquiring)
        #expect(second.routes["a.test"] === first.routes["a.test"], "unchanged: the same compiled route")
        #expect(second.routes["b.test"] !== first.routes["b.test"], "another deployment: compiled again")
        #expect(second.routes["b.test"]?.targets.first?.deployment === two)
        #expect(second.routes["c.test"] !== first.routes["c.test"], "a password is a change")
        #expect(second.routes["c.test"]?.expectedAuthorization != nil)
        // A hostname that left the table is gone from the compiled one too.
        f.server.update(RoutingTable(routes: [route("a.test", one)]))
        let third = f.server.snapshot.load(ordering: .acquiring)
        #expect(third.routes.keys.sorted() == ["a.test"])
        #expect(third.routes["a.test"] === first.routes["a.test"])
    }

    @Test func aTableThatNamesItsChangedHostnamesIsAppliedToThoseAlone() throws {
        let f = try EdgeFixture()
        let one = try f.deploy("d1", ["index.html": "one"])
        let two = try f.deploy("d2", ["index.html": "two"])
        let routes = ["a.test": route("a.test", one), "b.test": route("b.test", one), "c.test": route("c.test", one)]
        f.server.update(RoutingTable(byHostname: routes))
        let first = f.server.snapshot.load(ordering: .acquiring)
        var next = routes
        next["b.test"] = route("b.test", two)
        next["c.test"] = nil
        next["d.test"] = route("d.test", two)
        f.server.update(RoutingTable(byHostname: next, changed: ["b.test", "c.test", "d.test"]))
        let second = f.server.snapshot.load(ordering: .acquiring)
        #expect(second.routes.keys.sorted() == ["a.test", "b.test", "d.test"])
        #expect(second.routes["a.test"] === first.routes["a.test"])
        #expect(second.routes["b.test"]?.targets.first?.deployment === two)
        #expect(second.routes["d.test"]?.targets.first?.deployment === two)
    }
}
