import Foundation
import Testing

/// Outgoing notifications, build logs through the CLI, and the access log.
@Suite(.serialized)
struct ObservabilityTests {
    @Test func notificationsLogsAndTheAccessLog() async throws {
        let hooks = try HookListener()
        let canopy = try CanopyInstance("observe")
        let repo = try SiteRepository(in: canopy)
        try canopy.writeSite(
            "site",
            """
            repository: ../repos/site.git
            notify: http://127.0.0.1:\(hooks.port)/canopy
            branches:
              main: { domains: [site.test] }
            """)
        let accessLog = canopy.root + "/access.log"
        try await canopy.start(extraArguments: ["--access-log", accessLog])
        let commit = try repo.commit("notify me")
        try repo.push("main")
        try await canopy.waitForContent("site.test", "Hello from branch")

        // The site's notify URL receives build.started, build.succeeded and deployment.activated.
        try await waitUntil("the notifications") {
            Set(hooks.events.compactMap { $0["event"] as? String }).isSuperset(of: [
                "build.started", "build.succeeded", "deployment.activated",
            ])
        }
        let succeeded = hooks.events.first { $0["event"] as? String == "build.succeeded" }
        #expect(succeeded?["commit"] as? String == commit)
        #expect(succeeded?["site"] as? String == "site")
        let activated = hooks.events.first { $0["event"] as? String == "deployment.activated" }
        #expect((activated?["hostnames"] as? [String]) == ["site.test"])

        // `canopy logs` prints the build's log: phases and echoed commands.
        let build = try #require(try canopy.builds().first { $0["commit"] as? String == commit })
        let log = try canopy.cli(["logs", build["id"] as? String ?? ""])
        #expect(log.contains("# Executing command"))
        #expect(log.contains("bash scripts/build.sh src dist"))
        #expect(log.contains("is live"))
        // An unknown build is an error with exit code 1.
        #expect(throws: (any Error).self) { try canopy.cli(["logs", "b-nope"]) }

        // The access log records the request in the combined format, host first.
        _ = try canopy.get("site.test", "/about?x=1", headers: ["User-Agent": "observer/1.0"])
        try await waitUntil("the access log line") {
            ((try? String(contentsOfFile: accessLog, encoding: .utf8)) ?? "").contains("/about?x=1")
        }
        let line =
            try String(contentsOfFile: accessLog, encoding: .utf8).split(separator: "\n").first {
                $0.contains("/about?x=1")
            } ?? ""
        #expect(line.hasPrefix("site.test 127.0.0.1 - - ["))
        #expect(line.contains("\"GET /about?x=1 HTTP/1.1\" 200 "))
        #expect(line.hasSuffix("\"observer/1.0\" http"))
    }
}
