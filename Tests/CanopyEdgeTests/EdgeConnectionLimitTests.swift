import CanopyEdge
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The edge's global connection limit (issue #15, item 4).
@Suite struct EdgeConnectionLimitTests {
    @Test func connectionsOverTheLimitAreClosedAtOnce() async throws {
        let fixture = try EdgeFixture { $0.maxConnections = 3 }
        let deployment = try fixture.deploy("d1", siteFiles)
        try await fixture.start([
            HostRoute(
                hostname: "site.test", site: "site", environment: "main",
                targets: [RouteTarget(label: "main", weight: 1, deployment: deployment)])
        ])
        var held = try (0..<3).map { _ in try fixture.client() }
        for client in held {
            #expect(try client.request("GET", "/logo.png").text == "PNGDATA")
            try client.send("GET /logo.png HTTP/1.1\r\nHost: site.test\r\n")  // busy: a head under way
        }

        // The fourth is accepted by the kernel, then reset by the edge at once: none is idle.
        let extra = try FloodClient(port: fixture.port)
        let start = ContinuousClock.now
        while !extra.isReset() && ContinuousClock.now - start < .seconds(3) {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(extra.isReset(), "a connection over the limit of 3 was kept open")
        #expect(fixture.server.openConnections == 3)

        // When one ends, a new one is served.
        held.removeLast()
        try await waitFor { fixture.server.openConnections == 2 }
        #expect(try fixture.client().request("GET", "/logo.png").text == "PNGDATA")
        try held[0].send("\r\n")
        #expect(try held[0].read().status == 200)
        try await fixture.server.shutdown()
    }

    /// At the limit, connections idle for a while are closed to make room (as nginx closes its
    /// reusable connections when worker_connections run out): the new visitor is served.
    @Test func idleConnectionsMakeRoomForANewOne() async throws {
        let fixture = try EdgeFixture {
            $0.maxConnections = 3
            $0.eventLoopThreads = 1
        }
        let deployment = try fixture.deploy("d1", siteFiles)
        try await fixture.start([
            HostRoute(
                hostname: "site.test", site: "site", environment: "main",
                targets: [RouteTarget(label: "main", weight: 1, deployment: deployment)])
        ])
        let held = try (0..<3).map { _ in try fixture.client() }
        for client in held { #expect(try client.request("GET", "/logo.png").text == "PNGDATA") }
        try await Task.sleep(for: .milliseconds(400))  // longer than a drained connection must be idle

        #expect(try fixture.client().request("GET", "/logo.png").text == "PNGDATA")
        #expect(held.filter { $0.closes(within: 2_000) }.count >= 1, "no idle connection was closed")
        try await waitFor { fixture.server.openConnections <= 3 }
        #expect(fixture.server.openConnections <= 3)
        try await fixture.server.shutdown()
    }

    func waitFor(_ condition: () -> Bool) async throws {
        let start = ContinuousClock.now
        while !condition() && ContinuousClock.now - start < .seconds(5) { try await Task.sleep(for: .milliseconds(20)) }
    }
}
