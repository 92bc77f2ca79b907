import CanopyTestSupport
import Foundation
import Testing

/// A proxy rewrite through a real push, a real build and the real server (#14): Netlify's
/// "Proxy to another service" (`from = "/api/*"`, `to = "https://api.example.com/:splat"`,
/// `status = 200`, docs.netlify.com/manage/routing/redirects/rewrites-proxies) to a second local
/// HTTP server, and what the visitor gets when that server is gone.
@Suite(.serialized)
struct ProxyEndToEndTests {
    @Test func aPushedProxyRuleForwardsToTheUpstreamAndAnswers502WhenItIsDown() async throws {
        let upstream = try ProxyUpstream()
        let (canopy, repo) = try await PushToDeployTests.deployedMain("proxy")
        try repo.write(
            "netlify.toml",
            """
            [[redirects]]
              from = "/api/*"
              to = "http://127.0.0.1:\(upstream.port)/v1/:splat"
              status = 200
            """)
        let commit = try repo.commit("proxy /api to the upstream")
        try repo.push("main")
        let build = try await waitForBuild(canopy, commit: commit, status: "succeeded")
        #expect(!(try buildLog(canopy, build)).contains("does not proxy"))
        try await waitUntil("the proxy rule to be served") { try canopy.get("site.test", "/api/ping").status == 200 }

        let answer = try canopy.get("site.test", "/api/users/7?fields=name", headers: ["X-Client": "e2e"])
        #expect(answer.status == 200)
        #expect(answer.header("X-Upstream") == "python")
        let echo = try #require(try JSONSerialization.jsonObject(with: answer.body) as? [String: Any])
        #expect(echo["path"] as? String == "/v1/users/7?fields=name", "\(echo)")
        let headers = echo["headers"] as? [String: String] ?? [:]
        #expect(headers["x-client"] == "e2e")
        #expect(headers["x-forwarded-host"] == "site.test")
        #expect(headers["x-forwarded-proto"] == "http")
        #expect(headers["x-forwarded-for"]?.contains("127.0.0.1") == true, "\(headers)")
        // The rest of the site is still the deployment's own.
        #expect(try canopy.get("site.test").text.contains("Hello from branch"))

        upstream.stop()
        let down = try canopy.get("site.test", "/api/ping")
        #expect(down.status == 502)
        #expect(down.text.contains("127.0.0.1:\(upstream.port)"), "\(down.text)")
        #expect(try canopy.get("site.test").status == 200)
    }
}
